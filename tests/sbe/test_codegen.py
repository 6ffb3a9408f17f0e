"""The schema-agnostic SBE generator, on a small schema that uses every supported feature."""

from __future__ import annotations

import struct
import types
from decimal import Decimal

import pytest

from dropcopy.sbe.codegen import generate
from dropcopy.sbe.errors import DecodeError, EncodeError, SchemaError
from dropcopy.sbe.xml import read_schema

SCHEMA = b"""<?xml version="1.0" encoding="UTF-8"?>
<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" package="demo" id="42" version="3"
    byteOrder="littleEndian" description="test">
  <types>
    <type name="uInt8" primitiveType="uint8"/>
    <type name="uInt32" primitiveType="uint32"/>
    <type name="uInt32NULL" presence="optional" nullValue="4294967295" primitiveType="uint32"/>
    <type name="Int16NULL" presence="optional" primitiveType="int16"/>
    <type name="String4" length="4" primitiveType="char"/>
    <type name="String4Opt" presence="optional" length="4" primitiveType="char"/>
    <type name="CHAR" primitiveType="char"/>
    <type name="Flow" presence="constant" length="5" primitiveType="char">RECOV</type>
    <type name="One" presence="constant" primitiveType="uint8">1</type>
    <composite name="messageHeader">
      <type name="blockLength" primitiveType="uint16"/>
      <type name="templateId" primitiveType="uint16"/>
      <type name="schemaId" primitiveType="uint16"/>
      <type name="version" primitiveType="uint16"/>
    </composite>
    <composite name="groupSize">
      <type name="blockLength" primitiveType="uint16"/>
      <type name="numInGroup" primitiveType="uint8"/>
    </composite>
    <composite name="DATA">
      <type name="length" primitiveType="uint16"/>
      <type name="varData" length="0" primitiveType="char"/>
    </composite>
    <composite name="PRICE9">
      <type name="mantissa" primitiveType="int64"/>
      <type name="exponent" presence="constant" primitiveType="int8">-9</type>
    </composite>
    <composite name="DecNULL">
      <type name="mantissa" presence="optional" nullValue="2147483647" primitiveType="int32"/>
      <type name="exponent" presence="optional" nullValue="127" primitiveType="int8"/>
    </composite>
    <composite name="MonthYear">
      <type name="year" presence="optional" nullValue="65535" primitiveType="uint16"/>
      <type name="month" presence="optional" nullValue="255" primitiveType="uint8"/>
    </composite>
    <enum name="Side" encodingType="uInt8">
      <validValue name="Buy">1</validValue>
      <validValue name="Sell">2</validValue>
    </enum>
    <enum name="Kind" encodingType="CHAR">
      <validValue name="Limit">2</validValue>
      <validValue name="Stop">3</validValue>
    </enum>
    <enum name="YesNo" encodingType="uint8">
      <validValue name="False">0</validValue>
      <validValue name="True">1</validValue>
    </enum>
    <set name="Inst" encodingType="uInt8">
      <choice name="AON">0</choice>
      <choice name="NH">2</choice>
    </set>
  </types>
  <sbe:message name="Order1" id="1" blockLength="36">
    <field name="Flow" id="100" type="Flow"/>
    <field name="Qty" id="38" type="uInt32" offset="0"/>
    <field name="Px" id="44" type="PRICE9" offset="4"/>
    <field name="Account" id="1" type="String4" offset="12"/>
    <field name="Side" id="54" type="Side" offset="16"/>
    <field name="Kind" id="40" type="Kind" offset="17"/>
    <field name="Inst" id="18" type="Inst" offset="18"/>
    <field name="Maturity" id="200" type="MonthYear" offset="19"/>
    <field name="MinQty" id="110" type="uInt32NULL" offset="24"/>
    <field name="Memo" id="5149" type="String4Opt" offset="28" sinceVersion="2"/>
    <field name="Tick" id="7" type="Int16NULL" offset="32" sinceVersion="3"/>
    <field name="Flag" id="8" type="YesNo" offset="34" sinceVersion="3"/>
  </sbe:message>
  <sbe:message name="Report2" id="2" blockLength="9">
    <field name="One" id="9" type="One"/>
    <field name="SeqNum" id="34" type="uInt32" offset="0"/>
    <field name="Ratio" id="10" type="DecNULL" offset="4"/>
    <group name="Fills" id="300" blockLength="9" dimensionType="groupSize">
      <field name="FillQty" id="301" type="uInt32" offset="0"/>
      <field name="FillId" id="302" type="String4" offset="4"/>
      <field name="Aggressor" id="303" type="YesNo" offset="8"/>
    </group>
    <group name="Extra" id="400" blockLength="1" dimensionType="groupSize" sinceVersion="2">
      <field name="Code" id="401" type="uInt8" offset="0"/>
    </group>
    <data name="Note" id="500" type="DATA"/>
  </sbe:message>
</sbe:messageSchema>
"""


