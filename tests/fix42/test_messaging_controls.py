"""Messaging controls on client messages (seed 003 "Administrative Messages", D-138, AD-20)."""

from __future__ import annotations

from dropcopy.fix42 import texts
from dropcopy.fix42.session import SECOND

from .harness import Raw


def test_D138_AD20_off_by_default() -> None:
    r = Raw()
    r.logon()
    for _ in range(50):
        assert r.send("0") == []  # heartbeats, all accepted


def test_D138_AD20_over_the_limit_rejected_then_logged_out_on_repeated_breaches() -> None:
    r = Raw(inbound_rate_limit=3, rate_breaches_before_logout=2)
    r.logon()
    r.now += SECOND  # a new second: the Logon does not count
    assert [r.send("0") for _ in range(3)] == [[], [], []]
    (reject,) = r.send("0")  # the 4th in one second
    assert reject.msg_type == "3" and reject.get_str(58) == texts.messaging_controls(3)
    assert reject.get_int(45) == r.seq - 1  # RefSeqNum: the message not acted upon
    (again,) = r.send("0")  # still the first breached second
    assert again.msg_type == "3" and not r.gw.closed
    r.now += SECOND
    assert r.send("0") == []  # under the limit again
    assert r.gw.next_in == r.seq  # rejected messages consumed their numbers
    for _ in range(2):
        r.send("0")
    (logout,) = r.send("0")  # a second breached second -> Logout
    assert logout.msg_type == "5" and logout.get_str(58) == texts.MESSAGING_CONTROLS_LOGOUT
    assert r.gw.closed
