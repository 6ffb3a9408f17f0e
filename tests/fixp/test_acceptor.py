"""The FIXP machine as the Market Segment Gateway (seed 004), driven by hand-made messages."""

from __future__ import annotations

from typing import Any

import pytest

from dropcopy.fixp import events as ev
from dropcopy.fixp.session import LocalProtocolError, State
from dropcopy.ilink3 import messages as m
from dropcopy.ilink3.codec import Decoder
from dropcopy.ilink3.framing import frame

from .harness import FIRM, SECOND, SESSION, UUID, Raw, order


def _decode(data: bytes) -> list[Any]:
    return Decoder().feed(data)


def only(msgs: list[Any], cls: type) -> Any:
    assert len(msgs) == 1 and isinstance(msgs[0], cls), msgs
    return msgs[0]


# -- Negotiate -----------------------------------------------------------------------------


def test_I105_valid_negotiate_asks_the_venue_then_answers_with_negotiation_response() -> None:
    r = Raw()
    assert r.send(r.negotiate_msg()) == []
    (got,) = [e for e in r.events if isinstance(e, ev.NegotiateReceived)]
    assert got.message.UUID == UUID and r.gw.state is State.NEGOTIATING
    r.gw.accept_negotiate(r.now, previous_seq_no=4, previous_uuid=3, secret_key_expiration=20)
    resp = only(_decode(r.gw.data_to_send()), m.NegotiationResponse501)
    assert (resp.UUID, resp.RequestTimestamp, resp.PreviousSeqNo, resp.PreviousUUID) == (
        UUID,
        r.now,
        4,
        3,
    )
    assert resp.FaultToleranceIndicator is m.FTI.Primary and resp.SecretKeySecureIDExpiration == 20
    assert r.gw.state is State.NEGOTIATED


@pytest.mark.parametrize(
    ("over", "code", "rule"),
    [
        ({"HMACSignature": bytes(32)}, 4, "I-098"),
        ({"AccessKeyID": ""}, 5, "I-099"),
        ({"AccessKeyID": "AKID\x01"}, 12, "I-099"),
        ({"Session": ""}, 6, "I-100"),
        ({"Session": "A\tB"}, 13, "I-100"),
        ({"Firm": ""}, 7, "I-101"),
        ({"Firm": "\x7f"}, 14, "I-101"),
        ({"UUID": 0}, 2, "I-102"),
        ({"UUID": 2**64 - 1}, 8, "I-102"),
        ({"RequestTimestamp": 0}, 9, "I-103"),
    ],
)
def test_I098_to_I103_negotiate_field_checks_give_negotiation_reject(
    over: dict[str, Any], code: int, rule: str
) -> None:
    # AI-12: "empty" = all NUL; non-printable ASCII -> the Invalid... code; AI-13 boundaries
    r = Raw()
    rej = only(r.send(r.negotiate_msg(**over)), m.NegotiationReject502)
    assert rej.ErrorCodes == code, rule
    assert rej.UUID == over.get("UUID", UUID)
    assert r.gw.state is State.IDLE and not r.events


def test_I015_stale_or_future_request_timestamp_is_rejected_code_3() -> None:  # AI-23
    r = Raw()
    for ts in (r.now - 6 * SECOND, r.now + 6 * SECOND):
        rej = only(r.send(r.negotiate_msg(RequestTimestamp=ts)), m.NegotiationReject502)
        assert rej.ErrorCodes == 3
    assert r.send(r.negotiate_msg(RequestTimestamp=r.now - 4 * SECOND)) == []


def test_I106_venue_rejection_sends_negotiation_reject_with_its_code() -> None:  # I-030
    r = Raw()
    r.send(r.negotiate_msg())
    r.gw.reject_negotiate(r.now, 0, "HMAC not authenticated")
    rej = only(_decode(r.gw.data_to_send()), m.NegotiationReject502)
    assert rej.ErrorCodes == 0 and rej.Reason == "HMAC not authenticated"
    assert r.gw.state is State.IDLE
    with pytest.raises(LocalProtocolError):
        r.gw.accept_negotiate(r.now)


def test_I131_no_establish_within_60_seconds_terminates_with_code_1() -> None:
    r = Raw()
    r.negotiated()
    assert r.gw.next_deadline() == r.now + 60 * SECOND
    assert r.gw.on_timer(r.now + 59 * SECOND) == []
    events = r.gw.on_timer(r.now + 60 * SECOND)
    term = only(_decode(r.gw.data_to_send()), m.Terminate507)
    assert term.ErrorCodes == 1 and r.gw.closed
    assert isinstance(events[-1], ev.Terminated) and events[-1].code == 1


