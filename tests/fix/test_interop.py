"""Interop with independent FIX implementations: simplefix (pure Python) and QuickFIX (C++).

QuickFIX's Python binding aborts the whole process on some C++ exceptions, so it runs in a
child process that reports what it parsed as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import simplefix  # type: ignore[import-untyped]
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dropcopy.fix import Message, decode, encode

from .samples import EXEC_REPORT, GOLDEN_35N
from .strategies import field_lists, msg_types, normal_tags, printable

_PARSER = simplefix.FixParser()
# simplefix knows many more length/data tags than Drop Copy uses; keep clear of the others
SIMPLEFIX_RAW = (set(_PARSER.raw_len_tags) | set(_PARSER.raw_data_tags)) - {
    212,
    213,
    354,
    355,
    95,
    96,
    1401,
    1402,
    90,
    91,
    93,
    89,
}


def simplefix_pairs(raw: bytes) -> list[tuple[int, bytes]]:
    parser = simplefix.FixParser()
    parser.append_buffer(raw)
    msg = parser.get_message()
    assert msg is not None
    assert parser.get_message() is None
    return [(int(tag), value) for tag, value in msg.pairs]


# --------------------------------------------------------------------------- simplefix


def test_simplefix_parses_our_golden_35n_and_exec_report() -> None:
    for raw in (GOLDEN_35N, EXEC_REPORT):
        assert simplefix_pairs(raw) == decode(raw).fields


@given(msg_types, field_lists())
@settings(max_examples=150, deadline=None)
def test_simplefix_parses_what_we_encode(msg_type: str, fields: list[tuple[int, bytes]]) -> None:
    # simplefix drops empty values unless told otherwise (FIX 4.2 has none)
    assume(all(value != b"" for _, value in fields))
    assume(not any(tag in SIMPLEFIX_RAW for tag, _ in fields))
    raw = encode(msg_type, fields)
    assert simplefix_pairs(raw) == decode(raw).fields


@given(
    st.sampled_from(["0", "8", "A", "n"]),
    st.lists(st.tuples(normal_tags, printable.filter(bool)), max_size=20),
    st.lists(st.binary(min_size=1, max_size=40), max_size=2),
)
@settings(max_examples=150, deadline=None)
def test_we_parse_what_simplefix_encodes(
    msg_type: str, fields: list[tuple[int, bytes]], payloads: list[bytes]
) -> None:
    assume(not any(tag in SIMPLEFIX_RAW for tag, _ in fields))
    msg = simplefix.FixMessage()
    msg.append_pair(8, "FIX.4.2", header=True)
    msg.append_pair(35, msg_type, header=True)
    for tag, value in fields:
        msg.append_pair(tag, value)
    for payload in payloads:
        msg.append_data(212, 213, payload)
    raw = msg.encode()
    ours = decode(raw)
    assert ours.fields == simplefix_pairs(raw)
    assert ours.msg_type == msg_type
    assert ours.get_all(213) == payloads


# --------------------------------------------------------------------------- QuickFIX

_DICTIONARY = """<fix major="4" minor="2">
 <header>
  <field name="BeginString" required="Y"/><field name="BodyLength" required="Y"/>
  <field name="MsgType" required="Y"/><field name="MsgSeqNum" required="N"/>
  <field name="SenderCompID" required="N"/><field name="SenderSubID" required="N"/>
  <field name="SendingTime" required="N"/><field name="TargetCompID" required="N"/>
  <field name="TargetSubID" required="N"/><field name="TargetLocationID" required="N"/>
  <field name="LastMsgSeqNumProcessed" required="N"/>
  <field name="XmlDataLen" required="N"/><field name="XmlData" required="N"/>
 </header>
 <trailer><field name="CheckSum" required="Y"/></trailer>
 <messages>
  <message name="XMLnonFIX" msgtype="n" msgcat="app"><field name="Text" required="N"/></message>
 </messages>
 <components/>
 <fields>
  <field number="8" name="BeginString" type="STRING"/>
  <field number="9" name="BodyLength" type="LENGTH"/>
  <field number="10" name="CheckSum" type="STRING"/>
  <field number="34" name="MsgSeqNum" type="SEQNUM"/>
  <field number="35" name="MsgType" type="STRING"/>
  <field number="49" name="SenderCompID" type="STRING"/>
  <field number="50" name="SenderSubID" type="STRING"/>
  <field number="52" name="SendingTime" type="UTCTIMESTAMP"/>
  <field number="56" name="TargetCompID" type="STRING"/>
  <field number="57" name="TargetSubID" type="STRING"/>
  <field number="58" name="Text" type="STRING"/>
  <field number="143" name="TargetLocationID" type="STRING"/>
  <field number="212" name="XmlDataLen" type="LENGTH"/>
  <field number="213" name="XmlData" type="DATA"/>
  <field number="369" name="LastMsgSeqNumProcessed" type="SEQNUM"/>
 </fields>
