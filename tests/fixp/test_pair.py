"""Customer and gateway machines talking over a fake wire with a fake clock (seed 004)."""

from __future__ import annotations

import pytest

from dropcopy.fixp import events as ev
from dropcopy.fixp.session import (
    FixpSession,
    LocalProtocolError,
    NotAppliedPolicy,
    Role,
    SessionConfig,
    State,
)
from dropcopy.ilink3 import messages as m

from .harness import SECOND, SECRET, UUID, Pair, decode_all, order, report


def delivered(p: Pair) -> list[int]:
    return [e.seq_no for e in p.client_events if isinstance(e, ev.BusinessMessage)]


def test_I006_two_step_logon_negotiate_then_establish() -> None:  # I-047..I-052, I-104, I-120
    p = Pair()
    p.negotiate()
    assert p.client.state is State.NEGOTIATED
    assert any(isinstance(e, ev.Negotiated) for e in p.client_events)
    p.establish()
    assert p.client.state is State.ESTABLISHED and p.gw.state is State.ESTABLISHED
    (est,) = [e for e in p.client_events if isinstance(e, ev.Established)]
    assert est.ack.NextSeqNo == 1 and est.ack.UUID == UUID
    # the Negotiate and Establish on the wire carry the signature (I-033) and flow constants (I-091)
    (neg,) = p.sent_by_client(m.Negotiate500)
    assert neg.CustomerFlow == "IDEMPOTENT" and len(neg.HMACSignature) == 32


def test_I109_business_both_ways_once_established() -> None:  # I-151, I-210, I-211
    p = Pair()
    p.logon()
    for i in range(3):
        p.client.send_business(order(clordid=f"C{i}"), p.now)
        p.gw.send_business(report(exec_id=f"E{i}"), p.now)
    p.pump()
    assert [e.seq_no for e in p.gw_events if isinstance(e, ev.BusinessMessage)] == [1, 2, 3]
    assert delivered(p) == [1, 2, 3]
    assert all(x.UUID == UUID for x in p.sent_by_gw(m.ExecutionReportNew522))
    assert p.client.next_out == 4 and p.gw.next_out == 4


def test_I218_heartbeats_keep_an_idle_pair_alive() -> None:  # I-159, I-165, I-166
    p = Pair()
    p.logon()
    p.advance(10 * 60 * SECOND)
    assert p.client.state is State.ESTABLISHED and p.gw.state is State.ESTABLISHED
    assert len(p.sent_by_gw(m.Sequence506)) >= 19 and len(p.sent_by_client(m.Sequence506)) >= 19
    assert not any(x.KeepAliveIntervalLapsed == 1 for x in p.sent_by_gw(m.Sequence506))


def test_I226_I185_client_queues_after_a_gap_and_recovers_in_order() -> (
    None
):  # I-173, I-212, I-228, I-229
    p = Pair()
    p.logon()
    p.drop_to_client = {2, 3}
    sent = [p.gw.send_business(report(exec_id=f"E{i}"), p.now) for i in range(4)]
    p.pump()
    assert delivered(p) == [1]
    (gap,) = [e for e in p.client_events if isinstance(e, ev.GapDetected)]
    assert (gap.uuid, gap.from_seq_no, gap.count) == (UUID, 2, 2)
    (req,) = p.sent_by_client(m.RetransmitRequest508)
    assert (req.FromSeqNo, req.MsgCount, req.LastUUID) == (2, 2, None)
    (asked,) = [e for e in p.gw_events if isinstance(e, ev.RetransmitRequested)]
    p.gw.send_business(report(exec_id="realtime"), p.now)  # interleaved real-time message (I-187)
    p.gw.send_retransmission(p.now, asked.message, sent[1:3])
    p.pump()
    assert delivered(p) == [1, 2, 3, 4, 5]
    flags = [
        e.possible_retransmission for e in p.client_events if isinstance(e, ev.BusinessMessage)
    ]
    assert flags == [False, True, True, False, False]


def test_I191_large_gap_is_recovered_in_batches_of_2500_one_at_a_time() -> None:  # I-188, I-192
    p = Pair()
    p.logon()
    p.drop_to_client = set(range(1, 6001))
    stored = [p.gw.send_business(report(exec_id=f"E{i}"), p.now) for i in range(6001)]
    p.pump()
    batches = []
    for _ in range(5):
        reqs = p.sent_by_client(m.RetransmitRequest508)
        if len(reqs) == len(batches):
            break
        req = reqs[-1]
        batches.append((req.FromSeqNo, req.MsgCount))
        (asked,) = [e for e in p.gw_events if isinstance(e, ev.RetransmitRequested)][-1:]
        p.gw.send_retransmission(
            p.now, asked.message, stored[req.FromSeqNo - 1 : req.FromSeqNo - 1 + req.MsgCount]
        )
        p.pump()
    assert batches == [(1, 2500), (2501, 2500), (5001, 1000)]
    assert delivered(p) == list(range(1, 6002))


def test_I148_establishment_ack_higher_than_expected_triggers_retransmission() -> (
    None
):  # I-086, I-087, I-235
    p = Pair()
    p.negotiate()
    p.establish(expected=1, gw_next=4)  # three messages were published while away
    (req,) = p.sent_by_client(m.RetransmitRequest508)
    assert (req.FromSeqNo, req.MsgCount) == (1, 3)


