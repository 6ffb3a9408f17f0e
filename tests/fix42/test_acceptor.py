"""The Drop Copy gateway side (acceptor), driven by hand-made client messages.

Each test is named after the seed 003 row (D-xxx) or decision (AD-xx, AX-xx) of
reference/seed-rules.md it checks.
"""

from __future__ import annotations

import pytest

from dropcopy.fix import Message, decode, decode_encapsulated, encode
from dropcopy.fix import texts as fix_texts
from dropcopy.fix.secure_logon import verify_logon
from dropcopy.fix42 import events as ev
from dropcopy.fix42 import texts
from dropcopy.fix42.session import SECOND, State

from .harness import (
    CLIENT,
    INNER,
    OPERATOR,
    SECRET,
    Raw,
    client_fields,
    events_of,
    fields_of,
    of_type,
    parse_all,
    seq_of,
)


def parse_out(r: Raw) -> list[Message]:
    return parse_all(r.gw.data_to_send())


def only(msgs: list[Message], msg_type: str) -> Message:
    assert [m.msg_type for m in msgs] == [msg_type], [m.as_text() for m in msgs]
    return msgs[0]


def logged_on(**kw: object) -> Raw:
    r = Raw(**kw)  # type: ignore[arg-type]
    out = r.logon()
    assert [m.msg_type for m in out] == ["A"]
    assert r.gw.state is State.ACTIVE
    return r


# --------------------------------------------------------------------------- logon


def test_logon_surfaces_secure_logon_fields_for_the_venue() -> None:
    r = Raw()
    assert r.feed(r.logon_msg()) == []
    got = r.last(ev.LogonReceived)
    assert got.sender_comp_id == CLIENT and got.session_id == CLIENT[:6]
    assert got.access_key_id == "AKIDAKIDAKIDAKIDAKID"
    assert got.message.get(1400) == b"CME-1-SHA-256" and len(got.message.get(1402)) == 43
    assert got.heart_bt_int == 30 and got.msg_seq_num == 1 and not got.in_session
    assert r.gw.state is State.LOGON_PENDING


@pytest.mark.parametrize(("hb", "ok"), [(4, False), (5, True), (60, True), (61, False)])
def test_D019_D152_AD04_heartbeat_interval_5_to_60(hb: int, ok: bool) -> None:
    r = Raw()
    out = r.feed(r.logon_msg(hb=hb))
    if ok:
        assert out == [] and r.last(ev.LogonReceived).heart_bt_int == hb
    else:
        logout = only(out, "5")
        assert logout.get_str(58) == fix_texts.heartbeat_value_invalid(str(hb))
        assert r.gw.closed and not events_of(r.events, ev.LogonReceived)


def test_D141_missing_heartbeat_interval_logs_out() -> None:
    r = Raw()
    msg = decode(r.logon_msg())
    out = r.feed(encode("A", [(t, v) for t, v in msg.body_fields[1:] if t != 108]))
    assert only(out, "5").get_str(58) == fix_texts.HEARTBEAT_TAG_INVALID
    assert r.gw.closed


def test_D023_message_before_logon_gets_logout() -> None:
    r = Raw()
    out = r.send("0")
    logout = only(out, "5")
    assert logout.get_str(58) == fix_texts.NOT_LOGGED_ON
    assert logout.get(56) == CLIENT.encode() and logout.get(57) == OPERATOR.encode()
    assert r.gw.closed and r.last(ev.Closed).rule == "D-023"


def test_D024_no_logon_within_60_seconds_disconnects_without_logout() -> None:
    """D-024 and its restatement D-139."""
    r = Raw()
    assert r.gw.next_deadline() == r.now + 60 * SECOND
    assert r.gw.on_timer(r.now + 59 * SECOND) == [] and not r.gw.closed
    events = r.gw.on_timer(r.now + 60 * SECOND)
    assert r.gw.closed and r.gw.data_to_send() == b""
    assert events_of(events, ev.Closed)[0].rule == "D-024"