# -- messages out of order (AI-24, AI-25) ----------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "message", "code"),
    [
        ("idle", "sequence", 2),  # I-006, AI-24: before Negotiate
        ("idle", "order", 2),
        ("idle", "retransmit", 2),
        ("negotiated", "sequence", 3),  # I-108, I-109: before Establish
        ("negotiated", "order", 3),
        ("negotiated", "negotiate", 4),
        ("established", "negotiate", 6),
        ("established", "establish", 6),
        ("negotiating", "negotiate", 5),
        ("negotiating", "sequence", 5),
        ("establishing", "establish", 7),
        ("established", "not_applied", 23),  # AI-25: a message only CME sends
        ("idle", "retransmission", 23),
    ],
)
def test_AI24_messages_out_of_order_are_terminated_with_their_code(
    setup: str, message: str, code: int
) -> None:
    r = Raw()
    if setup == "negotiated":
        r.negotiated()
    elif setup == "established":
        r.established()
    elif setup == "negotiating":
        r.send(r.negotiate_msg())
    elif setup == "establishing":
        r.negotiated()
        r.send(r.establish_msg())
    msgs = {
        "sequence": r.seq(1),
        "order": order(1),
        "retransmit": m.RetransmitRequest508(
            UUID=UUID, RequestTimestamp=r.now, FromSeqNo=1, MsgCount=1
        ),
        "negotiate": r.negotiate_msg(),
        "establish": r.establish_msg(),
        "not_applied": m.NotApplied513(UUID=UUID, FromSeqNo=1, MsgCount=1),
        "retransmission": m.Retransmission509(
            UUID=UUID, RequestTimestamp=r.now, FromSeqNo=1, MsgCount=0
        ),
    }
    term = only(r.send(msgs[message]), m.Terminate507)
    assert term.ErrorCodes == code
    assert r.gw.closed
    assert r.send(r.seq(1)) == []  # AI-19: nothing more is processed


# -- Establish ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "code", "rule"),
    [
        ({"HMACSignature": bytes(32)}, 4, "I-132"),
        ({"AccessKeyID": ""}, 5, "I-133"),
        ({"Session": ""}, 6, "I-134"),
        ({"Firm": ""}, 7, "I-135"),
        ({"TradingSystemName": ""}, 18, "I-136"),
        ({"TradingSystemVersion": ""}, 19, "I-137"),
        ({"TradingSystemVendor": ""}, 20, "I-138"),
        ({"TradingSystemName": "n\x02"}, 23, "I-136"),
        ({"TradingSystemVersion": "\x00x"}, 19, "I-137"),
        ({"TradingSystemVendor": "v\x1b"}, 25, "I-138"),
        ({"UUID": 0}, 2, "I-139"),
        ({"RequestTimestamp": 0}, 9, "I-140"),
        ({"KeepAliveInterval": 4999}, 11, "I-141"),
        ({"KeepAliveInterval": 60001}, 11, "I-141"),
        ({"KeepAliveInterval": 0}, 21, "I-141"),
        ({"NextSeqNo": 2**32 - 1}, 22, "I-142"),
    ],
)
def test_I132_to_I142_establish_field_checks_give_establishment_reject(
    over: dict[str, Any], code: int, rule: str
) -> None:
    # AI-01: KeepAliveInterval in ms, 5000..60000
    r = Raw()
    r.negotiated()
    rej = only(r.send(r.establish_msg(**over)), m.EstablishmentReject505)
    assert rej.ErrorCodes == code, rule
    assert r.gw.state is State.NEGOTIATED


def test_I143_I144_week_start_establish_gets_ack_with_next_seq_no_1() -> (
    None
):  # I-026, I-027, I-125
    r = Raw()
    r.negotiated()
    r.send(r.establish_msg())
    (got,) = [e for e in r.events if isinstance(e, ev.EstablishReceived)]
    assert got.negotiated
    r.gw.accept_establish(
        r.now,
        next_seq_no=1,
        expected_seq_no=1,
        first_of_week=True,
        previous_uuid=0,
        previous_seq_no=1,
    )
    ack = only(_decode(r.gw.data_to_send()), m.EstablishmentAck504)
    assert (ack.NextSeqNo, ack.UUID, ack.KeepAliveInterval) == (1, UUID, 30_000)
    assert (ack.PreviousUUID, ack.PreviousSeqNo) == (0, 1)  # I-065: a fill under default UUID 0
    assert ack.FaultToleranceIndicator is m.FTI.Primary
    assert r.gw.state is State.ESTABLISHED


