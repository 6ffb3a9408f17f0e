"""Seed 004 rules proved on the sans-IO FIXP machine (fake wire, fake clock): field and boundary
checks of the gateway role, known-answer HMAC vectors, and the customer's own obligations in the
initiator role (seed-rules.md "Seed 004", decisions AI-05, AI-12, AI-13, AI-22)."""

from __future__ import annotations

from typing import Any

import pytest

from dropcopy.fixp import events as ev
from dropcopy.fixp.session import FixpSession, NotAppliedPolicy, Role, SessionConfig, State
from dropcopy.ilink3 import messages as m
from dropcopy.ilink3 import signing
from dropcopy.ilink3.codec import decode_message

from .harness import KEY_ID, SECOND, SECRET, UUID, Pair, Raw, decode_all, order, report


def only(msgs: list[Any], cls: type) -> Any:
    assert len(msgs) == 1 and isinstance(msgs[0], cls), msgs
    return msgs[0]


def applied(p: Pair) -> list[tuple[int, str]]:
    """(SeqNum, ClOrdID) of the customer's messages the gateway applied, in order."""
    return [
        (e.seq_no, e.message.ClOrdID)  # type: ignore[attr-defined]
        for e in p.gw_events
        if isinstance(e, ev.BusinessMessage)
    ]


# -- HMAC known-answer vectors (seed 004 "Step 1 - Create the Canonical Message") -------------

# the seed's sample values, verbatim (AI-22); the digests were computed independently with
# openssl (tests/ilink3/test_signing.py) over the 32-byte key 00 01 … 1f
TS, SAMPLE_UUID = 1563720650008, 1563720660068


def test_I037_negotiate_sample_gives_the_seeds_canonical_string_and_signature() -> None:
    expected = "1563720650008\n1563720660068\nABC\n007"
    assert signing.negotiate_canonical(TS, SAMPLE_UUID, "ABC", "007") == expected
    msg = signing.sign_negotiate(
        SECRET,
        access_key_id=KEY_ID,
        uuid=SAMPLE_UUID,
        request_timestamp=TS,
        session="ABC",
        firm="007",
    )
    # what the venue rebuilds from the decoded wire message is the same string (NUL padding of
    # the char[3]/char[5] fields stripped)
    wire = decode_message(msg.encode())
    assert isinstance(wire, m.Negotiate500)
    assert signing.canonical_of(wire) == expected
    assert (
        wire.HMACSignature.hex()
        == "efe978311c20d85e2233dd40f21b0086f06f0125141e20a43dbdc60514de0736"
    )


def test_I039_establish_sample_gives_the_seeds_canonical_string_and_signature() -> None:
    expected = "1563720650008\n1563720660068\nABC\n007\n \n \n \n1\n30"
    assert (
        signing.establish_canonical(TS, SAMPLE_UUID, "ABC", "007", " ", " ", " ", 1, 30) == expected
    )
    msg = signing.sign_establish(
        SECRET, access_key_id=KEY_ID, uuid=SAMPLE_UUID, request_timestamp=TS, session="ABC",
        firm="007", trading_system_name=" ", trading_system_version=" ", trading_system_vendor=" ",
        next_seq_no=1, keep_alive_interval=30,
    )  # fmt: skip
    wire = decode_message(msg.encode())
    assert isinstance(wire, m.Establish503)
    assert signing.canonical_of(wire) == expected  # AI-22: the single spaces are kept
    assert (
        wire.HMACSignature.hex()
        == "b565151a6b557b9474f0880c12f2e064b931a77eb97d99a994a07e1ce9a7a7fe"
    )
    assert signing.verify(SECRET, wire)


# -- Negotiate field checks (seed 004 "Session Negotiation", AI-12, AI-13) --------------------


def test_I099_negotiate_access_key_id_all_nul_or_non_printable_is_rejected() -> None:
    r = Raw()
    msg = r.negotiate_msg(AccessKeyID="")
    assert set(msg.encode()[8 + 32 : 8 + 52]) == {0}  # 20 empty bytes on the wire
    assert only(r.send(msg), m.NegotiationReject502).ErrorCodes == 5
    assert (
        only(r.send(r.negotiate_msg(AccessKeyID="AKID\x01")), m.NegotiationReject502).ErrorCodes
        == 12
    )
    assert r.send(r.negotiate_msg()) == [] and r.gw.state is State.NEGOTIATING