def test_D024_a_logon_stops_the_60_second_timer() -> None:
    r = Raw()
    r.feed(r.logon_msg())
    assert r.gw.next_deadline() is None  # the venue decides; no disconnect meanwhile
    r.accept()
    r.timer(r.now + 60 * SECOND)
    assert not r.gw.closed and not events_of(r.events, ev.Closed)


def test_D025_beginning_of_week_logon_accepts_34_1_without_141() -> None:
    r = Raw()
    r.feed(r.logon_msg(1))
    ack = only(r.accept(next_seq_num=1, expected_seq_num=1, beginning_of_week=True), "A")
    assert seq_of(ack) == 1 and r.gw.next_in == 2


def test_D025_beginning_of_week_logon_with_34_2_is_logged_out_with_789() -> None:
    r = Raw()
    r.feed(r.logon_msg(2))
    logout = only(r.accept(expected_seq_num=1, beginning_of_week=True), "5")
    assert logout.get(789) == b"1"
    assert logout.get_str(58) == texts.msg_seq_num_too_high(1, 2)
    assert r.gw.closed and r.last(ev.Closed).rule == "D-025"


@pytest.mark.parametrize("expected", [1, 40])
def test_D025_AD15_141_Y_outside_an_in_session_logon_is_logged_out(expected: int) -> None:
    r = Raw()
    r.feed(r.logon_msg(expected, extra=[(141, "Y")]))
    logout = only(r.accept(expected_seq_num=expected, beginning_of_week=expected == 1), "5")
    assert logout.get_str(58) == texts.RESET_FLAG_NOT_ALLOWED
    assert logout.get(789) == str(expected).encode()


@pytest.mark.parametrize(("sent", "text"), [(39, "low"), (41, "high")])
def test_D026_D150_AD09_mid_week_logon_with_wrong_34_gets_789(sent: int, text: str) -> None:
    r = Raw()
    r.feed(r.logon_msg(sent))
    logout = only(r.accept(next_seq_num=100, expected_seq_num=40), "5")
    assert logout.get(789) == b"40"
    assert seq_of(logout) == 100  # CME's own sequence
    assert f"too {text}, expecting 40 but received {sent}" in (logout.get_str(58) or "")
    # no Resend Request for a high logon (AD-09)
    assert r.gw.closed


def test_D026_mid_week_logon_with_the_789_value_is_acknowledged() -> None:
    r = Raw()
    out = r.logon(next_seq_num=100, expected=40)
    ack = only(out, "A")
    assert seq_of(ack) == 100 and r.gw.next_in == 41 and r.gw.next_out == 101


def test_D027_in_session_logon_needs_141_Y() -> None:
    r = logged_on()
    out = r.feed(r.logon_msg(1, extra=[(141, "N")]))
    assert only(out, "5").get_str(58) == fix_texts.IN_SESSION_LOGON_RESET_FLAG
    assert r.gw.closed


def test_D027_in_session_logon_needs_34_1() -> None:
    r = logged_on()
    r.send("0")
    out = r.feed(r.logon_msg(3, extra=[(141, "Y")]))
    assert only(out, "5").get_str(58) == fix_texts.IN_SESSION_LOGON_SEQ_NUM


def test_D028_orig_sending_time_on_logon_logs_out() -> None:
    r = Raw()
    out = r.feed(r.logon_msg(orig=True))
    assert only(out, "5").get_str(58) == fix_texts.ORIG_SENDING_TIME_ON_LOGON


def test_D032_D033_in_session_logon_resets_both_sides() -> None:
    r = logged_on()
    r.publish(5)
    for _ in range(3):
        r.send("0")
    assert r.feed(r.logon_msg(1, extra=[(141, "Y")])) == []
    got = r.last(ev.LogonReceived)
    assert got.in_session and r.gw.state is State.RESET_PENDING
    ack = only(r.accept(), "A")
    assert seq_of(ack) == 1 and ack.get(141) == b"Y" and ack.get(369) == b"1"
    assert events_of(r.events, ev.SequenceNumbersReset) == [ev.SequenceNumbersReset(True)]
    r.seq = 2
    assert r.send("0") == [] and r.gw.next_in == 3  # the next inbound 34=2 is accepted
    # D-033: the 5 copies sent before the reset are gone: 7=2 is beyond the last sent (1)
    out = r.send("2", [(7, 2), (16, 0)])
    assert only(out, "5").get_str(58) == texts.begin_seq_no_too_high(2, 1)