</fix>
"""

_CHILD = r"""
import json, sys
import quickfix
mode, dictionary = sys.argv[1], sys.argv[2]
dd = quickfix.DataDictionary(dictionary) if dictionary else None
out = []
if mode == "parse":
    for line in sys.stdin:
        raw = bytes.fromhex(line.strip()).decode("latin-1")
        if dd is None:
            m = quickfix.Message()
            m.setString(raw, True)  # validate: BodyLength and CheckSum
        else:
            m = quickfix.Message(raw, dd, True)
        out.append(m.toString().encode("latin-1").hex())
else:  # build an execution report and a 35=n with QuickFIX
    m = quickfix.Message()
    h = m.getHeader()
    h.setField(quickfix.BeginString("FIX.4.2"))
    h.setField(quickfix.MsgType("8"))
    h.setField(quickfix.MsgSeqNum(7))
    h.setField(quickfix.SenderCompID("CME"))
    h.setField(quickfix.TargetCompID("ABC123N"))
    h.setField(quickfix.StringField(52, "20240312-14:03:07.123"))
    m.setField(quickfix.StringField(37, "847788"))
    m.setField(quickfix.StringField(55, "ES"))
    m.setField(quickfix.StringField(58, "a=b"))
    out.append(m.toString().encode("latin-1").hex())
    inner = m.toString()
    n = quickfix.Message()
    h = n.getHeader()
    h.setField(quickfix.BeginString("FIX.4.2"))
    h.setField(quickfix.MsgType("n"))
    h.setField(quickfix.MsgSeqNum(8))
    payload = "<RTRF>" + inner + "</RTRF>"
    h.setField(quickfix.IntField(212, len(payload)))
    h.setField(quickfix.StringField(213, payload))
    out.append(n.toString().encode("latin-1").hex())
print(json.dumps(out))
"""


def _quickfix(mode: str, raws: list[bytes], dictionary: Path | None) -> list[bytes]:
    pytest.importorskip("quickfix")
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(dictionary) if dictionary else ""],
        input="".join(raw.hex() + "\n" for raw in raws),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [bytes.fromhex(h) for h in json.loads(proc.stdout)]


@pytest.fixture(scope="module")
def dictionary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qf") / "DC42.xml"
    path.write_text(_DICTIONARY)
    return path


def _same_fields(a: Message, b: Message) -> None:
    """QuickFIX re-serialises the header in its own order: compare fields as sets."""
    assert sorted(a.fields) == sorted(b.fields)


def test_quickfix_validates_and_parses_what_we_encode(dictionary: Path) -> None:
    ours = [
        EXEC_REPORT,
        encode("0", [(34, 2), (49, "ABCDEFN"), (52, "20240312-14:03:07.123"), (58, "x=y")]),
        encode("8", [(34, 3), (58, "a" * 500), (9717, "z")]),
    ]
    back = _quickfix("parse", ours, None)
    for raw, theirs in zip(ours, back, strict=True):
        _same_fields(decode(raw), decode(theirs))


def test_quickfix_parses_our_35n_with_its_data_dictionary(dictionary: Path) -> None:
    (back,) = _quickfix("parse", [GOLDEN_35N], dictionary)
    theirs = decode(back)
    _same_fields(decode(GOLDEN_35N), theirs)
    assert theirs[213] == decode(GOLDEN_35N)[213]


def test_we_parse_what_quickfix_builds() -> None:
    exec_report, wrapped = _quickfix("build", [], None)
    msg = decode(exec_report)
    assert msg.msg_type == "8"
    assert msg[37] == b"847788"
    assert msg[58] == b"a=b"
    outer = decode(wrapped)
    assert outer.msg_type == "n"
    assert outer[213] == b"<RTRF>" + exec_report + b"</RTRF>"
