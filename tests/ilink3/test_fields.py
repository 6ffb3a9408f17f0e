"""Cross-cutting fields located by tag id (seed 004 "Sequence": I-150, I-217, I-269)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropcopy.ilink3 import fields, messages

from .strategies import blocks


def test_session_templates_carry_no_sequence_number() -> None:  # I-150
    for tid in fields.SESSION_TEMPLATES:
        assert all(f.id != fields.TAG_SEQ_NUM for f in messages.TEMPLATES[tid].SBE_FIELDS)


def test_business_templates_all_carry_seqnum() -> None:  # I-217
    assert fields.BUSINESS_TEMPLATES == set(fields.SEQ_NUM)
    assert len(fields.BUSINESS_TEMPLATES) == 44


def test_offsets_match_cme_layout() -> None:
    # ilink3-schema-notes: SeqNum at 0 (UUID at 4) in exchange templates, 17 in customer ones,
    # 16 in PartyDetailsListRequest537
    assert {fields.SEQ_NUM[t].offset for t in fields.EXCHANGE_TEMPLATES} == {0}
    assert {fields.UUID[t].offset for t in fields.EXCHANGE_TEMPLATES} == {4}
    assert {fields.SEQ_NUM[t].offset for t in fields.CUSTOMER_TEMPLATES - {537}} == {17}
    assert fields.SEQ_NUM[537].offset == 16
    assert fields.POSS_RETRANS_FLAG[525].offset == 226
    assert fields.SENDING_TIME_EPOCH[514].offset == 77


def test_fault_tolerance_indicator_only_on_session_messages() -> None:  # I-269
    carriers = {
        t
        for t, cls in messages.TEMPLATES.items()
        if any(f.id == fields.TAG_FAULT_TOLERANCE_INDICATOR for f in cls.SBE_FIELDS)
    }
    assert carriers == {501, 502, 504, 505, 506}


@settings(max_examples=25, deadline=None)
@given(blocks(messages.ExecutionReportCancel534), st.integers(1, 2**32 - 1))
def test_seq_num_read_without_decoding_and_poss_retrans_patched(
    msg: messages.ExecutionReportCancel534, seq: int
) -> None:
    kwargs = {f.name: getattr(msg, f.name) for f in msg.SBE_FIELDS if f.kind != "constant"}
    kwargs.update(SeqNum=seq, PossRetransFlag=messages.BooleanFlag.False_)
    wire = messages.ExecutionReportCancel534(**kwargs).encode()
    assert fields.seq_num_of(wire) == seq
    flagged = fields.with_poss_retrans(wire)
    assert len(flagged) == len(wire)
    back = messages.decode(flagged)
    assert isinstance(back, messages.ExecutionReportCancel534)
    assert back.PossRetransFlag is messages.BooleanFlag.True_
    assert back.SeqNum == seq
    assert fields.with_poss_retrans(flagged, False) == wire


def test_session_messages_have_no_seq_num_to_read_or_flag() -> None:
    seq = messages.Sequence506(UUID=1, NextSeqNo=2, KeepAliveIntervalLapsed=0).encode()
    assert fields.seq_num_of(seq) is None
    with pytest.raises(ValueError):
        fields.with_poss_retrans(seq)


def test_check_fails_loudly_when_a_field_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(fields.SEQ_NUM, 525)
    with pytest.raises(fields.SchemaMismatch, match="525"):
        fields._check()


@settings(max_examples=25, deadline=None)
@given(
    blocks(messages.ExecutionReportCancel534),
    st.integers(1, 2**32 - 1),
    st.integers(1, 2**64 - 2),
    st.integers(0, 2**63),
)
def test_stamp_sets_seqnum_uuid_and_sending_time(
    msg: messages.ExecutionReportCancel534, seq: int, uuid: int, t: int
) -> None:
    back = messages.decode(fields.stamp(msg.encode(), seq, uuid, t))
    assert isinstance(back, messages.ExecutionReportCancel534)
    assert (back.SeqNum, back.UUID, back.SendingTimeEpoch) == (seq, uuid, t)
    assert back.ExecID == msg.ExecID and back.OrderID == msg.OrderID


def test_stamp_customer_message_has_no_uuid() -> None:
    nos = messages.NewOrderSingle514(
        Price="1", OrderQty=1, SecurityID=1, Side=1, SeqNum=0, SenderID="S", ClOrdID="C", PartyDetailsListReqID=1,
        OrderRequestID=1, SendingTimeEpoch=0, Location="US,IL", OrdType="2", ManualOrderIndicator=0,
    )  # fmt: skip
    back = messages.decode(fields.stamp(nos.encode(), 7, 99, 5))
    assert isinstance(back, messages.NewOrderSingle514)
    assert (back.SeqNum, back.SendingTimeEpoch) == (7, 5)
    with pytest.raises(ValueError):
        fields.stamp(
            messages.Sequence506(UUID=1, NextSeqNo=1, KeepAliveIntervalLapsed=0).encode(), 1, 1, 1
        )
