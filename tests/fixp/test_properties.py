"""Every state × every message, and arbitrary bytes: the machine answers, never raises."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropcopy.fixp import events as ev
from dropcopy.fixp.session import TRANSITIONS, FixpSession, State
from dropcopy.ilink3 import messages as m
from dropcopy.sbe.runtime import MessageBase

from ..ilink3.strategies import blocks
from .harness import Pair, Raw, decode_all


def _acceptor(state: State, backup: bool = False) -> FixpSession:
    r = Raw(backup=backup)
    if state is State.NEGOTIATING:
        r.send(r.negotiate_msg())
    elif state is State.NEGOTIATED:
        r.negotiated()
    elif state is State.ESTABLISHING:
        r.negotiated()
        r.send(r.establish_msg(NextSeqNo=0 if backup else 1))
    elif state in (State.ESTABLISHED, State.TERMINATE_SENT, State.CLOSED):
        if backup:
            r.send(r.establish_msg(NextSeqNo=0))
            r.gw.accept_establish(r.now, next_seq_no=1, expected_seq_no=1)
            r.gw.data_to_send()
        else:
            r.established()
        if state is State.TERMINATE_SENT:
            r.gw.terminate(r.now)
        elif state is State.CLOSED:
            r.gw.terminate(r.now, 23)
        r.gw.data_to_send()
    assert r.gw.state is state
    return r.gw


def _initiator(state: State) -> FixpSession:
    p = Pair()
    if state is State.NEGOTIATE_SENT:
        p.client.negotiate(
            p.now, secret_key="AAAA", access_key_id="K" * 20, uuid=5, session="ABC", firm="007"
        )
    elif state is State.NEGOTIATED:
        p.negotiate()
    elif state is State.ESTABLISH_SENT:
        p.negotiate()
        p.client.establish(
            p.now, secret_key="AAAA", access_key_id="K" * 20, next_seq_no=1, expected_seq_no=1
        )
    elif state is State.ESTABLISHED:
        p.logon()
    p.client.data_to_send()
    assert p.client.state is state
    return p.client


ACCEPTOR_STATES = [
    State.IDLE,
    State.NEGOTIATING,
    State.NEGOTIATED,
    State.ESTABLISHING,
    State.ESTABLISHED,
    State.TERMINATE_SENT,
    State.CLOSED,
]
INITIATOR_STATES = [
    State.IDLE,
    State.NEGOTIATE_SENT,
    State.NEGOTIATED,
    State.ESTABLISH_SENT,
    State.ESTABLISHED,
]


def _check(make: Callable[[], FixpSession], msg: MessageBase) -> None:
    s = make()
    before = s.state
    events = s.receive_message(msg, s._last_received or 1)
    out = decode_all(s.data_to_send())
    key = -1 if msg.TEMPLATE_ID >= 514 else msg.TEMPLATE_ID
    if before is State.CLOSED:
        assert events == [] and out == []
        return
    if (s.role, before, key) not in TRANSITIONS:
        # not in the table: a Terminate with a code, or (after our own Terminate) ignored
        if before is State.TERMINATE_SENT:
            assert out == [] and events == []
        else:
            assert s.closed
            assert isinstance(out[-1], m.Terminate507) and out[-1].ErrorCodes in (
                2,
                3,
                4,
                5,
                6,
                7,
                23,
            )
            assert isinstance(events[-1], ev.Terminated) and events[-1].violation


@pytest.mark.parametrize("state", ACCEPTOR_STATES, ids=lambda s: s.name)
@pytest.mark.parametrize("backup", [False, True], ids=["primary", "backup"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_acceptor_every_state_and_message(state: State, backup: bool, data: st.DataObject) -> None:
    if backup and state in (State.NEGOTIATING, State.NEGOTIATED):
        return
    cls = data.draw(st.sampled_from(sorted(m.TEMPLATES.values(), key=lambda c: c.TEMPLATE_ID)))
    msg = data.draw(blocks(cls))
    _check(lambda: _acceptor(state, backup), msg)


@pytest.mark.parametrize("state", INITIATOR_STATES, ids=lambda s: s.name)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_initiator_every_state_and_message(state: State, data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(sorted(m.TEMPLATES.values(), key=lambda c: c.TEMPLATE_ID)))
    msg = data.draw(blocks(cls))
    _check(lambda: _initiator(state), msg)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(ACCEPTOR_STATES[:5]))
def test_fuzz_acceptor_any_bytes_never_raise(data: bytes, state: State) -> None:
    s = _acceptor(state)
    for i in range(0, len(data), 9):
        for e in s.receive_data(data[i : i + 9], s._last_received or 1):
            assert isinstance(e, ev.Event)
    decode_all(s.data_to_send())  # whatever it answered is well-formed


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(["neg", "est", "seq", "ord", "retx", "term", "garbage", "tick"]),
        max_size=12,
    )
)
def test_fuzz_acceptor_random_conversations(steps: list[str]) -> None:
    r = Raw()
    seq = 1
    for step in steps:
        if step == "neg":
            r.send(r.negotiate_msg())
        elif step == "est":
            r.send(r.establish_msg(NextSeqNo=seq))
        elif step == "seq":
            r.send(r.seq(seq))
        elif step == "ord":
            from .harness import order

            r.send(order(seq))
            seq += 1
        elif step == "retx":
            r.send(
                m.RetransmitRequest508(
                    UUID=1763900000000000, RequestTimestamp=r.now, FromSeqNo=1, MsgCount=1
                )
            )
        elif step == "term":
            r.send(m.Terminate507(UUID=1, RequestTimestamp=r.now, ErrorCodes=0))
        elif step == "garbage":
            r.send(b"\x0c\x00\xfe\xca" + bytes(8))
        else:
            r.now += 31 * 10**9
            r.gw.on_timer(r.now)
            decode_all(r.gw.data_to_send())
        # the venue answers pending decisions like a gateway would
        if r.gw.state is State.NEGOTIATING:
            r.gw.accept_negotiate(r.now)
        elif r.gw.state is State.ESTABLISHING:
            r.gw.accept_establish(r.now, next_seq_no=1, expected_seq_no=1)
        for e in list(r.events):
            if isinstance(e, ev.RetransmitRequested):
                r.gw.send_retransmission(r.now, e.message, [])
        r.events.clear()
        decode_all(r.gw.data_to_send())
