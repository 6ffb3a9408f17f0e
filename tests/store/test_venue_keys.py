"""The gateways read keys from the store (dropcopy.venue.keys), per environment (AP-09)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import pytest

from dropcopy import keyfile
from dropcopy.aio.ilink3 import ILink3Client, LogonRejected
from dropcopy.journal.memory import MemoryJournal
from dropcopy.store import (
    DropCopySession,
    DropCopySessionStatus,
    Environment,
    ILink3Session,
    SessionType,
    Store,
    keys,
)
from dropcopy.venue.calendar import market_close_after
from dropcopy.venue.keys import DropCopyKey, StoreDropCopyKeyDirectory, StoreKeyDirectory
from dropcopy.venue.orderentry.gateway import AccessKey, MarketSegmentGateway

from .conftest import DAY, NOW

FOUR_WEEKS = 28 * DAY


def generate(
    store: Store,
    cls: type[ILink3Session | DropCopySession],
    owner_id: int,
    now: int = NOW,
    **kw: object,
) -> keys.GeneratedKeyPair:
    with store.session() as db:
        owner: keys.KeyOwner = db.get_one(cls, owner_id)  # type: ignore[assignment]
        return keys.generate_key_pair(
            db,
            owner,
            now=now,
            market_close_after=market_close_after,
            **kw,  # type: ignore[arg-type]
        )


def test_ilink3_lookup_gives_the_gateway_its_access_key(
    store: Store, world_ids: dict[str, int]
) -> None:
    new = generate(store, ILink3Session, world_ids["il3"])
    cert = StoreKeyDirectory(store.sessionmaker, "CERT")
    assert cert.lookup(new.access_key_id) == AccessKey(
        access_key_id=new.access_key_id,
        secret_key=new.secret_key,
        session="ABC",
        firm="007",
        expires_at=new.key_pair.expires_at,
        deleted=False,
    )
    assert new.secret_key not in repr(cert)


def test_AP09_keys_of_another_environment_are_not_found(
    store: Store, world_ids: dict[str, int]
) -> None:
    cert_key = generate(store, ILink3Session, world_ids["il3"])
    nr_key = generate(store, ILink3Session, world_ids["il3_nr"])  # same ABC/007, NEWRELEASE
    cert = StoreKeyDirectory(store.sessionmaker, Environment.CERT)
    nr = StoreKeyDirectory(store.sessionmaker, "NEWRELEASE")
    assert cert.lookup(nr_key.access_key_id) is None
    assert nr.lookup(cert_key.access_key_id) is None
    found = nr.lookup(nr_key.access_key_id)
    assert found is not None and (found.session, found.firm) == ("ABC", "007")
    dc_nr = generate(store, DropCopySession, world_ids["dc_nr"])
    assert StoreDropCopyKeyDirectory(store.sessionmaker, "CERT").lookup(dc_nr.access_key_id) is None
    assert StoreDropCopyKeyDirectory(store.sessionmaker, "NEWRELEASE").lookup(dc_nr.access_key_id)


def test_a_directory_serves_only_its_protocols_keys(
    store: Store, world_ids: dict[str, int]
) -> None:
    il3 = generate(store, ILink3Session, world_ids["il3"])
    dc = generate(store, DropCopySession, world_ids["dc"])
    assert StoreKeyDirectory(store.sessionmaker, "CERT").lookup(dc.access_key_id) is None
    assert StoreDropCopyKeyDirectory(store.sessionmaker, "CERT").lookup(il3.access_key_id) is None


def test_P059_P044_deleted_and_expired_keys_are_not_usable(
    store: Store, world_ids: dict[str, int]
) -> None:
    directory = StoreKeyDirectory(store.sessionmaker, "CERT")
    a = generate(store, ILink3Session, world_ids["il3"])
    b = generate(store, ILink3Session, world_ids["il3"], now=NOW + DAY)
    # P-053: during the overlap both keys work
    a_key, b_key = directory.lookup(a.access_key_id), directory.lookup(b.access_key_id)
    assert a_key is not None and b_key is not None
    assert a_key.usable(NOW + DAY) and b_key.usable(NOW + DAY)
    assert a_key.days_to_expiry(NOW + DAY) == 28  # SecretKeySecureIDExpiration
    # P-044: four weeks on, at market close, the older key no longer authenticates
    assert not a_key.usable(NOW + DAY + FOUR_WEEKS + DAY) and b_key.usable(NOW + FOUR_WEEKS * 2)
    # P-045/P-059: deleted at once; the directory sees it at the next lookup (AP-05)
    c = generate(
        store, ILink3Session, world_ids["il3"], now=NOW + 2 * DAY, delete=[b.access_key_id]
    )
    gone = directory.lookup(b.access_key_id)
    assert gone is not None and gone.deleted and not gone.usable(NOW + 2 * DAY)
    assert gone.secret_key == ""  # nothing to check a signature against
    fresh = directory.lookup(c.access_key_id)
    assert fresh is not None and fresh.usable(NOW + 2 * DAY)


@pytest.mark.parametrize(
    "junk", ["", "short", "\x00" * 20, "A" * 19 + "!", "A" * 21, "A" * 19 + " "]
)
def test_I099_malformed_access_key_ids_are_unknown(store: Store, junk: str) -> None:
    assert StoreKeyDirectory(store.sessionmaker, "CERT").lookup(junk) is None
    assert StoreDropCopyKeyDirectory(store.sessionmaker, "CERT").lookup(junk) is None


def test_AX01_drop_copy_lookup_gives_the_target_session(
    store: Store, world_ids: dict[str, int]
) -> None:
    new = generate(store, DropCopySession, world_ids["dc"])
    directory = StoreDropCopyKeyDirectory(store.sessionmaker, "CERT")
    found = directory.lookup(new.access_key_id)
    assert found == DropCopyKey(
        access_key_id=new.access_key_id,
        secret_key=new.secret_key,
        session_id="DCABC1",
        session_type=SessionType.CGW,
        environment=Environment.CERT,
        expires_at=new.key_pair.expires_at,
        deleted=False,
        session_active=True,
    )
    assert found.usable(NOW) and found.days_to_expiry(NOW) == 365
    assert new.secret_key not in repr(found)
    with store.session() as db:
        db.get_one(DropCopySession, world_ids["dc"]).status = DropCopySessionStatus.DISABLED
    disabled = directory.lookup(new.access_key_id)
    assert disabled is not None and not disabled.usable(NOW)


# -- end to end: a key generated in the store, downloaded as a key file, logs on over TCP ------


SECOND = 10**9


class Clock:
    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return time.time_ns() + self.offset


@dataclass
class Venue:
    store: Store
    il3_id: int
    gateway: MarketSegmentGateway
    clock: Clock
    host: str
    port: int

    def client(self, entry: keyfile.KeyFileEntry) -> ILink3Client:
        return ILink3Client(
            secret_key=entry.secret_key,
            access_key_id=entry.access_key_id,
            session=entry.session_id,
            firm="007",
            clock=self.clock,
        )


class _Handler:
    def on_business(self, owner: object, segment: int, msg: object, now: int) -> list[object]:
        return []

    def on_disconnect(self, owner: object, segment: int, graceful: bool, now: int) -> list[object]:
        return []


@pytest.fixture
async def venue(store: Store, world_ids: dict[str, int]) -> AsyncIterator[Venue]:
    clock = Clock()
    gw = MarketSegmentGateway(
        84,
        keys=StoreKeyDirectory(store.sessionmaker, "CERT"),
        journal=MemoryJournal(),
        handler=_Handler(),  # type: ignore[arg-type]
        clock=clock,
    )
    host, port = await gw.start()
    yield Venue(store, world_ids["il3"], gw, clock, host, port)
    await gw.stop()


def _download(v: Venue) -> list[keyfile.KeyFileEntry]:
    with v.store.session() as db:
        return keyfile.parse(
            keys.key_file(db, [db.get_one(ILink3Session, v.il3_id)], now=v.clock())
        )


async def _logon(v: Venue, entry: keyfile.KeyFileEntry) -> None:
    c = v.client(entry)
    await c.connect(v.host, v.port)
    await c.logon()
    await c.terminate()


async def _refused(v: Venue, entry: keyfile.KeyFileEntry) -> None:
    c = v.client(entry)
    await c.connect(v.host, v.port)
    with pytest.raises(LogonRejected):
        await c.logon()
    c.close()


async def test_P004_P053_P059_store_keys_log_on_rotate_and_are_deleted(venue: Venue) -> None:
    first = generate(venue.store, ILink3Session, venue.il3_id, now=venue.clock())
    (entry1,) = _download(venue)
    assert entry1.access_key_id == first.access_key_id
    assert entry1.created <= date.today() < entry1.expires
    await _logon(venue, entry1)
    # P-053: a second pair works at once, and the first still works
    generate(venue.store, ILink3Session, venue.il3_id, now=venue.clock())
    entry1_again, entry2 = _download(venue)
    assert (entry1_again.access_key_id, entry1_again.secret_key) == (
        entry1.access_key_id,
        entry1.secret_key,
    )
    assert entry1_again.expires < entry1.expires  # now ends with the 4-week overlap
    await _logon(venue, entry2)
    await _logon(venue, entry1)
    # P-044: four weeks (and a market close) later the first is refused, the second not
    venue.clock.offset = FOUR_WEEKS + 3 * DAY
    await _refused(venue, entry1)
    await _logon(venue, entry2)
    # P-059: a deleted key is refused at the next logon (AP-05)
    with venue.store.session() as db:
        keys.delete_key_pairs(
            db, db.get_one(ILink3Session, venue.il3_id), [entry2.access_key_id], now=venue.clock()
        )
    await _refused(venue, entry2)


async def test_AP09_a_newrelease_key_does_not_open_a_cert_gateway(
    venue: Venue, world_ids: dict[str, int]
) -> None:
    generate(venue.store, ILink3Session, world_ids["il3_nr"], now=venue.clock())
    with venue.store.session() as db:
        (entry,) = keyfile.parse(
            keys.key_file(db, [db.get_one(ILink3Session, world_ids["il3_nr"])], now=venue.clock())
        )
    assert entry.environment == "NEWRELEASE"
    await _refused(venue, entry)
