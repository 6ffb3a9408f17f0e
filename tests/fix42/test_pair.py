"""A Drop Copy client (initiator) and gateway (acceptor) joined by a fake wire and fake clock.

These check the client library's obligations in seed 003 (the ``client`` rows) against the
project's own gateway, and the two roles of one machine against each other.
"""

from __future__ import annotations

import pytest

from dropcopy.fix import checksum, decode, encode
from dropcopy.fix.secure_logon import verify_logon
from dropcopy.fix42 import events as ev
from dropcopy.fix42 import texts
from dropcopy.fix42.session import SECOND, Fix42Session, LocalProtocolError, State

from .harness import (
    CLIENT,
    OPERATOR,
    SECRET,
    Pair,
    client_config,
    events_of,
    of_type,
    parse_all,
    seq_of,
)


def logged_on(**kw: object) -> Pair:
    p = Pair(**kw)  # type: ignore[arg-type]
    p.logon()
    assert p.client.state is State.ACTIVE and p.gw.state is State.ACTIVE
    return p


def test_logon_pair_signs_and_acknowledges() -> None:
    p = logged_on()
    logon = p.sent_by_client("A")[0]
    assert verify_logon(logon, SECRET)  # AX-01
    assert logon.get(49) == CLIENT.encode() and logon.get(50) == OPERATOR.encode()
    assert logon.get(56) == b"CME" and logon.get(57) == b"G" and logon.get(142) == b"US,IL"
    assert logon.get(98) is None and logon.get(96) is None  # wire notes §1.3
    got = events_of(p.client_events, ev.LoggedOn)
    assert got and got[0].msg_seq_num == 1
    assert (p.client.next_out, p.client.next_in) == (2, 2)


def test_D020_default_heartbeat_interval_is_30() -> None:
    p = logged_on()
    assert p.sent_by_client("A")[0].get(108) == b"30"


def test_D063_every_client_message_has_a_valid_checksum() -> None:
    p = logged_on()
    p.publish(3)
    p.drop_to_client = {3}
    p.publish(2)
    p.pump()
    p.advance(100 * SECOND)
    p.client_events.extend(p.client.logout(p.now))
    p.pump()
    assert len(p.to_gw) > 3
    for msg in p.to_gw:
        raw = msg.raw
        assert int(raw[-4:-1]) == checksum(raw[: raw.rindex(b"10=")])
        assert decode(raw) == msg


def test_D049_application_sees_messages_in_order_after_a_gap() -> None:
    p = logged_on()
    p.drop_to_client = {3, 4}
    p.publish(6)  # 2..7
    p.pump()
    assert p.delivered() == list(range(2, 8))
    flags = {e.msg_seq_num: e.poss_dup for e in events_of(p.client_events, ev.BusinessMessage)}
    assert flags[3] and flags[4] and not flags[5]  # 3, 4 came as resend responses
    assert p.client.next_in == 8 and not p.client.resend_in_progress


def test_D036_small_gaps_use_an_enhanced_resend_request() -> None:
    p = logged_on()
    p.drop_to_client = {3}
    p.publish(3)
    p.pump()
    rr = p.sent_by_client("2")
    assert len(rr) == 1 and (rr[0].get(7), rr[0].get(16)) == (b"3", b"0")


def test_D047_D048_no_second_resend_while_one_is_in_flight() -> None:
    p = logged_on(auto_answer_resend=False)
    p.drop_to_client = {3}
    p.publish(3)  # 2, (3 lost), 4
    p.pump()
    assert len(p.sent_by_client("2")) == 1 and p.client.resend_in_progress
    p.publish(4)  # 5..8: higher-numbered real-time messages interleave
    p.pump()
    p.drop_to_client = {3, 9}
    p.publish(3)  # 9..11: another loss while the first request is unanswered
    p.pump()
    assert len(p.sent_by_client("2")) == 1  # D-047
    assert p.delivered() == [2]  # D-049: the rest is held
    p.answer(p.resend_requests[-1])
    p.pump()
    assert p.delivered() == list(range(2, 9))  # 9 is missing too
    rrs = p.sent_by_client("2")  # the next request only once the first was fulfilled
    assert [(m.get_int(7), m.get_int(16)) for m in rrs] == [(3, 0), (9, 0)]
    p.answer(p.resend_requests[-1])
    p.pump()
    assert p.delivered() == list(range(2, 12))


def test_D058_large_gaps_are_requested_2500_at_a_time_one_after_the_other() -> None:
    p = logged_on(gw_config={"resend_batch": 10_000})
    p.drop_to_client = set(range(3, 6003))
    p.publish(6002)  # 2..6003; 3..6002 lost
    p.pump()
    ranges = [(seq_of(m), m.get_int(7), m.get_int(16)) for m in p.sent_by_client("2")]
    assert [r[1:] for r in ranges] == [(3, 2502), (2503, 5002), (5003, 0)]
    assert p.delivered() == list(range(2, 6004))


