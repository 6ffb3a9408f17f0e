"""Read an SBE message schema (XML) into the intermediate representation.

Supports what CME's iLink 3 schema uses and refuses, loudly, what it does not understand
(``valueRef``, ``<ref>``, big-endian schemas), so that a future schema cannot be half-read.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

from .errors import SchemaError
from .ir import (
    PRIMITIVES,
    Choice,
    CompositeType,
    Data,
    EncodedType,
    EnumType,
    Field,
    Group,
    Message,
    Schema,
    SetType,
    TypeDef,
    ValidValue,
)


def _tag(el: ET.Element) -> str:
    return el.tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _int(el: ET.Element, attr: str, default: int | None = None) -> int:
    text = el.get(attr)
    if text is None:
        if default is None:
            raise SchemaError(f"<{_tag(el)} name={el.get('name')!r}> lacks {attr}")
        return default
    return int(text)


def _number(text: str, primitive: str) -> int | float:
    if primitive in ("float", "double"):
        return float(text)
    return int(text)


def _encoded_type(el: ET.Element) -> EncodedType:
    name = el.get("name", "")
    primitive = el.get("primitiveType", "")
    if primitive not in PRIMITIVES:
        raise SchemaError(f"type {name!r}: unknown primitiveType {primitive!r}")
    presence = el.get("presence", "required")
    if presence not in ("required", "optional", "constant"):
        raise SchemaError(f"type {name!r}: unknown presence {presence!r}")
    if el.get("valueRef"):
        raise SchemaError(f"type {name!r}: valueRef is not supported")
    null_text = el.get("nullValue")
    constant = None
    if presence == "constant":
        constant = (el.text or "").strip()
        if not constant:
            raise SchemaError(f"constant type {name!r} has no value")
    return EncodedType(
        name=name,
        primitive=primitive,
        length=_int(el, "length", 1),
        presence=presence,  # type: ignore[arg-type]
        null_value=None if null_text is None else _number(null_text, primitive),
        constant=constant,
        since_version=_int(el, "sinceVersion", 0),
        semantic_type=el.get("semanticType", ""),
        description=el.get("description", ""),
    )


def _encoding_of(el: ET.Element, types: dict[str, TypeDef]) -> EncodedType:
    enc = el.get("encodingType", "")
    if enc in PRIMITIVES:
        return EncodedType(name=enc, primitive=enc)
    t = types.get(enc)
    if not isinstance(t, EncodedType):
        raise SchemaError(f"{el.get('name')!r}: encodingType {enc!r} is not a simple type")
    return t


def _read_types(root: ET.Element) -> dict[str, TypeDef]:
    types: dict[str, TypeDef] = {}
    pending: list[ET.Element] = []
    for block in root:
        if _tag(block) != "types":
            continue
        for el in block:
            kind = _tag(el)
            if kind == "type":
                t = _encoded_type(el)
                types[t.name] = t
            elif kind == "composite":
                members = []
                for m in el:
                    if _tag(m) != "type":
                        raise SchemaError(
                            f"composite {el.get('name')!r}: <{_tag(m)}> not supported"
                        )
                    members.append(_encoded_type(m))
                types[el.get("name", "")] = CompositeType(
                    name=el.get("name", ""),
                    members=tuple(members),
                    semantic_type=el.get("semanticType", ""),
                    description=el.get("description", ""),
                )
            elif kind in ("enum", "set"):
                pending.append(el)  # their encodingType may name a type declared later
            else:
                raise SchemaError(f"<{kind}> in <types> is not supported")
    for el in pending:
        enc = _encoding_of(el, types)
        name = el.get("name", "")
        if _tag(el) == "enum":
            values = tuple(
                ValidValue(
                    name=v.get("name", ""),
                    value=(v.text or "").strip(),
                    since_version=_int(v, "sinceVersion", 0),
                    description=v.get("description", ""),
                )
                for v in el
                if _tag(v) == "validValue"
            )
            types[name] = EnumType(
                name, enc, values, _int(el, "sinceVersion", 0), el.get("description", "")
            )
        else:
            choices = tuple(
                Choice(
                    name=c.get("name", ""),
                    bit=int((c.text or "").strip()),
                    since_version=_int(c, "sinceVersion", 0),
                    description=c.get("description", ""),
                )
                for c in el
                if _tag(c) == "choice"
            )
            types[name] = SetType(
                name, enc, choices, _int(el, "sinceVersion", 0), el.get("description", "")
            )
    return types


def _read_members(
    owner: str, el: ET.Element, block_length: int, types: dict[str, TypeDef]
) -> tuple[tuple[Field, ...], tuple[Group, ...], tuple[Data, ...]]:
    fields: list[Field] = []
    groups: list[Group] = []
    datas: list[Data] = []
    pos = 0
    for child in el:
        kind = _tag(child)
        name = child.get("name", "")
        if kind == "field":
            if groups or datas:
                raise SchemaError(f"{owner}.{name}: field after a group or data")
            type_name = child.get("type", "")
            t = types.get(type_name)
            if t is None:
                raise SchemaError(f"{owner}.{name}: unknown type {type_name!r}")
            if isinstance(t, CompositeType) and t.is_var_data:
                raise SchemaError(f"{owner}.{name}: var data type used as a field")
            if child.get("presence") not in (None, "required", "optional"):
                raise SchemaError(f"{owner}.{name}: field-level presence {child.get('presence')!r}")
            if child.get("presence") == "optional" and isinstance(t, EncodedType):
                t = EncodedType(**{**t.__dict__, "presence": "optional"})
            offset = _int(child, "offset", pos)
            size = t.size
            if size and offset < pos:
                raise SchemaError(f"{owner}.{name}: offset {offset} overlaps the previous field")
            if offset + size > block_length:
                raise SchemaError(
                    f"{owner}.{name}: ends at {offset + size} > blockLength {block_length}"
                )
            if size:
                pos = offset + size
            fields.append(
                Field(
                    name=name,
                    id=_int(child, "id"),
                    type=t,
                    offset=offset if size else pos,
                    since_version=_int(child, "sinceVersion", 0),
                    semantic_type=child.get("semanticType", ""),
                    description=child.get("description", ""),
                )
            )
        elif kind == "group":
            if datas:
                raise SchemaError(f"{owner}.{name}: group after data")
            dim = types.get(child.get("dimensionType", "groupSize"))
            if not isinstance(dim, CompositeType) or {m.name for m in dim.members} != {
                "blockLength",
                "numInGroup",
            }:
                raise SchemaError(f"{owner}.{name}: bad dimensionType")
            g_block = _int(child, "blockLength")
            g_fields, g_groups, g_data = _read_members(f"{owner}.{name}", child, g_block, types)
            groups.append(
                Group(
                    name=name,
                    id=_int(child, "id"),
                    block_length=g_block,
                    dimension=dim,
                    fields=g_fields,
                    groups=g_groups,
                    data=g_data,
                    since_version=_int(child, "sinceVersion", 0),
                    description=child.get("description", ""),
                )
            )
        elif kind == "data":
            dt = types.get(child.get("type", ""))
            if not isinstance(dt, CompositeType) or not dt.is_var_data:
                raise SchemaError(f"{owner}.{name}: data type must be a length/varData composite")
            datas.append(
                Data(
                    name=name,
                    id=_int(child, "id"),
                    type=dt,
                    since_version=_int(child, "sinceVersion", 0),
                    description=child.get("description", ""),
                )
            )
        else:
            raise SchemaError(f"{owner}: <{kind}> not supported")
    return tuple(fields), tuple(groups), tuple(datas)


def read_schema(source: str | Path | bytes) -> Schema:
    """Parse an SBE schema from a path or from the XML bytes."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    root = ET.fromstring(data)
    if _tag(root) != "messageSchema":
        raise SchemaError(f"root element is <{_tag(root)}>, expected messageSchema")
    if root.get("byteOrder", "littleEndian") != "littleEndian":
        raise SchemaError("only littleEndian schemas are supported")
    types = _read_types(root)
    header = types.get(root.get("headerType", "messageHeader"))
    if not isinstance(header, CompositeType):
        raise SchemaError("no messageHeader composite")
    messages = []
    for el in root:
        if _tag(el) != "message":
            continue
        name = el.get("name", "")
        block = _int(el, "blockLength")
        fields, groups, datas = _read_members(name, el, block, types)
        messages.append(
            Message(
                name=name,
                id=_int(el, "id"),
                block_length=block,
                fields=fields,
                groups=groups,
                data=datas,
                since_version=_int(el, "sinceVersion", 0),
                semantic_type=el.get("semanticType", ""),
                description=el.get("description", ""),
            )
        )
    return Schema(
        package=root.get("package", ""),
        id=_int(root, "id"),
        version=_int(root, "version", 0),
        semantic_version=root.get("semanticVersion", ""),
        description=root.get("description", ""),
        byte_order="littleEndian",
        header=header,
        types=types,
        messages=tuple(messages),
    )


def schema_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
