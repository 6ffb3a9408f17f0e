"""Instrument reference data: the default set, plain-dict/TOML loading, PRICE9 helpers."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest

from dropcopy.venue.orderentry.instruments import (
    DEFAULT_INSTRUMENTS,
    Instrument,
    InstrumentConfigError,
    decimal_of,
    instruments_from_config,
    price9,
)
from dropcopy.venue.orderentry.matching import MatchingEngine


def test_default_set_spans_several_market_segments_with_unique_ids() -> None:
    ids = [i.security_id for i in DEFAULT_INSTRUMENTS]
    assert len(ids) == len(set(ids))
    assert len({i.market_segment_id for i in DEFAULT_INSTRUMENTS}) >= 2
    MatchingEngine(DEFAULT_INSTRUMENTS)  # every instrument is usable by the engine


def test_zn_matches_cmes_published_sample() -> None:
    # dropcopy-wire-notes.md §2.2: 48=204527, 55=ZN, 107=ZNH1, 50=84, 44=139.203125
    zn = next(i for i in DEFAULT_INSTRUMENTS if i.symbol == "ZN")
    assert (zn.security_id, zn.security_desc, zn.market_segment_id) == (204527, "ZNH1", 84)
    assert zn.min_price_increment == Decimal(1) / 64
    assert price9("139.203125") % zn.tick9 == 0


def test_every_default_instrument_round_trips_through_a_dict() -> None:
    for inst in DEFAULT_INSTRUMENTS:
        assert Instrument.from_dict(inst.to_dict()) == inst
    assert (
        instruments_from_config([i.to_dict() for i in DEFAULT_INSTRUMENTS]) == DEFAULT_INSTRUMENTS
    )


def test_instruments_load_from_toml() -> None:
    config = tomllib.loads(
        """
        [[instruments]]
        security_id = 204527
        symbol = "ZN"
        security_desc = "ZNH1"
        market_segment_id = 84
        min_price_increment = "0.015625"
        protection_points = 0.5
        max_order_qty = 5000

        [[instruments]]
        security_id = 1
        symbol = "XX"
        security_desc = "XXZ3"
        market_segment_id = 99
        min_price_increment = 0.1
        high_limit_price = 120
        """
    )
    zn, xx = instruments_from_config(config)
    assert zn.protection_points == Decimal("0.5") and zn.max_order_qty == 5000
    assert xx.min_price_increment == Decimal("0.1")  # float read through its repr: exact
    assert xx.high_limit_price == Decimal(120) and xx.security_type == "FUT"
    assert xx.protection9 == 100 * xx.tick9  # default protection: 100 ticks


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown instrument field"),
        ({"min_price_increment": "abc"}, "not a price"),
        ({"min_price_increment": "0"}, "must be positive"),
        ({"security_id": "1"}, "not an integer"),
        ({"symbol": ""}, "non-empty string"),
        ({"symbol": "TOOLONG"}, "longer than 6"),
        ({"market_segment_id": 300}, "uInt8NULL"),
        ({"low_limit_price": "10", "high_limit_price": "5"}, "above"),
        ({"min_price_increment": "0.0000000001"}, "not a price"),
    ],
)
def test_bad_instrument_config_is_refused(change: dict[str, object], message: str) -> None:
    entry: dict[str, object] = {
        "security_id": 1,
        "symbol": "XX",
        "security_desc": "XXZ3",
        "market_segment_id": 1,
        "min_price_increment": "0.25",
    }
    entry.update(change)
    with pytest.raises(InstrumentConfigError, match=message):
        Instrument.from_dict(entry)


def test_duplicate_security_ids_are_refused() -> None:
    entry = DEFAULT_INSTRUMENTS[0].to_dict()
    with pytest.raises(InstrumentConfigError, match="twice"):
        instruments_from_config({"instruments": [entry, entry]})
    with pytest.raises(InstrumentConfigError, match="no 'instruments'"):
        instruments_from_config({})


def test_price9_is_exact_and_refuses_extra_precision() -> None:
    assert price9("139.203125") == 139_203_125_000
    assert price9(5) == 5_000_000_000
    assert price9(Decimal("-1.5")) == -1_500_000_000
    assert decimal_of(139_203_125_000) == Decimal("139.203125")
    with pytest.raises(ValueError):
        price9("0.0000000001")
    with pytest.raises(ValueError):
        price9("nan")
