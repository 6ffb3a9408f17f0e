"""Every state x every message, random walks, and arbitrary bytes: the machine answers on the
wire or reports an event, and never raises (DESIGN.md principles 4, 5 and 8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropcopy.fix import FieldValue, Message
from dropcopy.fix42 import events as ev
from dropcopy.fix42.session import SECOND, TRANSITIONS, Fix42Session, Role, State

from .harness import (
    INNER,
    Pair,
    Raw,
    client_config,
    cme_message,
    events_of,
    parse_all,
    seq_of,
)

SESSION_TYPES = {"0", "1", "2", "3", "4", "5", "A", "n"}
KEYS = ["A", "0", "1", "2", "3", "4", "5", "n", "ZZ", "D", "BW"]
VARIANTS = ["expected", "high", "low", "low-possdup"]


def body_for(key: str, from_client: bool) -> list[tuple[int, FieldValue]]:
    if key == "1":
        return [(112, "T1")]
    if key == "2":
        return [(7, 1), (16, 0)]
    if key == "3":
        return [(45, 1), (58, "nope")]
    if key == "4":
        return [(123, "Y"), (36, 60)]
    if key == "n":
        return [(212, len(INNER) + 13), (213, b"<RTRF>" + INNER + b"</RTRF>")]
    if key == "A":
        return [(108, 30)] if not from_client else []
    if key == "D":
        return [(11, "X")]
    return []


# --------------------------------------------------------------------------- builders


def acceptor_in(state: State) -> Raw:
    r = Raw()
    if state is State.CONNECTED:
        return r
    r.feed(r.logon_msg(1))
    if state is State.LOGON_PENDING:
        return r
    r.accept()
    r.seq = 2
    r.publish(3)  # CME 2..4
    r.send("0")
    r.send("0")  # client at 4
    if state is State.RESET_PENDING:
        r.feed(r.logon_msg(1, extra=[(141, "Y")]))
    elif state is State.LOGOUT_SENT:
        r.gw.logout(r.now)
    elif state is State.CLOSED:
        r.send("5")
    r.gw.data_to_send()
    assert r.gw.state is state
    return r


def initiator_in(state: State) -> Pair:
    p = Pair()
    if state is State.CONNECTED:
        return p
    if state is State.LOGON_SENT:
        p.client.logon(p.now)
        p.client.data_to_send()
        return p
    p.logon()
    p.publish(3)
    p.pump()
    if state is State.RESET_SENT:
        p.client.reset_sequence_numbers(p.now)
    elif state is State.LOGOUT_SENT:
        p.client.logout(p.now)
    elif state is State.CLOSED:
        p.client.connection_lost(p.now)
    p.client.data_to_send()
    assert p.client.state is state
    return p


def seq_for(variant: str, expected: int) -> tuple[int, bool]:
    return {
        "expected": (expected, False),
        "high": (expected + 5, False),
        "low": (max(expected - 1, 1), False),
        "low-possdup": (max(expected - 1, 1), True),
    }[variant]


def check_output(data: bytes, machine: Fix42Session, events: list[ev.Event]) -> list[Message]:
    out = parse_all(data)  # strict decode: 8/9/10 and the checksum are right
    assert all(m.msg_type in SESSION_TYPES for m in out), [m.as_text() for m in out]
    closed = events_of(events, ev.Closed)
    assert len(closed) <= 1
    if machine.closed:
        assert machine.next_deadline() is None
    return out


# --------------------------------------------------------------------------- every state x input

ACCEPTOR_STATES = [s for s in State if s not in (State.LOGON_SENT, State.RESET_SENT)]
INITIATOR_STATES = [s for s in State if s not in (State.LOGON_PENDING, State.RESET_PENDING)]


@pytest.mark.parametrize("state", ACCEPTOR_STATES, ids=lambda s: s.value)
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_acceptor_every_state_and_message(state: State, key: str, variant: str) -> None:
    r = acceptor_in(state)
    gw = r.gw
    before_in = gw.next_in
    seq, dup = seq_for(variant, gw.next_in)
    if key == "A":
        data = r.logon_msg(seq, poss_dup=dup)
    else:
        data = r.msg(key, body_for(key, True), seq=seq, poss_dup=dup, orig=dup)
    events = gw.receive_data(data, r.now)
    out = check_output(gw.data_to_send(), gw, events)
    if state is State.CLOSED:
        assert out == [] and events == []
        return
    if state in (State.LOGON_PENDING, State.RESET_PENDING):
        assert out == [] and events == []  # held until the venue decides
        return
    if not events_of(events, ev.SequenceNumbersReset):
        assert gw.next_in >= before_in
    in_table = (Role.ACCEPTOR, state, key if key in SESSION_TYPES else "*") in TRANSITIONS
    if variant == "expected" and not in_table:
        # not in the table: a protocol error with its wire answer (35=3 or 35=5)
        assert out and out[0].msg_type in ("3", "5"), (state, key)
    if variant == "low" and state is not State.CONNECTED and key != "A":
        assert gw.closed  # D-030: a Logout, or the awaited Logout confirmation
        assert (out and out[-1].msg_type == "5") or (state, key) == (State.LOGOUT_SENT, "5")
    if variant == "low-possdup" and state is State.ACTIVE and key != "A":
        assert out == [] and events_of(events, ev.PossDupIgnored)  # AD-10


@pytest.mark.parametrize("state", INITIATOR_STATES, ids=lambda s: s.value)
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_initiator_every_state_and_message(state: State, key: str, variant: str) -> None:
    p = initiator_in(state)
    c = p.client
    before_in = c.next_in
    seq, dup = seq_for(variant, c.next_in)
    if state is State.RESET_SENT and key == "A":
        seq, dup = 1, False
        body: list[tuple[int, FieldValue]] = [(108, 30), (141, "Y")]
    else:
        body = body_for(key, False)
    events = c.receive_data(cme_message(key, seq, body, dup), p.now)
    out = check_output(c.data_to_send(), c, events)
    if state is State.CLOSED:
        assert out == [] and events == []
        return
    if not events_of(events, ev.SequenceNumbersReset):
        assert c.next_in >= before_in
    in_table = (Role.INITIATOR, state, key if key in SESSION_TYPES else "*") in TRANSITIONS
    if variant == "expected" and not in_table:
        assert out and out[0].msg_type in ("3", "5"), (state, key)
    if variant == "low-possdup" and in_table and state is State.ACTIVE:
        assert not c.closed and events_of(events, ev.PossDupIgnored)


# --------------------------------------------------------------------------- random walks


def gateway_numbering_is_contiguous(wire: list[Message]) -> None:
    """New (not 43=Y) CME messages carry consecutive MsgSeqNums, restarting at 1 on a reset."""
    last = 0
    for m in wire:
        if m.get(43) == b"Y":
            continue
        seq = seq_of(m)
        if m.msg_type == "A" and m.get(141) == b"Y":
            assert seq == 1
        elif last:
            assert seq == last + 1, [x.as_text() for x in wire]
        last = seq


client_action = st.one_of(
    st.tuples(st.just("msg"), st.sampled_from(KEYS), st.sampled_from(VARIANTS)),
    st.tuples(st.just("timer"), st.integers(0, 70), st.just("")),
    st.tuples(st.just("publish"), st.integers(1, 5), st.just("")),
    st.tuples(st.just("answer"), st.integers(1, 10), st.just("")),
    st.tuples(st.just("reset"), st.just(0), st.just("")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(client_action, max_size=25))
def test_acceptor_random_walk_never_raises_and_keeps_invariants(actions: list[Any]) -> None:
    r = acceptor_in(State.ACTIVE)
    gw = r.gw
    wire: list[Message] = []
    for kind, arg, variant in actions:
        before_in = gw.next_in
        events: list[ev.Event] = []
        if kind == "msg":
            seq, dup = seq_for(variant, gw.next_in)
            data = r.msg(arg, body_for(arg, True), seq=seq, poss_dup=dup, orig=dup)
            events = gw.receive_data(data, r.now)
        elif kind == "timer":
            r.now += arg * SECOND
            events = gw.on_timer(r.now)
        elif kind == "publish" and not gw.closed and gw.state is not State.LOGON_PENDING:
            for _ in range(arg):
                gw.send_encapsulated(r.now, INNER)
        elif kind == "answer" and gw.resend_in_progress:
            events = gw.answer_resend(r.now, messages=[], first_retrievable=arg)
        elif kind == "reset":
            events = gw.receive_data(r.logon_msg(1, extra=[(141, "Y")]), r.now)
            if gw.state is State.RESET_PENDING:
                events += gw.accept_logon(r.now)
        wire += check_output(gw.data_to_send(), gw, events)
        if not events_of(events, ev.SequenceNumbersReset):
            assert gw.next_in >= before_in
        if gw.closed:
            assert gw.receive_data(r.msg("0"), r.now) == [] and gw.data_to_send() == b""
            break
    gateway_numbering_is_contiguous(wire)


pair_action = st.one_of(
    st.tuples(st.just("publish"), st.integers(1, 30), st.frozensets(st.integers(0, 29))),
    st.tuples(st.just("advance"), st.integers(0, 45), st.just(frozenset())),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pair_action, max_size=12), st.integers(1, 600))
def test_client_receives_every_copy_exactly_once_in_order(actions: list[Any], batch: int) -> None:
    """Whatever is lost on first transmission, the client ends up delivering every copy once,
    in MsgSeqNum order (D-049), with one Resend Request at a time (D-047)."""
    p = Pair(gw_config={"resend_batch": batch})
    p.logon()
    published: list[int] = []
    for kind, arg, lost in actions:
        if kind == "publish":
            first = p.gw.next_out
            p.drop_to_client |= {first + i for i in lost if i < arg}
            published += p.publish(arg)
            p.pump()
        else:
            p.advance(arg * SECOND)
    p.advance(31 * SECOND)  # a heartbeat reveals a loss at the very end
    assert p.delivered() == published
    assert not p.client.closed and not p.gw.closed
    assert not p.client.resend_in_progress
    # D-047: a new Resend Request only once the previous one was fulfilled or refused
    open_request = False
    for e in p.client_events:
        if isinstance(e, ev.ResendRequestSent):
            assert not open_request
            open_request = True
        elif isinstance(e, ev.ResendCompleted | ev.ResendRejected):
            open_request = False


# --------------------------------------------------------------------------- fuzz

noise = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.sampled_from(
            [b"8=FIX.4.2\x01", b"9=5\x01", b"35=A\x01", b"34=1\x01", b"10=000\x01", b"\x01", b"="]
        ),
        max_size=30,
    ).map(b"".join),
)


def _mutations(base: bytes) -> st.SearchStrategy[bytes]:
    return st.tuples(st.integers(0, len(base)), st.integers(0, 8), st.binary(max_size=8)).map(
        lambda t: base[: t[0]] + t[2] + base[t[0] + t[1] :]
    )


def _fuzz(make: Callable[[], tuple[Fix42Session, int]], chunks: list[bytes]) -> None:
    machine, now = make()
    for chunk in chunks:
        events = machine.receive_data(chunk, now)
        check_output(machine.data_to_send(), machine, events)
        now += SECOND
        events = machine.on_timer(now)
        check_output(machine.data_to_send(), machine, events)


def _fresh_acceptor() -> tuple[Fix42Session, int]:
    r = Raw()
    return r.gw, r.now


def _active_acceptor() -> tuple[Fix42Session, int]:
    r = acceptor_in(State.ACTIVE)
    return r.gw, r.now


def _active_initiator() -> tuple[Fix42Session, int]:
    p = initiator_in(State.ACTIVE)
    return p.client, p.now


_raw = Raw()
VALID_LOGON = _raw.logon_msg(1)
_raw.seq = 5
VALID_RR = _raw.msg("2", [(7, 1), (16, 0)])
VALID_N = cme_message("n", 5, body_for("n", False))


@settings(max_examples=400, deadline=None)
@given(st.lists(noise, max_size=5))
def test_fuzz_any_bytes_into_a_fresh_acceptor(chunks: list[bytes]) -> None:
    _fuzz(_fresh_acceptor, chunks)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(noise, _mutations(VALID_LOGON)), max_size=4))
def test_fuzz_mutated_logons_into_a_fresh_acceptor(chunks: list[bytes]) -> None:
    _fuzz(_fresh_acceptor, chunks)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(noise, _mutations(VALID_RR)), max_size=4))
def test_fuzz_any_bytes_into_a_logged_on_acceptor(chunks: list[bytes]) -> None:
    _fuzz(_active_acceptor, chunks)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(noise, _mutations(VALID_N)), max_size=4))
def test_fuzz_any_bytes_into_a_logged_on_initiator(chunks: list[bytes]) -> None:
    _fuzz(_active_initiator, chunks)


def test_initiator_config_needs_no_acceptor_fields() -> None:
    cfg = client_config()
    assert cfg.role is Role.INITIATOR and cfg.secret_key is not None
    assert "redacted" in repr(cfg)  # the secret never shows


def test_D047_a_refused_request_whose_gap_filled_meanwhile_leaves_no_stale_deadline() -> None:
    """Found by the property above: a second request refused while CME was still answering the
    first (D-044) set a retry; the first answer then filled the gap, and the due retry stayed
    as a deadline in the past, so the timer spun and the final loss was never detected."""
    p = Pair(gw_config={"resend_batch": 1})
    p.logon()
    published: list[int] = []
    for count, lost in ((29, {11, 19}), (1, {0})):
        first = p.gw.next_out
        p.drop_to_client |= {first + i for i in lost}
        published += p.publish(count)
        p.pump()
    assert any(isinstance(e, ev.ResendRejected) for e in p.client_events)
    p.advance(31 * SECOND)
    assert p.delivered() == published
    deadline = p.client.next_deadline()
    assert deadline is not None and deadline > p.now