def test_in_session_logon_rejected_by_the_venue_logs_out() -> None:
    r = logged_on()
    r.feed(r.logon_msg(1, extra=[(141, "Y")]))
    logout = only(r.reject(), "5")
    assert logout.get_str(58) == fix_texts.INVALID_LOGON and logout.get(789) == b"2"


def test_AX01_bad_signature_is_refused_by_the_venue() -> None:
    r = Raw()
    other = "B" * 43
    r.feed(r.logon_msg(secret=other))
    got = r.last(ev.LogonReceived)
    assert not verify_logon(got.message, SECRET)
    logout = only(r.reject(next_seq_num=7), "5")
    assert logout.get_str(58) == "Invalid logon. Logout forced." and seq_of(logout) == 7
    assert r.gw.closed and r.last(ev.Closed).rule == "AX-01"


def test_AX01_logon_without_credentials_is_logged_out() -> None:
    r = Raw()
    raw = encode("A", [*client_fields(1, r.now), (108, 30)])
    assert only(r.feed(raw), "5").get_str(58) == fix_texts.INVALID_LOGON


def test_D064_backup_logon_while_primary_is_up_is_forced_out_with_789() -> None:
    r = Raw()
    r.feed(r.logon_msg(12))
    logout = only(
        r.reject(fix_texts.BACKUP_NOT_ALLOWED, next_expected_msg_seq_num=12, rule="D-064"), "5"
    )
    assert logout.get_str(58) == fix_texts.BACKUP_NOT_ALLOWED and logout.get(789) == b"12"


@pytest.mark.parametrize(
    ("fti", "text"),
    [
        ("ABCDEFP", fix_texts.invalid_fault_tolerance_indicator("P")),
        ("ABCDEFGN", fix_texts.SENDER_COMP_ID_INVALID),
    ],
)
def test_D079_AD17_sender_comp_id_is_session_id_plus_N(fti: str, text: str) -> None:
    r = Raw()
    assert only(r.feed(r.logon_msg(sender=fti)), "5").get_str(58) == text


def test_messages_held_while_the_venue_decides_are_processed_after_the_ack() -> None:
    r = Raw()
    r.feed(r.logon_msg(1))
    r.seq = 2
    assert r.send("1", [(112, "HELD")]) == []  # held, not answered yet
    out = r.accept()
    assert [m.msg_type for m in out] == ["A", "0"]
    assert out[1].get(112) == b"HELD" and r.gw.next_in == 3


def test_D100_D101_D170_cme_returns_57_in_50_and_50_in_57() -> None:
    r = Raw("74")
    out = r.logon(sub="ATS")
    ack = only(out, "A")
    assert (ack.get(49), ack.get(50), ack.get(56), ack.get(57)) == (
        b"CME",
        b"74",
        CLIENT.encode(),
        b"ATS",
    )


def test_D102_cme_test_request_header() -> None:
    r = Raw("74")
    r.logon(sub="ATS")
    r.gw.on_timer(r.now + 34 * SECOND)
    tr = of_type(parse_out(r), "1")[0]
    assert (tr.get(49), tr.get(50), tr.get(57), tr.get(112)) == (b"CME", b"74", b"ATS", b"TEST")


def test_D103_msgw_logon_with_another_segment_is_logged_out() -> None:
    r = Raw("74", market_segments=frozenset({"74", "99"}))
    out = r.feed(r.logon_msg(target_sub="99"))
    assert only(out, "5").get_str(58) == fix_texts.INVALID_TARGET_SUB_ID


def test_D104_admin_message_for_another_segment_is_rejected() -> None:
    r = logged_on(target_sub_id="74", market_segments=frozenset({"74", "99"}))
    out = r.send("0", target_sub="99")
    reject = only(out, "3")
    assert reject.get_str(58) == fix_texts.target_sub_id_incorrect("99", "74")
    assert reject.get(45) == b"2" and not r.gw.closed and r.gw.next_in == 3


