"""``dropcopy decode`` and the ``dropcopy`` command."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dropcopy.cli.decode import parse_hex, scan
from dropcopy.cli.main import app
from dropcopy.ilink3 import codec, messages
from dropcopy.ilink3.framing import frame

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "capture.hex"
runner = CliRunner()


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "decode" in result.output and "version" in result.output


def test_bundled_sample_capture() -> None:
    result = runner.invoke(app, ["decode", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    recs = lines(result.output)
    names = [r.get("template") or r.get("name") or r.get("error") for r in recs]
    assert names == [
        "Negotiate500", "NegotiationResponse501", "Establish503", "EstablishmentAck504", "NewOrderSingle514",
        "ExecutionReportNew522", "Sequence506", "garbage", "Heartbeat", "XmlNonFix",
    ]  # fmt: skip
    nos = recs[4]["fields"]
    assert isinstance(nos, dict)
    assert nos["Price"] == "139.203125" and nos["Side"] == "Buy" and nos["OrdType"] == "Limit"
    assert nos["StopPx"] is None
    garbage = recs[7]
    assert garbage["length"] == 12 and garbage["offset"] == 742


def test_35n_inner_message_is_unwrapped() -> None:
    recs = list(scan(parse_hex(SAMPLE.read_text())))
    outer = recs[-1]
    assert outer["MsgType"] == "n"
    inner = outer["inner"]
    assert (
        isinstance(inner, dict) and inner["MsgType"] == "8" and inner["name"] == "ExecutionReport"
    )
    values = {f["tag"]: f["value"] for f in inner["fields"]}
    assert (
        values[11] == "ACP1593635673935" and values[44] == "139.203125" and values[56] == "M2L000N"
    )
    names = {f["tag"]: f["name"] for f in inner["fields"]}
    assert names[11] == "ClOrdID"


def test_hex_on_the_command_line_and_stdin() -> None:
    seq = messages.Sequence506(UUID=9, NextSeqNo=3, KeepAliveIntervalLapsed=0)
    hexed = codec.encode(seq).hex()
    r1 = runner.invoke(app, ["decode", hexed])
    r2 = runner.invoke(
        app, ["decode"], input=" ".join(hexed[i : i + 2] for i in range(0, len(hexed), 2))
    )
    for r in (r1, r2):
        assert r.exit_code == 0, r.output
        (rec,) = lines(r.output)
        assert rec["template"] == "Sequence506" and rec["fields"]["NextSeqNo"] == 3  # type: ignore[index]


def test_raw_binary_file(tmp_path: Path) -> None:
    data = codec.encode(messages.Sequence506(UUID=1, NextSeqNo=1, KeepAliveIntervalLapsed=1))
    f = tmp_path / "cap.bin"
    f.write_bytes(b"\x00\x01" + data)
    recs = lines(runner.invoke(app, ["decode", str(f)]).output)
    assert [r.get("error") or r.get("template") for r in recs] == ["garbage", "Sequence506"]
    assert recs[1]["fields"]["KeepAliveIntervalLapsed"] == "Lapsed"  # type: ignore[index]


def test_undecodable_frame_and_garbage_are_reported_not_fatal() -> None:
    good = codec.encode(messages.Sequence506(UUID=1, NextSeqNo=1, KeepAliveIntervalLapsed=0))
    unknown = frame(struct.pack("<HHHH", 4, 599, 8, 9) + bytes(4))  # schema 8, no template 599
    data = b"zz" + unknown + good + b"8=FIX.4.2\x019=5\x01garbage" + good
    recs = list(scan(data))
    kinds = [r.get("error") or r.get("template") for r in recs]
    assert kinds[0] == "garbage"
    assert kinds[1] == "SBE decoding" and recs[1]["terminateCode"] == 19
    assert kinds[2] == "Sequence506" and kinds[-1] == "Sequence506"
    assert "FIX framing" in kinds
    assert runner.invoke(app, ["decode", "--strict", data.hex()]).exit_code == 1
    assert runner.invoke(app, ["decode", data.hex()]).exit_code == 0


def test_not_hex_not_a_file_is_a_clear_error() -> None:
    result = runner.invoke(app, ["decode", "no-such-file.bin"])
    assert result.exit_code != 0
    assert "neither a file nor hex" in result.output


_PIECES = [
    codec.encode(messages.Sequence506(UUID=1, NextSeqNo=1, KeepAliveIntervalLapsed=0)),
    parse_hex(SAMPLE.read_text().splitlines()[-1]),  # the golden 35=n
    b"8=FIX.4.2\x019=",
    b"\xfe\xca\x08\x00",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=40)), max_size=8))
def test_fuzz_any_capture_gives_records_never_an_exception(parts: list[bytes]) -> None:
    data = b"".join(parts)
    recs = list(scan(data))
    json.dumps(recs)
    covered = 0
    for rec in recs:  # records come in stream order and never overlap
        offset = rec["offset"]
        assert isinstance(offset, int) and offset >= covered
        covered = offset
