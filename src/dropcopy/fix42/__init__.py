"""The Drop Copy 4.0 FIX 4.2 session layer (seed 003), sans-IO, for the client and the gateway.

See docs/fix42.md. :class:`Fix42Session` is one connection, in either role; it reuses
:mod:`dropcopy.fix` for framing, validation, 35=n encapsulation and the secure logon.
"""

from . import events
from .session import (
    LOGON_TIMEOUT,
    MAX_RESEND,
    SECOND,
    TRANSITIONS,
    Fix42Session,
    LocalProtocolError,
    ResendWindowPolicy,
    Role,
    SentMessage,
    SessionConfig,
    State,
)

__all__ = [
    "LOGON_TIMEOUT",
    "MAX_RESEND",
    "SECOND",
    "TRANSITIONS",
    "Fix42Session",
    "LocalProtocolError",
    "ResendWindowPolicy",
    "Role",
    "SentMessage",
    "SessionConfig",
    "State",
    "events",
]