def test_I067_previous_uuid_messages_are_requested_with_last_uuid() -> None:  # I-064, I-065, I-076
    p = Pair()
    p.negotiate()
    p.establish(previous_uuid=0, previous_seq_no=1)
    (est,) = [e for e in p.client_events if isinstance(e, ev.Established)]
    assert (est.ack.PreviousUUID, est.ack.PreviousSeqNo) == (0, 1)
    p.client_events.extend(
        p.client.request_retransmission(p.now, from_seq_no=1, count=1, last_uuid=0)
    )
    p.pump()
    (asked,) = [e for e in p.gw_events if isinstance(e, ev.RetransmitRequested)]
    assert asked.uuid == 0
    gtc_fill = report(seq=1, uuid=0, exec_id="GTC").encode()
    p.gw.send_retransmission(p.now, asked.message, [gtc_fill])
    p.pump()
    (got,) = [e for e in p.client_events if isinstance(e, ev.BusinessMessage)]
    assert (got.uuid, got.seq_no, got.possible_retransmission) == (0, 1, True)
    assert p.client.next_in == 1  # the current UUID's stream is untouched


def test_I164_I214_client_answers_not_applied_with_a_gap_fill_sequence() -> None:  # I-178, I-207
    p = Pair()
    p.logon()
    p.client.send_business(order(), p.now)
    p.client.data_to_send()  # lost on the way
    p.client.send_business(order(clordid="C2"), p.now)
    p.pump()
    assert any(isinstance(e, ev.NotAppliedReceived) for e in p.client_events)
    assert p.sent_by_client(m.Sequence506)[-1].NextSeqNo == 3
    assert p.gw.next_in == 3
    p.client.send_business(order(clordid="C3"), p.now)
    p.pump()
    assert [e.seq_no for e in p.gw_events if isinstance(e, ev.BusinessMessage)] == [3]


def test_not_applied_report_policy_leaves_the_choice_to_the_program() -> None:
    p = Pair()
    p.client = FixpSession(
        SessionConfig(Role.INITIATOR, not_applied_policy=NotAppliedPolicy.REPORT)
    )
    p.logon()
    p.client.send_business(order(seq=0), p.now)
    p.client.data_to_send()
    p.client.send_business(order(clordid="C2"), p.now)
    p.pump()
    assert any(isinstance(e, ev.NotAppliedReceived) for e in p.client_events)
    assert not p.sent_by_client(m.Sequence506)


def test_I241_I245_client_terminate_handshake() -> None:  # I-238, I-240, I-243
    p = Pair()
    p.logon()
    p.client_events.extend(p.client.terminate(p.now))
    assert p.client.state is State.TERMINATE_SENT
    p.pump()
    assert p.client.closed and p.gw.closed
    c, g = p.client.terminated, p.gw.terminated
    assert c is not None and g is not None and c.code == 0 and g.by_peer and not c.by_peer


def test_I241_no_confirmation_within_keepalive_closes_anyway() -> None:
    p = Pair()
    p.logon()
    p.client.terminate(p.now)
    p.client.data_to_send()  # the gateway never sees it
    p.client_events.extend(p.client.on_timer(p.now + 30 * SECOND))
    assert p.client.closed


def test_I168_client_warns_then_terminates_when_the_gateway_falls_silent() -> None:
    p = Pair()
    p.logon()
    p.client_events.extend(p.client.on_timer(p.now + 33 * SECOND))
    assert any(x.KeepAliveIntervalLapsed == 1 for x in decode_all(p.client.data_to_send()))
    p.client_events.extend(p.client.on_timer(p.now + 63 * SECOND))
    assert p.client.closed and p.client.terminated is not None and p.client.terminated.code == 20


def test_I107_negotiate_unanswered_for_two_intervals_can_be_retried() -> None:  # AI-28
    p = Pair()
    p.client.negotiate(
        p.now, secret_key=SECRET, access_key_id="K" * 20, uuid=UUID, session="ABC", firm="007"
    )
    assert p.client.next_deadline() == p.now + 60 * SECOND
    events = p.client.on_timer(p.now + 60 * SECOND)
    assert (
        any(isinstance(e, ev.NegotiationTimeout) for e in events) and p.client.state is State.IDLE
    )


def test_I121_establish_unanswered_within_keepalive_is_reported_for_a_retry() -> None:
    p = Pair()
    p.negotiate()
    p.client.establish(
        p.now, secret_key=SECRET, access_key_id="K" * 20, next_seq_no=1, expected_seq_no=1
    )
    events = p.client.on_timer(p.now + 30 * SECOND)
    assert any(isinstance(e, ev.EstablishTimeout) for e in events)
    p.client.establish(
        p.now, secret_key="AAAA", access_key_id="K" * 20, next_seq_no=1, expected_seq_no=1
    )  # second attempt


def test_I296_backup_client_sees_promotion_and_continues_the_streams() -> (
    None
):  # I-265, I-271, I-272, I-276, I-295
    p = Pair(backup=True)
    p.establish(next_seq_no=0, expected=5, gw_next=0, gw_expected=0)
    (est,) = [e for e in p.client_events if isinstance(e, ev.Established)]
    assert est.ack.NextSeqNo == 0 and est.ack.FaultToleranceIndicator is m.FTI.Backup
    with pytest.raises(LocalProtocolError):
        p.client.send_business(order(), p.now)  # I-275: only the primary stream carries business
    p.gw.promote(p.now, next_seq_no=5, expected_seq_no=3)
    p.pump()
    assert [e.next_seq_no for e in p.client_events if isinstance(e, ev.PromotedToPrimary)] == [5]
    p.client.next_out = 3  # the new primary continues the failed primary's numbers (I-289)
    p.client.send_business(order(), p.now)
    p.gw.send_business(report(), p.now)
    p.pump()
    assert delivered(p) == [5]
    assert [e.seq_no for e in p.gw_events if isinstance(e, ev.BusinessMessage)] == [3]
