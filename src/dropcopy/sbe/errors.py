"""Errors of the schema-agnostic SBE layer."""

from __future__ import annotations


class SbeError(Exception):
    """Base of every SBE error."""


class SchemaError(SbeError):
    """The schema uses something the generator does not understand, or is inconsistent."""


class DecodeError(SbeError):
    """Bytes that cannot be decoded as a message of the schema (truncated, unknown template,
    wrong schema id, a block shorter than its version requires, …)."""


class EncodeError(SbeError, ValueError):
    """A value that cannot be encoded (wrong type, out of range, too long for its char array)."""
