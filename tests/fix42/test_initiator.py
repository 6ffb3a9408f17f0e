"""The client side (initiator) fed hand-made CME messages, for what the project's gateway
never sends."""

from __future__ import annotations

import pytest

from dropcopy.fix import FieldValue, Message, encode
from dropcopy.fix import texts as fix_texts
from dropcopy.fix42 import events as ev
from dropcopy.fix42 import texts
from dropcopy.fix42.session import Fix42Session, LocalProtocolError, State

from .harness import (
    CLIENT,
    INNER,
    OPERATOR,
    T0,
    Raw,
    client_config,
    cme_message,
    events_of,
    parse_all,
    seq_of,
)

N_BODY: list[tuple[int, FieldValue]] = [
    (212, len(INNER) + 13),
    (213, b"<RTRF>" + INNER + b"</RTRF>"),
]


class Client:
    def __init__(self) -> None:
        self.now = T0
        self.c = Fix42Session(client_config(), self.now)
        self.c.logon(self.now)
        self.c.data_to_send()
        self.events: list[ev.Event] = []
        self.feed(cme_message("A", 1, [(108, 30)]))
        assert self.c.state is State.ACTIVE

    def feed(self, data: bytes) -> list[Message]:
        self.events.extend(self.c.receive_data(data, self.now))
        return parse_all(self.c.data_to_send())

    def delivered(self) -> list[int]:
        return [e.msg_seq_num for e in events_of(self.events, ev.BusinessMessage)]

    def last_reset(self) -> ev.SequenceResetReceived:
        found: list[ev.SequenceResetReceived] = events_of(self.events, ev.SequenceResetReceived)
        return found[-1]


def test_gap_fill_kept_above_a_gap_is_applied_in_order() -> None:
    k = Client()
    k.feed(cme_message("n", 2, N_BODY))
    out = k.feed(cme_message("4", 5, [(123, "Y"), (36, 8)], poss_dup=True))  # 5..7 admin
    assert [m.msg_type for m in out] == ["2"] and out[0].get(7) == b"3"
    k.feed(cme_message("n", 8, N_BODY))
    k.feed(cme_message("n", 3, N_BODY, poss_dup=True))
    k.feed(cme_message("n", 4, N_BODY, poss_dup=True))
    assert k.delivered() == [2, 3, 4, 8] and k.c.next_in == 9
    assert events_of(k.events, ev.ResendCompleted)


def test_reset_mode_from_cme_moves_past_kept_messages() -> None:
    k = Client()
    k.feed(cme_message("n", 4, N_BODY))  # gap 2..3, 4 kept
    assert k.c.resend_in_progress
    k.feed(cme_message("4", 99, [(123, "N"), (36, 10)]))
    assert k.c.next_in == 10 and k.delivered() == []  # 4 was below the reset: dropped
    assert k.last_reset() == ev.SequenceResetReceived(99, 10, False)
    k.feed(cme_message("n", 10, N_BODY))
    assert k.delivered() == [10]


def test_reset_mode_lowering_the_number_logs_out() -> None:
    k = Client()
    k.feed(cme_message("n", 2, N_BODY))
    out = k.feed(cme_message("4", 3, [(36, 2)]))
    assert out[-1].get_str(58) == texts.new_seq_no_too_low(3, 2) and k.c.closed


def test_message_without_34_logs_the_client_out() -> None:
    k = Client()
    raw = encode("0", [(49, "CME"), (52, "20251123-12:13:20.000"), (56, "ABCDEFN")])
    out = k.feed(raw)
    assert out[-1].msg_type == "5" and out[-1].get_str(58) == fix_texts.MSG_SEQ_NUM_MISSING
    assert k.c.closed and events_of(k.events, ev.Closed)[0].rule == "D-120"


def test_unknown_message_type_from_cme_is_rejected() -> None:
    k = Client()
    out = k.feed(cme_message("8", 2, [(17, "E1")]))
    assert [m.msg_type for m in out] == ["3"]
    assert out[0].get_str(58) == fix_texts.unknown_msg_type("8") and out[0].get(45) == b"2"
    assert k.c.next_in == 3 and not k.c.closed


def test_cme_session_reject_is_reported() -> None:
    k = Client()
    k.feed(cme_message("3", 2, [(45, 1), (58, "bad")]))
    got = events_of(k.events, ev.SessionRejectReceived)
    assert got and (got[0].ref_seq_num, got[0].text) == (1, "bad")


