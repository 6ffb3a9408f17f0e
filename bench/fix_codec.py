"""FIX 4.2 codec benchmark: dropcopy.fix against simplefix and QuickFIX's C++ parser.

Run: ``.venv/bin/python bench/fix_codec.py``. ``run()`` returns ``{label: msgs/s}`` plus
``ratio ...`` entries (``bench/codecs.py`` prints them with the SBE figures).

What is compared -- one message, raw bytes in, a message object out:

* ours: ``dropcopy.fix.decode(raw)`` (checks 8, 9 and 10, splits every field, tags to ``int``;
  the lookup dict is built lazily, so a "+ 11 reads" row shows the cost of using the result);
* simplefix: ``FixParser.append_buffer(raw)`` + ``get_message()`` (one reused parser);
* QuickFIX: ``m = quickfix.Message(); m.setString(raw, validate)`` -- ``validate=True`` also
  checks BodyLength and CheckSum like ours does; for the 35=n it needs a DataDictionary that
  declares 212/213 (``quickfix.Message(raw, dd, True)``).

Encoding: ours is ``encode(msg_type, fields)`` from Python values; simplefix builds a
``FixMessage`` from the same values and calls ``encode()``.
Each figure is the best of ROUNDS ``time.perf_counter`` loops in this one process.
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dropcopy.fix import FieldValue, FixFramer, codec, decode, encapsulate, encode

ROUNDS = 5

# A ~260-byte CGW execution report (fill), 31 fields.
EXEC_REPORT_FIELDS: list[tuple[int, FieldValue]] = [
    (34, 1203), (369, 1155), (52, "20240312-14:03:07.123"), (49, "CME"), (50, "G"),
    (56, "ABC123N"), (57, "TRD"), (1, "ACC1"), (6, "0"), (11, "ORD1"), (14, 5),
    (17, "8461:13426"), (20, 0), (37, "847788"), (38, 10), (39, 1), (40, 2), (44, "4512.25"),
    (54, 1), (55, "ES"), (59, 0), (60, "20240312-14:03:07.120"), (107, "ESH4"), (150, 1),
    (151, 5), (31, "4512.25"), (32, 5),
]  # fmt: skip

# The golden 35=n of reference/dropcopy-wire-notes.md §2.2.
GOLDEN_OUTER_HEADER: list[tuple[int, FieldValue]] = [
    (34, 31420), (369, 1003), (52, "20200701-20:34:33.978"), (49, "CME"), (50, "84"),
    (56, "DUMMY11"), (57, "SID1"), (143, "US,IL"),
]  # fmt: skip
GOLDEN_INNER_FIELDS: list[tuple[int, FieldValue]] = [
    (34, 36027), (369, 18623), (52, "20200701-20:34:33.977"), (49, "CME"), (50, "84"),
    (56, "M2L000N"), (57, "DUMMY"), (143, "US,IL"), (1, "00331"), (6, "0"),
    (11, "ACP1593635673935"), (14, 0), (17, "84618:1342652"), (20, 0), (37, "84778833500"),
    (38, 10), (39, "0"), (40, "2"), (41, "0"), (44, "139.203125"), (48, "204527"), (54, "1"),
    (55, "ZN"), (59, "0"), (60, "20200701-20:34:33.976"), (107, "ZNH1"), (150, "0"), (151, 10),
    (167, "FUT"), (432, "20200701"), (1028, "Y"), (1031, "Y"), (5979, 1593635673976364291),
    (9717, "ACP1593635673935"),
]  # fmt: skip

_QF_DICTIONARY = """<fix major="4" minor="2">
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
 <messages><message name="XMLnonFIX" msgtype="n" msgcat="app"/></messages>
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
  <field number="143" name="TargetLocationID" type="STRING"/>
  <field number="212" name="XmlDataLen" type="LENGTH"/>
  <field number="213" name="XmlData" type="DATA"/>
  <field number="369" name="LastMsgSeqNumProcessed" type="SEQNUM"/>
 </fields>
</fix>
"""

READS = (35, 34, 49, 37, 11, 17, 39, 150, 55, 44, 38)


def rate(fn: Callable[[], object], number: int) -> float:
    """Calls per second of ``fn``: best of ROUNDS loops of ``number`` calls."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, time.perf_counter() - start)
    return number / best


class _NoCache(dict[bytes, tuple[int, ...]]):
    def __setitem__(self, key: bytes, value: tuple[int, ...]) -> None:
        pass


def _without_layout_cache(fn: Callable[[], object]) -> float:
    """Rate of ``fn`` when every message has a layout never seen before (worst case)."""
    saved = codec._LAYOUTS
    codec._LAYOUTS = _NoCache()
    try:
        return rate(fn, 100_000)
    finally:
        codec._LAYOUTS = saved


def _ours(out: dict[str, float], er: bytes, n_msg: bytes) -> None:
    def parse_and_read() -> None:
        get = decode(er).get
        for tag in READS:
            get(tag)

    out[f"ours parse 35=8 [{len(er)} B]"] = rate(lambda: decode(er), 100_000)
    out["ours parse 35=8 (layout cache off)"] = _without_layout_cache(lambda: decode(er))
    out["ours parse 35=8 + 11 reads"] = rate(parse_and_read, 50_000)
    framer = FixFramer()
    stream = er * 1000
    out["ours split+parse 35=8 (1000-message reads)"] = 1000 * rate(lambda: framer.feed(stream), 50)
    out["ours encode 35=8"] = rate(lambda: encode("8", EXEC_REPORT_FIELDS), 50_000)
    out[f"ours parse 35=n golden [{len(n_msg)} B]"] = rate(lambda: decode(n_msg), 50_000)
    out["ours parse 35=n + decode inner"] = rate(lambda: decode(decode(n_msg)[213][6:-7]), 30_000)
    out["ours encode 35=n (inner + wrap)"] = rate(
        lambda: encapsulate(encode("8", GOLDEN_INNER_FIELDS), GOLDEN_OUTER_HEADER), 30_000
    )