def test_I100_negotiate_session_all_nul_or_non_printable_is_rejected() -> None:
    r = Raw()
    assert only(r.send(r.negotiate_msg(Session="")), m.NegotiationReject502).ErrorCodes == 6
    assert only(r.send(r.negotiate_msg(Session="A\tB")), m.NegotiationReject502).ErrorCodes == 13
    assert r.gw.state is State.IDLE and not r.events


def test_I101_negotiate_firm_all_nul_is_rejected_but_a_short_padded_firm_is_fine() -> None:
    r = Raw()
    assert only(r.send(r.negotiate_msg(Firm="")), m.NegotiationReject502).ErrorCodes == 7
    assert only(r.send(r.negotiate_msg(Firm="\x7f")), m.NegotiationReject502).ErrorCodes == 14
    # AI-12: "007" in char[5] is NUL padded; that is not an empty field
    assert r.send(r.negotiate_msg(Firm="007")) == []
    (got,) = [e for e in r.events if isinstance(e, ev.NegotiateReceived)]
    assert got.message.Firm == "007"


@pytest.mark.parametrize(("uuid", "code"), [(0, 2), (2**64 - 1, 8)])
def test_I102_negotiate_uuid_boundaries(uuid: int, code: int) -> None:
    # AI-13: UUID 0 is CME's (I-236); the null value means missing
    r = Raw()
    rej = only(r.send(r.negotiate_msg(UUID=uuid)), m.NegotiationReject502)
    assert (rej.ErrorCodes, rej.UUID) == (code, uuid)
    assert r.send(r.negotiate_msg(UUID=2**64 - 2)) == []  # the largest real value is fine


# -- Establish field checks (seed 004 "Session Establishment") ------------------------------


@pytest.mark.parametrize(
    ("over", "code"),
    [({"AccessKeyID": ""}, 5), ({"AccessKeyID": "KEY\x01"}, 12)],
)
def test_I133_establish_access_key_id_cannot_be_empty(over: dict[str, Any], code: int) -> None:
    r = Raw()
    r.negotiated()
    assert only(r.send(r.establish_msg(**over)), m.EstablishmentReject505).ErrorCodes == code
    assert r.gw.state is State.NEGOTIATED


@pytest.mark.parametrize(("session", "code"), [("", 6), ("\x01BC", 13)])
def test_I134_establish_session_cannot_be_empty(session: str, code: int) -> None:
    r = Raw()
    r.negotiated()
    rej = only(r.send(r.establish_msg(Session=session)), m.EstablishmentReject505)
    assert rej.ErrorCodes == code and r.gw.state is State.NEGOTIATED


@pytest.mark.parametrize(("firm", "code"), [("", 7), ("0\x0207", 14)])
def test_I135_establish_firm_cannot_be_empty(firm: str, code: int) -> None:
    r = Raw()
    r.negotiated()
    rej = only(r.send(r.establish_msg(Firm=firm)), m.EstablishmentReject505)
    assert rej.ErrorCodes == code and r.gw.state is State.NEGOTIATED


@pytest.mark.parametrize(("value", "code"), [("", 18), ("n\x02", 23)])
def test_I136_establish_trading_system_name_cannot_be_empty(value: str, code: int) -> None:
    r = Raw()
    r.negotiated()
    rej = only(r.send(r.establish_msg(TradingSystemName=value)), m.EstablishmentReject505)
    assert rej.ErrorCodes == code


@pytest.mark.parametrize(("value", "code"), [("", 19), ("1\x7f", 24)])
def test_I137_establish_trading_system_version_cannot_be_empty(value: str, code: int) -> None:
    r = Raw()
    r.negotiated()
    rej = only(r.send(r.establish_msg(TradingSystemVersion=value)), m.EstablishmentReject505)
    assert rej.ErrorCodes == code