def test_I028_week_start_establish_without_reset_to_1_is_terminated() -> None:  # I-061, AI-02
    r = Raw()
    r.negotiated()
    r.send(r.establish_msg(NextSeqNo=7))
    r.gw.accept_establish(r.now, next_seq_no=1, expected_seq_no=1, first_of_week=True)
    term = only(_decode(r.gw.data_to_send()), m.Terminate507)
    assert term.ErrorCodes == 10 and r.gw.closed


def test_I023_I124_later_new_uuid_establish_with_higher_next_seq_no_is_acked_then_not_applied() -> (
    None
):
    # AI-05: NotApplied(FromSeqNo = expected, MsgCount = NextSeqNo - expected + 1); adopted
    r = Raw()
    r.negotiated()
    r.send(r.establish_msg(NextSeqNo=110))
    r.gw.accept_establish(r.now, next_seq_no=1, expected_seq_no=100)
    ack, na = _decode(r.gw.data_to_send())
    assert isinstance(ack, m.EstablishmentAck504) and isinstance(na, m.NotApplied513)
    assert (na.FromSeqNo, na.MsgCount) == (100, 11)
    assert r.gw.next_in == 110
    assert r.send(order(110)) == [] and r.gw.next_in == 111


@pytest.mark.parametrize("next_seq_no", [1, 4])
def test_I071_I082_I231_same_uuid_establish_lower_than_expected_is_terminated(
    next_seq_no: int,
) -> None:
    # intra-session binding (no Negotiate): the series continues; NextSeqNo 1 is refused
    r = Raw()
    r.send(r.establish_msg(NextSeqNo=next_seq_no))
    (got,) = [e for e in r.events if isinstance(e, ev.EstablishReceived)]
    assert not got.negotiated  # I-077: binding without initialization
    r.gw.accept_establish(r.now, next_seq_no=40, expected_seq_no=5)
    term = only(_decode(r.gw.data_to_send()), m.Terminate507)
    assert term.ErrorCodes == 10 and r.gw.closed


def test_I145_intra_session_binding_acks_with_last_sent_plus_1() -> None:  # I-080, I-111, I-114
    r = Raw()
    r.send(r.establish_msg(NextSeqNo=5))
    r.gw.accept_establish(
        r.now, next_seq_no=41, expected_seq_no=5, previous_uuid=UUID, previous_seq_no=40
    )
    ack = only(_decode(r.gw.data_to_send()), m.EstablishmentAck504)
    assert (ack.NextSeqNo, ack.PreviousUUID, ack.PreviousSeqNo) == (41, UUID, 40)


def test_AI16_next_seq_no_1_on_same_uuid_before_any_business_is_accepted() -> None:
    r = Raw()
    r.send(r.establish_msg(NextSeqNo=1))
    r.gw.accept_establish(r.now, next_seq_no=1, expected_seq_no=1)
    assert isinstance(
        only(_decode(r.gw.data_to_send()), m.EstablishmentAck504), m.EstablishmentAck504
    )


def test_I253_AI06_establish_with_a_uuid_that_was_not_negotiated_is_terminated() -> None:
    r = Raw()
    r.negotiated()
    term = only(r.send(r.establish_msg(UUID=UUID + 1)), m.Terminate507)
    assert term.ErrorCodes == 13 and r.gw.closed


def test_I149_venue_rejects_establish_and_the_session_stays_negotiated() -> None:
    r = Raw()
    r.negotiated()
    r.send(r.establish_msg())
    r.gw.reject_establish(r.now, 0)
    rej = only(_decode(r.gw.data_to_send()), m.EstablishmentReject505)
    assert rej.ErrorCodes == 0 and r.gw.state is State.NEGOTIATED


# -- sequencing (I-203 … I-259) ------------------------------------------------------------


def test_I203_I223_higher_than_expected_gets_not_applied_and_is_not_applied() -> None:
    r = Raw()
    r.established()
    assert r.send(order(1)) == []
    na = only(r.send(order(4)), m.NotApplied513)
    assert (na.UUID, na.FromSeqNo, na.MsgCount) == (
        UUID,
        2,
        3,
    )  # AI-05 counts the revealing message
    applied = [e.seq_no for e in r.events if isinstance(e, ev.BusinessMessage)]
    assert applied == [1]
    # I-204, I-225, I-180: each further higher message brings another NotApplied, same FromSeqNo
    na2 = only(r.send(order(5)), m.NotApplied513)
    assert (na2.FromSeqNo, na2.MsgCount) == (2, 4)


