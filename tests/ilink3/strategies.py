"""Hypothesis strategies for any generated SBE block, driven by its field metadata."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from dropcopy.sbe.ir import PRIMITIVES
from dropcopy.sbe.runtime import Block

PRINTABLE = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


def _int_range(primitive: str, null: Any, nullable: bool) -> st.SearchStrategy[int]:
    _code, _size, _n, lo, hi = PRIMITIVES[primitive]
    lo, hi = int(lo), int(hi)
    if not nullable and primitive.startswith("uint"):
        hi = 2 ** (8 * _size) - 1  # every value is legal in a required field
    return st.integers(lo, hi).filter(lambda v: not nullable or v != null)


def value_strategy(f: Any) -> st.SearchStrategy[Any]:
    kind = f.kind
    if kind == "int":
        s: st.SearchStrategy[Any] = _int_range(f.primitive, f.null, f.nullable)
    elif kind == "char":
        s = PRINTABLE
    elif kind == "chars":
        s = st.text(PRINTABLE, min_size=1 if f.nullable else 0, max_size=f.length)
    elif kind == "binary":
        s = st.binary(min_size=f.length, max_size=f.length)
    elif kind == "enum":
        s = st.one_of(st.sampled_from(list(f.enum)), _int_range(f.primitive, f.null, True))
    elif kind == "cenum":
        s = st.one_of(st.sampled_from(list(f.enum)), PRINTABLE)
    elif kind == "set":
        s = st.integers(0, 2 ** (8 * f.size) - 1)
    elif kind == "decimal":
        _c, _s, _n, lo, hi = PRIMITIVES[f.primitive]
        s = (
            st.integers(int(lo), int(hi))
            .filter(lambda m: m != f.null)
            .map(lambda m: Decimal(m).scaleb(f.min))
        )
    elif kind == "decimalx":
        _c, _s, _n, lo, hi = PRIMITIVES[f.primitive]
        s = st.builds(
            lambda m, e: Decimal(m).scaleb(e),
            st.integers(int(lo), int(hi)).filter(lambda m: m != f.null[0]),
            st.integers(-20, 20),
        )
    elif kind == "composite":
        cls = f.enum
        s = st.builds(
            lambda *vals: cls(*vals), *[st.none() | st.integers(0, 254) for _ in cls._fields]
        )
    else:  # pragma: no cover - a new kind must get a strategy
        raise AssertionError(f"no strategy for {kind}")
    return st.none() | s if f.nullable else s


@st.composite
def blocks(draw: st.DrawFn, cls: type[Block], depth: int = 0) -> Block:
    kwargs: dict[str, Any] = {}
    for f in cls.SBE_FIELDS:
        if f.kind != "constant":
            kwargs[f.name] = draw(value_strategy(f))
    for g in cls.SBE_GROUPS:
        kwargs[g.name] = draw(st.lists(blocks(g.entry, depth + 1), max_size=3 if depth == 0 else 1))
    for d in cls.SBE_DATA:
        kwargs[d.name] = draw(st.binary(max_size=24))
    return cls(**kwargs)
