"""SOFH framing and the incremental splitter (ilink3-schema-notes "Framing"; seed 004
"Terminate - CME Initiated"; decision AI-18)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropcopy.ilink3 import messages
from dropcopy.ilink3.codec import Decoder, decode_message, encode
from dropcopy.ilink3.errors import DecodingError, InvalidSOFH
from dropcopy.ilink3.framing import MIN_MESSAGE_SIZE, FrameSplitter, frame

SEQ = messages.Sequence506(
    UUID=5, NextSeqNo=10, FaultToleranceIndicator=messages.FTI.Primary, KeepAliveIntervalLapsed=0
)
TERM = messages.Terminate507(Reason="bye", UUID=5, RequestTimestamp=99, ErrorCodes=0)


def test_sofh_is_little_endian_size_including_itself_then_cafe() -> None:
    wire = encode(SEQ)
    assert wire[:4] == struct.pack("<HH", 26, 0xCAFE) == b"\x1a\x00\xfe\xca"
    assert len(wire) == 26
    assert frame(SEQ.encode()) == wire


def test_byte_at_a_time() -> None:
    stream = encode(SEQ) + encode(TERM) + encode(SEQ)
    dec = Decoder()
    out = []
    for i in range(len(stream)):
        out.extend(dec.feed(stream[i : i + 1]))
    assert out == [SEQ, TERM, SEQ]
    assert dec.splitter.buffered == 0


def test_trailing_partial_message_waits_for_the_rest() -> None:
    a, b = encode(SEQ), encode(TERM)
    dec = Decoder()
    assert dec.feed(a + b[:10]) == [SEQ]
    assert dec.splitter.buffered == 10
    assert dec.feed(b[10:]) == [TERM]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=30))
def test_any_chunking_yields_the_same_messages(cuts: list[int]) -> None:
    msgs = [SEQ, TERM, SEQ, TERM]
    stream = b"".join(encode(m) for m in msgs)
    dec = Decoder()
    out: list[object] = []
    pos = 0
    for n in cuts:
        out.extend(dec.feed(stream[pos : pos + n]))
        pos += n
    out.extend(dec.feed(stream[pos:]))
    assert out == msgs


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (struct.pack("<HH", 26, 0xBEEF), "EncodingType 0xBEEF"),
        (struct.pack("<HH", 11, 0xCAFE), "MessageSize 11"),  # smaller than SOFH + SBE header
        (struct.pack("<HH", 0, 0xCAFE), "MessageSize 0"),
        (struct.pack(">HH", 26, 0xCAFE), "EncodingType"),  # big-endian framing is not CME's
    ],
)
def test_invalid_sofh_is_terminate_18_and_stops_the_stream(header: bytes, why: str) -> None:
    # AI-18: a bad SOFH (size < 12, size > max, encoding != 0xCAFE) -> Terminate 18, the stream
    # cannot be resynchronised
    dec = Decoder()
    out = dec.feed(encode(SEQ) + header + encode(SEQ)[4:] + encode(TERM))
    assert out[0] == SEQ
    assert len(out) == 2 and isinstance(out[1], InvalidSOFH)
    assert out[1].terminate_code == 18
    assert why in out[1].reason
    assert dec.feed(encode(SEQ)) == []  # cannot resynchronise: nothing more is delivered


def test_size_limit_is_named_and_enforced() -> None:
    dec = Decoder(max_message_size=64)
    big = encode(
        messages.Negotiate500(
            HMACSignature=bytes(32),
            AccessKeyID="A" * 20,
            UUID=1,
            RequestTimestamp=1,
            Session="A",
            Firm="B",
        )
    )
    assert len(big) == 90
    out = dec.feed(big)
    assert len(out) == 1 and isinstance(out[0], InvalidSOFH) and "64" in out[0].reason
    with pytest.raises(ValueError):
        FrameSplitter(max_message_size=MIN_MESSAGE_SIZE - 1)


def test_framed_but_undecodable_is_decoding_error_19_and_the_stream_continues() -> None:
    # I-256 / AI-18: a framed but undecodable message (unknown template, schemaId != 8, block
    # too short) is reported as DecodingError (19) and disregarded; the next frame is read
    bad_template = frame(struct.pack("<HHHH", 14, 512, 8, 9) + bytes(14))  # no template 512
    bad_schema = frame(struct.pack("<HHHH", 14, 506, 7, 9) + bytes(14))
    short_block = frame(struct.pack("<HHHH", 10, 506, 8, 9) + bytes(10))
    out = Decoder().feed(bad_template + encode(SEQ) + bad_schema + short_block + encode(TERM))
    assert [type(x).__name__ for x in out] == [
        "DecodingError",
        "Sequence506",
        "DecodingError",
        "DecodingError",
        "Terminate507",
    ]
    assert all(x.terminate_code == 19 for x in out if isinstance(x, DecodingError))
    assert "512" in out[0].reason and "schemaId 7" in out[2].reason  # type: ignore[union-attr]
    with pytest.raises(DecodingError):
        decode_message(struct.pack("<HHHH", 14, 512, 8, 9))


def test_resync_mode_reports_garbage_and_finds_the_next_message() -> None:
    garbage = b"\x00\x01\x02garbage\xfe"
    out = Decoder(resync=True).feed(
        encode(SEQ) + garbage + encode(TERM) + b"\xff\xff" + encode(SEQ)
    )
    kinds = [type(x).__name__ for x in out]
    assert kinds[0] == "Sequence506" and kinds[-1] == "Sequence506" and "Terminate507" in kinds
    assert "InvalidSOFH" in kinds
    assert [x for x in out if not isinstance(x, InvalidSOFH)] == [SEQ, TERM, SEQ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_fuzz_any_bytes_give_messages_or_typed_errors(data: bytes, resync: bool) -> None:
    dec = Decoder(resync=resync)
    for i in range(0, len(data), 7):
        for item in dec.feed(data[i : i + 7]):
            assert isinstance(item, messages._rt.MessageBase | InvalidSOFH | DecodingError)
            if isinstance(item, messages._rt.MessageBase):
                item.to_dict()  # every property reads without error


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(messages.TEMPLATES)),
    st.integers(0, 600),
    st.integers(0, 12),
    st.binary(max_size=700),
)
def test_fuzz_valid_header_random_body(
    template_id: int, block_length: int, version: int, body: bytes
) -> None:
    sbe = struct.pack("<HHHH", block_length, template_id, 8, version) + body
    try:
        msg = decode_message(sbe)
    except DecodingError as exc:
        assert exc.terminate_code == 19
        return
    assert msg.TEMPLATE_ID == template_id
    msg.to_dict()