@pytest.mark.parametrize(("value", "code"), [("", 20), ("v\x1b", 25)])
def test_I138_establish_trading_system_vendor_cannot_be_empty(value: str, code: int) -> None:
    r = Raw()
    r.negotiated()
    rej = only(r.send(r.establish_msg(TradingSystemVendor=value)), m.EstablishmentReject505)
    assert rej.ErrorCodes == code


def test_I136_I137_I138_single_space_trading_system_fields_are_not_empty() -> None:
    # the seed's own Establish sample uses " " for all three (AI-12, AI-22)
    r = Raw()
    r.negotiated()
    msg = r.establish_msg(TradingSystemName=" ", TradingSystemVersion=" ", TradingSystemVendor=" ")
    assert r.send(msg) == []
    assert any(isinstance(e, ev.EstablishReceived) for e in r.events)


@pytest.mark.parametrize(("uuid", "code"), [(0, 2), (2**64 - 1, 8)])
def test_I139_establish_uuid_boundaries(uuid: int, code: int) -> None:
    r = Raw()  # intra-session binding: no Negotiate on this connection
    rej = only(r.send(r.establish_msg(UUID=uuid)), m.EstablishmentReject505)
    assert (rej.ErrorCodes, rej.UUID) == (code, uuid)
    assert r.gw.state is State.IDLE


@pytest.mark.parametrize(
    ("offset", "code"),
    [(None, 9), (-6 * SECOND, 3), (6 * SECOND, 3)],
)
def test_I140_establish_request_timestamp_boundaries(offset: int | None, code: int) -> None:
    # AI-13, AI-23: 0 is missing; more than 5 s from the venue's time is invalid
    r = Raw()
    r.negotiated()
    ts = 0 if offset is None else r.now + offset
    rej = only(r.send(r.establish_msg(RequestTimestamp=ts)), m.EstablishmentReject505)
    assert rej.ErrorCodes == code
    assert r.send(r.establish_msg(RequestTimestamp=r.now - 4 * SECOND)) == []


@pytest.mark.parametrize(
    ("interval", "code"),
    [(0, 21), (0xFFFF, 21), (4_999, 11), (60_001, 11), (5_000, None), (60_000, None)],
)
def test_I141_establish_keep_alive_interval_boundaries(interval: int, code: int | None) -> None:
    # AI-01: milliseconds on the wire, 5000..60000 accepted
    r = Raw()
    r.negotiated()
    out = r.send(r.establish_msg(KeepAliveInterval=interval))
    if code is None:
        assert out == [] and r.gw.state is State.ESTABLISHING
        r.gw.accept_establish(r.now, next_seq_no=1, expected_seq_no=1)
        ack = only(decode_all(r.gw.data_to_send()), m.EstablishmentAck504)
        assert ack.KeepAliveInterval == interval
        assert r.gw.next_deadline() == r.now + interval * 1_000_000  # the agreed interval is used
    else:
        assert only(out, m.EstablishmentReject505).ErrorCodes == code


# -- Sequence and RetransmitRequest boundaries ----------------------------------------------


@pytest.mark.parametrize(
    ("next_seq_no", "code"),
    [(2**32 - 1, 21), (0, 10), (2, 10)],
)
def test_I170_sequence_next_seq_no_boundaries_terminate(next_seq_no: int, code: int) -> None:
    # null -> NextSeqNo missing; 0 on the primary (I-274); lower than expected (I-230)
    r = Raw()
    r.established()
    for seq in (1, 2):
        assert r.send(order(seq)) == []
    term = only(r.send(r.seq(next_seq_no)), m.Terminate507)
    assert term.ErrorCodes == code and r.gw.closed


def test_I170_sequence_next_seq_no_equal_or_higher_is_accepted() -> None:
    r = Raw()
    r.established()
    assert r.send(r.seq(1)) == [] and r.gw.next_in == 1
    assert r.send(r.seq(7)) == [] and r.gw.next_in == 7
    assert r.send(order(7)) == [] and not r.gw.closed


