"""The iLink 3 FIXP session layer (seed 004), sans-IO, for the customer and the exchange."""

from .codes import RejectCode, RetransmitRejectCode, TerminateCode
from .session import FixpSession, LocalProtocolError, NotAppliedPolicy, Role, SessionConfig, State

__all__ = [
    "FixpSession",
    "LocalProtocolError",
    "NotAppliedPolicy",
    "RejectCode",
    "RetransmitRejectCode",
    "Role",
    "SessionConfig",
    "State",
    "TerminateCode",
]
