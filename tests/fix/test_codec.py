"""FIX 4.2 tag=value codec: encode/decode, 9/10, data fields, groups, typed getters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropcopy.fix import (
    BeginStringIncorrect,
    BodyLengthIncorrect,
    ChecksumIncorrect,
    ChecksumMissing,
    DecodeError,
    FieldFormatError,
    FixEncodeError,
    FixError,
    GarbageData,
    GroupCountMismatch,
    Message,
    Outcome,
    checksum,
    decode,
    encode,
)
from dropcopy.fix.codec import _byte_sum, _parse_general

from .samples import EXEC_REPORT, EXEC_REPORT_FIELDS, GOLDEN_35N, wire
from .strategies import DATA_PAIRS, field_lists, msg_types

# --------------------------------------------------------------------------- basics


def test_encode_computes_body_length_and_checksum() -> None:
    raw = encode("0", [(34, 2), (49, "ABCDEFN"), (52, "20240101-00:00:00.000")])
    body = wire("35=0|34=2|49=ABCDEFN|52=20240101-00:00:00.000|")
    head = wire(f"8=FIX.4.2|9={len(body)}|")
    assert raw == head + body + b"10=%03d\x01" % (sum(head + body) % 256)


def test_decode_gives_ordered_fields_including_8_9_10() -> None:
    msg = decode(EXEC_REPORT)
    assert msg.fields[0] == (8, b"FIX.4.2")
    assert msg.fields[1][0] == 9
    assert msg.fields[-1][0] == 10
    assert msg.body_fields[0] == (35, b"8")
    assert [t for t, _ in msg.body_fields[1:]] == [t for t, _ in EXEC_REPORT_FIELDS]
    assert msg.msg_type == "8"
    assert msg.raw == EXEC_REPORT
    assert msg.encode() == EXEC_REPORT
    assert len(msg) == len(EXEC_REPORT_FIELDS) + 4


def test_checksum_is_byte_sum_mod_256() -> None:
    for data in (b"", b"\xff" * 1000, bytes(range(256)) * 5, EXEC_REPORT, GOLDEN_35N):
        assert checksum(data) == sum(data) % 256
        assert _byte_sum(data) == sum(data)
        assert checksum(memoryview(data)) == sum(data) % 256


@given(st.binary(max_size=2000))
@settings(max_examples=200)
def test_checksum_matches_sum_for_any_bytes(data: bytes) -> None:
    assert checksum(data) == sum(data) % 256
    assert _byte_sum(data) == sum(data)


def test_typed_getters() -> None:
    msg = Message.build(
        "8",
        [(34, 7), (43, "Y"), (44, "-12.50"), (58, "a=b c"), (97, "N"), (38, "x1")],
    )
    assert msg.get(34) == b"7"
    assert msg[34] == b"7"
    assert 34 in msg
    assert 999 not in msg
    assert msg.get(999) is None
    assert msg.get(999, b"d") == b"d"
    assert msg.get_int(34) == 7
    assert msg.get_int(999) is None
    assert msg.get_bool(43) is True
    assert msg.get_bool(97) is False
    assert msg.get_decimal(44) == Decimal("-12.50")
    assert msg.get_str(58) == "a=b c"
    with pytest.raises(FieldFormatError) as exc:
        msg.get_int(38)
    assert exc.value.tag == 38
    assert exc.value.outcome is Outcome.SESSION_REJECT
    with pytest.raises(FieldFormatError):
        msg.get_bool(58)
    with pytest.raises(FieldFormatError):
        msg.get_decimal(58)
    with pytest.raises(KeyError):
        msg[999]


def test_repeated_tag_first_occurrence_wins_and_get_all_keeps_order() -> None:
    msg = Message.build("8", [(58, "one"), (58, "two"), (58, "three")])
    assert msg.get(58) == b"one"
    assert msg.get_all(58) == [b"one", b"two", b"three"]


def test_value_kinds_on_encode() -> None:
    msg = Message.build("8", [(1, b"raw"), (2, "text"), (3, 42), (4, Decimal("1.50")), (5, True)])
    assert [v for _, v in msg.body_fields[1:]] == [b"raw", b"text", b"42", b"1.50", b"Y"]


@pytest.mark.parametrize(
    "fields",
    [
        [(8, "FIX.4.2")],
        [(9, "1")],
        [(10, "000")],
        [(35, "0")],
        [(0, "x")],
        [(-5, "x")],
        [(58, "soh\x01inside")],
        [(58, "caf\u00e9")],
        [(58, b"\x7f")],
        [(58, 1.5)],
        [(58, Decimal("NaN"))],
        [(212, "5"), (213, b"abc")],
    ],
)
def test_encode_refuses_what_cannot_go_on_the_wire(fields: list[tuple[int, object]]) -> None:
    with pytest.raises(FixEncodeError):
        encode("0", fields)  # type: ignore[arg-type]


def test_encode_refuses_empty_msg_type() -> None:
    with pytest.raises(FixEncodeError):
        encode("", [(34, 1)])


def test_data_field_alone_gets_its_length_tag_inserted() -> None:
    payload = b"a\x01b=c\x01"
    msg = Message.build("n", [(34, 1), (213, payload)])
    assert msg.body_fields[2:] == [(212, b"6"), (213, payload)]


# --------------------------------------------------------------------------- data fields


@pytest.mark.parametrize(("length_tag", "data_tag"), DATA_PAIRS)
def test_data_field_value_is_taken_by_length(length_tag: int, data_tag: int) -> None:
    payload = b"x=1\x0110=123\x018=FIX.4.2\x01=\x01"
    raw = encode("A", [(34, 1), (length_tag, len(payload)), (data_tag, payload), (58, "after")])
    msg = decode(raw)
    assert msg.get(data_tag) == payload
    assert msg.get(58) == b"after"


def test_data_length_that_overruns_is_a_decode_error() -> None:
    body = b"35=n\x01212=50\x01213=short\x01"
    raw = b"8=FIX.4.2\x019=%d\x01" % len(body) + body
    raw += b"10=%03d\x01" % (sum(raw) % 256)
    with pytest.raises(DecodeError) as exc:
        decode(raw)
    assert exc.value.outcome is Outcome.DROP


def test_data_length_not_ending_on_soh_is_a_decode_error() -> None:
    body = b"35=n\x01212=2\x01213=abc\x01"
    raw = b"8=FIX.4.2\x019=%d\x01" % len(body) + body
    raw += b"10=%03d\x01" % (sum(raw) % 256)
    with pytest.raises(DecodeError):
        decode(raw)


def test_data_tag_without_its_length_tag_is_an_ordinary_field() -> None:
    # AD-14 / D-143 need "96=" SOH (empty RawData, no 95) to reach validation.
    body = b"35=A\x0134=1\x0196=\x01108=30\x01"
    raw = b"8=FIX.4.2\x019=%d\x01" % len(body) + body
    raw += b"10=%03d\x01" % (sum(raw) % 256)
    decoded = decode(raw)
    assert decoded.get(96) == b""
    assert decoded.get(108) == b"30"


# --------------------------------------------------------------------------- strictness


def test_non_printable_byte_in_a_normal_field_is_dropped() -> None:
    body = b"35=0\x0158=tab\there\x01"
    raw = b"8=FIX.4.2\x019=%d\x01" % len(body) + body
    raw += b"10=%03d\x01" % (sum(raw) % 256)
    with pytest.raises(DecodeError) as exc:
        decode(raw)
    assert exc.value.tag == 58
    assert exc.value.outcome is Outcome.DROP
    assert decode(raw, strict=False).get(58) == b"tab\there"


@pytest.mark.parametrize(
    "field", [b"=x", b"abc=x", b"035=x", b"0=x", b"3a=x", b"1234567890=x", b"novalue"]
)
def test_malformed_tag_is_a_decode_error(field: bytes) -> None:
    body = b"35=0\x01" + field + b"\x01"
    raw = b"8=FIX.4.2\x019=%d\x01" % len(body) + body
    raw += b"10=%03d\x01" % (sum(raw) % 256)
    with pytest.raises(DecodeError):
        decode(raw)


def test_value_with_equals_sign_decodes() -> None:
    msg = Message.build("0", [(58, "a=b=c"), (112, "=")])
    assert msg.get(58) == b"a=b=c"
    assert msg.get(112) == b"="


# --------------------------------------------------------------------------- frame errors


def test_decode_frame_errors() -> None:
    good = EXEC_REPORT
    with pytest.raises(GarbageData):
        decode(b"junk" + good)
    with pytest.raises(FixError):
        decode(good + b"x")
    with pytest.raises(FixError):
        decode(good[:-1])
    bad_sum = good[:-4] + b"%03d\x01" % ((int(good[-4:-1]) + 1) % 256)
    with pytest.raises(ChecksumIncorrect):
        decode(bad_sum)
    n = decode(good).get_int(9)
    assert n is not None
    shorter = good.replace(b"9=%d" % n, b"9=%d" % (n - 1), 1)
    with pytest.raises(ChecksumMissing):
        decode(shorter)
    longer = good.replace(b"9=%d" % n, b"9=%d" % (n + 1), 1)
    with pytest.raises(FixError):
        decode(longer)
    body_start = good.index(b"35=")
    with_trailer_early = good[: body_start + 5] + b"10=000\x01" + good[body_start + 5 :]
    with pytest.raises(BodyLengthIncorrect) as exc:
        decode(with_trailer_early)
    assert exc.value.text == "BodyLength (9) tag has an incorrect value: should be 5"
    fix44 = encode("0", [(34, 1)], begin_string=b"FIX.4.4")
    with pytest.raises(BeginStringIncorrect) as wrong_version:
        decode(fix44)
    assert wrong_version.value.outcome is Outcome.LOGOUT


def test_one_or_two_digit_checksum_that_matches_is_accepted() -> None:
    # AD-06 lists the bad forms (non-numeric, 4+ digits, wrong sum); a short numeric 10 is
    # not one of them.
    for pad in range(300):
        body = b"35=0\x0158=%s\x01" % (b"x" * pad)
        head = b"8=FIX.4.2\x019=%d\x01" % len(body)
        cs = sum(head + body) % 256
        if cs < 100:
            raw = head + body + b"10=%d\x01" % cs
            assert decode(raw).get(10) == b"%d" % cs
            return
    raise AssertionError("no short checksum found")  # pragma: no cover


# --------------------------------------------------------------------------- groups


def test_group_entries_by_count_and_delimiter() -> None:
    msg = Message.build(
        "8",
        [
            (37, "1"),
            (1795, 2),
            (1797, "E1"), (1799, "10.5"), (1800, 3),
            (1797, "E2"), (1799, "10.25"), (1800, 4),
            (58, "after"),
        ],
    )  # fmt: skip
    entries = msg.group(1795, 1797)
    assert entries == [
        [(1797, b"E1"), (1799, b"10.5"), (1800, b"3")],
        [(1797, b"E2"), (1799, b"10.25"), (1800, b"4")],
    ]
    assert msg.group(1795, 1797, members={1797, 1799, 1800}) == entries
    assert msg.group(555, 600) == []


def test_single_entry_group_needs_members_to_stop() -> None:
    msg = Message.build("8", [(1795, 1), (1797, "E1"), (1800, 3), (58, "after")])
    assert msg.group(1795, 1797, members={1797, 1800}) == [[(1797, b"E1"), (1800, b"3")]]
    assert msg.group(1795, 1797) == [[(1797, b"E1"), (1800, b"3"), (58, b"after")]]


def test_group_count_mismatch() -> None:
    msg = Message.build("8", [(1795, 3), (1797, "E1"), (1797, "E2")])
    with pytest.raises(GroupCountMismatch) as exc:
        msg.group(1795, 1797)
    assert exc.value.session_reject_reason == 16
    msg = Message.build("8", [(1795, 1), (1797, "E1"), (1797, "E2")])
    with pytest.raises(GroupCountMismatch):
        msg.group(1795, 1797)
    msg = Message.build("8", [(1795, 0)])
    assert msg.group(1795, 1797) == []


# --------------------------------------------------------------------------- round trips


@given(msg_types, field_lists())
@settings(max_examples=300, deadline=None)
def test_round_trip_any_fields(msg_type: str, fields: list[tuple[int, bytes]]) -> None:
    raw = encode(msg_type, fields)
    msg = decode(raw)
    assert msg.raw == raw
    assert msg.msg_type == msg_type
    assert msg.body_fields == [(35, msg_type.encode()), *fields]
    # 9 and 10 are right
    body = raw[raw.index(b"\x01", 10) + 1 : len(raw) - 7]
    assert msg.get_int(9) == len(body)
    assert int(msg[10]) == sum(raw[:-7]) % 256


@given(msg_types, field_lists())
@settings(max_examples=200, deadline=None)
def test_fast_and_general_parsers_agree(msg_type: str, fields: list[tuple[int, bytes]]) -> None:
    raw = encode(msg_type, fields)
    fast = decode(raw)
    general = _parse_general(raw, len(raw) - 7, True)
    assert fast.fields == general.fields


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_decode_any_bytes_gives_message_or_fix_error(data: bytes) -> None:
    try:
        decode(data)
    except FixError:
        pass


@given(msg_types, field_lists(), st.data())
@settings(max_examples=200, deadline=None)
def test_decode_mutated_message_gives_message_or_fix_error(
    msg_type: str, fields: list[tuple[int, bytes]], data: st.DataObject
) -> None:
    raw = bytearray(encode(msg_type, fields))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        msg = decode(bytes(raw))
    except FixError:
        return
    assert msg.raw == bytes(raw)


@given(msg_types, field_lists())
@settings(max_examples=100, deadline=None)
def test_D063_encoder_always_writes_a_valid_checksum(
    msg_type: str, fields: list[tuple[int, bytes]]
) -> None:
    # seed 003 "Messaging Integrity and Validation": a valid tag 10 on every message
    raw = encode(msg_type, fields)
    trailer = raw[-7:]
    assert trailer[:3] == b"10=" and trailer[-1:] == b"\x01"
    assert trailer[3:6].isdigit()
    assert int(trailer[3:6]) == sum(raw[:-7]) % 256
