"""Key material: generation and constant-time verification of API secrets. No database here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

KEY_ID_PREFIX_TRADING = "PK"
KEY_ID_PREFIX_BROKER = "CK"


def new_key_id(prefix: str) -> str:
    """A 20-character public id shaped like Alpaca's (``PK`` + 18 base32 characters)."""
    return prefix + base64.b32encode(secrets.token_bytes(15)).decode()[:18]


def new_secret() -> str:
    """40 characters of URL-safe randomness (240 bits)."""
    return secrets.token_urlsafe(30)


def new_salt() -> str:
    return secrets.token_hex(16)


def secret_digest(secret: str, salt: str) -> str:
    return hmac.new(salt.encode(), secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(secret: str, salt: str, digest: str) -> bool:
    return hmac.compare_digest(secret_digest(secret, salt), digest)
