"""Cross-cutting iLink 3 fields, located in every template by tag id from the schema.

A session layer and a journal need a few fields of *every* business message — SeqNum to
sequence it, UUID, PossRetransFlag to mark a retransmission, SendingTimeEpoch — without a full
decode (a retransmission patches PossRetransFlag in the stored bytes). Their offsets are taken
from the generated codec's field metadata by tag id, never typed by hand, and checked when this
module is imported: if a future schema moved or retyped them, the import fails loudly.

Seed 004 "Sequence": FIXP session messages (templates 500–513) carry no sequence number of their
own; business messages always do (I-150, I-217).
"""

from __future__ import annotations

from struct import Struct

from dropcopy.sbe.runtime import FieldMeta

from .messages import HEADER_SIZE, TEMPLATES

TAG_SEQ_NUM = 9726
TAG_UUID = 39001
TAG_POSS_RETRANS_FLAG = 9765
TAG_SENDING_TIME_EPOCH = 5297
TAG_REQUEST_TIMESTAMP = 39002
TAG_NEXT_SEQ_NO = 39013
TAG_FAULT_TOLERANCE_INDICATOR = 39010
TAG_SPLIT_MSG = 9553

#: Templates of the FIXP session layer (seed 004): unsequenced.
SESSION_TEMPLATES = frozenset(t for t in TEMPLATES if 500 <= t <= 513)
#: Business templates: every one carries SeqNum.
BUSINESS_TEMPLATES = frozenset(t for t in TEMPLATES if t not in SESSION_TEMPLATES)


class SchemaMismatch(ImportError):
    """The generated codec does not have the cross-cutting fields this package relies on."""


def _by_tag(tag: int) -> dict[int, FieldMeta]:
    found: dict[int, FieldMeta] = {}
    for template_id, cls in TEMPLATES.items():
        for f in cls.SBE_FIELDS:
            if f.id == tag:
                found[template_id] = f
    return found


SEQ_NUM = _by_tag(TAG_SEQ_NUM)
UUID = _by_tag(TAG_UUID)
POSS_RETRANS_FLAG = _by_tag(TAG_POSS_RETRANS_FLAG)
SENDING_TIME_EPOCH = _by_tag(TAG_SENDING_TIME_EPOCH)
REQUEST_TIMESTAMP = _by_tag(TAG_REQUEST_TIMESTAMP)

#: Business templates sent by CME to the customer: they carry UUID and PossRetransFlag.
EXCHANGE_TEMPLATES = frozenset(t for t in BUSINESS_TEMPLATES if t in UUID)
#: Business templates sent by the customer to CME.
CUSTOMER_TEMPLATES = BUSINESS_TEMPLATES - EXCHANGE_TEMPLATES


def _check() -> None:
    problems: list[str] = []
    for t in sorted(SESSION_TEMPLATES):
        if t in SEQ_NUM:
            problems.append(f"session template {t} has SeqNum")
    for t in sorted(BUSINESS_TEMPLATES):
        f = SEQ_NUM.get(t)
        if f is None or f.primitive != "uint32":
            problems.append(f"business template {t} lacks a uint32 SeqNum")
        f = SENDING_TIME_EPOCH.get(t)
        if f is None or f.primitive != "uint64":
            problems.append(f"business template {t} lacks a uint64 SendingTimeEpoch")
    for t in sorted(EXCHANGE_TEMPLATES):
        f = POSS_RETRANS_FLAG.get(t)
        if f is None or f.size != 1 or f.kind != "enum":
            problems.append(f"exchange template {t} lacks a 1-byte PossRetransFlag")
        if UUID[t].primitive != "uint64":
            problems.append(f"exchange template {t}: UUID is not uint64")
    for t in sorted(CUSTOMER_TEMPLATES):
        if t in POSS_RETRANS_FLAG:
            problems.append(f"customer template {t} has PossRetransFlag")
    if problems:
        raise SchemaMismatch("; ".join(problems))


_check()

_U32 = Struct("<I")
_HDR = Struct("<HH")  # blockLength, templateId


def template_of(sbe: bytes | bytearray | memoryview) -> int:
    """templateId of an SBE message (no SOFH)."""
    return int(_HDR.unpack_from(sbe, 0)[1])


def seq_num_of(sbe: bytes | bytearray | memoryview) -> int | None:
    """SeqNum of a business message without decoding it; ``None`` for session messages."""
    f = SEQ_NUM.get(template_of(sbe))
    if f is None:
        return None
    return int(_U32.unpack_from(sbe, HEADER_SIZE + f.offset)[0])


def with_poss_retrans(sbe: bytes, flag: bool = True) -> bytes:
    """A copy of an exchange business message with PossRetransFlag set (retransmission, seed 004
    "Retransmission": the original messages are replayed with PossRetransFlag=1)."""
    f = POSS_RETRANS_FLAG.get(template_of(sbe))
    if f is None:
        raise ValueError(f"template {template_of(sbe)} has no PossRetransFlag")
    out = bytearray(sbe)
    out[HEADER_SIZE + f.offset] = 1 if flag else 0
    return bytes(out)


_U64 = Struct("<Q")


def stamp(sbe: bytes, seq_num: int, uuid: int | None, sending_time: int | None) -> bytes:
    """A copy of a business message with SeqNum, and UUID / SendingTimeEpoch where given.

    The session layer assigns these when it sends (seed 004 "Message Sequence Numbers": every
    business message explicitly carries its sequence number); builders leave them at 0.
    """
    tid = template_of(sbe)
    f = SEQ_NUM.get(tid)
    if f is None:
        raise ValueError(f"template {tid} is not a business message")
    out = bytearray(sbe)
    _U32.pack_into(out, HEADER_SIZE + f.offset, seq_num)
    if uuid is not None:
        u = UUID.get(tid)
        if u is not None:
            _U64.pack_into(out, HEADER_SIZE + u.offset, uuid)
    if sending_time is not None:
        _U64.pack_into(out, HEADER_SIZE + SENDING_TIME_EPOCH[tid].offset, sending_time)
    return bytes(out)