# --------------------------------------------------------------------------- heartbeats


def test_D021_silent_client_gets_a_test_request_after_one_interval() -> None:
    r = logged_on()
    start = r.now
    r.gw.on_timer(start + 30 * SECOND)  # CME's own heartbeat only
    assert [m.msg_type for m in parse_out(r)] == ["0"]
    deadline = r.gw.next_deadline()
    assert deadline is not None and deadline <= start + 33 * SECOND
    events = r.gw.on_timer(start + 33 * SECOND)
    tr = only(parse_out(r), "1")
    assert tr.get(112) == b"TEST" and events_of(events, ev.TestRequestSent)


def test_D116_test_request_carries_369_last_processed() -> None:
    r = logged_on()
    r.send("0")
    r.send("0")  # 34=3
    r.gw.on_timer(r.now + 33 * SECOND)
    tr = of_type(parse_out(r), "1")[0]
    assert tr.get(369) == b"3"


def test_D022_D151_AD05_unanswered_test_request_logs_out_and_closes() -> None:
    r = logged_on()
    last_inbound = r.now
    r.gw.on_timer(last_inbound + 33 * SECOND)
    parse_out(r)
    assert not r.gw.closed
    deadline = r.gw.next_deadline()
    assert deadline == last_inbound + 63 * SECOND  # about 2 x HeartBtInt after the last inbound
    events = r.gw.on_timer(deadline)
    logout = only(parse_out(r), "5")
    assert logout.get_str(58) == texts.HEARTBEAT_TIMEOUT and logout.get(789) == b"2"
    assert r.gw.closed and events_of(events, ev.Closed)[0].rule == "AD-05"


def test_D021_any_inbound_message_resets_the_silence() -> None:
    r = logged_on()
    r.now += 32 * SECOND
    r.send("0")
    out = r.timer(r.now + 32 * SECOND)  # 64 s after logon, 32 s after the last inbound
    assert not of_type(out, "1") and not r.gw.closed


def test_D117_D119_heartbeat_answers_test_request_with_369_and_112() -> None:
    r = logged_on()
    r.send("0")
    out = r.send("1", [(112, "PING7")])  # 34=3
    hb = only(out, "0")
    assert hb.get(112) == b"PING7" and hb.get(369) == b"3"


def test_D115_logon_ack_carries_369_of_the_logon() -> None:
    r = Raw()
    ack = only(r.logon(next_seq_num=5, expected=17), "A")
    assert ack.get(369) == b"17"


# --------------------------------------------------------------------------- sequence numbers


def test_D029_higher_than_expected_triggers_one_enhanced_resend_request() -> None:
    r = logged_on()
    out = r.send("0", seq=5)
    rr = only(out, "2")
    assert (rr.get(7), rr.get(16)) == (b"2", b"0")
    assert r.last(ev.GapDetected) == ev.GapDetected(2, 4)
    assert r.send("0", seq=6) == []  # still waiting for the gap fill: no second 35=2
    assert r.gw.next_in == 2


def test_D030_AD10_lower_than_expected_without_possdup_logs_out() -> None:
    """Also D-041: a "resent" message without 43=Y is treated as lower than expected."""
    r = logged_on()
    r.send("0")
    r.send("0")  # next_in 4
    out = r.send("0", seq=2)
    logout = only(out, "5")
    assert logout.get_str(58) == texts.msg_seq_num_too_low(4, 2) and logout.get(789) == b"4"
    assert r.last(ev.Closed).rule == "D-030"


def test_AD10_lower_than_expected_with_possdup_is_ignored() -> None:
    r = logged_on()
    r.send("0")
    assert r.send("0", seq=2, poss_dup=True, orig=True) == []
    assert not r.gw.closed and r.gw.next_in == 3
    assert r.last(ev.PossDupIgnored) == ev.PossDupIgnored(2, "0")