@pytest.fixture(scope="module")
def demo() -> types.ModuleType:
    source = generate(read_schema(SCHEMA), source_name="demo.xml", sha256="0" * 64)
    module = types.ModuleType("demo_codec")
    exec(compile(source, "demo_codec", "exec"), module.__dict__)
    return module


def test_generation_is_deterministic() -> None:
    a = generate(read_schema(SCHEMA), source_name="demo.xml", sha256="0" * 64)
    b = generate(read_schema(SCHEMA), source_name="demo.xml", sha256="0" * 64)
    assert a == b
    assert a.startswith("# Generated by dropcopy.sbe.codegen from demo.xml -- DO NOT EDIT.")
    assert "schema id 42, version 3" in a.splitlines()[1]


def order(demo: types.ModuleType, **over: object) -> object:
    kwargs: dict[str, object] = dict(
        Qty=5, Px=Decimal("101.25"), Account="AB", Side=demo.Side.Sell, Kind=demo.Kind.Stop,
        Inst=demo.Inst.AON | demo.Inst.NH, Maturity=demo.MonthYear(2026, None), Memo="hey", Tick=-3,
        Flag=demo.YesNo.True_,
    )  # fmt: skip
    kwargs.update(over)
    return demo.Order1(**kwargs)


def test_every_kind_round_trips(demo: types.ModuleType) -> None:
    msg = order(demo)
    data = msg.encode()  # type: ignore[attr-defined]
    assert len(data) == 8 + 36
    assert struct.unpack_from("<HHHH", data) == (36, 1, 42, 3)
    back = demo.decode(data)
    assert back == msg
    assert back.encode() == data
    assert back.Flow == "RECOV"  # constants take no wire space but read as fields
    assert back.Qty == 5
    assert back.Px == Decimal("101.250000000")
    assert back.Account == "AB"
    assert back.Side is demo.Side.Sell
    assert back.Kind is demo.Kind.Stop
    assert back.Inst == demo.Inst.AON | demo.Inst.NH and int(back.Inst) == 0b101
    assert back.Maturity == demo.MonthYear(2026, None)
    assert back.MinQty is None  # optional, defaulted to its null value on the wire
    assert data[8 + 24 : 8 + 28] == b"\xff\xff\xff\xff"
    assert back.Memo == "hey" and back.Tick == -3 and back.Flag is demo.YesNo.True_


def test_keyword_member_names_are_mangled(demo: types.ModuleType) -> None:
    assert demo.YesNo.False_ == 0 and demo.YesNo.True_ == 1


def test_optional_values_decode_to_none(demo: types.ModuleType) -> None:
    msg = order(demo, Memo=None, Tick=None, Flag=None, Maturity=None)
    back = demo.decode(msg.encode())  # type: ignore[attr-defined]
    assert back.Memo is None and back.Tick is None and back.Flag is None
    assert back.Maturity == demo.MonthYear(None, None)
    # int16 optional without an explicit nullValue uses the primitive's null, -32768
    assert struct.unpack_from("<h", msg.encode(), 8 + 32)[0] == -32768  # type: ignore[attr-defined]