def test_D011_logout_is_held_until_the_resend_completes() -> None:
    p = logged_on(auto_answer_resend=False)
    p.drop_to_client = {3}
    p.publish(3)
    p.pump()
    assert p.client.resend_in_progress
    p.client_events.extend(p.client.logout(p.now, "done"))
    p.pump()
    assert p.client.logout_held and not p.sent_by_client("5")
    assert events_of(p.client_events, ev.LogoutHeld) == [ev.LogoutHeld("done")]
    p.answer(p.resend_requests[-1])
    p.pump()
    assert p.delivered() == [2, 3, 4]
    logout = p.sent_by_client("5")
    assert len(logout) == 1 and logout[0].get_str(58) == "done"
    assert p.client.closed and p.gw.closed


def test_D045_client_refuses_an_in_session_reset_during_its_resend() -> None:
    p = logged_on(auto_answer_resend=False)
    p.drop_to_client = {3}
    p.publish(3)
    p.pump()
    with pytest.raises(LocalProtocolError):
        p.client.reset_sequence_numbers(p.now)


def test_D037_D042_client_answers_cme_resend_request_with_gap_fill() -> None:
    p = logged_on()
    for _ in range(3):
        p.advance(30 * SECOND)  # client heartbeats 2..
    sent_before = p.client.next_out
    # the gateway misses a client message: the client skips one number
    p.client.next_out += 1
    p.advance(30 * SECOND)
    rr = p.sent_by_gw("2")
    assert rr and rr[0].get_int(7) == sent_before
    gap_fill = p.sent_by_client("4")[-1]
    assert gap_fill.get(43) == b"Y" and gap_fill.get(123) == b"Y"
    assert gap_fill.get(122) is not None and seq_of(gap_fill) == sent_before
    assert gap_fill.get_int(36) == p.client.next_out == p.gw.next_in  # D-038: caught up
    assert events_of(p.client_events, ev.GapFillSent)
    assert not p.gw.closed and not p.client.closed


def test_possdup_below_expected_is_ignored_by_the_client() -> None:
    p = logged_on()
    p.publish(3)
    p.pump()
    p.client_events.extend(p.client.request_resend(p.now, 2, 3))
    p.pump()
    assert p.delivered() == [2, 3, 4]  # no duplicate delivery
    ignored = events_of(p.client_events, ev.PossDupIgnored)
    assert [e.msg_seq_num for e in ignored] == [2, 3]
    assert not p.client.closed


def test_client_logs_out_on_a_lower_sequence_number_without_possdup() -> None:
    p = logged_on()
    p.publish(2)
    p.pump()
    replay = p.to_client[-1].raw  # 34=3 again, without 43=Y
    events = p.client.receive_data(replay, p.now)
    logout = of_type(parse_all(p.client.data_to_send()), "5")[0]
    assert logout.get_str(58) == texts.msg_seq_num_too_low(4, 3)
    assert p.client.closed and events_of(events, ev.Closed)[0].rule == "D-030"


def test_D055_D168_reject_with_5024_then_request_from_5024() -> None:
    p = logged_on()
    p.publish(4)  # 2..5
    p.pump()
    p.first_retrievable = 8
    p.drop_to_client = {6, 7, 8}
    p.publish(4)  # 6..9; 6, 7, 8 lost
    p.pump()
    rejected = events_of(p.client_events, ev.ResendRejected)
    assert rejected and rejected[0].start_sequence_number == 8
    assert events_of(p.client_events, ev.MessagesUnrecoverable) == [ev.MessagesUnrecoverable(6, 7)]
    rrs = p.sent_by_client("2")
    assert [(m.get_int(7), m.get_int(16)) for m in rrs] == [(6, 0), (8, 0)]
    assert p.delivered() == [2, 3, 4, 5, 8, 9]


def test_enhanced_request_rejected_for_size_is_retried_as_basic() -> None:
    p = logged_on(gw_config={"resend_batch": 10_000})
    p.publish(2)  # 2, 3
    p.pump()
    p.drop_to_client = {4, 5}
    p.publish(3000)  # 4..3003 in one read: by the time the 35=2 arrives CME is at 3003
    p.pump()
    assert p.delivered() == [2, 3]
    p.advance(SECOND)  # resend_retry_delay
    rrs = [(m.get_int(7), m.get_int(16)) for m in p.sent_by_client("2")]
    # 7=4 16=0 asks for 4..3003 (3000 > 2500): rejected; retried with an explicit end
    assert rrs[0] == (4, 0) and rrs[1] == (4, 2503)
    assert events_of(p.client_events, ev.ResendRejected)[0].start_sequence_number is None
    assert p.delivered() == list(range(2, 3004))


def test_D149_client_uses_789_for_its_next_logon() -> None:
    p = Pair()
    p.client.next_out = 5  # the client believes it is at 5; CME expects 1 (a fresh week)
    p.logon()
    closed = events_of(p.client_events, ev.Closed)[0]
    assert closed.by_peer and closed.next_expected_msg_seq_num == 1
    assert p.client.next_out == 1  # adopted for the retry
    retry = Fix42Session(client_config(), p.now, next_out=p.client.next_out)
    gw = Fix42Session(p.gw.config, p.now)
    q = Pair()
    q.client, q.gw = retry, gw
    q.logon()
    assert q.client.state is State.ACTIVE


