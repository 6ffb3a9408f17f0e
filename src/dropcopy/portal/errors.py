"""The portal's errors: each carries the HTTP status it is answered with and a message a user
can read (the web UI shows it in the banner, the API returns it as ``{"detail": ...}``)."""

from __future__ import annotations

from dropcopy.store import errors as store_errors

__all__ = [
    "Conflict",
    "Forbidden",
    "Invalid",
    "KeyChoiceNeeded",
    "NotFound",
    "PortalError",
    "RateLimited",
    "Unauthenticated",
    "from_store_error",
]


class PortalError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(PortalError):
    """Not signed in, a bad password or a bad security code."""

    status = 401


class Forbidden(PortalError):
    """Signed in, but the role does not allow it (P-001, AP-10)."""

    status = 403


class NotFound(PortalError):
    """Does not exist -- or belongs to another company: a user never learns which."""

    status = 404


class Conflict(PortalError):
    """The action conflicts with the current state (e.g. a pending request on the session)."""

    status = 409


class KeyChoiceNeeded(Conflict):
    """Generate Keys on a session holding two pairs: the user must pick one to delete at once
    (P-042, AP-01). ``existing`` maps each such session to its Access Key IDs."""

    def __init__(self, message: str, existing: dict[str, tuple[str, ...]]) -> None:
        super().__init__(message)
        self.existing = existing


class Invalid(PortalError):
    """A form field or API value is not acceptable."""

    status = 422


class RateLimited(PortalError):
    """Too many attempts or codes (login, security codes: at most 10 a day, notes §4)."""

    status = 429


def from_store_error(e: store_errors.StoreError) -> PortalError:
    """The portal error for a store error (same message)."""
    message = str(e)
    if isinstance(e, store_errors.KeyChoiceRequired):
        return Conflict(message)
    if isinstance(e, store_errors.NotFound):
        return NotFound(message)
    if isinstance(e, store_errors.AlreadyExists):
        return Conflict(message)
    if isinstance(e, store_errors.LimitExceeded):
        return Conflict(message)
    return Invalid(message)
