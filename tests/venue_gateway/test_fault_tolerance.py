"""Fault tolerance over real TCP: a designated primary and backup Market Segment Gateway sharing
one session book and journal, customer primary and backup processes (seed 004 "Fault Tolerance",
"Failover Processing", AI-08, AI-29)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from dropcopy.aio.ilink3 import ILink3Client, LogonRejected, SessionTerminated
from dropcopy.fixp import events as ev
from dropcopy.fixp.session import State
from dropcopy.ilink3 import messages as m
from dropcopy.journal.memory import MemoryJournal
from dropcopy.venue.orderentry.gateway import (
    AccessKey,
    MarketSegmentGateway,
    MemoryKeyDirectory,
    SessionBook,
)

from .test_loopback import KEY_ID, SECOND, SECRET, AckHandler, Clock, order


@dataclass
class Pair:
    primary: MarketSegmentGateway
    backup: MarketSegmentGateway
    handler: AckHandler
    clock: Clock

    def client(self, *, backup: bool = False, **kw: object) -> ILink3Client:
        args: dict[str, object] = dict(
            secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007",
            clock=self.clock, backup=backup,
        )  # fmt: skip
        args.update(kw)
        return ILink3Client(**args)  # type: ignore[arg-type]

    async def connect(self, gw: MarketSegmentGateway, c: ILink3Client) -> ILink3Client:
        assert gw.address is not None
        await c.connect(*gw.address)
        return c


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    clock = Clock()
    keys = MemoryKeyDirectory()
    keys.add(AccessKey(KEY_ID, SECRET, "ABC", "007", expires_at=clock() + 27 * 86_400 * SECOND))
    handler = AckHandler()
    book, journal = SessionBook(84), MemoryJournal()
    common = dict(keys=keys, journal=journal, handler=handler, clock=clock, book=book)
    primary = MarketSegmentGateway(84, **common)  # type: ignore[arg-type]
    backup = MarketSegmentGateway(84, backup=True, **common)  # type: ignore[arg-type]
    MarketSegmentGateway.pair(primary, backup)
    await primary.start()
    await backup.start()
    yield Pair(primary, backup, handler, clock)
    await primary.stop()
    await backup.stop()


async def _group(p: Pair) -> tuple[ILink3Client, ILink3Client]:
    """A fault-tolerant customer: primary process on the primary, backup on the backup."""
    prim = await p.connect(p.primary, p.client())
    await prim.logon()
    back = await p.connect(p.backup, p.client(backup=True, uuid=prim.uuid))
    await back.logon(negotiate=False, next_seq_no=0)
    return prim, back


async def _terminated(c: ILink3Client) -> ev.Terminated:
    with pytest.raises(SessionTerminated) as info:
        await c._wait_for(ev.BusinessMessage, timeout=5)
    return info.value.event


async def test_I265_establish_on_the_backup_before_the_primary_is_rejected_27(pair: Pair) -> None:
    back = await pair.connect(pair.backup, pair.client(backup=True))
    with pytest.raises(LogonRejected) as info:
        await back.logon(negotiate=False, next_seq_no=0)
    assert isinstance(info.value.message, m.EstablishmentReject505)
    assert info.value.message.ErrorCodes == 27
    back.close()


async def test_I267_AI08_negotiate_on_the_backup_is_rejected_28_or_27_before_the_primary(
    pair: Pair,
) -> None:
    early = await pair.connect(pair.backup, pair.client(backup=True))
    with pytest.raises(LogonRejected) as info:
        await early.logon()
    assert info.value.message.ErrorCodes == 27  # the primary is not established yet
    early.close()
    prim = await pair.connect(pair.primary, pair.client())
    await prim.logon()
    late = await pair.connect(pair.backup, pair.client(backup=True, uuid=prim.uuid + 1))
    with pytest.raises(LogonRejected) as info:
        await late.logon()
    assert isinstance(info.value.message, m.NegotiationReject502)
    assert info.value.message.ErrorCodes == 28
    late.close()
    prim.close()


async def test_I268_I272_backup_establishes_with_the_primarys_uuid_next_seq_no_0(
    pair: Pair,
) -> None:
    prim = await pair.connect(pair.primary, pair.client())
    est = await prim.logon()
    assert est.ack.NextSeqNo == 1 and est.ack.FaultToleranceIndicator is m.FTI.Primary  # I-271
    back = await pair.connect(pair.backup, pair.client(backup=True, uuid=prim.uuid))
    ack = (await back.logon(negotiate=False, next_seq_no=0)).ack
    assert ack.NextSeqNo == 0 and ack.FaultToleranceIndicator is m.FTI.Backup
    other = await pair.connect(pair.backup, pair.client(backup=True, uuid=prim.uuid + 5))
    with pytest.raises(LogonRejected) as info:
        await other.logon(negotiate=False, next_seq_no=0)
    assert info.value.message.ErrorCodes == 2  # AI-08: the different-UUID path is refused
    for c in (prim, back, other):
        c.close()


async def test_I273_non_zero_next_seq_no_to_the_backup_is_terminated(pair: Pair) -> None:
    prim = await pair.connect(pair.primary, pair.client())
    await prim.logon()
    wrong = await pair.connect(pair.backup, pair.client(uuid=prim.uuid))  # not in backup mode
    with pytest.raises(SessionTerminated) as info:
        await wrong.logon(negotiate=False, next_seq_no=3)
    assert info.value.event.code == 10
    prim.close()


async def test_I278_non_ft_customer_may_establish_the_backup_later(pair: Pair) -> None:
    prim = await pair.connect(pair.primary, pair.client())
    await prim.logon()
    prim.send(order("A1"))
    await prim.next_business()
    back = await pair.connect(pair.backup, pair.client(backup=True, uuid=prim.uuid))
    ack = (await back.logon(negotiate=False, next_seq_no=0)).ack
    assert ack.NextSeqNo == 0
    prim.close()
    back.close()


async def test_I275_AI08_business_message_on_the_backup_gets_business_reject_131(
    pair: Pair,
) -> None:
    prim, back = await _group(pair)
    back.machine.backup = False  # a misbehaving client process sends an order on the backup
    back.send(order("B1"))
    got = await prim.next_business()
    assert isinstance(got.message, m.BusinessReject521)
    assert got.message.BusinessRejectReason == 131
    assert pair.handler.seen == []  # never reached the matching engine
    prim.close()
    back.close()


async def test_I251_terminating_the_primary_terminates_the_backup_code_26(pair: Pair) -> None:
    prim, back = await _group(pair)
    term = await prim.terminate()
    assert term.code == 0
    got = await _terminated(back)
    assert got.code == 26 and got.by_peer


async def test_I287_closing_the_primary_socket_terminates_the_backup_at_once(
    pair: Pair,
) -> None:
    prim, back = await _group(pair)
    prim.close()
    got = await _terminated(back)
    assert got.code == 26


async def test_I284_AI29_silent_primary_gets_20_and_the_backup_26(pair: Pair) -> None:
    prim, back = await _group(pair)
    (proto,) = [p for p in pair.primary.connections]
    assert prim.protocol is not None and prim.protocol.transport is not None
    prim.protocol.transport.pause_reading()  # the primary process hangs: it answers nothing
    for _ in range(8):  # one interval: a lapsed warning; two: Terminate 20
        pair.clock.offset += 10 * SECOND
        proto._fire()
        if proto.machine.closed:
            break
    assert pair.clock.offset >= 60 * SECOND
    assert proto.machine.closed
    prim.protocol.transport.resume_reading()
    assert (await _terminated(prim)).code == 20
    assert (await _terminated(back)).code == 26


async def test_I292_silent_backup_is_disconnected_and_the_primary_stays(pair: Pair) -> None:
    prim, back = await _group(pair)
    (proto,) = [p for p in pair.backup.connections]
    assert back.protocol is not None and back.protocol.transport is not None
    back.protocol.transport.pause_reading()
    for _ in range(8):
        pair.clock.offset += 10 * SECOND
        proto._fire()
        if proto.machine.closed:
            break
    assert proto.machine.closed
    back.protocol.transport.resume_reading()
    assert (await _terminated(back)).code == 20
    pair.clock.offset = 0
    prim.send(order("P1"))
    ack = await prim.next_business()
    assert isinstance(ack.message, m.ExecutionReportNew522)
    prim.close()


async def test_I276_I295_I296_primary_gateway_failure_promotes_the_backup_and_streams_continue(
    pair: Pair,
) -> None:
    prim, back = await _group(pair)
    prim.send(order("A1"))
    first = await prim.next_business()
    assert first.seq_no == 1
    await pair.primary.fail()
    got = await back._wait_for(ev.PromotedToPrimary)
    assert isinstance(got, ev.PromotedToPrimary) and got.next_seq_no == 2  # where it left off
    assert not back.machine.backup
    # the backup process saw nothing of the primary stream: it recovers message 1 (I-289 asks
    # it to align its numbers with the failed primary's: here, its outbound number)
    recovered = await back.next_business()
    assert (recovered.seq_no, recovered.possible_retransmission) == (1, True)
    assert recovered.message.ClOrdID == "A1"  # type: ignore[attr-defined]
    back.machine.next_out = prim.machine.next_out
    back.send(order("A2"))
    ack = await back.next_business()
    assert (ack.seq_no, ack.uuid, ack.possible_retransmission) == (2, prim.uuid, False)
    assert [o.ClOrdID for _, o in pair.handler.seen] == ["A1", "A2"]
    back.close()


async def test_I297_after_failover_a_client_re_establishes_the_same_uuid_without_negotiating(
    pair: Pair,
) -> None:
    prim = await pair.connect(pair.primary, pair.client())
    await prim.logon()
    prim.send(order("A1"))
    await prim.next_business()
    await pair.primary.fail()
    again = await pair.connect(pair.backup, pair.client(uuid=prim.uuid))
    ack = (await again.logon(negotiate=False, next_seq_no=2, expected_seq_no=2)).ack
    assert ack.NextSeqNo == 2 and ack.FaultToleranceIndicator is m.FTI.Primary
    again.send(order("A2"))
    assert (await again.next_business()).seq_no == 2
    again.close()


async def test_I298_after_failover_a_new_uuid_resets_both_directions_to_1(pair: Pair) -> None:
    prim = await pair.connect(pair.primary, pair.client())
    await prim.logon()
    prim.send(order("A1"))
    await prim.next_business()
    await pair.primary.fail()
    fresh = await pair.connect(pair.backup, pair.client(uuid=prim.uuid + 1))
    ack = (await fresh.logon()).ack
    assert ack.NextSeqNo == 1 and ack.PreviousUUID == prim.uuid and ack.PreviousSeqNo == 1
    fresh.close()


async def test_I299_I300_backup_gateway_failure_leaves_the_primary_and_restores_as_backup(
    pair: Pair,
) -> None:
    prim, back = await _group(pair)
    await pair.backup.fail()
    with pytest.raises(SessionTerminated):
        await back._wait_for(ev.BusinessMessage, timeout=5)  # the connection dropped
    prim.send(order("A1"))
    assert isinstance((await prim.next_business()).message, m.ExecutionReportNew522)
    await pair.backup.restore()
    again = await pair.connect(pair.backup, pair.client(backup=True, uuid=prim.uuid))
    ack = (await again.logon(negotiate=False, next_seq_no=0)).ack
    assert ack.NextSeqNo == 0 and ack.FaultToleranceIndicator is m.FTI.Backup
    prim.close()
    again.close()


async def test_failed_primary_restored_comes_back_as_the_backup(pair: Pair) -> None:
    prim, back = await _group(pair)
    await pair.primary.fail()
    await back._wait_for(ev.PromotedToPrimary)
    await pair.primary.restore()
    assert pair.primary.backup and not pair.backup.backup
    c = await pair.connect(pair.primary, pair.client(backup=True, uuid=prim.uuid))
    ack = (await c.logon(negotiate=False, next_seq_no=0)).ack
    assert ack.FaultToleranceIndicator is m.FTI.Backup
    assert pair.primary.book.sessions[("ABC", "007")].backup is not None
    assert pair.primary.book.sessions[("ABC", "007")].primary is back_machine(pair)
    back.close()
    c.close()


def back_machine(pair: Pair) -> object:
    (proto,) = [p for p in pair.backup.connections if p.machine.state is State.ESTABLISHED]
    return proto.machine
