"""Client -> Drop Copy Resend Requests: seed 003 "Message Recovery: Client to Drop Copy",
"Message Resend Request Validation", "FIX Resend Request" and decisions AD-01, AD-02, AD-12,
AD-13, AD-22."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dropcopy.fix import Message, decode_encapsulated
from dropcopy.fix import texts as fix_texts
from dropcopy.fix42 import events as ev
from dropcopy.fix42 import texts
from dropcopy.fix42.session import SECOND, LocalProtocolError, ResendWindowPolicy, State

from .harness import INNER, Raw, events_of, of_type, parse_all, seq_of

CHICAGO = ZoneInfo("America/Chicago")
HOUR = 3600 * SECOND


def ns(dt: datetime) -> int:
    return int(dt.timestamp()) * SECOND


def only(msgs: list[Message], msg_type: str) -> Message:
    assert [m.msg_type for m in msgs] == [msg_type], [m.as_text() for m in msgs]
    return msgs[0]


class Venue(Raw):
    """A gateway with a journal of what it sent, answering Resend Requests from it."""

    def __init__(self, **cfg: object) -> None:
        super().__init__(**cfg)  # type: ignore[arg-type]
        self.journal: dict[int, tuple[int, bytes]] = {}  # seq -> (sent_at, data)
        self.loaded: list[tuple[int, int]] = []

    def publish(self, count: int) -> dict[int, bytes]:
        out = {}
        for _ in range(count):
            sent = self.gw.send_encapsulated(self.now, INNER)
            self.journal[sent.seq_num] = (sent.sent_at, sent.data)
            out[sent.seq_num] = sent.data
        self.gw.data_to_send()
        return out

    def load(self, lo: int, hi: int) -> list[bytes]:
        self.loaded.append((lo, hi))
        return [self.journal[s][1] for s in sorted(self.journal) if lo <= s <= hi]

    def first_retrievable(self, window: int = 48 * HOUR) -> int:
        """AD-02: the lowest seq sent within the window, else the next to be sent."""
        since = self.now - window
        recent = [s for s, (at, _) in self.journal.items() if at >= since]
        return min(recent) if recent else self.gw.next_out

    def request(
        self, begin: int, end: int = 0, *, first: int | None = None, **kw: object
    ) -> list[Message]:
        out = self.send("2", [(7, begin), (16, end)], **kw)
        requested = [e for e in self.events if isinstance(e, ev.ResendRequested)]
        if requested and self.gw.resend_in_progress:
            self.events.extend(
                self.gw.answer_resend(self.now, messages=self.load, first_retrievable=first)
            )
            out += parse_all(self.gw.data_to_send())
        return out


def venue(**cfg: object) -> Venue:
    v = Venue(**cfg)
    v.logon()
    return v


def test_D035_D052_D169_basic_request_resends_stored_messages_with_43_and_122() -> None:
    v = venue()
    sent = v.publish(5)  # 2..6
    v.now += 5 * SECOND
    out = v.request(3, 5)
    assert [(m.msg_type, seq_of(m)) for m in out] == [("n", 3), ("n", 4), ("n", 5)]
    for m in out:
        first = parse_all(sent[seq_of(m)])[0]
        assert m.get(43) == b"Y" and m.get(122) == first.get(52)  # D-040/D-052
        assert m.get(52) != first.get(52)  # a new SendingTime
        assert decode_encapsulated(m).raw == INNER
        assert m.get(369) == b"2"  # the Resend Request's 34
    assert v.last(ev.ResendCompleted) == ev.ResendCompleted(3, 5)
    assert not v.gw.resend_in_progress


def test_D035_enhanced_request_runs_to_the_last_message_sent() -> None:
    """D-035 / D-160: Enhanced (16=0) next to Basic (the test above)."""
    v = venue()
    v.publish(4)  # 2..5
    out = v.request(4, 0)
    assert [seq_of(m) for m in out] == [4, 5]
    req = v.last(ev.ResendRequested)
    assert (req.begin_seq_no, req.end_seq_no, req.requested_end_seq_no) == (4, 5, 0)


def test_D159_admin_messages_in_the_range_are_gap_filled() -> None:
    v = venue()  # CME 1 = Logon ack (admin)
    v.publish(2)  # 2, 3
    v.gw.on_timer(v.now + 30 * SECOND)  # CME heartbeat 4
    v.now += 30 * SECOND
    v.send("0")
    v.gw.data_to_send()
    v.publish(1)  # 5
    out = v.request(1, 0)
    shape = [(m.msg_type, seq_of(m), m.get(36)) for m in out]
    assert shape == [("4", 1, b"2"), ("n", 2, None), ("n", 3, None), ("4", 4, b"5"), ("n", 5, None)]
    for gap_fill in of_type(out, "4"):
        assert gap_fill.get(43) == b"Y" and gap_fill.get(123) == b"Y"
        assert gap_fill.get(122) is not None  # wire notes §1.1


def test_D060_begin_seq_no_0_is_rejected() -> None:
    v = venue()
    v.publish(2)
    out = v.send("2", [(7, 0), (16, 0)])
    reject = only(out, "3")
    assert reject.get_str(58) == fix_texts.BEGIN_SEQ_NUM_NOT_POSITIVE and reject.get(45) == b"2"
    assert not v.gw.closed and not events_of(v.events, ev.ResendRequested)


def test_D059_AD12_begin_beyond_the_last_sent_is_a_forced_logout() -> None:
    v = venue()
    v.publish(3)  # last sent 4
    out = v.send("2", [(7, 5), (16, 0)])
    logout = only(out, "5")
    assert logout.get_str(58) == texts.begin_seq_no_too_high(5, 4)
    assert logout.get(789) == b"3" and v.gw.closed


def test_AD12_begin_equal_to_the_last_sent_and_end_beyond_it_are_valid() -> None:
    v = venue()
    v.publish(3)  # last sent 4
    out = v.request(4, 99)
    assert [(m.msg_type, seq_of(m)) for m in out] == [("n", 4)]
    assert v.last(ev.ResendRequested).end_seq_no == 4


def test_end_below_begin_is_rejected() -> None:
    v = venue()
    v.publish(5)
    reject = only(v.send("2", [(7, 4), (16, 2)]), "3")
    assert reject.get_str(58) == texts.end_seq_no_below_begin(4, 2)


def test_D058_AD13_2500_is_served_and_2501_rejected() -> None:
    """D-058 and its restatement D-158."""
    v = venue(resend_batch=10_000)
    v.publish(2600)
    out = v.request(1, 2501)
    reject = only(out, "3")
    assert reject.get_str(58) == texts.resend_limit_exceeded(2500)
    assert v.loaded == []  # rejected before the journal is read
    out = v.request(1, 2500)
    assert len(out) == 2500 and out[0].msg_type == "4" and seq_of(out[-1]) == 2500
    assert all(m.get(43) == b"Y" for m in out)


def test_D044_AD22_second_request_while_processing_is_rejected() -> None:
    v = venue()
    v.publish(10)
    v.send("2", [(7, 2), (16, 0)])  # 34=2, not answered yet: the journal is being read
    assert v.gw.resend_in_progress
    reject = only(v.send("2", [(7, 2), (16, 5)]), "3")  # 34=3
    assert reject.get_str(58) == texts.RESEND_IN_PROGRESS and reject.get(45) == b"3"
    assert v.last(ev.SessionRejectSent).rule == "D-044"
    assert not v.gw.closed and v.gw.next_in == 4


def test_D044_AD22_enhanced_duplicate_request_on_the_same_34_is_discarded() -> None:
    v = venue()
    v.publish(10)
    v.send("2", [(7, 2), (16, 0)])  # 34=2
    out = v.send("2", [(7, 2), (16, 0)], seq=2, poss_dup=True)
    assert out == [] and v.last(ev.PossDupIgnored).msg_type == "2"
    assert len(events_of(v.events, ev.ResendRequested)) == 1


def test_D044_processing_lasts_until_the_last_batch_is_written() -> None:
    v = venue(resend_batch=4)
    v.publish(10)  # 2..11
    out = v.request(2, 0)
    assert len(out) == 4 and v.gw.resend_in_progress
    reject = only(v.send("2", [(7, 2), (16, 3)]), "3")
    assert reject.get_str(58) == texts.RESEND_IN_PROGRESS
    rest: list[Message] = []
    while v.gw.resend_in_progress:
        deadline = v.gw.next_deadline()
        assert deadline is not None and deadline <= v.now  # due at once
        rest += v.timer(v.now)
    assert [seq_of(m) for m in out + rest if m.msg_type == "n"] == list(range(2, 12))


def test_D045_AD22_in_session_logon_while_processing_logs_out() -> None:
    v = venue()
    v.publish(10)
    v.send("2", [(7, 2), (16, 0)])
    out = v.feed(v.logon_msg(1, extra=[(141, "Y")]))
    logout = only(out, "5")
    assert logout.get_str(58) == texts.IN_SESSION_LOGON_DURING_RESEND and v.gw.closed
    assert v.last(ev.Closed).rule == "D-045"


def test_D046_real_time_messages_are_interleaved_with_the_resend() -> None:
    v = venue(resend_batch=3)
    v.publish(9)  # 2..10
    out = v.request(2, 0)
    live = v.gw.send_encapsulated(v.now, INNER)  # 11, while the resend is being written
    wire = out + parse_all(v.gw.data_to_send())
    while v.gw.resend_in_progress:
        wire += v.timer(v.now)
    order = [(seq_of(m), m.get(43) == b"Y") for m in wire]
    assert order.index((live.seq_num, False)) < order.index((10, True))
    assert sorted(s for s, dup in order if dup) == list(range(2, 11))


def test_D033_D148_no_resend_of_messages_before_an_in_session_logon() -> None:
    v = venue()
    v.publish(5)
    v.feed(v.logon_msg(1, extra=[(141, "Y")]))
    v.accept()
    v.journal.clear()  # the venue starts a new epoch on SequenceNumbersReset
    v.seq = 2
    v.publish(2)  # 2, 3 of the new epoch
    out = v.request(1, 0)
    assert [(m.msg_type, seq_of(m)) for m in out] == [("4", 1), ("n", 2), ("n", 3)]


# --------------------------------------------------------------------------- the 48-hour window


def test_D054_D055_AD03_all_outside_the_window_is_rejected_with_5024() -> None:
    """D-054/D-162: 35=3 with the text; D-055/D-056/D-163: 5024 is an integer, the first
    retrievable number."""
    v = venue()
    v.publish(10)  # 2..11
    out = v.request(2, 5, first=8)
    reject = only(out, "3")
    assert reject.get_str(58) == "Resend Request Could Not Be Fulfilled"  # no period (AD-03)
    assert reject.get(5024) == b"8" and reject.get(45) == b"2"
    assert v.loaded == [] and not v.gw.resend_in_progress and not v.gw.closed


def test_AD01_straddling_request_is_rejected_by_default() -> None:
    v = venue()
    v.publish(10)
    reject = only(v.request(5, 10, first=8), "3")
    assert reject.get(5024) == b"8"


def test_D053_AD01_partial_policy_gap_fills_the_old_part() -> None:
    v = venue(resend_window_policy=ResendWindowPolicy.PARTIAL)
    v.publish(10)  # 2..11
    out = v.request(5, 10, first=8)
    assert [(m.msg_type, seq_of(m), m.get(36)) for m in out] == [
        ("4", 5, b"8"),
        ("n", 8, None),
        ("n", 9, None),
        ("n", 10, None),
    ]
    assert v.loaded == [(8, 10)]  # only the retrievable part is read
    # all outside is still a reject under PARTIAL
    assert only(v.request(2, 4, first=8), "3").get(5024) == b"8"


def test_first_retrievable_inside_the_range_start_is_served_in_full() -> None:
    v = venue()
    v.publish(10)
    out = v.request(8, 9, first=8)
    assert [seq_of(m) for m in out] == [8, 9]


def test_D164_venue_may_refuse_a_resend_after_failover() -> None:
    v = venue()
    v.publish(3)
    v.send("2", [(7, 2), (16, 0)])
    v.events.extend(v.gw.reject_resend(v.now))
    reject = only(parse_all(v.gw.data_to_send()), "3")
    assert reject.get_str(58) == texts.RESEND_REQUEST_NOT_FULFILLED and reject.get(5024) is None
    assert not v.gw.resend_in_progress


def test_answering_without_a_request_is_a_local_error() -> None:
    v = venue()
    with pytest.raises(LocalProtocolError):
        v.gw.answer_resend(v.now, messages=[])


def test_answer_after_the_connection_went_away_is_ignored() -> None:
    v = venue()
    v.publish(3)
    v.send("2", [(7, 2), (16, 0)])
    v.gw.connection_lost(v.now)
    assert v.gw.answer_resend(v.now, messages=v.load) == []
    assert v.gw.data_to_send() == b"" and v.gw.state is State.CLOSED


def test_D165_to_D170_the_worked_example_re_timed_per_AD02() -> None:
    """Seed 003's example with its sequence numbers, re-timed as AD-02 says: 1-2500 sent Sun
    17:00 - Mon 12:00 CT, 2501-2600 Tue 12:00 - 16:45 CT, requests at Wed 14:00 CT. The client
    is OMADGFN / RMS on segment 68 (D-170). Rows: D-165 (7=1 16=0), D-166 (7=500 16=1500),
    D-167 (7=1000 16=2600, straddling), D-168 (7=2501 16=0 served), D-169 (CME's own 34 on
    rejects, original 34 on resends)."""
    sunday = datetime(2025, 11, 23, 17, 0, tzinfo=CHICAGO)
    v = Venue(target_sub_id="68")
    v.now = ns(sunday)
    who = {"sender": "OMADGFN", "sub": "RMS"}
    assert only(v.logon(expected=199, **who), "A")  # CME 34=1
    v.seq = 200
    step = (ns(sunday + timedelta(hours=19)) - v.now) // 2499
    for _ in range(2499):  # 2..2500
        v.publish(1)
        v.now += step
    v.now = ns(datetime(2025, 11, 25, 12, 0, tzinfo=CHICAGO))
    for _ in range(100):  # 2501..2600
        v.publish(1)
        v.now += (ns(datetime(2025, 11, 25, 16, 45, tzinfo=CHICAGO)) - v.now) // 100
    v.now = ns(datetime(2025, 11, 26, 14, 0, tzinfo=CHICAGO))
    assert v.first_retrievable() == 2501

    for begin, end, seq, cme_seq in [
        (1, 0, 200, 2601),
        (500, 1500, 201, 2602),
        (1000, 2600, 202, 2603),
    ]:
        reject = only(v.request(begin, end, first=v.first_retrievable(), **who), "3")
        assert seq_of(reject) == cme_seq and reject.get(45) == str(seq).encode()
        assert reject.get(5024) == b"2501"
        assert (reject.get(49), reject.get(50), reject.get(57)) == (b"CME", b"68", b"RMS")
    out = v.request(2501, 0, first=v.first_retrievable(), **who)  # 34=203
    first = out[0]
    assert (first.msg_type, seq_of(first), first.get(43)) == ("n", 2501, b"Y")
    assert [seq_of(m) for m in of_type(out, "n")] == list(range(2501, 2601))
    assert of_type(out, "4")[-1].get(36) == b"2604"  # the rejects 2601..2603 gap filled


def test_D057_5024_is_what_the_venue_computes_at_the_instant_of_the_reject() -> None:
    v = venue()
    v.publish(10)
    first = only(v.request(2, 3, first=5), "3").get_int(5024)
    second = only(v.request(2, 3, first=9), "3").get_int(5024)
    assert first == 5 and second == 9 and second >= first
