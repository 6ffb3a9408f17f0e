"""Intermediate representation of an SBE message schema.

The XML reader (:mod:`dropcopy.sbe.xml`) builds these objects; the code generator
(:mod:`dropcopy.sbe.codegen`) reads them. Nothing here knows about iLink 3: the IR covers the
parts of the SBE 1.0 (RC2-style) schema language that CME's ``ilinkbinary.xml`` uses — primitive
types with null values, char arrays, constants, enums, sets, composites, repeating groups, var
data and ``sinceVersion`` — and computes every wire layout from the schema's own offsets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PrimitiveName = Literal[
    "char",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float",
    "double",
]

# primitive -> (struct code, size, default null value, min, max) per the SBE specification
PRIMITIVES: dict[str, tuple[str, int, int | float | bytes, int | float, int | float]] = {
    "char": ("c", 1, 0, 0x20, 0x7E),
    "int8": ("b", 1, -128, -127, 127),
    "int16": ("h", 2, -32768, -32767, 32767),
    "int32": ("i", 4, -(2**31), -(2**31) + 1, 2**31 - 1),
    "int64": ("q", 8, -(2**63), -(2**63) + 1, 2**63 - 1),
    "uint8": ("B", 1, 0xFF, 0, 0xFE),
    "uint16": ("H", 2, 0xFFFF, 0, 0xFFFE),
    "uint32": ("I", 4, 0xFFFFFFFF, 0, 0xFFFFFFFE),
    "uint64": ("Q", 8, 0xFFFFFFFFFFFFFFFF, 0, 0xFFFFFFFFFFFFFFFE),
    "float": ("f", 4, float("nan"), float("-inf"), float("inf")),
    "double": ("d", 8, float("nan"), float("-inf"), float("inf")),
}

Presence = Literal["required", "optional", "constant"]


@dataclass(frozen=True)
class EncodedType:
    """A ``<type>``: a primitive, a char array, or a constant."""

    name: str
    primitive: str
    length: int = 1
    presence: Presence = "required"
    null_value: int | float | None = None  # explicit nullValue, else the primitive's default
    constant: str | None = None  # text of a constant type
    since_version: int = 0
    semantic_type: str = ""
    description: str = ""

    @property
    def is_char_array(self) -> bool:
        return self.primitive == "char" and self.length != 1

    @property
    def size(self) -> int:
        if self.presence == "constant":
            return 0
        return PRIMITIVES[self.primitive][1] * self.length

    def effective_null(self) -> int | float:
        if self.null_value is not None:
            return self.null_value
        null = PRIMITIVES[self.primitive][2]
        assert not isinstance(null, bytes)
        return null


@dataclass(frozen=True)
class ValidValue:
    name: str
    value: str  # raw text: a number for integer encodings, a character for char encodings
    since_version: int = 0
    description: str = ""


@dataclass(frozen=True)
class EnumType:
    name: str
    encoding: EncodedType
    values: tuple[ValidValue, ...]
    since_version: int = 0
    description: str = ""

    @property
    def is_char(self) -> bool:
        return self.encoding.primitive == "char"

    @property
    def size(self) -> int:
        return self.encoding.size


@dataclass(frozen=True)
class Choice:
    name: str
    bit: int
    since_version: int = 0
    description: str = ""


@dataclass(frozen=True)
class SetType:
    name: str
    encoding: EncodedType
    choices: tuple[Choice, ...]
    since_version: int = 0
    description: str = ""

    @property
    def size(self) -> int:
        return self.encoding.size


@dataclass(frozen=True)
class CompositeType:
    name: str
    members: tuple[EncodedType, ...]
    semantic_type: str = ""
    description: str = ""

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)

    def member(self, name: str) -> EncodedType | None:
        for m in self.members:
            if m.name == name:
                return m
        return None

    @property
    def is_decimal(self) -> bool:
        """``mantissa`` + ``exponent`` members: a decimal (PRICE9, Decimal64NULL, …)."""
        return {m.name for m in self.members} == {"mantissa", "exponent"}

    @property
    def is_var_data(self) -> bool:
        """``length`` + ``varData`` members: the encoding of a ``<data>`` element."""
        return {m.name for m in self.members} == {"length", "varData"}


TypeDef = EncodedType | EnumType | SetType | CompositeType


@dataclass(frozen=True)
class Field:
    name: str
    id: int
    type: TypeDef
    offset: int  # within the enclosing block
    since_version: int = 0
    semantic_type: str = ""
    description: str = ""

    @property
    def size(self) -> int:
        return self.type.size

    @property
    def is_constant(self) -> bool:
        return isinstance(self.type, EncodedType) and self.type.presence == "constant"


@dataclass(frozen=True)
class Data:
    name: str
    id: int
    type: CompositeType
    since_version: int = 0
    description: str = ""


@dataclass(frozen=True)
class Group:
    name: str
    id: int
    block_length: int
    dimension: CompositeType
    fields: tuple[Field, ...]
    groups: tuple[Group, ...] = ()
    data: tuple[Data, ...] = ()
    since_version: int = 0
    description: str = ""


@dataclass(frozen=True)
class Message:
    name: str
    id: int
    block_length: int
    fields: tuple[Field, ...]
    groups: tuple[Group, ...] = ()
    data: tuple[Data, ...] = ()
    since_version: int = 0
    semantic_type: str = ""
    description: str = ""


@dataclass(frozen=True)
class Schema:
    package: str
    id: int
    version: int
    semantic_version: str
    description: str
    byte_order: str
    header: CompositeType
    types: dict[str, TypeDef] = field(default_factory=dict)
    messages: tuple[Message, ...] = ()

    def message(self, name_or_id: str | int) -> Message:
        for m in self.messages:
            if m.name == name_or_id or m.id == name_or_id:
                return m
        raise KeyError(name_or_id)