def test_D031_AD11_sequence_reset_reset_mode_adopts_a_higher_number() -> None:
    r = logged_on()
    assert r.send("4", [(36, 50)], seq=999) == []  # 34 ignored in Reset mode
    assert r.gw.next_in == 50
    assert r.send("0", seq=50) == [] and r.gw.next_in == 51  # no 35=2


def test_AD11_sequence_reset_lowering_the_number_logs_out() -> None:
    r = logged_on()
    for _ in range(4):
        r.send("0")
    out = r.send("4", [(123, "N"), (36, 3)])
    assert only(out, "5").get_str(58) == texts.new_seq_no_too_low(6, 3)


def test_D038_gap_fill_answering_our_resend_request_is_accepted() -> None:
    r = logged_on()
    assert only(r.send("0", seq=4), "2").get(7) == b"2"
    out = r.send("4", [(123, "Y"), (36, 5)], seq=2, poss_dup=True, orig=True)
    assert out == [] and r.gw.next_in == 5
    assert r.send("0", seq=5) == [] and r.gw.next_in == 6
    assert r.last(ev.SequenceResetReceived) == ev.SequenceResetReceived(2, 5, True)


def test_D039_gap_fill_whose_36_is_not_above_34_logs_out() -> None:
    r = logged_on()
    out = r.send("4", [(123, "Y"), (36, 2)], seq=2, poss_dup=True, orig=True)
    assert only(out, "5").get_str(58) == texts.new_seq_no_too_low(3, 2)


def test_D062_AD06_bad_checksum_is_not_acted_upon_nor_sequenced() -> None:
    r = logged_on()
    good = r.msg("1", [(112, "X")])  # 34=2
    for bad_value in (b"AB1", b"0123", b"000"):
        bad = good[: good.rindex(b"10=") + 3] + bad_value + b"\x01"
        if bad == good:
            continue
        assert r.feed(bad) == []
        assert events_of(r.events, ev.MessageDropped)
        assert r.gw.next_in == 2 and not r.gw.closed
    out = r.send("0", seq=3)  # the next good message exposes the gap
    assert only(out, "2").get(7) == b"2"


def test_D137_AD06_garbled_checksum_disconnects_without_logout() -> None:
    r = logged_on()
    good = r.msg("0")
    bad = good[: good.rindex(b"10=") + 3] + b"ABCD\x01"
    assert r.feed(bad) == []
    assert r.gw.closed and r.last(ev.Closed).rule == "D-137"


# --------------------------------------------------------------------------- message types


@pytest.mark.parametrize(("msg_type", "rule"), [("BW", "D-043"), ("ZZ", "D-061"), ("D", "D-114")])
def test_D043_D061_D114_invalid_types_get_session_level_reject(msg_type: str, rule: str) -> None:
    r = logged_on()
    out = r.send(msg_type, [(11, "ORD1")] if msg_type == "D" else [])
    reject = only(out, "3")
    assert reject.get_str(58) == fix_texts.unknown_msg_type(msg_type)
    assert reject.get(45) == b"2" and reject.get(373) is None
    assert r.last(ev.SessionRejectSent).rule == rule
    assert not r.gw.closed and r.gw.next_in == 3  # the session stays up, 34 consumed
    assert r.send("0") == []


def test_D156_AD07_test_request_without_142_is_rejected() -> None:
    r = logged_on()
    out = r.send("1", [(112, "T")], location=None)
    assert only(out, "3").get_str(58) == fix_texts.SENDER_LOCATION_ID_MISSING


def test_D157_test_request_with_null_112_is_rejected() -> None:
    r = logged_on()
    out = r.send("1", [(112, "")])
    assert only(out, "3").get_str(58) == fix_texts.TEST_REQ_ID_MISSING