def _retx(r: Raw, **over: Any) -> m.RetransmitRequest508:
    kw: dict[str, Any] = dict(UUID=UUID, RequestTimestamp=r.now, FromSeqNo=1, MsgCount=1)
    kw.update(over)
    return m.RetransmitRequest508(**kw)


@pytest.mark.parametrize(
    ("timestamp", "code"),
    [("zero", 7), ("null", 7), ("stale", 4), ("future", 4)],
)
def test_I195_retransmit_request_timestamp_boundaries(timestamp: str, code: int) -> None:
    r = Raw()
    r.established()
    ts = {"zero": 0, "null": 2**64 - 1, "stale": r.now - 6 * SECOND, "future": r.now + 6 * SECOND}[
        timestamp
    ]
    rej = only(r.send(_retx(r, RequestTimestamp=ts)), m.RetransmitReject510)
    assert rej.ErrorCodes == code and rej.RequestTimestamp == ts
    assert not any(isinstance(e, ev.RetransmitRequested) for e in r.events)
    assert r.send(_retx(r)) == []  # a current timestamp is served
    assert any(isinstance(e, ev.RetransmitRequested) for e in r.events)


@pytest.mark.parametrize(("from_seq_no", "code"), [(0, 5), (2**32 - 1, 8)])
def test_I196_retransmit_request_from_seq_no_boundaries(from_seq_no: int, code: int) -> None:
    r = Raw()
    r.established()
    rej = only(r.send(_retx(r, FromSeqNo=from_seq_no)), m.RetransmitReject510)
    assert rej.ErrorCodes == code
    assert not r.gw.closed  # a reject, not a termination


# -- the customer's answers to NotApplied (initiator role) --------------------------------------


def _lose_next_client_message(p: Pair, clordid: str) -> None:
    p.client.send_business(order(clordid=clordid), p.now)
    p.client.data_to_send()  # lost on the way to the gateway


def test_I020_I021_I181_not_applied_is_answered_with_sequence_never_a_new_uuid() -> None:
    p = Pair()
    p.logon()
    _lose_next_client_message(p, "C1")
    p.client.send_business(order(clordid="C2"), p.now)
    p.pump()
    (na,) = [e for e in p.client_events if isinstance(e, ev.NotAppliedReceived)]
    assert (na.message.FromSeqNo, na.message.MsgCount) == (1, 2)
    # the recommended answer: a Sequence skipping the gap; the FIXP session stays as it is
    assert p.sent_by_client(m.Sequence506)[-1].NextSeqNo == 3
    assert len(p.sent_by_client(m.Negotiate500)) == 1  # no re-negotiation
    assert p.sent_by_client(m.Terminate507) == []
    assert p.client.state is State.ESTABLISHED and p.client.uuid == UUID
    p.client.send_business(order(clordid="C3"), p.now)
    p.pump()
    assert applied(p) == [(3, "C3")]


def test_I205_I224_program_resends_what_not_applied_names_with_new_numbers() -> None:
    # NotAppliedPolicy.REPORT: the program decides; here it gap-fills with Sequence and sends the
    # two unapplied orders again under new sequence numbers
    p = Pair()
    p.client = FixpSession(
        SessionConfig(Role.INITIATOR, not_applied_policy=NotAppliedPolicy.REPORT)
    )
    p.logon()
    _lose_next_client_message(p, "C1")
    p.client.send_business(order(clordid="C2"), p.now)
    p.pump()
    (na,) = [e for e in p.client_events if isinstance(e, ev.NotAppliedReceived)]
    missing = range(na.message.FromSeqNo, na.message.FromSeqNo + na.message.MsgCount)
    assert list(missing) == [1, 2] and applied(p) == []  # neither order was applied
    assert p.sent_by_client(m.Sequence506) == []  # the machine left the choice to the program
    p.client_events.extend(p.client.send_sequence(p.now))
    for clordid in ("C1", "C2"):
        p.client.send_business(order(clordid=clordid), p.now)
    p.pump()
    assert applied(p) == [(3, "C1"), (4, "C2")]
    assert len([e for e in p.client_events if isinstance(e, ev.NotAppliedReceived)]) == 1


