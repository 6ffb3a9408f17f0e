"""The small value types of the Drop Copy client: endpoints, copies, positions."""

from __future__ import annotations

import pytest

from dropcopy.aio.dropcopy import Copy, Endpoint, Positions
from dropcopy.fix import Message, decode, encapsulate
from dropcopy.fix42 import events as ev

from .fakevenue import execution_report, fill


def copy_of(inner: bytes, *, seq: int = 2, poss_dup: bool = False) -> Copy:
    outer = encapsulate(inner, [(34, seq), (49, "CME"), (52, "20251126-14:00:00.000")])
    return Copy.from_event(ev.BusinessMessage(decode(outer), seq, poss_dup, False), "ABCDEF", "G")


def test_endpoint_parse() -> None:
    assert Endpoint.parse("127.0.0.1:9100") == Endpoint("127.0.0.1", 9100)
    assert Endpoint.parse("[::1]:9100") == Endpoint("::1", 9100)
    assert str(Endpoint("::1", 9100)) == "[::1]:9100"
    for bad in ("host", "host:", ":9100", "host:0", "host:x"):
        with pytest.raises(ValueError):
            Endpoint.parse(bad)


def test_copy_fields_and_dedup_key() -> None:
    c = copy_of(fill("F1", seq=9, side="1", last_qty=3, last_px="10.5"))
    assert (c.cl_ord_id, c.order_id, c.side, c.symbol, c.security_id) == (
        "F1", "OF1", "1", "ES", "12345",
    )  # fmt: skip
    assert str(c.last_qty) == "3" and str(c.last_px) == "10.5" and c.is_fill
    assert c.dedup_key == ("ABC007N", c.request_time, 9) and c.account == "ACC1"
    assert isinstance(c.inner, Message) and c.to_dict()["fields"][0] == [8, "FIX.4.2"]
    no_time = copy_of(execution_report("N", seq=3, request_time=None))
    assert no_time.dedup_key is None and not no_time.is_fill


def test_trade_cancel_and_non_fill_status_are_not_fills() -> None:
    busted = fill("F1", seq=9, side="1", last_qty=3, last_px="10", extra=[(20, "1")])
    positions = Positions()
    assert positions.apply(copy_of(busted)) is None  # 20=1: a trade cancel
    replaced = execution_report("R", seq=4, request_time=1, exec_type="5", ord_status="1",
                                last_qty=2)  # fmt: skip
    assert positions.apply(copy_of(replaced)) is None and len(positions) == 0
