"""Portal passwords: argon2id (argon2-cffi's RFC 9106 defaults), never stored or logged in clear."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import InvalidValue

__all__ = ["MIN_PASSWORD_LENGTH", "hash_password", "needs_rehash", "verify_password_hash"]

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of ``password``; refuses passwords under 8 characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValue(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password_hash(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (constant-time inside argon2)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (rehash at next logon)."""
    return _hasher.check_needs_rehash(password_hash)
