"""Request Center: the web UI and REST API that manage Drop Copy sessions, their source
SenderComps and secure keys (seed 000), on the store the gateways read."""

from __future__ import annotations

from .auth import Actor, AuthSettings, CodeToSend
from .errors import PortalError
from .services import EnvironmentGateways, OwnerRef, Portal

__all__ = [
    "Actor",
    "AuthSettings",
    "CodeToSend",
    "EnvironmentGateways",
    "OwnerRef",
    "Portal",
    "PortalError",
]
