"""What Request Center provisions is what the Drop Copy gateway serves, over real TCP, on SQLite
and PostgreSQL: a session created in the portal and processed at 4pm logs on with the key
file downloaded with the emailed code, receives its sources' activity and only theirs, and
follows source edits and key rotation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dropcopy.aio.dropcopy import DropCopyClient, LogonRejected, MemoryDropCopyStore
from dropcopy.journal.memory import MemoryJournal
from dropcopy.portal import OwnerRef, Portal
from dropcopy.store import Store
from dropcopy.venue.activity import ActivityLog
from dropcopy.venue.dropcopy import DropCopyBook, DropCopyGateway, StoreTargetDirectory
from dropcopy.venue.keys import StoreDropCopyKeyDirectory
from tests.store.test_dropcopy_gateway import ack
from tests.venue_dropcopy.harness import Clock

from .conftest import GATEWAYS, build_world, sign_in

pytestmark = pytest.mark.asyncio
HOUR = 3600


@dataclass
class Venue:
    clock: Clock
    log: ActivityLog
    book: DropCopyBook
    gateway: DropCopyGateway
    address: tuple[str, int]
    seq: int = 0

    def trade(self, source: tuple[str, str], clordid: str) -> None:
        """An iLink 3 acknowledgment on ``source``, published to Drop Copy."""
        self.seq += 1
        now = self.clock()
        self.log.append(source, 1, self.seq, now, ack(clordid, now))


@pytest.fixture
async def venue(store: Store) -> AsyncIterator[Venue]:
    clock = Clock.at("2026-11-24T10:00:00")  # Tuesday, before the 4pm processing
    journal = MemoryJournal()
    log = ActivityLog(journal, 84)
    directory = StoreTargetDirectory(store.sessionmaker, "CERT", refresh_interval=0)
    book = DropCopyBook("G", journal, directory, clock=clock)
    book.attach(log, clock())
    keys = StoreDropCopyKeyDirectory(store.sessionmaker, "CERT")
    gateway = DropCopyGateway(book, keys, clock=clock)
    address = await gateway.start()
    yield Venue(clock, log, book, gateway, address)
    await gateway.stop()
    book.close()


def client(venue: Venue, key_file: Path, session_id: str, **kw: Any) -> DropCopyClient:
    return DropCopyClient.from_key_file(
        key_file,
        session_id,
        environment="CERT",
        endpoints=[venue.address],
        clock=venue.clock,
        auto_reconnect=False,
        logon_timeout=5.0,
        **kw,
    )


def download(portal: Portal, token: str, ref: OwnerRef, path: Path) -> Path:
    actor = portal.actor(token)
    code = portal.download_code(actor)
    assert code is not None
    _, text = portal.download_keys(actor, [ref], code.code)
    path.write_text(text)
    return path


async def test_P002_P003_P023_P040_P052_created_in_the_portal_then_copied(
    store: Store, venue: Venue, tmp_path: Path
) -> None:
    world = build_world(store, venue.clock())
    portal = Portal(store, venue.clock, gateways=GATEWAYS)
    token = sign_in(portal, "admin@acme.example")
    actor = portal.actor(token)
    rid = portal.submit_create(
        actor,
        environment="CERT",
        session_type="Convenience Gateway",
        number_of_sessions=1,
        business_rationale="back office",
        source_ids=[world["abc"]],
    ).id
    venue.clock.advance(6 * HOUR + 60)  # 16:01 CT
    portal.run_batch(venue.clock() - 60 * 10**9)
    done = portal.request(actor, rid)
    assert done.status == "Completed" and done.result is not None
    (session_id,) = done.result["session_ids"]
    (session,) = portal.list_sessions(actor)
    ref = OwnerRef("dropcopy", session.id)
    portal.generate_keys(actor, [ref])
    key_file = download(portal, token, ref, tmp_path / "keys.txt")

    state = MemoryDropCopyStore()
    c = client(venue, key_file, session_id, store=state)
    await c.logon()  # P-004, P-052: the downloaded key signs a working logon
    venue.trade(("XYZ", "900"), "NOT-MINE")  # another company's session: not a source
    venue.trade(("ABD", "007"), "NOT-YET")  # ours, but not attached
    venue.trade(("ABC", "007"), "FIRST")
    copy = await c.next_copy(timeout=5)
    assert copy.cl_ord_id == "FIRST"

    # P-040: an edit counts once processed -- ABD in, ABC out
    portal.submit_sources(actor, session.id, add=[world["abd"]], remove=[world["abc"]])
    venue.trade(("ABC", "007"), "STILL-ABC")
    assert (await c.next_copy(timeout=5)).cl_ord_id == "STILL-ABC"
    await c.logout()
    venue.clock.advance(24 * HOUR)  # Wednesday 16:01
    portal.run_batch(venue.clock() - 60 * 10**9)
    venue.trade(("ABC", "007"), "ABC-GONE")
    venue.trade(("ABD", "007"), "ABD-NOW")
    again = client(venue, key_file, session_id, store=state)  # mid-week logon
    await again.logon()
    assert (await again.next_copy(timeout=5)).cl_ord_id == "ABD-NOW"
    await again.logout()
    assert c.stats.delivered == 2 and again.stats.delivered == 1


async def test_P045_P053_P059_keys_take_effect_at_once(
    store: Store, venue: Venue, tmp_path: Path
) -> None:
    world = build_world(store, venue.clock())
    portal = Portal(store, venue.clock, gateways=GATEWAYS)
    token = sign_in(portal, "admin@acme.example")
    actor = portal.actor(token)
    portal.submit_create(
        actor,
        environment="CERT",
        session_type="CGW",
        number_of_sessions=1,
        business_rationale="keys",
        source_ids=[world["abc"]],
    )
    venue.clock.advance(6 * HOUR + 60)
    portal.run_batch(venue.clock() - 60 * 10**9)
    (session,) = portal.list_sessions(actor)
    ref = OwnerRef("dropcopy", session.id)

    k1 = portal.generate_keys(actor, [ref])[0].access_key_id
    first_file = download(portal, token, ref, tmp_path / "k1.txt")
    k2 = portal.generate_keys(actor, [ref])[0].access_key_id
    both = download(portal, token, ref, tmp_path / "k12.txt")
    # P-053: during the overlap the old key and the new key both log on
    for path in (first_file, both):  # from_key_file picks the newest usable row of the file
        c = client(venue, path, session.session_id)
        await c.logon()
        await c.logout()
    # P-045: generating a third key deleting k1 refuses k1 at once
    portal.generate_keys(actor, [ref], delete={ref: [k1]})
    refused = client(venue, first_file, session.session_id)
    with pytest.raises(LogonRejected):
        await refused.logon()
    # P-059: a deleted key no longer authenticates
    portal.delete_keys(actor, {ref: [k2]})
    with pytest.raises(LogonRejected):
        await client(venue, both, session.session_id).logon()
    assert k1 != k2