def test_I258_resending_the_missing_message_is_applied() -> None:  # I-179 (customer option)
    r = Raw()
    r.established()
    r.send(order(2))
    assert r.send(order(1)) == [] and r.send(order(2)) == []
    assert [e.seq_no for e in r.events if isinstance(e, ev.BusinessMessage)] == [1, 2]


def test_I158_I204_sequence_gap_fill_moves_expected_forward() -> None:  # I-156, I-157
    r = Raw()
    r.established()
    r.send(order(3))
    assert r.send(r.seq(3)) == []
    assert r.send(order(3)) == [] and r.gw.next_in == 4


def test_I230_sequence_lower_than_expected_is_terminated() -> None:
    r = Raw()
    r.established()
    r.send(order(1))
    r.send(order(2))
    term = only(r.send(r.seq(2)), m.Terminate507)
    assert term.ErrorCodes == 10 and r.gw.closed


def test_AI17_business_message_lower_than_expected_is_terminated_code_11() -> None:
    r = Raw()
    r.established()
    r.send(order(1))
    term = only(r.send(order(1, "again")), m.Terminate507)
    assert term.ErrorCodes == 11


def test_I256_I257_undecodable_message_is_disregarded_and_the_next_one_gets_not_applied() -> None:
    r = Raw()
    r.established()
    corrupt = bytearray(frame(order(1).encode()))
    corrupt[6:8] = b"\x99\x02"  # templateId 665: not in the schema
    assert r.send(bytes(corrupt)) == []
    assert any(isinstance(e, ev.MessageDisregarded) for e in r.events)
    assert r.gw.next_in == 1  # not incremented
    na = only(r.send(order(2)), m.NotApplied513)
    assert (na.FromSeqNo, na.MsgCount) == (1, 2)


def test_I259_bad_message_loops_not_applied_until_a_sequence() -> None:
    r = Raw()
    r.established()
    assert isinstance(only(r.send(order(2)), m.NotApplied513), m.NotApplied513)
    assert isinstance(only(r.send(order(3)), m.NotApplied513), m.NotApplied513)
    assert r.send(r.seq(4)) == [] and r.send(order(4)) == []


def test_AI18_invalid_sofh_terminates_with_code_18() -> None:
    r = Raw()
    r.established()
    term = only(r.send(b"\x10\x00\xef\xbe" + bytes(12)), m.Terminate507)
    assert term.ErrorCodes == 18 and r.gw.closed


def test_AI09_sequence_for_another_uuid_is_terminated_code_13() -> None:  # I-169
    r = Raw()
    r.established()
    assert only(r.send(r.seq(1, uuid=UUID + 1)), m.Terminate507).ErrorCodes == 13


def test_I171_keep_alive_lapsed_out_of_range_is_terminated() -> None:
    r = Raw()
    r.established()
    assert only(r.send(r.seq(1, lapsed=7)), m.Terminate507).ErrorCodes == 22


# -- keep-alive ------------------------------------------------------------------------------


def test_I165_I218_gateway_sends_sequence_when_its_interval_passes_with_nothing_sent() -> None:
    r = Raw()
    r.established(gw_next=9)
    t = r.now + 30 * SECOND
    assert r.gw.next_deadline() == t
    r.gw.receive_data(b"", t)
    r.gw.on_timer(t)
    msgs = _decode(r.gw.data_to_send())
    seqs = [x for x in msgs if isinstance(x, m.Sequence506)]
    assert seqs and seqs[-1].NextSeqNo == 9 and seqs[-1].FaultToleranceIndicator is m.FTI.Primary


def test_I167_then_I163_silence_gives_a_lapsed_warning_then_terminate_20() -> None:  # I-219, I-255
    r = Raw()
    r.established()
    assert r.gw.on_timer(r.now + 30 * SECOND) == []  # a heartbeat sent now would still be on time
    events = r.gw.on_timer(r.now + 33 * SECOND)  # + 10 % network allowance
    warn = [x for x in _decode(r.gw.data_to_send()) if isinstance(x, m.Sequence506)]
    assert any(x.KeepAliveIntervalLapsed is m.KeepAliveLapsed.Lapsed for x in warn)
    assert any(isinstance(e, ev.KeepAliveWarning) for e in events)
    assert not r.gw.closed
    r.gw.on_timer(r.now + 62 * SECOND)
    assert not r.gw.closed
    r.gw.on_timer(r.now + 63 * SECOND)
    term = [x for x in _decode(r.gw.data_to_send()) if isinstance(x, m.Terminate507)]
    assert term and term[0].ErrorCodes == 20 and r.gw.closed


