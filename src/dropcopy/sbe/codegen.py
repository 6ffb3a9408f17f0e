"""Generate a Python codec module from an SBE schema IR.

The output is deterministic (schema order, no timestamps), fully typed, and built on
:mod:`dropcopy.sbe.runtime`: one class per message and per repeating-group entry, each with a
precompiled ``struct.Struct`` layout derived from the schema's offsets, keyword-only
constructors, and one property per field. Enums become ``IntEnum``/``StrEnum``, sets
``IntFlag``, decimal composites (``mantissa`` + ``exponent``) ``Decimal``, other composites
``NamedTuple`` classes.

Field and message names are the schema's own (``Negotiate500.HMACSignature``). Char-array fields
named in ``binary_fields`` are opaque bytes (e.g. iLink 3's HMACSignature, 32 raw bytes that may
contain NULs) instead of NUL-terminated text.
"""

from __future__ import annotations

import argparse
import keyword
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import SchemaError
from .ir import (
    PRIMITIVES,
    CompositeType,
    Data,
    EncodedType,
    EnumType,
    Field,
    Group,
    Message,
    Schema,
    SetType,
)
from .xml import read_schema, schema_sha256

RESERVED = {
    "NAME", "BLOCK_LENGTH", "TEMPLATE_ID", "SCHEMA_ID", "SCHEMA_VERSION", "SEMANTIC_TYPE",
    "SBE_FIELDS", "SBE_GROUPS", "SBE_DATA", "encode", "to_dict", "raw",
}  # fmt: skip


def member_name(name: str) -> str:
    """A Python identifier for an enum/set member (``False`` -> ``False_``)."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return name + "_"
    if not name.isidentifier():
        raise SchemaError(f"{name!r} is not usable as a Python name")
    return name


def _lit(value: object) -> str:
    if isinstance(value, bytes) and len(value) > 1 and not value.strip(b"\x00"):
        return f"bytes({len(value)})"
    if isinstance(value, tuple):
        return "(" + "".join(_lit(v) + ", " for v in value).rstrip() + ")"
    return repr(value)


def _doc(text: str) -> str:
    text = " ".join(text.split()).replace("\\", "\\\\").replace('"""', "'''")
    return text


@dataclass
class _Plan:
    """How one field maps between Python values and struct slots."""

    field: Field
    kind: str
    codes: list[str]
    null_raw: list[object]
    nullable: bool
    param_type: str
    prop_type: str
    encode: str  # expression (may start with '*' to spread several slots); uses the parameter name
    decode: str  # expression over r0, r1, … (the field's slots)
    type_name: str
    enum_ref: str = "None"
    min: object = None
    max: object = None


