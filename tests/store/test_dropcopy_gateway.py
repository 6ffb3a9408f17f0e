"""The Drop Copy gateway reads its target sessions, their sources and keys from the store
(SQLite and PostgreSQL): what Request Center configured is what the gateway serves."""

from __future__ import annotations

import pytest

from dropcopy.fix.texts import INVALID_LOGON
from dropcopy.ilink3 import fields
from dropcopy.ilink3 import messages as m
from dropcopy.journal.memory import MemoryJournal
from dropcopy.store import DropCopySession, DropCopySessionStatus, MessageTypes, Store
from dropcopy.venue.activity import ActivityLog
from dropcopy.venue.dropcopy import DropCopyBook, DropCopyGateway, StoreTargetDirectory
from dropcopy.venue.keys import StoreDropCopyKeyDirectory

from ..venue_dropcopy.harness import Clock, DcClient, inner
from .test_venue_keys import generate

pytestmark = pytest.mark.asyncio


def ack(clordid: str, now: int) -> bytes:
    msg = m.ExecutionReportNew522(
        SeqNum=0, UUID=0, ExecID="X1", SenderID="TRADER1", ClOrdID=clordid, PartyDetailsListReqID=1,
        OrderID=1, Price="139.203125", TransactTime=now, SendingTimeEpoch=now, OrderRequestID=1,
        Location="US,IL", SecurityID=204527, OrderQty=1, OrdType=m.OrderType.Limit, Side=m.SideReq.Buy,
        ManualOrderIndicator=m.ManualOrdIndReq.Automated, PossRetransFlag=m.BooleanFlag.False_,
    )  # fmt: skip
    return fields.stamp(msg.encode(), 1, 1, now)


async def test_targets_sources_and_keys_come_from_the_store(
    store: Store, world_ids: dict[str, int]
) -> None:
    clock = Clock.at("2026-11-24T10:00:00")  # the store tests' NOW
    key = generate(store, DropCopySession, world_ids["dc"], now=clock())
    journal = MemoryJournal()
    log = ActivityLog(journal, 84)
    directory = StoreTargetDirectory(store.sessionmaker, "CERT", refresh_interval=0)
    book = DropCopyBook("G", journal, directory, clock=clock)
    book.attach(log, clock())
    gw = DropCopyGateway(book, StoreDropCopyKeyDirectory(store.sessionmaker, "CERT"), clock=clock)
    address = await gw.start()
    try:
        client = DcClient("DCABC1", key_id=key.access_key_id, secret=key.secret_key, clock=clock)
        await client.connect(address)
        await client.logged_on()
        log.append(("XYZ", "900"), 1, 1, clock(), ack("OTHER", clock()))  # not a source of DCABC1
        log.append(("ABC", "007"), 1, 1, clock(), ack("MINE", clock()))  # its source
        (copy,) = await client.copies(1)
        assert inner(copy).get(11) == b"MINE" and inner(copy).get(56) == b"ABC007"
        # an edit in Request Center counts once the directory reloads: fills only from now on
        with store.session() as db:
            db.get_one(
                DropCopySession, world_ids["dc"]
            ).message_types = MessageTypes.TRADE_EXECUTION_REPORTS
            db.commit()
        log.append(("ABC", "007"), 1, 2, clock(), ack("FILTERED", clock()))
        await client.logout()
        assert book.stats.filtered == 1 and book.stats.copies == 1
        # a disabled target session cannot log on
        with store.session() as db:
            db.get_one(DropCopySession, world_ids["dc"]).status = DropCopySessionStatus.DISABLED
            db.commit()
        refused = DcClient("DCABC1", key_id=key.access_key_id, secret=key.secret_key, clock=clock)
        await refused.connect(address)
        assert (await refused.closed()).logout_text == INVALID_LOGON
    finally:
        await gw.stop()
        book.close()


async def test_a_session_of_another_environment_is_unknown(
    store: Store, world_ids: dict[str, int]
) -> None:
    clock = Clock.at("2026-11-24T10:00:00")
    key = generate(store, DropCopySession, world_ids["dc_nr"], now=clock())  # NEWRELEASE MSGW
    book = DropCopyBook("84", MemoryJournal(), StoreTargetDirectory(store.sessionmaker, "CERT"))
    gw = DropCopyGateway(book, StoreDropCopyKeyDirectory(store.sessionmaker, "CERT"), clock=clock)
    address = await gw.start()
    try:
        client = DcClient(
            "DCNR01", sub_id="84", key_id=key.access_key_id, secret=key.secret_key, clock=clock
        )
        await client.connect(address)
        closed = await client.closed()
        assert closed.logout_text == INVALID_LOGON  # AP-09: the key is not found in CERT
    finally:
        await gw.stop()
        book.close()
