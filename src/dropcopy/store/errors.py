"""The store's exceptions: each says what was wrong in words a portal or CLI user can read."""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "InvalidValue",
    "KeyChoiceRequired",
    "LimitExceeded",
    "MasterKeyError",
    "NotFound",
    "StoreError",
]


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class InvalidValue(StoreError, ValueError):
    """A value has the wrong format or is not allowed (e.g. a 4-character iLink 3 session ID)."""


class AlreadyExists(StoreError):
    """A unique constraint would be violated (the message names what already exists).

    When it is raised after a flush (a concurrent writer won the race) the session's transaction
    is no longer usable and must be rolled back; the checks made before writing raise it with
    the transaction intact."""


class NotFound(StoreError, LookupError):
    """A referenced row does not exist (or belongs to another company or environment)."""


class LimitExceeded(StoreError):
    """A count limit would be exceeded (e.g. sources per Drop Copy target session)."""


class KeyChoiceRequired(StoreError):
    """Generating a key pair for a session that already holds the maximum of two usable pairs
    needs the caller to name the pair(s) to delete at once (P-042, AP-01).

    ``existing`` lists the Access Key IDs to choose from, oldest first."""

    def __init__(self, message: str, existing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.existing = existing


class MasterKeyError(StoreError):
    """The master key that encrypts secrets at rest is missing, malformed, too widely readable,
    or not the key this database's secrets were encrypted with."""
