"""HMAC-SHA256 signing of Negotiate500 and Establish503 (seed 004 "Session Security").

Step 1 — the canonical message: the field *values* (never names) in the prescribed order,
joined with '\\n', no trailing newline (I-034, I-035):

* Negotiate: RequestTimestamp, UUID, SessionID, FirmID (I-036);
* Establish: RequestTimestamp, UUID, SessionID, FirmID, TradingSystemName,
  TradingSystemVersion, TradingSystemVendor, NextSeqNo, KeepAliveInterval (I-038).

Integers are their decimal text exactly as sent; strings as sent minus the trailing NUL padding
of their char array, spaces kept (decision AI-22). KeepAliveInterval is the wire value in
milliseconds (e.g. ``30000``).

Step 2 — the signature: HMAC-SHA256 over the canonical message's UTF-8 bytes, keyed with the
Secret Key after base64url-decoding it (I-040, I-041); 32 bytes, carried as raw bytes in the
String32Req HMACSignature field (I-043). Step 3 — AccessKeyID (39004) and HMACSignature (39005).
Verification compares in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from .messages import Establish503, Negotiate500

SIGNATURE_SIZE = 32  # SHA-256
HMAC_VERSION = "CME-1-SHA-256"


class InvalidSecretKey(ValueError):
    """The secret key is not base64url text (the form Request Center delivers)."""


def decode_secret_key(secret_key: str | bytes) -> bytes:
    """Base64url-decode a Request Center secret key (43 characters, padding optional)."""
    text = secret_key.decode("ascii") if isinstance(secret_key, bytes) else secret_key
    text = text.strip()
    if not text or any(ch not in _B64URL for ch in text.rstrip("=")):
        raise InvalidSecretKey("secret key is not base64url text")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise InvalidSecretKey("secret key is not base64url text") from None


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def negotiate_canonical(request_timestamp: int, uuid: int, session: str, firm: str) -> str:
    """Canonical Negotiate message (I-036)."""
    return "\n".join((str(request_timestamp), str(uuid), session, firm))


def establish_canonical(
    request_timestamp: int,
    uuid: int,
    session: str,
    firm: str,
    trading_system_name: str,
    trading_system_version: str,
    trading_system_vendor: str,
    next_seq_no: int,
    keep_alive_interval: int,
) -> str:
    """Canonical Establish message (I-038)."""
    return "\n".join(
        (
            str(request_timestamp),
            str(uuid),
            session,
            firm,
            trading_system_name,
            trading_system_version,
            trading_system_vendor,
            str(next_seq_no),
            str(keep_alive_interval),
        )
    )


def canonical_of(msg: Negotiate500 | Establish503) -> str:
    """The canonical message of a decoded or built Negotiate/Establish."""
    if isinstance(msg, Negotiate500):
        return negotiate_canonical(msg.RequestTimestamp, msg.UUID, msg.Session, msg.Firm)
    return establish_canonical(
        msg.RequestTimestamp,
        msg.UUID,
        msg.Session,
        msg.Firm,
        msg.TradingSystemName,
        msg.TradingSystemVersion,
        msg.TradingSystemVendor,
        msg.NextSeqNo,
        msg.KeepAliveInterval,
    )


def signature(secret_key: str | bytes, canonical: str) -> bytes:
    """HMAC-SHA256 of ``canonical`` keyed with the base64url ``secret_key`` (I-040): 32 bytes.

    ``secret_key`` may also be the already-decoded key bytes when passed as ``bytes`` of length
    32 that are not base64url text — pass text to be unambiguous.
    """
    key = decode_secret_key(secret_key) if isinstance(secret_key, str) else secret_key
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).digest()


def sign_negotiate(
    secret_key: str,
    *,
    access_key_id: str,
    uuid: int,
    request_timestamp: int,
    session: str,
    firm: str,
) -> Negotiate500:
    """A signed Negotiate500."""
    sig = signature(secret_key, negotiate_canonical(request_timestamp, uuid, session, firm))
    return Negotiate500(
        HMACSignature=sig,
        AccessKeyID=access_key_id,
        UUID=uuid,
        RequestTimestamp=request_timestamp,
        Session=session,
        Firm=firm,
    )


def sign_establish(
    secret_key: str,
    *,
    access_key_id: str,
    uuid: int,
    request_timestamp: int,
    session: str,
    firm: str,
    trading_system_name: str,
    trading_system_version: str,
    trading_system_vendor: str,
    next_seq_no: int,
    keep_alive_interval: int,
) -> Establish503:
    """A signed Establish503."""
    canonical = establish_canonical(
        request_timestamp,
        uuid,
        session,
        firm,
        trading_system_name,
        trading_system_version,
        trading_system_vendor,
        next_seq_no,
        keep_alive_interval,
    )
    return Establish503(
        HMACSignature=signature(secret_key, canonical),
        AccessKeyID=access_key_id,
        TradingSystemName=trading_system_name,
        TradingSystemVersion=trading_system_version,
        TradingSystemVendor=trading_system_vendor,
        UUID=uuid,
        RequestTimestamp=request_timestamp,
        NextSeqNo=next_seq_no,
        Session=session,
        Firm=firm,
        KeepAliveInterval=keep_alive_interval,
    )


def verify(secret_key: str | bytes, msg: Negotiate500 | Establish503) -> bool:
    """Whether ``msg`` carries the signature ``secret_key`` gives it (constant-time compare)."""
    expected = signature(secret_key, canonical_of(msg))
    return hmac.compare_digest(expected, msg.HMACSignature)