def test_I224_program_may_instead_resend_the_missing_numbers() -> None:
    p = Pair()
    p.client = FixpSession(
        SessionConfig(Role.INITIATOR, not_applied_policy=NotAppliedPolicy.REPORT)
    )
    p.logon()
    _lose_next_client_message(p, "C1")
    p.client.send_business(order(clordid="C2"), p.now)
    p.pump()
    (na,) = [e for e in p.client_events if isinstance(e, ev.NotAppliedReceived)]
    p.client.next_out = na.message.FromSeqNo  # replay with the missing sequence numbers (I-179)
    for clordid in ("C1", "C2"):
        p.client.send_business(order(clordid=clordid), p.now)
    p.pump()
    assert applied(p) == [(1, "C1"), (2, "C2")]
    assert p.gw.next_in == 3 and p.client.next_out == 3


def test_I260_client_breaks_the_not_applied_loop_of_a_corrupted_message() -> None:
    # I-256..I-259: the gateway drops a corrupted message without consuming its number; each
    # later message is then NotApplied until a Sequence. The library detects it on the first
    # NotApplied and gap-fills, so the loop stops at once.
    def corrupt_next(p: Pair, clordid: str) -> None:
        p.client.send_business(order(clordid=clordid), p.now)
        bad = bytearray(p.client.data_to_send())
        bad[6:8] = b"\x99\x02"  # templateId 665: cannot be decoded
        p.gw_events.extend(p.gw.receive_data(bytes(bad), p.now))

    p = Pair()
    p.logon()
    corrupt_next(p, "BAD")
    assert any(isinstance(e, ev.MessageDisregarded) for e in p.gw_events)
    for clordid in ("C2", "C3"):
        p.client.send_business(order(clordid=clordid), p.now)
        p.pump()
    assert len(p.sent_by_gw(m.NotApplied513)) == 1  # no loop
    assert applied(p) == [(3, "C3")]

    # without the correction the loop goes on, same FromSeqNo every time
    q = Pair()
    q.client = FixpSession(
        SessionConfig(Role.INITIATOR, not_applied_policy=NotAppliedPolicy.REPORT)
    )
    q.logon()
    corrupt_next(q, "BAD")
    for clordid in ("C2", "C3", "C4"):
        q.client.send_business(order(clordid=clordid), q.now)
        q.pump()
    assert [x.FromSeqNo for x in q.sent_by_gw(m.NotApplied513)] == [1, 1, 1]
    assert applied(q) == []


# -- Sequence interleaved with retransmission ---------------------------------------------------


def test_I162_gateway_sequence_interleaved_with_retransmission_answers() -> None:
    p = Pair()
    p.client = FixpSession(SessionConfig(Role.INITIATOR, max_retransmit=2))
    p.logon()
    p.drop_to_client = {1, 2, 3, 4}
    stored = [p.gw.send_business(report(exec_id=f"E{i}"), p.now) for i in range(5)]
    p.pump()
    first = p.sent_by_client(m.RetransmitRequest508)[-1]
    assert (first.FromSeqNo, first.MsgCount) == (1, 2)
    asked = [e for e in p.gw_events if isinstance(e, ev.RetransmitRequested)][-1]
    p.gw.send_retransmission(p.now, asked.message, stored[0:2])
    p.pump()
    second = p.sent_by_client(m.RetransmitRequest508)[-1]
    assert (second.FromSeqNo, second.MsgCount) == (3, 2)
    # while the second request is being served, a keep-alive interval passes: the gateway's
    # Sequence goes out between the two Retransmission answers, carrying its real-time NextSeqNo
    p.now += 30 * SECOND
    p.gw_events.extend(p.gw.on_timer(p.now))
    p.pump()
    asked = [e for e in p.gw_events if isinstance(e, ev.RetransmitRequested)][-1]
    p.gw.send_retransmission(p.now, asked.message, stored[2:4])
    p.pump()
    kinds = [
        type(x).__name__ if not hasattr(x, "SeqNum") else x.SeqNum
        for x in p.to_client
        if not isinstance(x, m.EstablishmentAck504 | m.NegotiationResponse501)
    ]
    assert kinds == [5, "Retransmission509", 1, 2, "Sequence506", "Retransmission509", 3, 4]
    seq = p.sent_by_gw(m.Sequence506)[-1]
    assert seq.NextSeqNo == 6  # the next real-time number, not a replayed one
    assert [e.seq_no for e in p.client_events if isinstance(e, ev.BusinessMessage)] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert (
        len(p.sent_by_client(m.RetransmitRequest508)) == 2
    )  # the Sequence caused no extra request
    assert p.client.state is State.ESTABLISHED


