"""Drop Copy 4.0 FIX secure logon: HMAC-SHA256 credentials on the Logon (35=A).

Decision AX-01 and reference/dropcopy-wire-notes.md §1.3:

1. the canonical string is the raw wire values of tags 34, 49, 50, 52, 57, 108, 142, 369,
   1603, 1604, 1605, in this order, joined with ``"\\n"``, no trailing newline;
2. the Secret Key from Request Center is base64url without padding (43 characters) and is
   decoded to its 32 bytes, which key HMAC-SHA256 over the canonical string;
3. the signature, base64url without padding (43 characters), goes in 1402, with
   1400=``CME-1-SHA-256``, 1401=43, 354=20 and 355=Access Key ID.

A Logon whose credentials are missing, malformed or wrong gets
``58=Invalid logon. Logout forced.`` (AX-01). :class:`SecretKey` never shows its value in
``repr``/``str``, so it cannot leak into a log by accident.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Final

from . import texts
from .codec import FieldValue, Message, field_value_bytes
from .errors import FixEncodeError, InvalidLogon

__all__ = [
    "ACCESS_KEY_ID_LENGTH",
    "CANONICAL_TAGS",
    "HMAC_VERSION",
    "SIGNATURE_LENGTH",
    "SecretKey",
    "canonical_string",
    "check_credentials",
    "logon_credentials",
    "sign",
    "sign_logon",
    "verify_logon",
]

#: 1400 EncryptedPasswordMethod (the iLink 3 schema's HMACVersion constant, too).
HMAC_VERSION: Final = "CME-1-SHA-256"
#: Tags whose values make the canonical string, in order.
CANONICAL_TAGS: Final = (34, 49, 50, 52, 57, 108, 142, 369, 1603, 1604, 1605)
#: 1401 EncryptedPasswordLen: base64url of 32 bytes without padding.
SIGNATURE_LENGTH: Final = 43
#: 354 EncodedTextLen: the Access Key ID's length.
ACCESS_KEY_ID_LENGTH: Final = 20

_B64URL_43: Final = re.compile(rb"[A-Za-z0-9_-]{43}")


class SecretKey:
    """A Request Center secret key: 32 bytes, exchanged as 43 base64url characters."""

    __slots__ = ("_key",)

    def __init__(self, encoded: str | bytes) -> None:
        """Decode the base64url secret (43 characters, no padding). Raises ``ValueError``
        without echoing the value."""
        text = encoded.encode("ascii", "replace") if isinstance(encoded, str) else encoded
        text = text.strip()
        if _B64URL_43.fullmatch(text) is None:
            raise ValueError("secret key must be 43 base64url characters without padding")
        try:
            key = base64.b64decode(text + b"=", altchars=b"-_", validate=True)
        except binascii.Error:  # pragma: no cover - excluded by the pattern above
            raise ValueError("secret key is not valid base64url") from None
        if len(key) != 32:  # pragma: no cover - 43 characters always decode to 32 bytes
            raise ValueError("secret key must decode to 32 bytes")
        self._key = key

    @classmethod
    def from_bytes(cls, key: bytes) -> SecretKey:
        """Wrap 32 raw key bytes (e.g. freshly generated with ``secrets.token_bytes(32)``)."""
        if len(key) != 32:
            raise ValueError("secret key must be 32 bytes")
        return cls(base64.urlsafe_b64encode(key).rstrip(b"="))

    def encoded(self) -> str:
        """The 43-character base64url form, for the key file. Handle with care."""
        return base64.urlsafe_b64encode(self._key).rstrip(b"=").decode("ascii")

    def sign(self, canonical: bytes) -> str:
        """base64url (no padding) HMAC-SHA256 of ``canonical``: the 1402 value."""
        digest = hmac.new(self._key, canonical, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def __repr__(self) -> str:
        return "SecretKey(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretKey):
            return NotImplemented
        return hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(hashlib.sha256(self._key).digest())

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("SecretKey cannot be pickled")


def _as_secret(secret: SecretKey | str | bytes) -> SecretKey:
    return secret if isinstance(secret, SecretKey) else SecretKey(secret)


def canonical_string(
    source: Message | Mapping[int, FieldValue] | Iterable[tuple[int, FieldValue]],
) -> bytes:
    """The canonical string of a Logon: 11 raw values joined with ``\\n`` (no trailing one).

    ``source`` is a decoded Logon, a mapping tag -> value, or the Logon's ``(tag, value)``
    fields (first occurrence of a tag counts). Raises ``KeyError`` naming a missing tag.
    """
    values: Mapping[int, FieldValue]
    if isinstance(source, Message):
        values = {tag: got for tag in CANONICAL_TAGS if (got := source.get(tag)) is not None}
    elif isinstance(source, Mapping):
        values = source
    else:
        first: dict[int, FieldValue] = {}
        for tag, value in source:
            first.setdefault(tag, value)
        values = first
    return b"\n".join(field_value_bytes(values[tag]) for tag in CANONICAL_TAGS)


def sign(canonical: bytes, secret: SecretKey | str | bytes) -> str:
    """The 43-character 1402 EncryptedPassword of ``canonical``."""
    return _as_secret(secret).sign(canonical)


def logon_credentials(access_key_id: str, signature: str) -> list[tuple[int, FieldValue]]:
    """The credential fields of a secure Logon: 354, 355, 1400, 1401, 1402."""
    if len(access_key_id) != ACCESS_KEY_ID_LENGTH or not access_key_id.isascii():
        raise FixEncodeError("Access Key ID must be 20 ASCII characters")
    return [
        (354, ACCESS_KEY_ID_LENGTH),
        (355, access_key_id),
        (1400, HMAC_VERSION),
        (1401, SIGNATURE_LENGTH),
        (1402, signature),
    ]


def sign_logon(
    fields: Iterable[tuple[int, FieldValue]],
    access_key_id: str,
    secret: SecretKey | str | bytes,
) -> list[tuple[int, FieldValue]]:
    """Logon fields (everything after 35, the 11 canonical tags included) plus credentials.

    Pass the result to :func:`~dropcopy.fix.codec.encode` with ``msg_type="A"``.
    """
    field_list = list(fields)
    try:
        canonical = canonical_string(field_list)
    except KeyError as exc:
        raise FixEncodeError(f"secure logon needs tag {exc.args[0]}") from None
    return field_list + logon_credentials(access_key_id, sign(canonical, secret))


def check_credentials(msg: Message) -> InvalidLogon | None:
    """Format checks of a Logon's credentials (no key needed); ``None`` when well-formed.

    Missing or malformed 1400 / 1401 / 1402 / 354 / 355 is an unsigned logon: Logout with
    ``Invalid logon. Logout forced.`` (AX-01, P-004).
    """
    ok = (
        msg.get(1400) == HMAC_VERSION.encode()
        and msg.get(1401) == b"%d" % SIGNATURE_LENGTH
        and _B64URL_43.fullmatch(msg.get(1402) or b"") is not None
        and msg.get(354) == b"%d" % ACCESS_KEY_ID_LENGTH
        and len(msg.get(355) or b"") == ACCESS_KEY_ID_LENGTH
    )
    if ok:
        return None
    seq = msg.get(34)
    return InvalidLogon(
        texts.INVALID_LOGON,
        rule="AX-01",
        tag=1402,
        msg_type=msg.msg_type,
        msg_seq_num=int(seq) if seq is not None and seq.isdigit() else None,
    )


def access_key_id(msg: Message) -> str | None:
    """355 EncodedText of a Logon: the Access Key ID that selects the secret."""
    return msg.get_str(355)


def verify_logon(msg: Message, secret: SecretKey | str | bytes) -> bool:
    """True if the Logon's 1402 is the HMAC of its canonical string under ``secret``.

    Compares with :func:`hmac.compare_digest`. A missing canonical tag or 1402 -> False.
    """
    signature = msg.get(1402)
    if signature is None or msg.get(1400) != HMAC_VERSION.encode():
        return False
    try:
        canonical = canonical_string(msg)
    except KeyError:
        return False
    expected = _as_secret(secret).sign(canonical).encode("ascii")
    return hmac.compare_digest(expected, signature)


__all__ += ["access_key_id"]
