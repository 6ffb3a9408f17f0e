"""Drop Copy 35=n: <RTRF> encapsulation, byte-exact against the public golden sample."""

from __future__ import annotations

import pytest

from dropcopy.fix import (
    EncapsulationError,
    FixFramer,
    Message,
    Outcome,
    decode,
    decode_encapsulated,
    encapsulate,
    encode,
    unwrap_payload,
)

from .samples import (
    EXEC_REPORT,
    GOLDEN_35N,
    GOLDEN_INNER,
    GOLDEN_INNER_FIELDS,
    GOLDEN_OUTER_HEADER,
)


def test_D034_golden_inner_message_is_byte_exact() -> None:
    # wire notes §2.2: inner 9=356, 10=124
    inner = encode("8", GOLDEN_INNER_FIELDS)
    assert inner == GOLDEN_INNER
    assert b"\x019=356\x01" in inner
    assert inner.endswith(b"\x0110=124\x01")


def test_D034_golden_35n_is_byte_exact() -> None:
    # wire notes §2.2: outer 9=495, 10=028, 212=392
    outer = encapsulate(encode("8", GOLDEN_INNER_FIELDS), GOLDEN_OUTER_HEADER)
    assert outer == GOLDEN_35N
    assert outer.startswith(b"8=FIX.4.2\x019=495\x0135=n\x01")
    assert b"\x01212=392\x01213=<RTRF>8=FIX.4.2\x01" in outer
    assert outer.endswith(b"\x0110=124\x01</RTRF>\x0110=028\x01")


def test_D034_encapsulate_accepts_a_message() -> None:
    assert encapsulate(decode(GOLDEN_INNER), GOLDEN_OUTER_HEADER) == GOLDEN_35N


def test_D034_xml_data_len_counts_from_rtrf_open_to_rtrf_close() -> None:
    msg = decode(GOLDEN_35N)
    payload = msg[213]
    assert payload.startswith(b"<RTRF>8=FIX.4.2\x01")
    assert payload.endswith(b"\x0110=124\x01</RTRF>")
    assert msg.get_int(212) == len(payload) == 392


def test_D034_golden_35n_decodes_and_unwraps() -> None:
    msg = decode(GOLDEN_35N)
    assert msg.msg_type == "n"
    assert msg.get_int(9) == 495
    assert msg[10] == b"028"
    assert [t for t, _ in msg.body_fields] == [35, 34, 369, 52, 49, 50, 56, 57, 143, 212, 213]
    assert unwrap_payload(msg) == GOLDEN_INNER
    inner = decode_encapsulated(msg)
    assert inner.msg_type == "8"
    assert inner.get_int(9) == 356
    assert inner[10] == b"124"
    assert inner[56] == b"M2L000N"  # "two tag 56 values": inner = source session
    assert msg[56] == b"DUMMY11"  # outer = drop copy target
    assert inner == decode(encode("8", GOLDEN_INNER_FIELDS))


@pytest.mark.parametrize("split", [1, 100, 200, 250, 300, 450, len(GOLDEN_35N) - 1])
def test_D034_golden_35n_split_across_two_reads(split: int) -> None:
    framer = FixFramer()
    out = framer.feed(GOLDEN_35N[:split])
    assert out == []
    out = framer.feed(GOLDEN_35N[split:])
    assert out == [decode(GOLDEN_35N)]
    assert framer.buffered == 0


def test_D034_golden_35n_byte_at_a_time() -> None:
    framer = FixFramer()
    out = []
    for i in range(len(GOLDEN_35N)):
        out += framer.feed(GOLDEN_35N[i : i + 1])
    assert out == [decode(GOLDEN_35N)]
    assert decode_encapsulated(out[0]).raw == GOLDEN_INNER  # type: ignore[arg-type]


def test_encapsulated_stream_of_several_messages() -> None:
    header = GOLDEN_OUTER_HEADER
    stream = b"".join(encapsulate(EXEC_REPORT, header) for _ in range(3)) + GOLDEN_35N
    out = FixFramer().feed(stream)
    assert len(out) == 4
    assert [decode_encapsulated(m).raw for m in out] == [  # type: ignore[arg-type]
        EXEC_REPORT,
        EXEC_REPORT,
        EXEC_REPORT,
        GOLDEN_INNER,
    ]


def test_unwrap_rejects_what_is_not_an_rtrf_payload() -> None:
    with pytest.raises(EncapsulationError) as exc:
        unwrap_payload(decode(EXEC_REPORT))
    assert exc.value.outcome is Outcome.SESSION_REJECT
    with pytest.raises(EncapsulationError):
        unwrap_payload(Message.build("n", [(34, 3)]))
    with pytest.raises(EncapsulationError) as exc:
        unwrap_payload(Message.build("n", [(34, 3), (213, b"<FIXML/>")]))
    assert exc.value.msg_seq_num == 3
    broken = Message.build("n", [(34, 4), (213, b"<RTRF>8=FIX.4.2\x019=1\x01</RTRF>")])
    with pytest.raises(EncapsulationError) as exc:
        decode_encapsulated(broken)
    assert exc.value.reply_fields()[0] == (45, "4")