def test_logon_ack_above_expected_is_a_gap() -> None:
    c = Fix42Session(client_config(), T0, next_in=10)
    c.logon(T0)
    c.data_to_send()
    events = c.receive_data(cme_message("A", 14, [(108, 30)]), T0)
    out = parse_all(c.data_to_send())
    assert c.state is State.ACTIVE and events_of(events, ev.GapDetected) == [ev.GapDetected(10, 13)]
    rr = [m for m in out if m.msg_type == "2"]
    assert rr and (rr[0].get(7), rr[0].get(16)) == (b"10", b"0")


def test_logon_ack_below_expected_logs_out() -> None:
    c = Fix42Session(client_config(), T0, next_in=10)
    c.logon(T0)
    c.data_to_send()
    c.receive_data(cme_message("A", 9, [(108, 30)]), T0)
    out = parse_all(c.data_to_send())
    assert out[-1].get_str(58) == texts.msg_seq_num_too_low(10, 9) and c.closed


def test_logon_refused_by_cme_closes_and_keeps_789() -> None:
    c = Fix42Session(client_config(), T0, next_out=7)
    c.logon(T0)
    c.data_to_send()
    events = c.receive_data(cme_message("5", 1, [(58, "Invalid logon. Logout forced.")]), T0)
    closed = events_of(events, ev.Closed)[0]
    assert closed.by_peer and closed.logout_text == "Invalid logon. Logout forced."
    assert c.next_out == 8 and c.data_to_send() == b""  # no 789: the number is kept


def test_manual_resend_request_rules() -> None:
    k = Client()
    with pytest.raises(LocalProtocolError):
        k.c.request_resend(k.now, 0)
    with pytest.raises(LocalProtocolError):
        k.c.request_resend(k.now, 1, 2501)
    k.c.request_resend(k.now, 1, 5)
    rr = parse_all(k.c.data_to_send())[0]
    assert (rr.get(7), rr.get(16)) == (b"1", b"5") and k.c.resend_in_progress
    with pytest.raises(LocalProtocolError):
        k.c.request_resend(k.now, 1, 5)  # D-047: one at a time


def test_bad_begin_string_is_logged_out_by_the_gateway() -> None:
    r = Raw()
    raw = encode("A", [(34, 1)], begin_string=b"FIX.4.4")
    out = r.feed(raw)
    assert [m.msg_type for m in out] == ["5"]
    assert out[0].get_str(58) == fix_texts.BEGIN_STRING_INCORRECT and r.gw.closed


def test_send_application_uses_cme_header_and_refuses_session_types() -> None:
    r = Raw()
    r.logon()
    sent = r.gw.send_application(r.now, "8", [(17, "E1"), (39, "2")], poss_resend=True)
    msg = parse_all(r.gw.data_to_send())[0]
    assert msg.raw == sent.data and seq_of(msg) == sent.seq_num == 2
    assert (msg.get(49), msg.get(97), msg.get(17)) == (b"CME", b"Y", b"E1")
    with pytest.raises(LocalProtocolError):
        r.gw.send_application(r.now, "0", [])


def test_D049_an_in_sequence_gap_fill_jumping_over_a_kept_message_ends_the_resend() -> None:
    """Regression: the Logon ack (21) is kept above a gap (20, CME's Logout to a refused Logon);
    one GapFill 20 -> 22 fills both. Nothing is left kept, the resend is complete, and no
    second Resend Request goes out."""
    client = Fix42Session(client_config(), T0, next_out=5, next_in=20)
    client.logon(T0)
    client.data_to_send()
    ack = encode(
        "A",
        [(34, 21), (369, 5), (52, "20251123-22:00:00.000"), (49, "CME"), (50, "G"),
         (56, CLIENT), (57, OPERATOR), (108, 30)],
    )  # fmt: skip
    events = client.receive_data(ack, T0)
    assert client.state is State.ACTIVE
    assert events_of(events, ev.ResendRequestSent)[0].begin_seq_no == 20
    client.data_to_send()
    fill = encode(
        "4",
        [(34, 20), (369, 6), (52, "20251123-22:00:00.000"), (43, "Y"), (49, "CME"), (50, "G"),
         (56, CLIENT), (57, OPERATOR), (122, "20251123-22:00:00.000"), (123, "Y"), (36, 22)],
    )  # fmt: skip
    events = client.receive_data(fill, T0)
    assert client.next_in == 22 and not client.resend_in_progress
    assert events_of(events, ev.ResendCompleted)
    assert not events_of(events, ev.ResendRequestSent)
    assert parse_all(client.data_to_send()) == []
