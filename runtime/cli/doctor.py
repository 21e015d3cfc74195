"""`rapport doctor`: each check on one line, its fix under it; exit 1 if a required one fails."""

from __future__ import annotations

import asyncio
import textwrap

from runtime.deployment import doctor
from runtime.platform.settings import Settings

_MARKS = {"ok": "ok  ", "skip": "--  ", "warn": "warn", "fail": "FAIL"}


def render(findings: list[doctor.Finding]) -> str:
    width = max(len(f.check) for f in findings)
    lines = []
    for f in findings:
        indent = " " * (len(_MARKS[f.status]) + width + 4)
        head = f"{_MARKS[f.status]}  {f.check.ljust(width)}  "
        lines.append(textwrap.fill(f.detail, 100, initial_indent=head, subsequent_indent=indent))
        if f.fix and f.status != "ok":
            lines.append(
                textwrap.fill(
                    f.fix, 100, initial_indent=indent + "fix: ", subsequent_indent=indent + "     "
                )
            )
    return "\n".join(lines)


def run(settings: Settings) -> int:
    findings = asyncio.run(doctor.run(settings))
    print(render(findings))
    if doctor.failed(findings):
        print("\nrapport doctor: something required fails (FAIL above).")
        return 1
    return 0