def test_I154_a_ping_is_answered_with_a_sequence_and_activity_resets_the_timer() -> None:
    r = Raw()
    r.established()
    r.now += 25 * SECOND
    reply = only(r.send(r.seq(1, lapsed=1)), m.Sequence506)
    assert reply.KeepAliveIntervalLapsed is m.KeepAliveLapsed.NotLapsed
    assert r.gw.next_deadline() == r.now + 30 * SECOND


# -- retransmission ---------------------------------------------------------------------------


def _retx(r: Raw, **over: Any) -> m.RetransmitRequest508:
    kw: dict[str, Any] = dict(UUID=UUID, RequestTimestamp=r.now, FromSeqNo=1, MsgCount=3)
    kw.update(over)
    return m.RetransmitRequest508(**kw)


def test_I199_I187_retransmission_then_replayed_messages_flagged() -> None:  # I-182, I-198
    from .harness import report

    r = Raw()
    r.established()
    sent = [r.gw.send_business(report(exec_id=f"E{i}"), r.now) for i in range(3)]
    r.gw.data_to_send()
    req = _retx(r)
    assert r.send(req) == []
    (asked,) = [e for e in r.events if isinstance(e, ev.RetransmitRequested)]
    assert (asked.uuid, asked.from_seq_no, asked.count) == (UUID, 1, 3)
    r.gw.send_retransmission(r.now, req, sent)
    head, *replays = _decode(r.gw.data_to_send())
    assert isinstance(head, m.Retransmission509) and (head.FromSeqNo, head.MsgCount) == (1, 3)
    assert [x.SeqNum for x in replays] == [1, 2, 3]
    assert all(x.PossRetransFlag is m.BooleanFlag.True_ for x in replays)


def test_I200_empty_retransmission_is_followed_by_a_sequence() -> None:
    r = Raw()
    r.established(gw_next=5)
    req = _retx(r, FromSeqNo=5, MsgCount=0)
    r.send(req)
    r.gw.send_retransmission(r.now, req, [])
    head, seq = _decode(r.gw.data_to_send())
    assert isinstance(head, m.Retransmission509) and head.MsgCount == 0
    assert isinstance(seq, m.Sequence506) and seq.NextSeqNo == 5


def test_I190_more_than_2500_messages_is_rejected_code_2() -> None:  # I-227
    r = Raw()
    r.established()
    rej = only(r.send(_retx(r, MsgCount=2501)), m.RetransmitReject510)
    assert rej.ErrorCodes == 2
    assert r.send(_retx(r, MsgCount=2500)) == []


def test_I192_second_request_while_one_is_in_flight_is_rejected_code_3() -> None:
    r = Raw()
    r.established()
    first = _retx(r)
    r.send(first)
    assert only(r.send(_retx(r, FromSeqNo=2)), m.RetransmitReject510).ErrorCodes == 3
    r.gw.send_retransmission(r.now, first, [])
    r.gw.data_to_send()
    assert r.send(_retx(r, FromSeqNo=2)) == []  # concluded: a new one is served


@pytest.mark.parametrize(
    ("over", "code", "rule"),
    [
        ({"FromSeqNo": 0}, 5, "I-196"),
        ({"RequestTimestamp": 0}, 7, "I-195"),
        ({"UUID": UUID + 5}, 1, "I-193"),
    ],
)
def test_I193_to_I197_retransmit_request_boundaries(
    over: dict[str, Any], code: int, rule: str
) -> None:
    r = Raw()
    r.established()
    assert only(r.send(_retx(r, **over)), m.RetransmitReject510).ErrorCodes == code, rule


def test_I183_last_uuid_asks_for_an_earlier_uuid_of_the_week() -> None:  # AI-10, I-194
    r = Raw()
    r.established()
    r.send(_retx(r, LastUUID=UUID - 10))
    (asked,) = [e for e in r.events if isinstance(e, ev.RetransmitRequested)]
    assert asked.uuid == UUID - 10
    r.gw.reject_retransmit(r.now, asked.message, 1, "UUID not used this week")
    assert only(_decode(r.gw.data_to_send()), m.RetransmitReject510).ErrorCodes == 1