@pytest.mark.parametrize(
    ("drop", "rule_text"),
    [
        (34, fix_texts.MSG_SEQ_NUM_MISSING),
        (49, fix_texts.SENDER_COMP_ID_MISSING),
        (52, fix_texts.SENDING_TIME_MISSING),
        (57, fix_texts.TARGET_SUB_ID_MISSING),
        (142, fix_texts.SENDER_LOCATION_ID_MISSING),
    ],
)
def test_D120_to_D125_missing_header_tag_logs_out(drop: int, rule_text: str) -> None:
    """D-120 (34), D-121 (49), D-123 (52), D-124 (57), D-125 (142) on a Heartbeat."""
    r = logged_on()
    fields = [(t, v) for t, v in client_fields(2, r.now) if t != drop]
    out = r.feed(encode("0", fields))
    logout = only(out, "5")
    assert logout.get_str(58) == rule_text and logout.get(789) == b"2"


def test_D127_null_possdup_logs_out_but_D133_invalid_possdup_is_acknowledged() -> None:
    r = logged_on()
    fields = client_fields(2, r.now)
    ok = encode("0", [fields[0], (43, "X"), *fields[1:]])
    assert r.feed(ok) == [] and r.gw.next_in == 3 and not r.gw.closed
    fields = client_fields(3, r.now)
    bad = encode("0", [fields[0], (43, ""), *fields[1:]])
    assert only(r.feed(bad), "5").get_str(58) == fix_texts.POSS_DUP_FLAG_MISSING


def test_D135_invalid_sending_time_logs_out() -> None:
    r = logged_on()
    fields = [(t, "garbage" if t == 52 else v) for t, v in client_fields(2, r.now)]
    assert only(r.feed(encode("0", fields)), "5").get_str(58) == (
        fix_texts.sending_time_invalid("garbage")
    )


def test_D134_another_sessions_sender_comp_id_after_logon_logs_out() -> None:
    r = logged_on()
    out = r.send("0", sender="ZZZZZZN")
    assert only(out, "5").get_str(58) == fix_texts.SENDER_COMP_ID_INVALID


@pytest.mark.parametrize("extra", [[], [(98, "7")]])
def test_D140_D146_missing_or_invalid_98_is_acknowledged(extra: list) -> None:  # type: ignore[type-arg]
    r = Raw()
    assert r.feed(r.logon_msg(extra=extra)) == [] and r.gw.state is State.LOGON_PENDING


@pytest.mark.parametrize("tag", [98, 96])
def test_D143_D144_null_96_or_98_logs_out(tag: int) -> None:
    r = Raw()
    out = r.feed(r.logon_msg(extra=[(tag, "")]))
    assert only(out, "5").get_str(58) == fix_texts.INVALID_LOGON


def test_D147_AD15_invalid_141_is_read_as_N_and_acknowledged() -> None:
    r = Raw()
    r.feed(r.logon_msg(extra=[(141, "X")]))
    assert not r.last(ev.LogonReceived).reset_seq_num_flag
    assert only(r.accept(beginning_of_week=True), "A")


# --------------------------------------------------------------------------- logout


def test_client_logout_is_confirmed_with_789_then_closed() -> None:
    r = logged_on()
    r.send("0")
    out = r.send("5", [(58, "bye")])  # 34=3
    confirm = only(out, "5")
    assert confirm.get(789) == b"4" and confirm.get(58) is None
    closed = r.last(ev.Closed)
    assert r.gw.closed and closed.by_peer is True and closed.logout_text == "bye"


def test_gateway_logout_waits_for_the_confirmation() -> None:
    r = logged_on()
    r.gw.logout(r.now, "End of week")
    logout = only(parse_out(r), "5")
    assert logout.get_str(58) == "End of week" and r.gw.state is State.LOGOUT_SENT
    assert r.send("5") == [] and r.gw.closed
    assert r.last(ev.Closed) == ev.Closed("logout confirmed", False, None, None)


def test_gateway_logout_closes_after_the_timeout_without_confirmation() -> None:
    r = logged_on()
    r.gw.logout(r.now)
    deadline = r.gw.next_deadline()
    assert deadline == r.now + 10 * SECOND
    assert r.gw.on_timer(deadline) and r.gw.closed


# --------------------------------------------------------------------------- business messages


def test_D034_copies_go_out_as_35n_with_the_next_sequence_number() -> None:
    r = logged_on()
    sent = r.gw.send_encapsulated(r.now, INNER)
    out = parse_out(r)
    msg = only(out, "n")
    assert sent.seq_num == 2 and sent.data == msg.raw and sent.sent_at == r.now
    assert decode_encapsulated(msg).raw == INNER
    assert fields_of(msg)[56] == CLIENT.encode()


