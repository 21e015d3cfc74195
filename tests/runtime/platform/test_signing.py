"""The one signing helper: the values tickets, blob links and webhook secrets were made with."""

from __future__ import annotations

import base64
import hashlib
import hmac

from runtime.platform import signing


def test_a_token_is_the_url_safe_unpadded_hmac_sha256() -> None:
    raw = hmac.new(b"k", b"blob\nkey\n1\nf.pdf", hashlib.sha256).digest()
    assert signing.mac("k", "blob\nkey\n1\nf.pdf") == raw
    assert signing.token("k", "blob\nkey\n1\nf.pdf") == (
        base64.urlsafe_b64encode(raw).decode().rstrip("=")
    )
    short = signing.token("k", "ticket:ses_1.99", nbytes=20)
    assert len(base64.urlsafe_b64decode(short + "=" * (-len(short) % 4))) == 20


def test_each_secret_and_purpose_signs_differently() -> None:
    assert signing.token("k", "ticket:a") != signing.token("k2", "ticket:a")
    assert signing.token("k", "ticket:a") != signing.token("k", "blob:a")
    assert signing.matches(signing.token("k", "x"), signing.token("k", "x"))
    assert not signing.matches(signing.token("k", "x"), signing.token("k", "y"))