def test_persisted_numbers_restore_a_mid_week_session_and_recover_the_gap() -> None:
    """The client resumes with its next outbound 34 on a new connection (D-026, and D-066 for
    the connection to a newly promoted primary), then recovers what it missed."""
    p = logged_on()
    p.publish(3)  # 2..4
    p.pump()
    p.client_events.extend(p.client.logout(p.now))
    p.pump()
    out, inn = p.client.next_out, p.client.next_in  # what a client persists
    gw_out, gw_in = p.gw.next_out, p.gw.next_in
    assert (out, inn) == (gw_in, gw_out)
    # the venue keeps publishing while the client is away: 5..7 journalled, not delivered
    q = Pair()
    q.journal = dict(p.journal)
    q.client = Fix42Session(client_config(), q.now, next_out=out, next_in=inn)
    q.gw = Fix42Session(p.gw.config, q.now)
    q.gw.next_out, q.gw.next_in = gw_out, gw_in
    template = decode(p.journal[2])
    for seq in range(gw_out, gw_out + 3):
        q.journal[seq] = encode(
            "n", [(t, seq if t == 34 else v) for t, v in template.body_fields[1:]]
        )
    q.gw.next_out = gw_out + 3
    q.logon()
    assert q.client.state is State.ACTIVE
    assert q.delivered() == [gw_out, gw_out + 1, gw_out + 2]


def test_D032_client_in_session_reset() -> None:
    p = logged_on()
    p.publish(3)
    p.pump()
    p.client_events.extend(p.client.reset_sequence_numbers(p.now))
    p.pump()
    logon = p.sent_by_client("A")[-1]
    assert seq_of(logon) == 1 and logon.get(141) == b"Y" and verify_logon(logon, SECRET)
    assert (p.client.next_out, p.client.next_in) == (2, 2)
    assert (p.gw.next_out, p.gw.next_in) == (2, 2)
    assert events_of(p.client_events, ev.SequenceNumbersReset) == [ev.SequenceNumbersReset(False)]
    p.publish(1)
    p.pump()
    assert p.delivered() == [2, 3, 4, 2]


def test_heartbeats_flow_both_ways_while_idle() -> None:
    p = logged_on()
    p.advance(95 * SECOND)
    assert len(p.sent_by_client("0")) >= 3 and len(p.sent_by_gw("0")) >= 3
    assert not p.sent_by_gw("1") and not p.sent_by_client("1")
    assert p.client.state is State.ACTIVE and p.gw.state is State.ACTIVE


def test_client_test_request_and_logout_when_cme_goes_silent() -> None:
    p = logged_on()
    p.gw = Fix42Session(p.gw.config, p.now)  # the gateway vanishes: nothing comes back
    p.gw.state = State.CLOSED
    events: list[ev.Event] = []
    now = p.now
    while not p.client.closed:
        deadline = p.client.next_deadline()
        assert deadline is not None
        now = deadline
        events += p.client.on_timer(now)
    sent = parse_all(p.client.data_to_send())
    assert [m.msg_type for m in sent if m.msg_type != "0"] == ["1", "5"]
    assert now - p.now == 63 * SECOND
    assert events_of(events, ev.Closed)[0].logout_text == texts.HEARTBEAT_TIMEOUT


def test_gateway_logout_is_confirmed_by_the_client() -> None:
    p = logged_on()
    p.gw_events.extend(p.gw.logout(p.now, "End of week"))
    p.pump()
    assert p.client.closed and p.gw.closed
    closed = events_of(p.client_events, ev.Closed)[0]
    assert closed.by_peer and closed.logout_text == "End of week"
    assert closed.next_expected_msg_seq_num == 2  # the confirmation then took 34=2
    assert (p.client.next_out, p.client.next_in) == (p.gw.next_in, p.gw.next_out) == (3, 3)


def test_msgw_pair_echoes_segment_and_operator() -> None:
    p = logged_on(target_sub_id="74")
    sent = p.publish(1)
    p.pump()
    msg = p.sent_by_gw("n")[0]
    assert (msg.get(50), msg.get(57)) == (b"74", OPERATOR.encode())
    assert p.delivered() == sent


def test_logon_timeout_on_the_client() -> None:
    c = Fix42Session(client_config(logon_timeout=10 * SECOND), 0)
    c.logon(0)
    assert c.next_deadline() == 10 * SECOND
    events = c.on_timer(10 * SECOND)
    assert c.closed and events_of(events, ev.Closed)[0].reason == "no Logon ack"


def test_client_api_misuse_raises() -> None:
    c = Fix42Session(client_config(), 0)
    with pytest.raises(LocalProtocolError):
        c.logout(0)
    with pytest.raises(LocalProtocolError):
        c.send_encapsulated(0, b"")
    with pytest.raises(LocalProtocolError):
        c.accept_logon(0)
    c.logon(0)
    with pytest.raises(LocalProtocolError):
        c.logon(0)
