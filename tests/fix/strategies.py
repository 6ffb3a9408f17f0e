"""Hypothesis strategies for FIX fields."""

from __future__ import annotations

from hypothesis import strategies as st

DATA_PAIRS = [(212, 213), (354, 355), (95, 96), (1401, 1402), (90, 91), (93, 89)]
_SPECIAL = {8, 9, 10, 35} | {t for pair in DATA_PAIRS for t in pair}

normal_tags = st.integers(min_value=1, max_value=99999).filter(lambda t: t not in _SPECIAL)
# printable ASCII, '=' included (a normal value may hold '=')
printable = st.binary(min_size=0, max_size=30).map(lambda b: bytes(0x20 + (c % 95) for c in b))
# data values: heavy on SOH, '=' and "10=" / "8=FIX" look-alikes
data_values = st.one_of(
    st.binary(max_size=60),
    st.lists(
        st.sampled_from([b"\x01", b"=", b"10=", b"8=FIX.4.2\x019=5\x01", b"a", b"\xff", b"\x00"]),
        max_size=20,
    ).map(b"".join),
)
normal_fields = st.tuples(normal_tags, printable)
data_fields = st.tuples(st.sampled_from(DATA_PAIRS), data_values)


@st.composite
def field_lists(draw: st.DrawFn) -> list[tuple[int, bytes]]:
    """Fields after 35; data fields come as (length tag, data tag) pairs."""
    items = draw(st.lists(st.one_of(normal_fields, data_fields), max_size=25))
    out: list[tuple[int, bytes]] = []
    for tag, value in items:
        if isinstance(tag, tuple):
            length_tag, data_tag = tag
            out.append((length_tag, b"%d" % len(value)))
            out.append((data_tag, value))
        else:
            out.append((tag, value))
    return out


msg_types = st.sampled_from(["0", "1", "2", "3", "4", "5", "8", "A", "n", "BW", "ZZ"])