def _simplefix(out: dict[str, float], er: bytes, n_msg: bytes) -> bool:
    try:
        import simplefix  # type: ignore[import-untyped]
    except ImportError:
        return False
    parser = simplefix.FixParser()

    def parse(raw: bytes) -> Callable[[], object]:
        def fn() -> object:
            parser.append_buffer(raw)
            return parser.get_message()

        return fn

    def build(msg_type: str, fields: list[tuple[int, FieldValue]]) -> bytes:
        msg = simplefix.FixMessage()
        msg.append_pair(8, "FIX.4.2", header=True)
        msg.append_pair(35, msg_type, header=True)
        for tag, value in fields:
            if tag == 213:
                msg.append_data(212, 213, value)
            elif tag != 212:
                msg.append_pair(tag, value)
        return bytes(msg.encode())

    assert build("8", EXEC_REPORT_FIELDS) == er
    inner = build("8", GOLDEN_INNER_FIELDS)
    wrapped = [*GOLDEN_OUTER_HEADER, (213, b"<RTRF>" + inner + b"</RTRF>")]
    assert build("n", wrapped) == n_msg

    out["simplefix parse 35=8"] = rate(parse(er), 5_000)
    out["simplefix encode 35=8"] = rate(lambda: build("8", EXEC_REPORT_FIELDS), 5_000)
    out["simplefix parse 35=n golden"] = rate(parse(n_msg), 3_000)
    out["simplefix encode 35=n (inner + wrap)"] = rate(
        lambda: build(
            "n",
            [
                *GOLDEN_OUTER_HEADER,
                (213, b"<RTRF>" + build("8", GOLDEN_INNER_FIELDS) + b"</RTRF>"),
            ],
        ),
        3_000,
    )
    return True


def _quickfix(out: dict[str, float], er: bytes, n_msg: bytes) -> bool:
    try:
        import quickfix  # type: ignore[import-untyped]
    except ImportError:
        return False
    er_text = er.decode("ascii")
    n_text = n_msg.decode("ascii")

    def parse(validate: bool) -> None:
        m = quickfix.Message()
        m.setString(er_text, validate)

    out["quickfix parse 35=8 (validate=True)"] = rate(lambda: parse(True), 100_000)
    out["quickfix parse 35=8 (validate=False)"] = rate(lambda: parse(False), 100_000)

    def parse_and_read() -> None:
        m = quickfix.Message()
        m.setString(er_text, True)
        header = m.getHeader()
        for tag in READS:
            (header if tag in (35, 34, 49) else m).getField(tag)

    out["quickfix parse 35=8 + 11 reads"] = rate(parse_and_read, 50_000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "DC42.xml"
        path.write_text(_QF_DICTIONARY)
        dd = quickfix.DataDictionary(str(path))
        out["quickfix parse 35=n golden (with DataDictionary)"] = rate(
            lambda: quickfix.Message(n_text, dd, True), 50_000
        )
    return True


def run() -> dict[str, float]:
    """Figures in msgs/s, plus ``ratio ...`` entries (ours / theirs)."""
    er = encode("8", EXEC_REPORT_FIELDS)
    n_msg = encapsulate(encode("8", GOLDEN_INNER_FIELDS), GOLDEN_OUTER_HEADER)
    assert b"9=495\x01" in n_msg and n_msg.endswith(b"10=028\x01")
    out: dict[str, float] = {}
    _ours(out, er, n_msg)
    ours_er = out[f"ours parse 35=8 [{len(er)} B]"]
    ours_n = out[f"ours parse 35=n golden [{len(n_msg)} B]"]
    if _simplefix(out, er, n_msg):
        out["ratio parse 35=8 ours/simplefix"] = ours_er / out["simplefix parse 35=8"]
        out["ratio parse 35=n ours/simplefix"] = ours_n / out["simplefix parse 35=n golden"]
        out["ratio encode 35=8 ours/simplefix"] = (
            out["ours encode 35=8"] / out["simplefix encode 35=8"]
        )
        out["ratio encode 35=n ours/simplefix"] = (
            out["ours encode 35=n (inner + wrap)"] / out["simplefix encode 35=n (inner + wrap)"]
        )
    if _quickfix(out, er, n_msg):
        out["ratio parse 35=8 ours/quickfix (validate=True)"] = (
            ours_er / out["quickfix parse 35=8 (validate=True)"]
        )
        out["ratio parse 35=8 ours/quickfix (validate=False)"] = (
            ours_er / out["quickfix parse 35=8 (validate=False)"]
        )
        out["ratio parse+11 reads 35=8 ours/quickfix"] = (
            out["ours parse 35=8 + 11 reads"] / out["quickfix parse 35=8 + 11 reads"]
        )
        out["ratio parse 35=n ours/quickfix"] = (
            ours_n / out["quickfix parse 35=n golden (with DataDictionary)"]
        )
    return out


def main() -> int:
    print(f"python {platform.python_version()} on {platform.machine()}")
    figures = run()
    width = max(len(k) for k in figures)
    for name, value in figures.items():
        if name.startswith("ratio"):
            print(f"{name:<{width}}  {value:>12.2f}x")
        else:
            print(f"{name:<{width}}  {value:>12,.0f} msgs/s  ({1e6 / value:7.2f} µs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
