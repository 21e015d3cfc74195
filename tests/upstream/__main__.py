"""`python -m tests.upstream --port 8089 [--token-delay-ms 5]`: the test upstream on its own."""

from __future__ import annotations

import argparse

import uvicorn

from tests.upstream.server import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--token-delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    app = create_app(args.token_delay_ms)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
