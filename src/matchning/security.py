"""Password hashing (argon2), API tokens (random, stored as sha256) and keyed hashes for
personnummer. No HTTP and no SQL here."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_PREFIX = "mt_"
PNR_RE = re.compile(r"^(\d{2})?(\d{6})[-+]?(\d{4})$")
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh API token as shown once to its owner."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no salt needed).
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_personnummer(value: str) -> str | None:
    """The 10-digit form YYMMDDNNNN, or None when the value is not a personnummer."""
    m = PNR_RE.match(value.strip().replace(" ", ""))
    if not m:
        return None
    digits = m.group(2) + m.group(3)
    from matchning.domain.validation import luhn_ok

    return digits if luhn_ok(digits) else None


def personnummer_hash(secret_key: str, personnummer: str) -> str:
    """Keyed hash (HMAC-SHA256) of a normalised personnummer: never stored in clear."""
    return hmac.new(secret_key.encode(), personnummer.encode(), hashlib.sha256).hexdigest()
