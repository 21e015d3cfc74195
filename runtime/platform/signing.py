"""HMAC-SHA256 under the deployment's secret: stream tickets, local blob links, webhook secrets.

Each caller names what it signs inside its message (`ticket:…`, `blob\\n…`, `webhook:…`), so a
signature made for one purpose is never valid for another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def mac(secret: str, message: str) -> bytes:
    """The raw HMAC-SHA256 of `message` under `secret`."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def token(secret: str, message: str, nbytes: int = 32) -> str:
    """The MAC's first `nbytes`, URL-safe base64 without padding: fit for a query string."""
    return base64.urlsafe_b64encode(mac(secret, message)[:nbytes]).decode().rstrip("=")


def matches(expected: str, given: str) -> bool:
    """Whether a signature someone sent is the expected one, in constant time."""
    return hmac.compare_digest(expected, given)
