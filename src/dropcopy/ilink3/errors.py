"""Typed errors of the iLink 3 wire layer; each carries the Terminate code it implies.

Seed 004 "Terminate - CME Initiated" and decision AI-18: a bad Simple Open Framing Header means
the byte stream cannot be resynchronised (Terminate 18 InvalidSOFH, then close); a framed message
that cannot be decoded is disregarded without consuming a sequence number (its code, 19
DecodingError, is what a Terminate would carry if the session chose to end).
"""

from __future__ import annotations


class ILink3WireError(Exception):
    """A problem with bytes received from the peer."""

    terminate_code: int = 23  # Other

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidSOFH(ILink3WireError):
    """Invalid message length or invalid encoding type in the framing header."""

    terminate_code = 18


class DecodingError(ILink3WireError):
    """A framed message that could not be decoded (unknown template, wrong schema, too short…)."""

    terminate_code = 19