class _Generator:
    def __init__(
        self, schema: Schema, *, binary_fields: set[str], source_name: str, sha256: str
    ) -> None:
        self.schema = schema
        self.binary_fields = binary_fields
        self.source_name = source_name
        self.sha256 = sha256
        self.out: list[str] = []
        self.composites_done: set[str] = set()

    # -- output helpers -----------------------------------------------------------------------

    def w(self, line: str = "") -> None:
        self.out.append(line)

    # -- field planning -----------------------------------------------------------------------

    def plan(self, f: Field, owner: str) -> _Plan:
        t = f.type
        label = _lit(f.name)
        since = f.since_version > 0
        if isinstance(t, EncodedType):
            code, _size, _null, lo, hi = PRIMITIVES[t.primitive]
            nullable = t.presence == "optional" or since
            if t.primitive == "char" and t.length == 1:
                cnull = bytes([int(t.effective_null())])
                return _Plan(
                    f, "char", ["c"], [cnull], nullable,
                    "str | None" if nullable else "str", "str | None" if nullable else "str",
                    f"_rt.e_ochar({{v}}, {cnull!r}, {label})" if nullable else f"_rt.e_char({{v}}, {label})",
                    f"_rt.oc(r0, {cnull!r})" if nullable else "_rt.c(r0)",
                    t.name,
                )  # fmt: skip
            if t.primitive == "char":
                n = t.length
                if f.name in self.binary_fields:
                    return _Plan(
                        f, "binary", [f"{n}s"], [b"\x00" * n], False, "bytes", "bytes",
                        f"_rt.e_chars({{v}}, {n}, {label})", "r0", t.name, min=n, max=n,
                    )  # fmt: skip
                return _Plan(
                    f, "chars", [f"{n}s"], [b"\x00" * n], nullable,
                    "str | None" if nullable else "str", "str | None" if nullable else "str",
                    f"_rt.e_ochars({{v}}, {n}, {label})" if nullable else f"_rt.e_chars({{v}}, {n}, {label})",
                    "_rt.os_(r0)" if nullable else "_rt.s(r0)",
                    t.name, min=0, max=n,
                )  # fmt: skip
            if t.length != 1:
                raise SchemaError(f"{owner}.{f.name}: arrays of {t.primitive} are not supported")
            null = t.effective_null()
            py = "float" if t.primitive in ("float", "double") else "int"
            if nullable:
                return _Plan(
                    f, py, [code], [null], True, f"{py} | None", f"{py} | None",
                    f"({_lit(null)} if {{v}} is None else {{v}})",
                    f"(None if r0 == {_lit(null)} else r0)", t.name, min=lo, max=hi,
                )  # fmt: skip
            return _Plan(
                f, py, [code], [null], False, py, py, "{v}", "r0", t.name,
                min=PRIMITIVES[t.primitive][3] if t.primitive.startswith("int") else 0,
                max=PRIMITIVES[t.primitive][4] if t.primitive.startswith("int") else 2 ** (8 * _size) - 1,
            )  # fmt: skip
        if isinstance(t, EnumType):
            enc = t.encoding
            code = PRIMITIVES[enc.primitive][0]
            nullable = enc.presence == "optional" or since
            alias = f"_T_{t.name}"
            if t.is_char:
                cnull = bytes([int(enc.effective_null())])
                return _Plan(
                    f, "cenum", ["c"], [cnull], nullable,
                    f"{alias} | str | None" if nullable else f"{alias} | str",
                    f"{alias} | str | None" if nullable else f"{alias} | str",
                    f"_rt.e_ochar({{v}}, {cnull!r}, {label})" if nullable else f"_rt.e_char({{v}}, {label})",
                    f"(None if r0 == {cnull!r} else _rt.cenum_of(_E_{t.name}, r0))" if nullable
                    else f"_rt.cenum_of(_E_{t.name}, r0)",
                    t.name, enum_ref=t.name,
                )  # fmt: skip
            null = enc.effective_null()
            return _Plan(
                f, "enum", [code], [null], nullable,
                f"{alias} | int | None" if nullable else f"{alias} | int",
                f"{alias} | int | None" if nullable else f"{alias} | int",
                f"_rt.e_oenum({{v}}, {_lit(null)}, {label})" if nullable else f"_rt.e_enum({{v}}, {label})",
                f"(None if r0 == {_lit(null)} else _E_{t.name}.get(r0, r0))" if nullable
                else f"_E_{t.name}.get(r0, r0)",
                t.name, enum_ref=t.name,
            )  # fmt: skip
        if isinstance(t, SetType):
            code = PRIMITIVES[t.encoding.primitive][0]
            alias = f"_T_{t.name}"
            return _Plan(
                f, "set", [code], [0], False, f"{alias} | int", alias,
                f"_rt.e_enum({{v}}, {label})", f"{t.name}(r0)", t.name, enum_ref=t.name,
            )  # fmt: skip
        if isinstance(t, CompositeType):
            if t.is_decimal:
                mant = t.member("mantissa")
                exp = t.member("exponent")
                assert mant is not None and exp is not None
                mcode = PRIMITIVES[mant.primitive][0]
                mnull = mant.effective_null()
                nullable = mant.presence == "optional" or since
                if exp.presence == "constant":
                    e = int(exp.constant or "0")
                    return _Plan(
                        f, "decimal", [mcode], [mnull], nullable,
                        "Decimal | int | str | None" if nullable else "Decimal | int | str",
                        "Decimal | None" if nullable else "Decimal",
                        f"_rt.e_omant({{v}}, {e}, {_lit(mnull)}, {label})" if nullable
                        else f"_rt.e_mant({{v}}, {e}, {label})",
                        f"_rt.odec(r0, {e}, {_lit(mnull)})" if nullable else f"_rt.dec(r0, {e})",
                        t.name, min=e,
                    )  # fmt: skip
                ecode = PRIMITIVES[exp.primitive][0]
                enull = exp.effective_null()
                return _Plan(
                    f, "decimalx", [mcode, ecode], [mnull, enull], True,
                    "Decimal | int | str | None", "Decimal | None",
                    f"*_rt.e_decx({{v}}, ({_lit(mnull)}, {_lit(enull)}), {label})",
                    f"_rt.odecx(r0, r1, {_lit(mnull)})", t.name,
                )  # fmt: skip
            self.need_composite(t)
            members = [m for m in t.members if m.presence != "constant"]
            nullable = all(m.presence == "optional" for m in members)
            alias = f"_T_{t.name}"
            args = ", ".join(f"r{i}" for i in range(len(members)))
            return _Plan(
                f, "composite", [PRIMITIVES[m.primitive][0] if m.length == 1 else f"{m.length}s" for m in members],
                [m.effective_null() if m.primitive != "char" else b"\x00" * m.length for m in members],
                nullable, f"{alias} | None" if nullable else alias, alias,
                f"*_enc_{t.name}({{v}})", f"_dec_{t.name}({args})", t.name, enum_ref=t.name,
            )  # fmt: skip
        raise SchemaError(f"{owner}.{f.name}: unsupported type {t!r}")

    # -- types --------------------------------------------------------------------------------

    def need_composite(self, t: CompositeType) -> None:
        self.composites_done.add(t.name)

    def gen_enums(self) -> None:
        for t in self.schema.types.values():
            if isinstance(t, EnumType):
                base = "StrEnum" if t.is_char else "IntEnum"
                self.w()
                self.w()
                self.w(f"class {t.name}({base}):")
                self.w(f'    """{_doc(t.description or t.name)} (encoding {t.encoding.name})."""')
                self.w()
                for v in t.values:
                    value = _lit(v.value) if t.is_char else str(int(v.value))
                    self.w(f"    {member_name(v.name)} = {value}")
                self.w()
                self.w()
                self.w(f"_T_{t.name}: TypeAlias = {t.name}")
                if t.is_char:
                    self.w(
                        f"_E_{t.name}: Final[dict[bytes, {t.name}]] = {{m.value.encode('latin-1'): m for m in {t.name}}}"
                    )
                else:
                    self.w(
                        f"_E_{t.name}: Final[dict[int, {t.name}]] = {{m.value: m for m in {t.name}}}"
                    )
            elif isinstance(t, SetType):
                self.w()
                self.w()
                self.w(f"class {t.name}(IntFlag):")
                self.w(f'    """{_doc(t.description or t.name)} (bit set on {t.encoding.name})."""')
                self.w()
                for ch in t.choices:
                    self.w(f"    {member_name(ch.name)} = 1 << {ch.bit}")
                self.w()
                self.w()
                self.w(f"_T_{t.name}: TypeAlias = {t.name}")

    def gen_composites(self) -> None:
        used: set[str] = set()

        def walk(fields: tuple[Field, ...], groups: tuple[Group, ...]) -> None:
            for f in fields:
                if isinstance(f.type, CompositeType) and not f.type.is_decimal:
                    used.add(f.type.name)
            for g in groups:
                walk(g.fields, g.groups)

        for msg in self.schema.messages:
            walk(msg.fields, msg.groups)
        for name in sorted(used):
            t = self.schema.types[name]
            assert isinstance(t, CompositeType)
            members = [m for m in t.members if m.presence != "constant"]
            for m in members:
                if m.primitive in ("float", "double"):
                    raise SchemaError(f"composite {name}: float members are not supported")
            self.w()
            self.w()
            self.w(f"class {name}(NamedTuple):")
            self.w(f'    """{_doc(t.description or name)}."""')
            self.w()
            for m in members:
                typ = "str" if m.primitive == "char" else "int"
                self.w(
                    f"    {m.name}: {typ} | None"
                    if m.presence == "optional"
                    else f"    {m.name}: {typ}"
                )
            self.w()
            self.w()
            self.w(f"_T_{name}: TypeAlias = {name}")
            self.w()
            self.w()
            nulls = []
            enc = []
            dec = []
            for i, m in enumerate(members):
                if m.primitive == "char":
                    null: object = b"\x00" * m.length
                    e = f"_rt.e_ochars(v.{m.name}, {m.length}, {_lit(name + '.' + m.name)})"
                    d = f"_rt.os_(r{i})"
                else:
                    null = m.effective_null()
                    e = (
                        f"({_lit(null)} if v.{m.name} is None else v.{m.name})"
                        if m.presence == "optional"
                        else f"v.{m.name}"
                    )
                    d = (
                        f"(None if r{i} == {_lit(null)} else r{i})"
                        if m.presence == "optional"
                        else f"r{i}"
                    )
                nulls.append(_lit(null))
                enc.append(e)
                dec.append(d)
            self.w(f"def _enc_{name}(v: {name} | None) -> tuple[Any, ...]:")
            self.w("    if v is None:")
            self.w(f"        return ({', '.join(nulls)},)")
            self.w(f"    return ({', '.join(enc)},)")
            self.w()
            self.w()
            params = ", ".join(f"r{i}: Any" for i in range(len(members)))
            self.w(f"def _dec_{name}({params}) -> {name}:")
            self.w(f"    return {name}({', '.join(dec)})")

    # -- blocks -------------------------------------------------------------------------------

    def gen_block(
        self,
        cls_name: str,
        base: str,
        block_length: int,
        fields: tuple[Field, ...],
        groups: tuple[Group, ...],
        datas: tuple[Data, ...],
        *,
        doc: str,
        message: Message | None,
    ) -> None:
        # group entry classes first, so the block can refer to them
        for g in groups:
            self.gen_block(
                f"{cls_name}_{g.name}", "_rt.GroupEntry", g.block_length, g.fields, g.groups, g.data,
                doc=f"An entry of {cls_name}.{g.name} (tag {g.id}, blockLength {g.block_length}). {g.description}",
                message=None,
            )  # fmt: skip
        for name in [f.name for f in fields] + [g.name for g in groups] + [d.name for d in datas]:
            if name in RESERVED or name.startswith("_"):
                raise SchemaError(f"{cls_name}.{name}: name is reserved by the generated code")
        plans: list[_Plan] = []
        consts: list[Field] = []
        codes: list[str] = []
        null_raw: list[object] = []
        slot = 0
        pos = 0
        metas: list[str] = []
        versioned: list[tuple[int, int]] = []
        slot_of: dict[str, int] = {}
        for f in fields:
            if f.is_constant:
                consts.append(f)
                assert isinstance(f.type, EncodedType)
                t = f.type
                value: object = t.constant if t.primitive == "char" else int(t.constant or "0")
                metas.append(
                    f"_rt.FieldMeta({_lit(f.name)}, {f.id}, {f.offset}, 0, 'constant', {_lit(t.primitive)}, "
                    f"{t.length}, False, None, {f.since_version}, {_lit(t.name)}, -1, 0, {_lit(value)})"
                )
                continue
            if f.offset > pos:
                codes.append(f"{f.offset - pos}x")
            p = self.plan(f, cls_name)
            plans.append(p)
            codes.extend(p.codes)
            null_raw.extend(p.null_raw)
            slot_of[f.name] = slot
            if f.since_version > 0:
                versioned.extend((slot + i, f.since_version) for i in range(len(p.codes)))
            null_meta: object = p.null_raw[0] if len(p.null_raw) == 1 else tuple(p.null_raw)
            metas.append(
                f"_rt.FieldMeta({_lit(f.name)}, {f.id}, {f.offset}, {f.size}, {_lit(p.kind)}, "
                f"{_lit(self.primitive_of(f))}, {self.length_of(f)}, {p.nullable}, {_lit(null_meta)}, "
                f"{f.since_version}, {_lit(p.type_name)}, {slot}, {len(p.codes)}, None, "
                f"{_lit(p.min)}, {_lit(p.max)}, {p.enum_ref})"
            )
            slot += len(p.codes)
            pos = f.offset + f.size
        if block_length > pos:
            codes.append(f"{block_length - pos}x")
        min_block = []
        for v in range(self.schema.version + 1):
            ends = [f.offset + f.size for f in fields if f.since_version <= v and f.size]
            min_block.append(max(ends, default=0))
        simple = not groups and not datas

        w = self.w
        w()
        w()
        w(f"class {cls_name}({base}):")
        w(f'    """{_doc(doc)}"""')
        w()
        slots = ["_raw"] + (["_groups"] if groups else []) + (["_data"] if datas else [])
        w(f"    __slots__ = ({''.join(_lit(s) + ', ' for s in slots).rstrip()})")
        w(f"    NAME: ClassVar[str] = {_lit(cls_name)}")
        if message is not None:
            w(f"    TEMPLATE_ID: ClassVar[int] = {message.id}")
            w(f"    SCHEMA_ID: ClassVar[int] = {self.schema.id}")
            w(f"    SCHEMA_VERSION: ClassVar[int] = {self.schema.version}")
            w(f"    SEMANTIC_TYPE: ClassVar[str] = {_lit(message.semantic_type)}")
            w("    _HEADER_STRUCT: ClassVar[Struct] = _HEADER")
        w(f"    BLOCK_LENGTH: ClassVar[int] = {block_length}")
        w(f'    _STRUCT: ClassVar[Struct] = Struct("<{"".join(codes)}")')
        w(
            f"    _NULL_RAW: ClassVar[tuple[Any, ...]] = ({''.join(_lit(x) + ', ' for x in null_raw).rstrip()})"
        )
        w(f"    _MIN_BLOCK: ClassVar[tuple[int, ...]] = {tuple(min_block)!r}")
        w(f"    _VERSIONED: ClassVar[tuple[tuple[int, int], ...]] = {tuple(versioned)!r}")
        w("    SBE_FIELDS: ClassVar[tuple[_rt.FieldMeta, ...]] = (")
        for m in metas:
            w(f"        {m},")
        w("    )")
        if groups:
            w("    SBE_GROUPS: ClassVar[tuple[_rt.GroupMeta, ...]] = (")
            for g in groups:
                dim_codes = "".join(PRIMITIVES[mm.primitive][0] for mm in g.dimension.members)
                count_member = g.dimension.member("numInGroup")
                assert count_member is not None
                max_count = 2 ** (8 * PRIMITIVES[count_member.primitive][1]) - 1
                w(
                    f'        _rt.GroupMeta({_lit(g.name)}, {g.id}, {cls_name}_{g.name}, Struct("<{dim_codes}"), '
                    f"{g.since_version}, {max_count}),"
                )
            w("    )")
        if datas:
            w("    SBE_DATA: ClassVar[tuple[_rt.DataMeta, ...]] = (")
            for d in datas:
                length = d.type.member("length")
                assert length is not None
                max_len = 2 ** (8 * PRIMITIVES[length.primitive][1]) - 1
                w(
                    f'        _rt.DataMeta({_lit(d.name)}, {d.id}, Struct("<{PRIMITIVES[length.primitive][0]}"), '
                    f"{d.since_version}, {max_len}),"
                )
            w("    )")
        for f in consts:
            assert isinstance(f.type, EncodedType)
            t = f.type
            if t.primitive == "char":
                w(f"    {f.name}: ClassVar[str] = {_lit(t.constant)}")
            else:
                w(f"    {f.name}: ClassVar[int] = {int(t.constant or '0')}")
            w(f'    """{_doc(f.description)} (tag {f.id}, constant {t.name})."""')
        # constructor
        params: list[str] = []
        for p in sorted(plans, key=lambda p: p.nullable or p.kind == "set"):
            if p.kind == "set":
                params.append(f"{p.field.name}: {p.param_type} = 0")
            elif p.nullable:
                params.append(f"{p.field.name}: {p.param_type} = None")
            else:
                params.append(f"{p.field.name}: {p.param_type}")
        for g in groups:
            params.append(f"{g.name}: Sequence[{cls_name}_{g.name}] = ()")
        for d in datas:
            params.append(f'{d.name}: bytes = b""')
        w()
        if params:
            w("    def __init__(")
            w("        self,")
            w("        *,")
            for prm in params:
                w(f"        {prm},")
            w("    ) -> None:")
        else:
            w("    def __init__(self) -> None:")
        w("        self._raw = (")
        for p in plans:
            w(f"            {p.encode.format(v=p.field.name)},")
        w("        )")
        if groups:
            w("        self._groups = (")
            for i, g in enumerate(groups):
                w(
                    f"            _rt.e_group({g.name}, {cls_name}_{g.name}, "
                    f"self.SBE_GROUPS[{i}].max_count, {_lit(g.name)}),"
                )
            w("        )")
        if datas:
            w("        self._data = (")
            for i, d in enumerate(datas):
                w(
                    f"            _rt.e_data({d.name}, self.SBE_DATA[{i}].max_length, {_lit(d.name)}),"
                )
            w("        )")
        # properties
        for p in plans:
            f = p.field
            base_slot = slot_of[f.name]
            w()
            w("    @property")
            w(f"    def {f.name}(self) -> {p.prop_type}:")
            w(
                f'        """{_doc(f.description)} (tag {f.id}, offset {f.offset}, {p.type_name}{", since v" + str(f.since_version) if f.since_version else ""})."""'
            )
            expr = p.decode
            if len(p.codes) == 1:
                if expr.count("r0") > 1:
                    w(f"        r0 = self._raw[{base_slot}]")
                else:
                    expr = expr.replace("r0", f"self._raw[{base_slot}]")
            else:
                names = ", ".join(f"r{i}" for i in range(len(p.codes)))
                w(f"        {names} = self._raw[{base_slot}:{base_slot + len(p.codes)}]")
            w(f"        return {expr}")
        for i, g in enumerate(groups):
            w()
            w("    @property")
            w(f"    def {g.name}(self) -> tuple[{cls_name}_{g.name}, ...]:")
            w(f'        """{_doc(g.description)} (tag {g.id})."""')
            w(f"        return self._groups[{i}]  # type: ignore[return-value]")
        for i, d in enumerate(datas):
            w()
            w("    @property")
            w(f"    def {d.name}(self) -> bytes:")
            w(f'        """{_doc(d.description)} (tag {d.id}, var data)."""')
            w(f"        return self._data[{i}]")
        if not simple:
            self.gen_tail(cls_name, groups, datas)

    def gen_tail(self, cls_name: str, groups: tuple[Group, ...], datas: tuple[Data, ...]) -> None:
        """Straight-line decoding and encoding of the groups and var data after a root block."""
        w = self.w
        w()
        w("    def _decode_tail(self, buf: _rt.Buffer, pos: int, version: int, end: int) -> int:")
        for i, g in enumerate(groups):
            dim = f"_DIM_{g.dimension.name}"
            size = g.dimension.size
            label = _lit(f"{cls_name}.{g.name}")
            w(f"        g{i}: tuple[_rt.GroupEntry, ...] = ()")
            ind = "        "
            if g.since_version:
                w(f"        if version >= {g.since_version}:")
                ind += "    "
            w(f"{ind}if pos + {size} > end:")
            w(f"{ind}    raise _rt.overrun({label}, 'group header')")
            count_member = g.dimension.member("numInGroup")
            assert count_member is not None
            count_offset = 0
            for m in g.dimension.members:
                if m.name == "numInGroup":
                    break
                count_offset += m.size
            if (
                count_member.size == 1
            ):  # the common case: read the count byte, unpack only if non-zero
                w(f"{ind}if buf[pos + {count_offset}]:")
                w(f"{ind}    entry_length, count = {dim}.unpack_from(buf, pos)")
                w(
                    f"{ind}    g{i}, pos = _rt.decode_entries({cls_name}_{g.name}, buf, pos + {size}, entry_length, "
                    f"count, version, end, {label})"
                )
                w(f"{ind}else:")
                w(f"{ind}    pos += {size}")
            else:
                w(f"{ind}entry_length, count = {dim}.unpack_from(buf, pos)")
                w(f"{ind}pos += {size}")
                w(f"{ind}if count:")
                w(
                    f"{ind}    g{i}, pos = _rt.decode_entries({cls_name}_{g.name}, buf, pos, entry_length, count, "
                    f"version, end, {label})"
                )
        for i, d in enumerate(datas):
            length = d.type.member("length")
            assert length is not None
            size = PRIMITIVES[length.primitive][1]
            label = _lit(f"{cls_name}.{d.name}")
            w(f'        d{i} = b""')
            ind = "        "
            if d.since_version:
                w(f"        if version >= {d.since_version}:")
                ind += "    "
            w(f"{ind}if pos + {size} > end:")
            w(f"{ind}    raise _rt.overrun({label}, 'length')")
            w(f"{ind}(n,) = _LEN_{d.type.name}.unpack_from(buf, pos)")
            w(f"{ind}pos += {size}")
            w(f"{ind}if pos + n > end:")
            w(f"{ind}    raise _rt.overrun({label}, 'data')")
            w(f"{ind}d{i} = bytes(buf[pos : pos + n])")
            w(f"{ind}pos += n")
        if groups:
            w(f"        self._groups = ({''.join(f'g{i}, ' for i in range(len(groups))).rstrip()})")
        if datas:
            w(f"        self._data = ({''.join(f'd{i}, ' for i in range(len(datas))).rstrip()})")
        w("        return pos")
        w()
        w("    def _encode_tail(self, out: bytes) -> bytes:")
        if groups:
            w(f"        ({''.join(f'g{i}, ' for i in range(len(groups))).rstrip()}) = self._groups")
        for i, g in enumerate(groups):
            w(f"        out += _DIM_{g.dimension.name}.pack({g.block_length}, len(g{i}))")
            w(f"        for e in g{i}:")
            w("            out += e._encode_body()")
        if datas:
            w(f"        ({''.join(f'd{i}, ' for i in range(len(datas))).rstrip()}) = self._data")
        for i, d in enumerate(datas):
            w(f"        out += _LEN_{d.type.name}.pack(len(d{i})) + d{i}")
        w("        return out")

    def primitive_of(self, f: Field) -> str:
        t = f.type
        if isinstance(t, EncodedType):
            return t.primitive
        if isinstance(t, EnumType | SetType):
            return t.encoding.primitive
        m = t.member("mantissa")
        return m.primitive if m is not None else "composite"

    def length_of(self, f: Field) -> int:
        t = f.type
        return t.length if isinstance(t, EncodedType) else 1

    # -- module -------------------------------------------------------------------------------

    def generate(self) -> str:
        s = self.schema
        w = self.w
        w(f"# Generated by dropcopy.sbe.codegen from {self.source_name} -- DO NOT EDIT.")
        w(
            f"# Schema: package {s.package}, schema id {s.id}, version {s.version}, description {s.description!r}."
        )
        w(f"# Schema file sha256: {self.sha256}")
        w(
            f"# Messages: {len(s.messages)} templates; binary (opaque) char arrays: {sorted(self.binary_fields)}."
        )
        w('"""SBE codec generated from the message schema named in the header above."""')
        w()
        w("from __future__ import annotations")
        w()
        w("from collections.abc import Sequence")
        w("from decimal import Decimal")
        w("from enum import IntEnum, IntFlag, StrEnum")
        w("from struct import Struct")
        w("from typing import Any, ClassVar, Final, NamedTuple, TypeAlias")
        w()
        w("from dropcopy.sbe import runtime as _rt")
        w()
        w(f"SCHEMA_ID: Final = {s.id}")
        w(f"SCHEMA_VERSION: Final = {s.version}")
        w(f"SCHEMA_PACKAGE: Final = {s.package!r}")
        w(f"SCHEMA_DESCRIPTION: Final = {s.description!r}")
        w(f"SCHEMA_SHA256: Final = {self.sha256!r}")
        hdr = "".join(PRIMITIVES[m.primitive][0] for m in s.header.members)
        w(f'_HEADER: Final = Struct("<{hdr}")')
        w("HEADER_SIZE: Final = _HEADER.size")
        dims: dict[str, str] = {}
        lens: dict[str, str] = {}

        def walk(groups: tuple[Group, ...], datas: tuple[Data, ...]) -> None:
            for g in groups:
                dims[g.dimension.name] = "".join(
                    PRIMITIVES[m.primitive][0] for m in g.dimension.members
                )
                walk(g.groups, g.data)
            for d in datas:
                length = d.type.member("length")
                assert length is not None
                lens[d.type.name] = PRIMITIVES[length.primitive][0]

        for msg in s.messages:
            walk(msg.groups, msg.data)
        for name, codes in dims.items():
            w(f'_DIM_{name}: Final = Struct("<{codes}")')
        for name, code in lens.items():
            w(f'_LEN_{name}: Final = Struct("<{code}")')
        self.gen_enums()
        self.gen_composites()
        for m in s.messages:
            self.gen_block(
                m.name, "_rt.MessageBase", m.block_length, m.fields, m.groups, m.data,
                doc=f"{m.description or m.name} (templateId {m.id}, blockLength {m.block_length}, "
                f"semanticType {m.semantic_type}{', since v' + str(m.since_version) if m.since_version else ''}).",
                message=m,
            )  # fmt: skip
        w()
        w()
        w("TEMPLATES: Final[dict[int, type[_rt.MessageBase]]] = {")
        for m in s.messages:
            w(f"    {m.id}: {m.name},")
        w("}")
        w()
        w("_CODEC: Final = _rt.Codec(SCHEMA_ID, _HEADER, TEMPLATES)")
        w("decode: Final = _CODEC.decode")
        w("decode_header: Final = _CODEC.decode_header")
        return "\n".join(self.out) + "\n"


def generate(
    schema: Schema,
    *,
    binary_fields: set[str] | frozenset[str] = frozenset(),
    source_name: str,
    sha256: str,
) -> str:
    """Python source of the codec module for ``schema``."""
    return _Generator(
        schema, binary_fields=set(binary_fields), source_name=source_name, sha256=sha256
    ).generate()


def generate_file(
    path: str | Path, *, binary_fields: set[str] | frozenset[str] = frozenset()
) -> str:
    p = Path(path)
    return generate(
        read_schema(p), binary_fields=binary_fields, source_name=p.name, sha256=schema_sha256(p)
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate a Python SBE codec from a schema XML file.")
    ap.add_argument("schema")
    ap.add_argument("-o", "--output", help="write here instead of standard output")
    ap.add_argument(
        "--binary", action="append", default=[], help="char-array field to treat as bytes"
    )
    args = ap.parse_args(argv)
    code = generate_file(args.schema, binary_fields=set(args.binary))
    if args.output:
        Path(args.output).write_text(code)
    else:
        sys.stdout.write(code)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