def test_unknown_enum_value_reads_as_raw(demo: types.ModuleType) -> None:
    data = bytearray(order(demo).encode())  # type: ignore[attr-defined]
    data[8 + 16] = 9  # Side 9 is not in the schema
    data[8 + 17] = ord("Z")
    back = demo.decode(bytes(data))
    assert back.Side == 9 and not isinstance(back.Side, demo.Side)
    assert back.Kind == "Z"


def test_shorter_block_of_an_older_version_decodes_with_nulls(demo: types.ModuleType) -> None:
    full = order(demo).encode()  # type: ignore[attr-defined]
    # a version-1 sender's block ends before Memo (sinceVersion 2): 28 bytes
    old = struct.pack("<HHHH", 28, 1, 42, 1) + full[8 : 8 + 28]
    back = demo.decode(old)
    assert back.Qty == 5 and back.Account == "AB"
    assert back.Memo is None and back.Tick is None and back.Flag is None


def test_block_shorter_than_its_version_requires_is_a_decode_error(demo: types.ModuleType) -> None:
    full = order(demo).encode()  # type: ignore[attr-defined]
    bad = struct.pack("<HHHH", 20, 1, 42, 3) + full[8 : 8 + 20]
    with pytest.raises(DecodeError, match="shorter than"):
        demo.decode(bad)


def test_fields_newer_than_the_sender_version_read_as_null(demo: types.ModuleType) -> None:
    full = order(demo).encode()  # type: ignore[attr-defined]
    v2 = struct.pack("<HHHH", 36, 1, 42, 2) + full[8:]
    back = demo.decode(v2)
    assert back.Memo == "hey"  # since 2
    assert back.Tick is None and back.Flag is None  # since 3


def test_longer_block_from_a_future_version_skips_the_tail(demo: types.ModuleType) -> None:
    msg = demo.Report2(
        SeqNum=7,
        Ratio=Decimal("1.5"),
        Fills=[demo.Report2_Fills(FillQty=1, FillId="F1", Aggressor=1)],
        Note=b"hi",
    )
    data = msg.encode()
    body = data[8:]
    longer = struct.pack("<HHHH", 11, 2, 42, 4) + body[:9] + b"\xaa\xbb" + body[9:]
    back = demo.decode(longer)
    assert back == msg
    assert back.Fills[0].FillId == "F1" and back.Note == b"hi"


def test_groups_and_var_data_round_trip(demo: types.ModuleType) -> None:
    fills = [demo.Report2_Fills(FillQty=i, FillId=f"F{i}", Aggressor=i % 2) for i in range(3)]
    msg = demo.Report2(
        SeqNum=1, Ratio=None, Fills=fills, Extra=[demo.Report2_Extra(Code=4)], Note=b"x" * 300
    )
    data = msg.encode()
    assert len(data) == 8 + 9 + 3 + 3 * 9 + 3 + 1 + 2 + 300
    back = demo.decode(data)
    assert back == msg
    assert [f.FillQty for f in back.Fills] == [0, 1, 2]
    assert back.Extra[0].Code == 4
    assert back.Ratio is None
    assert back.One == 1


def test_group_absent_in_older_version(demo: types.ModuleType) -> None:
    msg = demo.Report2(SeqNum=1, Ratio=None, Fills=[], Note=b"")
    data = msg.encode()
    # version 1: no Extra group on the wire: header(8) root(9) Fills dim(3) Note len(2)
    v1 = struct.pack("<HHHH", 9, 2, 42, 1) + data[8 : 8 + 9 + 3] + data[-2:]
    back = demo.decode(v1)
    assert back.Extra == () and back.Fills == () and back.Note == b""


