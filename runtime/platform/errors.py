"""Rapport's one exception tree; foreign errors are mapped to it at the boundary.

RapportError
├── ConfigurationError      the deployment is misconfigured (start-up only)
└── DomainError             carries a stable API code and HTTP status
    ├── ValidationError     400 validation_error (names the field)
    ├── Unauthorized        401 unauthorized
    ├── Forbidden           403 forbidden
    ├── NotFound            404 not_found
    ├── Conflict            409 conflict
    ├── PayloadTooLarge     413 payload_too_large
    ├── RateLimited         429 rate_limited
    ├── UpstreamFailed      502 upstream_failed (a provider the request needed, such as
    │                       speech recognition, failed or timed out)
    └── Unavailable         503 unavailable (a store timed out or is unreachable; with
                            Retry-After)
"""

from __future__ import annotations


class RapportError(Exception):
    """Base of every error Rapport raises on purpose."""


class ConfigurationError(RapportError):
    pass


class DomainError(RapportError):
    code = "internal_error"
    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    code = "validation_error"
    status = 400


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429


class UpstreamFailed(DomainError):
    """A provider the request needed (a speech recognizer) failed or timed out."""

    code = "upstream_failed"
    status = 502


class Unavailable(DomainError):
    """A store (Redis, the database) is unreachable, too slow, or locked: try again soon."""

    code = "unavailable"
    status = 503
    retry_after_seconds = 2