def test_D068_possible_resend_carries_97_Y() -> None:
    r = logged_on()
    r.gw.send_encapsulated(r.now, INNER, poss_resend=True)
    assert only(parse_out(r), "n").get(97) == b"Y"


# --------------------------------------------------------------------------- more header rows


@pytest.mark.parametrize(
    ("tag", "text", "rule"),
    [
        (34, fix_texts.MSG_SEQ_NUM_MISSING, "D-126"),
        (49, fix_texts.SENDER_COMP_ID_MISSING, "D-128"),
        (52, fix_texts.SENDING_TIME_MISSING, "D-129"),
        (57, fix_texts.TARGET_SUB_ID_MISSING, "D-130"),
        (142, fix_texts.SENDER_LOCATION_ID_MISSING, "D-131"),
    ],
)
def test_D126_D128_to_D131_null_header_tag_logs_out(tag: int, text: str, rule: str) -> None:
    """AD-16: "null" is the tag present with an empty value."""
    r = logged_on()
    fields = [(t, "" if t == tag else v) for t, v in client_fields(2, r.now)]
    out = r.feed(encode("0", fields))
    assert only(out, "5").get_str(58) == text
    assert r.gw.closed and r.last(ev.Closed).rule == rule


def test_D122_missing_target_comp_id_logs_out() -> None:
    r = logged_on()
    out = r.feed(encode("0", [(t, v) for t, v in client_fields(2, r.now) if t != 56]))
    assert only(out, "5").get_str(58) == fix_texts.TARGET_COMP_ID_MISSING


def test_D132_non_numeric_34_logs_out() -> None:
    r = logged_on()
    fields = [(t, "abc" if t == 34 else v) for t, v in client_fields(2, r.now)]
    out = r.feed(encode("0", fields))
    assert only(out, "5").get_str(58) == fix_texts.msg_seq_num_invalid("abc")


def test_D105_D136_cgw_accepts_57_G_and_logs_out_anything_else() -> None:
    r = logged_on()
    assert r.send("0", target_sub="G") == []
    out = r.send("0", target_sub="74")
    assert only(out, "5").get_str(58) == fix_texts.INVALID_TARGET_SUB_ID
    assert r.last(ev.Closed).rule == "D-136"


def test_D136_malformed_57_on_msgw_logs_out() -> None:
    r = logged_on(target_sub_id="74", market_segments=frozenset({"74", "99"}))
    out = r.send("0", target_sub="XX")
    assert only(out, "5").get_str(58) == fix_texts.INVALID_TARGET_SUB_ID


def test_D142_logon_without_34_logs_out() -> None:
    r = Raw()
    msg = decode(r.logon_msg())
    out = r.feed(encode("A", [(t, v) for t, v in msg.body_fields[1:] if t != 34]))
    logout = only(out, "5")
    assert logout.get_str(58) == fix_texts.MSG_SEQ_NUM_MISSING and logout.get(789) is None
    assert r.last(ev.Closed).rule == "D-142"


def test_D145_logon_with_null_108_logs_out() -> None:
    r = Raw()
    out = r.feed(r.logon_msg(hb=""))
    assert only(out, "5").get_str(58) == fix_texts.HEARTBEAT_TAG_INVALID


@pytest.mark.parametrize(
    ("msg_type", "drop", "rule"), [("0", 34, "D-153"), ("1", 34, "D-154"), ("1", 49, "D-155")]
)
def test_D153_to_D155_heartbeat_and_test_request_missing_tags_log_out(
    msg_type: str, drop: int, rule: str
) -> None:
    r = logged_on()
    body = [(112, "T")] if msg_type == "1" else []
    fields = [(t, v) for t, v in client_fields(2, r.now) if t != drop]
    out = r.feed(encode(msg_type, [*fields, *body]))
    assert only(out, "5") and r.gw.closed and r.last(ev.Closed).rule == rule