# -- terminate --------------------------------------------------------------------------------


def test_I243_I240_client_terminate_is_confirmed_echoing_uuid_and_timestamp() -> None:  # AI-20
    r = Raw()
    r.established()
    conf = only(
        r.send(m.Terminate507(UUID=UUID, RequestTimestamp=r.now - 1, ErrorCodes=0)), m.Terminate507
    )
    assert (conf.ErrorCodes, conf.UUID, conf.RequestTimestamp) == (0, UUID, r.now - 1)
    assert r.gw.closed
    term = r.gw.terminated
    assert term is not None and term.by_peer


def test_I244_AI19_messages_after_the_customers_terminate_are_ignored() -> None:
    r = Raw()
    r.established()
    r.send(m.Terminate507(UUID=UUID, RequestTimestamp=r.now, ErrorCodes=0))
    assert r.send(order(1)) == [] and r.send(r.seq(1)) == []


def test_I242_error_terminate_from_the_customer_needs_no_answer() -> None:
    r = Raw()
    r.established()
    assert r.send(m.Terminate507(UUID=UUID, RequestTimestamp=r.now, ErrorCodes=20)) == []
    assert r.gw.closed


def test_I239_gateway_graceful_terminate_waits_for_confirmation_then_gives_up() -> (
    None
):  # AI-21, I-252
    r = Raw()
    r.established()
    r.gw.terminate(r.now)
    assert only(_decode(r.gw.data_to_send()), m.Terminate507).ErrorCodes == 0
    assert r.gw.state is State.TERMINATE_SENT
    events = r.gw.on_timer(r.now + 30 * SECOND)
    assert r.gw.closed and isinstance(events[-1], ev.Terminated)


# -- fault tolerance ---------------------------------------------------------------------------


def test_I272_backup_acks_with_next_seq_no_0_and_fti_backup() -> None:
    r = Raw(backup=True)
    r.send(r.establish_msg(NextSeqNo=0))
    r.gw.accept_establish(r.now, next_seq_no=12, expected_seq_no=4)
    ack = only(_decode(r.gw.data_to_send()), m.EstablishmentAck504)
    assert ack.NextSeqNo == 0 and ack.FaultToleranceIndicator is m.FTI.Backup


def test_I273_non_zero_next_seq_no_to_the_backup_is_a_violation() -> None:
    r = Raw(backup=True)
    assert only(r.send(r.establish_msg(NextSeqNo=3)), m.Terminate507).ErrorCodes == 10


def test_I274_zero_next_seq_no_to_the_primary_is_a_violation() -> None:
    r = Raw()
    r.negotiated()
    assert only(r.send(r.establish_msg(NextSeqNo=0)), m.Terminate507).ErrorCodes == 10


def test_I275_business_messages_on_the_backup_are_reported_not_applied() -> None:
    r = Raw(backup=True)
    r.send(r.establish_msg(NextSeqNo=0))
    r.gw.accept_establish(r.now, next_seq_no=1, expected_seq_no=1)
    r.gw.data_to_send()
    assert r.send(order(1)) == []
    assert any(isinstance(e, ev.BusinessMessageOnBackup) for e in r.events)
    assert not any(isinstance(e, ev.BusinessMessage) for e in r.events)


def test_I276_promoted_backup_announces_itself_with_fti_1_and_the_valid_next_seq_no() -> None:
    r = Raw(backup=True)
    r.send(r.establish_msg(NextSeqNo=0))
    r.gw.accept_establish(r.now, next_seq_no=0, expected_seq_no=0)
    r.gw.data_to_send()
    r.gw.promote(r.now, next_seq_no=57, expected_seq_no=9)
    seq = only(_decode(r.gw.data_to_send()), m.Sequence506)
    assert (seq.NextSeqNo, seq.FaultToleranceIndicator) == (57, m.FTI.Primary)
    assert r.send(order(9)) == [] and r.gw.next_in == 10  # sequence streams continue


def test_misuse_of_the_api_is_a_local_protocol_error() -> None:
    r = Raw()
    with pytest.raises(LocalProtocolError):
        r.gw.send_business(order(), r.now)
    with pytest.raises(LocalProtocolError):
        r.gw.accept_establish(r.now, next_seq_no=1, expected_seq_no=1)
    r.established()
    with pytest.raises(LocalProtocolError):
        r.gw.send_business(order(), r.now)  # a customer template from the gateway
    assert SESSION and FIRM
