"""Incremental framer: any chunking, garbage, resynchronisation, AD-06 checksum rules, limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropcopy.fix import (
    BeginStringIncorrect,
    BodyLengthIncorrect,
    BodyLengthMissing,
    ChecksumGarbled,
    ChecksumIncorrect,
    ChecksumMissing,
    DecodeError,
    FixError,
    FixFramer,
    FramerLimits,
    GarbageData,
    Message,
    MessageTooLarge,
    Outcome,
    TruncatedMessage,
    decode,
    encode,
)

from .samples import EXEC_REPORT, GOLDEN_35N
from .strategies import field_lists, msg_types

Item = Message | FixError


def run(chunks: list[bytes], framer: FixFramer | None = None) -> list[Item]:
    framer = framer or FixFramer()
    out: list[Item] = []
    for chunk in chunks:
        out += framer.feed(chunk)
    out += framer.close()
    return out


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


def with_checksum_text(raw: bytes, text: bytes) -> bytes:
    """Replace the 10= value of ``raw``."""
    return raw[: raw.rindex(b"10=") + 3] + text + b"\x01"


HEARTBEAT = encode("0", [(34, 2), (49, "ABCDEFN"), (50, "OPS"), (52, "20240312-14:03:07.123")])
STREAM = HEARTBEAT + EXEC_REPORT + GOLDEN_35N + HEARTBEAT

# --------------------------------------------------------------------------- good streams


def test_whole_stream_in_one_read() -> None:
    out = run([STREAM])
    assert [m.raw for m in out if isinstance(m, Message)] == [
        HEARTBEAT,
        EXEC_REPORT,
        GOLDEN_35N,
        HEARTBEAT,
    ]
    assert len(out) == 4


def test_byte_at_a_time() -> None:
    assert run(bytewise(STREAM)) == run([STREAM])


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=30))
@settings(max_examples=150, deadline=None)
def test_any_chunking_gives_the_same_messages(cuts: list[int]) -> None:
    assert run(chunked(STREAM, cuts)) == run([STREAM])


def test_trailing_partial_message_is_kept_until_completed() -> None:
    framer = FixFramer()
    out = framer.feed(EXEC_REPORT + HEARTBEAT[:10])
    assert [m.raw for m in out if isinstance(m, Message)] == [EXEC_REPORT]
    assert framer.buffered == 10
    out = framer.feed(HEARTBEAT[10:] + EXEC_REPORT[:3])
    assert [m.raw for m in out if isinstance(m, Message)] == [HEARTBEAT]
    assert framer.buffered == 3
    assert framer.feed(EXEC_REPORT[3:]) == [decode(EXEC_REPORT)]
    assert framer.buffered == 0


def test_truncated_message_at_end_of_stream() -> None:
    out = run([EXEC_REPORT + HEARTBEAT[:-3]])
    assert out[0] == decode(EXEC_REPORT)
    assert isinstance(out[1], TruncatedMessage)
    assert out[1].outcome is Outcome.DROP
    assert len(out) == 2


def test_D034_payload_full_of_soh_and_equals_does_not_confuse_the_framer() -> None:
    # 213 holds a whole FIX message, SOHs, '=' and "10=" / "8=FIX" look-alikes: boundaries come
    # from 9 BodyLength only (seed 003 "Encapsulated Payload").
    payload = b"<RTRF>" + EXEC_REPORT + b"\x01=\x0110=000\x018=FIX.4.2\x019=3\x01</RTRF>"
    outer = encode("n", [(34, 5), (49, "CME"), (213, payload)])
    out = run(bytewise(outer + HEARTBEAT))
    assert [m.raw for m in out if isinstance(m, Message)] == [outer, HEARTBEAT]
    assert out[0].get(213) == payload  # type: ignore[union-attr]


# --------------------------------------------------------------------------- garbage, resync


def test_garbage_before_a_message_is_reported_once_and_skipped() -> None:
    for chunks in ([b"xyz\x01garbage" + EXEC_REPORT], bytewise(b"xyz\x01garbage" + EXEC_REPORT)):
        out = run(chunks)
        assert isinstance(out[0], GarbageData)
        assert out[0].data == b"xyz\x01garbage"
        assert out[0].outcome is Outcome.DROP
        assert out[1] == decode(EXEC_REPORT)
        assert len(out) == 2


def test_partial_start_marker_at_the_end_is_kept() -> None:
    framer = FixFramer()
    assert framer.feed(b"junk8=FI") == []
    assert framer.buffered == 4
    out = framer.feed(EXEC_REPORT[4:])
    assert isinstance(out[0], GarbageData)
    assert out[1] == decode(EXEC_REPORT)


def test_garbage_only_stream_is_reported_at_close_and_every_max_run() -> None:
    limits = FramerLimits(max_garbage_run=100)
    out = run([b"x" * 250], FixFramer(limits))
    assert [type(e) for e in out] == [GarbageData, GarbageData, GarbageData]
    assert run(bytewise(b"x" * 250), FixFramer(limits)) == out


def test_resynchronises_on_next_message_after_bad_body_length() -> None:
    bad = EXEC_REPORT.replace(b"9=", b"9=x", 1)
    out = run([bad + HEARTBEAT])
    assert isinstance(out[0], BodyLengthIncorrect)
    assert out[1] == decode(HEARTBEAT)
    assert len(out) == 2  # the skipped rest of the bad frame is not reported again


def test_missing_body_length() -> None:
    bad = b"8=FIX.4.2\x0135=0\x0110=000\x01"
    out = run([bad + HEARTBEAT])
    assert isinstance(out[0], BodyLengthMissing)
    assert out[0].text == "BodyLength (9) tag is not present"
    assert out[1] == decode(HEARTBEAT)


def test_checksum_tag_not_found() -> None:
    body = b"35=0\x0134=1\x01"
    bad = b"8=FIX.4.2\x019=%d\x01" % len(body) + body + b"11=000\x01"
    out = run([bad + HEARTBEAT])
    assert isinstance(out[0], ChecksumMissing)
    assert out[0].text == "Invalid FIX message. Checksum tag not found."
    assert out[0].outcome is Outcome.DROP
    assert out[1] == decode(HEARTBEAT)


def test_message_larger_than_the_limit_is_dropped_without_waiting() -> None:
    framer = FixFramer(FramerLimits(max_message_size=200))
    out = framer.feed(EXEC_REPORT[:20])
    assert isinstance(out[0], MessageTooLarge)
    out += framer.feed(EXEC_REPORT[20:] + HEARTBEAT)
    assert out[-1] == decode(HEARTBEAT)
    assert framer.buffered == 0


def test_begin_string_other_than_fix42_is_framed_and_logged_out() -> None:
    fix44 = encode("0", [(34, 1)], begin_string=b"FIX.4.4")
    out = run([fix44 + HEARTBEAT])
    assert isinstance(out[0], BeginStringIncorrect)
    assert out[0].outcome is Outcome.LOGOUT
    assert out[0].text == "BeginString (8) tag has an incorrect value, should be FIX4.2"
    assert out[1] == decode(HEARTBEAT)


def test_malformed_field_in_a_well_framed_message_is_dropped() -> None:
    body = b"35=0\x01abc=1\x01"
    bad = b"8=FIX.4.2\x019=%d\x01" % len(body) + body
    bad += b"10=%03d\x01" % (sum(bad) % 256)
    out = run([bad + HEARTBEAT])
    assert isinstance(out[0], DecodeError)
    assert out[0].outcome is Outcome.DROP
    assert out[1] == decode(HEARTBEAT)


# --------------------------------------------------------------------------- AD-06 checksums


@pytest.mark.parametrize("text", [b"AB1", b"A", b"", b"1A"])
def test_D062_non_numeric_checksum_up_to_3_chars_is_dropped(text: bytes) -> None:
    # seed 003 "Messaging Integrity and Validation": "will not be acted upon" (AD-06)
    out = run([with_checksum_text(HEARTBEAT, text) + EXEC_REPORT])
    assert isinstance(out[0], ChecksumIncorrect)
    assert out[0].outcome is Outcome.DROP
    assert out[0].rule == "D-062"
    assert out[1] == decode(EXEC_REPORT)  # the next message is read: nothing was consumed


@pytest.mark.parametrize("text", [b"0123", b"00000", b"1234567890123456"])
def test_D062_checksum_with_more_than_3_digits_is_dropped(text: bytes) -> None:
    out = run([with_checksum_text(HEARTBEAT, text) + EXEC_REPORT])
    assert isinstance(out[0], ChecksumIncorrect)
    assert out[0].outcome is Outcome.DROP
    assert out[1] == decode(EXEC_REPORT)


def test_AD06_wrong_checksum_value_is_dropped() -> None:
    good = int(HEARTBEAT[-4:-1])
    out = run([with_checksum_text(HEARTBEAT, b"%03d" % ((good + 1) % 256)) + EXEC_REPORT])
    assert isinstance(out[0], ChecksumIncorrect)
    assert out[0].outcome is Outcome.DROP
    assert out[0].rule == "AD-06"
    assert out[1] == decode(EXEC_REPORT)


@pytest.mark.parametrize("text", [b"ABCD", b"12AB", b"abcdefgh", b"X" * 40])
def test_D137_non_numeric_checksum_longer_than_3_chars_disconnects(text: bytes) -> None:
    # seed 003 "Standard Trailer": ungraceful disconnect (AD-06)
    for chunks in (
        [with_checksum_text(HEARTBEAT, text)],
        bytewise(with_checksum_text(HEARTBEAT, text)),
    ):
        out = run(chunks)
        assert isinstance(out[0], ChecksumGarbled)
        assert out[0].outcome is Outcome.DISCONNECT
        assert out[0].rule == "D-137"
        assert out[0].reply_msg_type is None
        assert out[0].reply_fields() == []


# --------------------------------------------------------------------------- fuzz


@given(st.binary(max_size=600), st.lists(st.integers(0, 700), max_size=8))
@settings(max_examples=300, deadline=None)
def test_any_bytes_give_messages_or_typed_errors_whatever_the_chunking(
    data: bytes, cuts: list[int]
) -> None:
    whole = run([data])
    assert all(isinstance(item, (Message, FixError)) for item in whole)
    assert run(chunked(data, cuts)) == whole


_PIECES = [
    HEARTBEAT,
    EXEC_REPORT,
    GOLDEN_35N,
    b"8=FIX",
    b"8=FIX.4.2\x019=",
    b"\x0110=",
    b"10=ABCD\x01",
    b"9=99999999999\x01",
    b"\x01",
    b"=",
    b"garbage",
]


@given(
    st.lists(
        st.one_of(st.sampled_from(_PIECES), st.binary(max_size=20)),
        max_size=12,
    ),
    st.lists(st.integers(0, 3000), max_size=10),
)
@settings(max_examples=300, deadline=None)
def test_fix_like_noise_never_raises_and_is_chunking_independent(
    pieces: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(pieces)
    whole = run([data])
    assert all(isinstance(item, (Message, FixError)) for item in whole)
    assert run(chunked(data, cuts)) == whole
    # every message the framer gives is exactly what decode() gives for its bytes
    for item in whole:
        if isinstance(item, Message):
            assert decode(item.raw) == item


@given(
    st.lists(st.sampled_from([HEARTBEAT, EXEC_REPORT, GOLDEN_35N]), min_size=1, max_size=6),
    st.binary(max_size=30),
)
@settings(max_examples=100, deadline=None)
def test_good_messages_after_garbage_are_all_recovered(msgs: list[bytes], junk: bytes) -> None:
    junk = junk.replace(b"8", b"7")  # no accidental start marker inside the junk
    out = run([junk + b"".join(msgs)])
    assert [m.raw for m in out if isinstance(m, Message)] == msgs


@given(
    st.lists(st.tuples(msg_types, field_lists()), min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), max_size=4),
    st.lists(st.integers(0, 5000), max_size=8),
)
@settings(max_examples=200, deadline=None)
def test_mutated_streams_never_raise_and_are_chunking_independent(
    messages: list[tuple[str, list[tuple[int, bytes]]]],
    mutations: list[tuple[int, int]],
    cuts: list[int],
) -> None:
    data = bytearray(b"".join(encode(mt, fields) for mt, fields in messages))
    for where, byte in mutations:
        data[where % len(data)] = byte
    whole = run([bytes(data)])
    assert all(isinstance(item, (Message, FixError)) for item in whole)
    assert run(chunked(bytes(data), cuts)) == whole
    if not mutations:
        assert [m.raw for m in whole if isinstance(m, Message)] == [
            encode(mt, fields) for mt, fields in messages
        ]


def test_limits_must_be_usable() -> None:
    with pytest.raises(ValueError):
        FramerLimits(max_garbage_run=0)
    with pytest.raises(ValueError):
        FramerLimits(max_message_size=10)
