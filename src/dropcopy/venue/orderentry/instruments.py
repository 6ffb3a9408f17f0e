"""Reference data of the instruments the venue trades, and PRICE9 helpers.

Theory of operation
-------------------
An :class:`Instrument` is what the matching engine needs to know about one outright future:
its CME identifiers (SecurityID tag 48, SecurityGroup tag 1151 — the FIX ``Symbol`` 55 on Drop
Copy —, SecurityDesc tag 107, SecurityType tag 167), the Market Segment ID (tag 1300) of the
Market Segment Gateway that carries it, its tick (MinPriceIncrement, tag 969 on MDP), the largest
order it accepts, and the optional price controls CME applies to orders:

* ``protection_points`` — how far from the best opposite price a *market with protection* or
  *stop with protection* order may trade (CME "Market and Stop Orders with Protection");
* ``low_limit_price`` / ``high_limit_price`` — daily price limits (reject 2137 "Order price is
  outside the limits");
* ``price_band`` — the distance from the reference price (last trade, else ``reference_price``)
  beyond which an aggressive order is refused (reject 2179 "Order price is outside bands").

Prices inside the venue are ``int`` mantissas of the schema's ``PRICE9`` type (value × 10⁹,
exponent −9): exact, cheap to compare and hash, and what the wire carries. :func:`price9` and
:func:`decimal_of` convert at the edges.

Instruments are loaded from plain dicts (the venue's TOML configuration), see
:func:`instruments_from_config`. :data:`DEFAULT_INSTRUMENTS` is a small CME-like set over five
market segments. Only ZN's identifiers (SecurityID 204527, SecurityDesc ``ZNH1``, market segment
84) come from CME material — the Drop Copy sample in ``shared/reference/dropcopy-wire-notes.md``
§2.2; every other SecurityID and segment number is invented for the simulator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any, Final

__all__ = [
    "DEFAULT_INSTRUMENTS",
    "PRICE9_EXPONENT",
    "Instrument",
    "InstrumentConfigError",
    "decimal_of",
    "instruments_from_config",
    "price9",
]

#: The schema's PRICE9 composite: int64 mantissa, constant exponent -9.
PRICE9_EXPONENT: Final = -9
_SCALE: Final = 10**9


class InstrumentConfigError(ValueError):
    """A configuration entry does not describe a valid instrument."""


def price9(value: Decimal | int | str) -> int:
    """The PRICE9 mantissa of ``value`` (``Decimal("139.203125")`` → ``139203125000``).

    Refuses a value with more precision than 1E-9 rather than rounding it (as the codec does).
    ``int`` means a whole price (``price9(5)`` is 5.0), not a mantissa.
    """
    try:
        d = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{value!r} is not a price") from None
    if not d.is_finite():
        raise ValueError(f"{value!r} is not a finite price")
    m = d.scaleb(9)
    if m != m.to_integral_value():
        raise ValueError(f"{value!r} has more precision than 1E-9")
    return int(m)


def decimal_of(mantissa: int) -> Decimal:
    """The Decimal value of a PRICE9 mantissa (exact)."""
    return Decimal(mantissa).scaleb(PRICE9_EXPONENT)


def _price_field(data: Mapping[str, Any], key: str, *, required: bool) -> Decimal | None:
    raw = data.get(key)
    if raw is None:
        if required:
            raise InstrumentConfigError(f"instrument field {key!r} is required")
        return None
    if isinstance(raw, float):
        raw = repr(raw)  # TOML floats: the shortest repr, never the binary expansion
    if isinstance(raw, bool) or not isinstance(raw, Decimal | int | str):
        raise InstrumentConfigError(f"instrument field {key!r}: {raw!r} is not a price")
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(raw)
        price9(value)
    except (InvalidOperation, ValueError):
        raise InstrumentConfigError(f"instrument field {key!r}: {raw!r} is not a price") from None
    return value


def _int_field(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    raw = data.get(key, default)
    if raw is None:
        raise InstrumentConfigError(f"instrument field {key!r} is required")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InstrumentConfigError(f"instrument field {key!r}: {raw!r} is not an integer")
    return raw


def _str_field(data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    raw = data.get(key, default)
    if not isinstance(raw, str) or not raw:
        raise InstrumentConfigError(f"instrument field {key!r} must be a non-empty string")
    return raw


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable outright instrument."""

    #: SecurityID (tag 48, Int32): CME's instrument identifier, what every order carries.
    security_id: int
    #: SecurityGroup (tag 1151, String6), e.g. ``ZN``; Drop Copy's 55 Symbol (CME mapping 55←1151).
    symbol: str
    #: SecurityDesc (tag 107), e.g. ``ZNH1``.
    security_desc: str
    #: MarketSegmentID (tag 1300): the MSGW partition that carries the instrument.
    market_segment_id: int
    #: Tick: every price must be a whole multiple of it.
    min_price_increment: Decimal
    #: SecurityType (tag 167).
    security_type: str = "FUT"
    #: Largest OrderQty accepted (reject 2115 above it).
    max_order_qty: int = 10_000
    #: Market/stop protection distance, in price units; ``None``: 100 ticks.
    protection_points: Decimal | None = None
    #: Price band around the reference price for aggressive orders (reject 2179); ``None``: off.
    price_band: Decimal | None = None
    #: Daily low / high price limits (reject 2137); ``None``: no limit on that side.
    low_limit_price: Decimal | None = None
    high_limit_price: Decimal | None = None
    #: Reference (settlement) price used by the band before the first trade.
    reference_price: Decimal | None = None

    def __post_init__(self) -> None:
        if not -(2**31) < self.security_id < 2**31:
            raise InstrumentConfigError(f"SecurityID {self.security_id} does not fit Int32")
        if not 0 <= self.market_segment_id <= 254:
            raise InstrumentConfigError(
                f"MarketSegmentID {self.market_segment_id} does not fit uInt8NULL"
            )
        if len(self.symbol) > 6:
            raise InstrumentConfigError(f"SecurityGroup {self.symbol!r} is longer than 6")
        if self.min_price_increment <= 0:
            raise InstrumentConfigError("min_price_increment must be positive")
        if not 0 < self.max_order_qty < 2**32:
            raise InstrumentConfigError("max_order_qty must be a positive uInt32")
        for name in ("protection_points", "price_band"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise InstrumentConfigError(f"{name} must be positive")
        if (
            self.low_limit_price is not None
            and self.high_limit_price is not None
            and self.low_limit_price > self.high_limit_price
        ):
            raise InstrumentConfigError("low_limit_price is above high_limit_price")
        for f in ("min_price_increment", *_OPTIONAL_PRICES):
            v = getattr(self, f)
            if v is not None:
                price9(v)  # representable in PRICE9

    # -- PRICE9 views used by the engine ---------------------------------------------------

    @property
    def tick9(self) -> int:
        """The tick as a PRICE9 mantissa."""
        return price9(self.min_price_increment)

    @property
    def protection9(self) -> int:
        """Protection distance as a PRICE9 mantissa (default: 100 ticks)."""
        if self.protection_points is None:
            return 100 * self.tick9
        return price9(self.protection_points)

    # -- plain data --------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instrument:
        """An instrument from a config table; keys are this class's field names.

        Prices may be strings (recommended: exact), ints or TOML floats (read through their
        shortest repr). Unknown keys are an error, so that a typo does not pass silently.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InstrumentConfigError(f"unknown instrument field(s): {sorted(unknown)}")
        tick = _price_field(data, "min_price_increment", required=True)
        assert tick is not None
        return cls(
            security_id=_int_field(data, "security_id"),
            symbol=_str_field(data, "symbol"),
            security_desc=_str_field(data, "security_desc"),
            market_segment_id=_int_field(data, "market_segment_id"),
            min_price_increment=tick,
            security_type=_str_field(data, "security_type", "FUT"),
            max_order_qty=_int_field(data, "max_order_qty", 10_000),
            **{k: _price_field(data, k, required=False) for k in _OPTIONAL_PRICES},
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (prices as strings, absent options left out); inverse of :meth:`from_dict`."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            out[f.name] = str(v) if isinstance(v, Decimal) else v
        return out


_OPTIONAL_PRICES: Final = (
    "protection_points",
    "price_band",
    "low_limit_price",
    "high_limit_price",
    "reference_price",
)


def instruments_from_config(
    data: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> tuple[Instrument, ...]:
    """Instruments from ``{"instruments": [table, ...]}`` (a TOML ``[[instruments]]`` array) or
    from the list of tables itself. SecurityIDs must be unique."""
    entries: Iterable[Any]
    if isinstance(data, Mapping):
        if "instruments" not in data:
            raise InstrumentConfigError("config has no 'instruments' list")
        entries = data["instruments"]
    else:
        entries = data
    if isinstance(entries, str | bytes) or not isinstance(entries, Iterable):
        raise InstrumentConfigError("'instruments' must be a list of tables")
    out: list[Instrument] = []
    seen: set[int] = set()
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise InstrumentConfigError(f"instrument entry {entry!r} is not a table")
        inst = Instrument.from_dict(entry)
        if inst.security_id in seen:
            raise InstrumentConfigError(f"SecurityID {inst.security_id} is listed twice")
        seen.add(inst.security_id)
        out.append(inst)
    return tuple(out)


def _fut(
    security_id: int,
    symbol: str,
    desc: str,
    segment: int,
    tick: str,
    max_qty: int,
    protection: str,
    reference: str,
) -> Instrument:
    return Instrument(
        security_id=security_id,
        symbol=symbol,
        security_desc=desc,
        market_segment_id=segment,
        min_price_increment=Decimal(tick),
        max_order_qty=max_qty,
        protection_points=Decimal(protection),
        reference_price=Decimal(reference),
    )


#: A CME-like default product set over five market segments. Ticks are the real contract ticks
#: (ZN 1/64 of a point, ZB 1/32, ZF 1/128; ES/NQ 0.25; CL 0.01; NG 0.001; GC 0.10; SI 0.005;
#: 6E 0.00005); identifiers other than ZN's (CME sample, see module docstring), order size caps
#: and protection points are plausible inventions.
DEFAULT_INSTRUMENTS: Final[tuple[Instrument, ...]] = (
    # segment 84: interest rates (ZN values from CME's published Drop Copy sample)
    _fut(204527, "ZN", "ZNH1", 84, "0.015625", 5_000, "0.5", "139.203125"),
    _fut(204531, "ZB", "ZBH1", 84, "0.03125", 3_000, "1", "172.5"),
    _fut(204540, "ZF", "ZFH1", 84, "0.0078125", 5_000, "0.25", "125.8046875"),
    # segment 80: equity indices
    _fut(5602, "ES", "ESH1", 80, "0.25", 3_000, "6", "3801.25"),
    _fut(5614, "NQ", "NQH1", 80, "0.25", 2_000, "25", "12888.5"),
    # segment 82: energy
    _fut(31006, "CL", "CLJ1", 82, "0.01", 2_000, "0.5", "52.24"),
    _fut(31088, "NG", "NGJ1", 82, "0.001", 1_000, "0.05", "2.581"),
    # segment 86: metals
    _fut(40121, "GC", "GCJ1", 86, "0.10", 1_000, "5", "1893.4"),
    _fut(40133, "SI", "SIK1", 86, "0.005", 500, "0.25", "25.765"),
    # segment 88: FX
    _fut(61770, "6E", "6EH1", 88, "0.00005", 2_000, "0.005", "1.2208"),
)
