"""Structured JSON logs, with secrets scrubbed from anything a library logs."""

from __future__ import annotations

import logging
import re
import sys

import structlog

_SECRET_PARAM = re.compile(r"((?:ticket|token|session_token|key)=)[^&\s\"']+", re.IGNORECASE)
_SECRET_VALUE = re.compile(r"\b(rk_live_|st_)[A-Za-z0-9_\-]{8,}")


def redact(text: str) -> str:
    text = _SECRET_PARAM.sub(r"\1[redacted]", text)
    return _SECRET_VALUE.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Uvicorn logs WebSocket paths with their query string, which carries stream tickets."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def configure(level: str = "INFO") -> None:
    # stderr: stdout belongs to commands' output (`rapport keys create` prints only the key).
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactSecrets())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