# -- boundary checks of Sequence FTI and of the customer's Terminate (AI-13) -------------------


def _raw_sequence_with_fti(r: Raw, fti: int) -> bytes:
    from dropcopy.ilink3.codec import encode

    data = bytearray(encode(r.seq(1)))
    offset = (
        4
        + 8
        + next(f.offset for f in m.Sequence506.SBE_FIELDS if f.name == "FaultToleranceIndicator")
    )
    data[offset] = fti
    return bytes(data)


@pytest.mark.parametrize("fti", [2, 7, 254])
def test_I172_sequence_with_an_out_of_range_fti_is_a_violation(fti: int) -> None:
    r = Raw()
    r.established()
    term = only(r.send(_raw_sequence_with_fti(r, fti)), m.Terminate507)
    assert term.ErrorCodes == 23 and r.gw.closed
    assert r.gw.terminated is not None and r.gw.terminated.violation


@pytest.mark.parametrize("fti", [0, 1, 255])
def test_I172_sequence_fti_0_1_or_absent_is_accepted(fti: int) -> None:
    r = Raw()
    r.established()
    assert r.send(_raw_sequence_with_fti(r, fti)) == [] and not r.gw.closed


def _terminate(r: Raw, **over: Any) -> m.Terminate507:
    kw: dict[str, Any] = dict(Reason="bye", UUID=UUID, RequestTimestamp=r.now, ErrorCodes=0)
    kw.update(over)
    return m.Terminate507(**kw)


def test_I261_terminate_for_another_uuid_is_answered_with_terminate_13() -> None:
    r = Raw()
    r.established()
    term = only(r.send(_terminate(r, UUID=UUID + 1)), m.Terminate507)
    assert (term.ErrorCodes, term.UUID) == (13, UUID) and r.gw.closed


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"RequestTimestamp": 0}, 16),
        ({"RequestTimestamp": 2**64 - 1}, 16),
        ({"RequestTimestamp": -100 * SECOND}, 14),  # relative: 100 s old
        ({"UUID": 0}, 15),
    ],
)
def test_I262_I261_terminate_timestamp_and_uuid_boundaries(over: dict[str, Any], code: int) -> None:
    r = Raw()
    r.established()
    if over.get("RequestTimestamp", 0) < 0:
        over = {"RequestTimestamp": r.now + over["RequestTimestamp"]}
    term = only(r.send(_terminate(r, **over)), m.Terminate507)
    assert term.ErrorCodes == code and r.gw.closed
    assert r.gw.terminated is not None and r.gw.terminated.violation


@pytest.mark.parametrize(("code", "answer"), [(999, 23), (25, 23), (0xFFFF, 17)])
def test_I263_terminate_with_an_unknown_or_missing_code_is_a_violation(
    code: int, answer: int
) -> None:
    r = Raw()
    r.established()
    term = only(r.send(_terminate(r, ErrorCodes=code)), m.Terminate507)
    assert term.ErrorCodes == answer and r.gw.terminated is not None and r.gw.terminated.violation


def test_I263_known_codes_are_not_violations() -> None:
    graceful = Raw()
    graceful.established()
    term = only(graceful.send(_terminate(graceful, ErrorCodes=0)), m.Terminate507)
    assert term.ErrorCodes == 0  # confirmed (I-240)
    ungraceful = Raw()
    ungraceful.established()
    assert ungraceful.send(_terminate(ungraceful, ErrorCodes=20)) == []  # closed, no answer
    for r in (graceful, ungraceful):
        assert r.gw.terminated is not None and not r.gw.terminated.violation