def test_decimal_with_explicit_exponent(demo: types.ModuleType) -> None:
    msg = demo.Report2(SeqNum=1, Ratio=Decimal("-0.0125"))
    back = demo.decode(msg.encode())
    assert back.Ratio == Decimal("-0.0125")
    assert struct.unpack_from("<ib", msg.encode(), 8 + 4) == (-125, -4)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("Account", "TOOLONG", "do not fit"),
        ("Account", "é€", "single-byte"),
        ("Px", Decimal("1.0000000001"), "precision"),
        ("Px", "abc", "not a decimal"),
        ("Kind", "LL", "one character"),
    ],
)
def test_bad_values_are_encode_errors(
    demo: types.ModuleType, field: str, value: object, match: str
) -> None:
    with pytest.raises(EncodeError, match=match):
        order(demo, **{field: value})


def test_out_of_range_integer_is_an_encode_error_naming_the_field(demo: types.ModuleType) -> None:
    msg = order(demo, Qty=2**32)
    with pytest.raises(EncodeError, match="Qty"):
        msg.encode()  # type: ignore[attr-defined]


def test_too_many_group_entries(demo: types.ModuleType) -> None:
    entry = demo.Report2_Extra(Code=1)
    with pytest.raises(EncodeError, match="exceed"):
        demo.Report2(SeqNum=1, Extra=[entry] * 256)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x24\x00\x01\x00",  # shorter than the header
        struct.pack("<HHHH", 36, 1, 43, 3) + bytes(36),  # wrong schema id
        struct.pack("<HHHH", 36, 99, 42, 3) + bytes(36),  # unknown template
        struct.pack("<HHHH", 36, 1, 42, 3) + bytes(30),  # block overruns the message
        struct.pack("<HHHH", 9, 2, 42, 3) + bytes(9) + b"\x09\x00\x05",  # group entries missing
        # var data length 5 with only 2 bytes left
        struct.pack("<HHHH", 9, 2, 42, 3)
        + bytes(9)
        + b"\x09\x00\x00"
        + b"\x01\x00\x00"
        + b"\x05\x00ab",
    ],
)
def test_undecodable_bytes_raise_decode_error(demo: types.ModuleType, data: bytes) -> None:
    with pytest.raises(DecodeError):
        demo.decode(data)


@pytest.mark.parametrize(
    "xml",
    [
        b'<messageSchema id="1" byteOrder="bigEndian"><types/></messageSchema>',
        b'<messageSchema id="1"><types><type name="x" primitiveType="uint128"/></types></messageSchema>',
        b"<notASchema/>",
    ],
)
def test_unsupported_schemas_are_refused(xml: bytes) -> None:
    with pytest.raises(SchemaError):
        read_schema(xml)


def test_overlapping_offsets_are_refused() -> None:
    bad = SCHEMA.replace(b'type="PRICE9" offset="4"', b'type="PRICE9" offset="2"')
    with pytest.raises(SchemaError, match="overlaps"):
        read_schema(bad)


def test_from_raw_builds_the_same_message_as_the_constructor(demo: types.ModuleType) -> None:
    msg = order(demo)
    same = demo.Order1.from_raw(msg.raw)  # type: ignore[attr-defined]
    assert same == msg and same.encode() == msg.encode()  # type: ignore[attr-defined]
    r = demo.Report2(
        SeqNum=3,
        Ratio=None,
        Fills=[demo.Report2_Fills(FillQty=1, FillId="F", Aggressor=0)],
        Note=b"n",
    )
    again = demo.Report2.from_raw(r.raw, [r.Fills, r.Extra], [r.Note])
    assert again == r
    assert demo.Report2.from_raw(r.raw).Fills == ()  # groups default to empty
    with pytest.raises(EncodeError, match="wire values"):
        demo.Order1.from_raw(msg.raw[:-1])  # type: ignore[attr-defined]
    with pytest.raises(EncodeError, match="groups"):
        demo.Report2.from_raw(r.raw, [r.Fills])
