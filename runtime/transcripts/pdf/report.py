"""Which scripts PDFs can draw with the fonts under some directories, as JSON on stdout.

Run as `python -m runtime.transcripts.pdf.report DIR:DIR…` by the deployment checks, in a
process of its own: reading the fonts holds the GIL for about a second, and an API node
that never renders a PDF should not carry fpdf2 and fontTools (~30 MB) for having checked
them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from runtime.platform.errors import ConfigurationError
from runtime.transcripts.pdf.fonts import font_book


def report(dirs: tuple[Path, ...]) -> dict[str, object]:
    try:
        can, cannot = font_book(dirs).scripts()
    except ConfigurationError as exc:
        return {"error": str(exc)}
    return {
        "can": [s.name for s in can],
        "cannot": [s.name for s in cannot],
        "packages": sorted({s.package for s in cannot}),
    }


def main(argv: list[str]) -> int:
    raw = argv[0] if argv else ""
    dirs = tuple(Path(part) for part in raw.split(os.pathsep) if part)
    print(json.dumps(report(dirs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
