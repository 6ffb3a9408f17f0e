"""Drop Copy 4.0 encapsulated business message, 35=n (XML non-FIX).

Seed 003 "Encapsulated Payload" (D-034): source-session activity reaches the target as a
payload inside a 35=n message. Wire format (reference/dropcopy-wire-notes.md §2.1-2.2)::

    8=FIX.4.2|9=..|35=n|<CME->client header>|212=<len>|213=<RTRF><inner FIX message></RTRF>|10=..|

* the inner message is a complete FIX 4.2 message with its own 8 / 9 / ... / 10 and the SOH
  after its ``10=xxx``;
* 212 XmlDataLen counts from ``<`` of ``<RTRF>`` through ``>`` of ``</RTRF>``;
* 212/213 come right after the header fields and are the only body fields.

The payload is *not* FIXML. The inner message is encoded with SOH (no STX), as in every public
sample.
"""

from __future__ import annotations

from collections.abc import Iterable

from .codec import FieldValue, Message, decode, encode_data_last
from .errors import FixError, Outcome

__all__ = [
    "RTRF_CLOSE",
    "RTRF_OPEN",
    "EncapsulationError",
    "decode_encapsulated",
    "encapsulate",
    "unwrap_payload",
]

RTRF_OPEN = b"<RTRF>"
RTRF_CLOSE = b"</RTRF>"


class EncapsulationError(FixError):
    """A 35=n whose 213 is not ``<RTRF>`` + FIX message + ``</RTRF>``.

    The outer message is a valid session message, so its sequence number is consumed; the
    receiver answers with a Session Level Reject (FIX 373=5, value incorrect).
    """

    default_outcome = Outcome.SESSION_REJECT


def encapsulate(inner: bytes | Message, header: Iterable[tuple[int, FieldValue]]) -> bytes:
    """Build the outer 35=n: ``header`` fields in the given order, then 212 and 213.

    ``inner`` is the complete inner FIX message (``Message`` or its wire bytes, ending with
    the SOH after its 10=). ``header`` holds the CME->client header fields after 35 (34, 369,
    52, 49, 50, 56, 57, 143, and 43/97/122 when they apply).
    """
    inner_raw = inner.raw if isinstance(inner, Message) else inner
    return encode_data_last("n", header, 213, b"%s%s%s" % (RTRF_OPEN, inner_raw, RTRF_CLOSE))


def unwrap_payload(msg: Message) -> bytes:
    """The inner FIX message bytes of a 35=n (without ``<RTRF>`` / ``</RTRF>``)."""
    seq = msg.get(34)
    seq_num = int(seq) if seq is not None and seq.isdigit() else None
    if msg.msg_type != "n":
        raise EncapsulationError(
            "Not an encapsulated message (35=n)",
            tag=35,
            msg_type=msg.msg_type,
            msg_seq_num=seq_num,
            session_reject_reason=5,
        )
    payload = msg.get(213)
    if payload is None:
        raise EncapsulationError(
            "XmlData (213) tag is not present",
            tag=213,
            msg_type="n",
            msg_seq_num=seq_num,
            session_reject_reason=1,
        )
    if not (payload.startswith(RTRF_OPEN) and payload.endswith(RTRF_CLOSE)):
        raise EncapsulationError(
            "XmlData (213) is not an <RTRF> payload",
            tag=213,
            msg_type="n",
            msg_seq_num=seq_num,
            session_reject_reason=5,
            data=payload[:64],
        )
    return payload[len(RTRF_OPEN) : -len(RTRF_CLOSE)]


def decode_encapsulated(msg: Message, *, strict: bool = False) -> Message:
    """Decode the inner message of a 35=n.

    ``strict=False`` by default: the inner message is CME's rendering of the source
    activity and is read as it is. Raises :class:`EncapsulationError` for a bad wrapper, or
    the codec's :class:`~dropcopy.fix.errors.FixError` for a bad inner message, re-tagged
    with the SESSION_REJECT outcome of the outer message.
    """
    inner = unwrap_payload(msg)
    try:
        return decode(inner, strict=strict)
    except FixError as exc:
        seq = msg.get(34)
        raise EncapsulationError(
            f"Encapsulated message is invalid: {exc.text}",
            tag=213,
            msg_type="n",
            msg_seq_num=int(seq) if seq is not None and seq.isdigit() else None,
            session_reject_reason=5,
            data=inner[:64],
        ) from exc
