"""The Order Entry Service Gateway over real TCP with the asyncio iLink 3 client (seed 004 "Order
Entry Service Gateway", I-301..I-308).

One venue per test: an OESGW and a Market Segment Gateway (segment 84) sharing one key directory
and one journal, two firms' sessions: ``ABC``/``007`` and ``XYZ``/``042``.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from dropcopy.aio.ilink3 import ILink3Client
from dropcopy.fixp import events as ev
from dropcopy.ilink3 import messages as m
from dropcopy.journal.memory import MemoryJournal
from dropcopy.sbe.runtime import MessageBase
from dropcopy.venue.orderentry.engine_handler import EngineOrderHandler
from dropcopy.venue.orderentry.gateway import AccessKey, MarketSegmentGateway, MemoryKeyDirectory
from dropcopy.venue.orderentry.matching import MatchingEngine
from dropcopy.venue.orderentry.party import (
    PartyDetail,
    PartyDetailsDefinition,
    definition_request,
)
from dropcopy.venue.orderentry.service import OESGW_SEGMENT, OrderEntryServiceGateway

from .test_loopback import KEY_ID, SECOND, SECRET, AckHandler, Clock, order

OTHER_SECRET = base64.urlsafe_b64encode(bytes(range(2, 34))).rstrip(b"=").decode()
OTHER_KEY_ID = "AKIDOTHERFIRM0000042"
R = m.PartyDetailRole


@dataclass
class Venue:
    oesgw: OrderEntryServiceGateway
    msgw: MarketSegmentGateway
    journal: MemoryJournal
    clock: Clock

    def client(self, firm: str = "007", **kw: object) -> ILink3Client:
        args: dict[str, object] = (
            dict(secret_key=SECRET, access_key_id=KEY_ID, session="ABC", firm="007")
            if firm == "007"
            else dict(secret_key=OTHER_SECRET, access_key_id=OTHER_KEY_ID, session="XYZ", firm=firm)
        )
        args["clock"] = self.clock
        args.update(kw)
        return ILink3Client(**args)  # type: ignore[arg-type]

    async def logon(
        self, gw: MarketSegmentGateway, firm: str = "007", **kw: object
    ) -> ILink3Client:
        c = self.client(firm, **kw)
        assert gw.address is not None
        await c.connect(*gw.address)
        await c.logon()
        return c


@pytest.fixture
async def oesgw() -> AsyncIterator[Venue]:
    clock = Clock()
    keys = MemoryKeyDirectory()
    expiry = clock() + 27 * 86_400 * SECOND
    keys.add(AccessKey(KEY_ID, SECRET, "ABC", "007", expires_at=expiry))
    keys.add(AccessKey(OTHER_KEY_ID, OTHER_SECRET, "XYZ", "042", expires_at=expiry))
    journal = MemoryJournal()
    service = OrderEntryServiceGateway(keys=keys, journal=journal, clock=clock)
    segment = MarketSegmentGateway(
        84, keys=keys, journal=journal, handler=AckHandler(), clock=clock
    )
    await service.start()
    await segment.start()
    yield Venue(service, segment, journal, clock)
    await service.stop()
    await segment.stop()


def definition(ident: int, firm: str = "007", memo: str = "desk 4") -> PartyDetailsDefinition:
    return PartyDetailsDefinition(
        party_details_list_req_id=ident,
        parties=(
            PartyDetail(firm, R.ExecutingFirm),
            PartyDetail("JSMITH", R.Operator),
            PartyDetail(f"ACCT{ident}", R.CustomerAccount),
        ),
        memo=memo,
        self_match_prevention_id=4242,
        self_match_prevention_instruction=m.SMPI.CancelOldest,
        cust_order_capacity=m.CustOrderCapacity.Memberfirmtradingforitsproprietaryaccount,
        clearing_account_type=m.ClearingAcctType.Firm,
        cust_order_handling_inst=m.CustOrdHandlInst.ClientElectronic,
    )


def delete(ident: int) -> m.PartyDetailsDefinitionRequest518:
    return definition_request(PartyDetailsDefinition(ident), action=m.ListUpdAct.Delete)


def list_all(ident: int, firm: str) -> m.PartyDetailsListRequest537:
    return m.PartyDetailsListRequest537(
        PartyDetailsListReqID=ident, SendingTimeEpoch=0, SeqNum=0,
        NoRequestingPartyIDs=[
            m.PartyDetailsListRequest537_NoRequestingPartyIDs(
                RequestingPartyID=firm, RequestingPartyIDSource="C", RequestingPartyRole="1"
            )
        ],
    )  # fmt: skip


def list_ids(ident: int, *ids: int) -> m.PartyDetailsListRequest537:
    return m.PartyDetailsListRequest537(
        PartyDetailsListReqID=ident, SendingTimeEpoch=0, SeqNum=0,
        NoPartyIDs=[
            m.PartyDetailsListRequest537_NoPartyIDs(PartyID=i, PartyIDSource="C", PartyRole=1)
            for i in ids
        ],
    )  # fmt: skip


async def answer(c: ILink3Client, request: MessageBase) -> ev.BusinessMessage:
    c.send(request)
    return await c.next_business()


async def reports(c: ILink3Client, request: m.PartyDetailsListRequest537) -> list[MessageBase]:
    """Every PartyDetailsListReport538 answering ``request`` (up to LastFragment), or the
    BusinessReject521 refusing it."""
    c.send(request)
    out: list[MessageBase] = []
    while True:
        got = (await c.next_business()).message
        out.append(got)
        if not isinstance(got, m.PartyDetailsListReport538) or got.LastFragment:
            return out


def rejected(got: MessageBase, reason: int) -> m.BusinessReject521:
    assert isinstance(got, m.BusinessReject521), got
    assert got.BusinessRejectReason == reason, got.Text
    return got


async def test_I301_I302_I303_a_definition_request_is_acknowledged_on_its_own_session(
    oesgw: Venue,
) -> None:
    c = await oesgw.logon(oesgw.oesgw)
    seq = c.send(definition_request(definition(11)))
    got = await c.next_business()
    ack = got.message
    assert isinstance(ack, m.PartyDetailsDefinitionRequestAck519)
    assert (got.seq_no, got.uuid, ack.SeqNum, ack.UUID) == (1, c.uuid, 1, c.uuid)
    assert ack.PossRetransFlag is m.BooleanFlag.False_
    assert (ack.PartyDetailRequestStatus, ack.PartyDetailDefinitionStatus) == (0, 0)  # accepted
    assert ack.ListUpdateAction is m.ListUpdAct.Add and ack.PartyDetailsListReqID == 11
    assert ack.Memo == "desk 4" and ack.SelfMatchPreventionID == 4242
    assert ack.SelfMatchPreventionInstruction is m.SMPI.CancelOldest
    assert ack.ClearingAccountType is m.ClearingAcctType.Firm
    assert ack.CustOrderHandlingInst is m.CustOrdHandlInst.ClientElectronic
    assert [(p.PartyDetailID, p.PartyDetailRole) for p in ack.NoPartyDetails] == [
        ("007", R.ExecutingFirm),
        ("JSMITH", R.Operator),
        ("ACCT11", R.CustomerAccount),
    ]
    assert ack.SendingTimeEpoch > 0 and seq == 1
    assert oesgw.oesgw.registry.known("007", 11, oesgw.clock())  # what an MSGW will ask
    await c.terminate()


async def test_I304_a_list_request_reports_the_sessions_own_firm_only(oesgw: Venue) -> None:
    a = await oesgw.logon(oesgw.oesgw)
    b = await oesgw.logon(oesgw.oesgw, "042")
    for ident in (12, 11):
        assert isinstance(
            (await answer(a, definition_request(definition(ident)))).message,
            m.PartyDetailsDefinitionRequestAck519,
        )
    for ident in (11, 50):  # the other firm uses id 11 too: ids are per firm
        ack = (await answer(b, definition_request(definition(ident, "042", memo="B")))).message
        assert isinstance(ack, m.PartyDetailsDefinitionRequestAck519)
    got = await reports(a, list_all(900, "007"))
    assert all(isinstance(r, m.PartyDetailsListReport538) for r in got)
    assert [(r.PartyDetailsListReqID, r.TotNumParties, r.LastFragment) for r in got] == [  # type: ignore[attr-defined]
        (11, 2, m.BooleanFlag.False_),
        (12, 2, m.BooleanFlag.True_),
    ]
    for r in got:
        assert isinstance(r, m.PartyDetailsListReport538)
        assert r.PartyDetailsListReportID == 900 and r.RequestResult is m.ReqResult.ValidRequest
        assert r.NoPartyDetails[0].PartyDetailID == "007"  # A's definitions, not B's id 11
    (only,) = await reports(b, list_ids(901, 11))
    assert isinstance(only, m.PartyDetailsListReport538)
    assert only.NoPartyDetails[0].PartyDetailID == "042" and only.TotNumParties == 1
    await a.terminate()
    await b.terminate()


async def test_I308_another_firm_can_neither_list_nor_delete_a_definition(oesgw: Venue) -> None:
    a = await oesgw.logon(oesgw.oesgw)
    b = await oesgw.logon(oesgw.oesgw, "042")
    await answer(a, definition_request(definition(12)))
    rej = rejected((await answer(b, list_ids(700, 12))).message, 6)
    assert (rej.RefMsgType, rej.RefTagID, rej.BusinessRejectRefID) == ("CF", 448, 700)
    rejected((await answer(b, list_all(701, "007"))).message, 6)  # RequestingPartyID of A
    rej = rejected((await answer(b, delete(12))).message, 6)
    assert (rej.RefMsgType, rej.RefTagID, rej.PartyDetailsListReqID) == ("CX", 1505, 12)
    # nor register a definition in A's name (Executing Firm 007 from firm 042)
    rejected((await answer(b, definition_request(definition(13, "007")))).message, 6)
    (still,) = await reports(a, list_ids(702, 12))
    assert isinstance(still, m.PartyDetailsListReport538) and still.PartyDetailsListReqID == 12
    ack = (await answer(a, delete(12))).message  # the owner can delete it
    assert isinstance(ack, m.PartyDetailsDefinitionRequestAck519)
    assert ack.ListUpdateAction is m.ListUpdAct.Delete
    rejected((await answer(a, list_ids(703, 12))).message, 1)  # gone: Unknown ID
    await a.terminate()
    await b.terminate()


async def test_I305_a_reused_id_is_rejected_108(oesgw: Venue) -> None:
    c = await oesgw.logon(oesgw.oesgw)
    await answer(c, definition_request(definition(11)))
    seq = c.send(definition_request(definition(11, memo="again")))
    rej = rejected((await c.next_business()).message, 108)
    assert (rej.RefSeqNum, rej.RefTagID, rej.BusinessRejectRefID) == (seq, 1505, 11)
    (kept,) = await reports(c, list_ids(900, 11))
    assert isinstance(kept, m.PartyDetailsListReport538) and kept.SelfMatchPreventionID == 4242
    await c.terminate()


async def test_I305_an_order_on_the_oesgw_is_rejected_3(oesgw: Venue) -> None:
    c = await oesgw.logon(oesgw.oesgw)
    seq = c.send(order("O1"))
    rej = rejected((await c.next_business()).message, 3)  # Unsupported Message Type
    assert (rej.RefMsgType, rej.RefSeqNum, rej.SenderID) == ("D", seq, "TRADER1")
    assert c.machine.next_out == 2  # the session goes on
    ack = (await answer(c, definition_request(definition(11)))).message
    assert isinstance(ack, m.PartyDetailsDefinitionRequestAck519)
    await c.terminate()


async def test_I307_the_oesgw_has_its_own_uuid_and_sequence_numbers(oesgw: Venue) -> None:
    """The same session (ABC/007) on segment 84 and on the OESGW: two independent streams."""
    uuid = oesgw.clock() // 1000
    msgw = await oesgw.logon(oesgw.msgw, uuid=uuid + 1_000)
    for i in range(3):
        msgw.send(order(f"O{i}"))
        assert (await msgw.next_business()).seq_no == i + 1
    # a smaller UUID than the one in use on segment 84: the OESGW's UUID rules are its own
    svc = await oesgw.logon(oesgw.oesgw, uuid=uuid)
    assert svc.machine.next_in == 1 and svc.machine.next_out == 1
    got = await answer(svc, definition_request(definition(11)))
    assert (got.seq_no, got.uuid) == (1, uuid)
    msgw.send(order("O3"))
    assert (await msgw.next_business()).seq_no == 4  # the segment's stream did not move
    stream = oesgw.oesgw.book.journal_stream(("ABC", "007"))
    assert stream.endswith(f"/{OESGW_SEGMENT}") and stream != oesgw.msgw.book.journal_stream(
        ("ABC", "007")
    )
    assert oesgw.journal.last_seq(stream, uuid) == 1
    assert oesgw.journal.last_seq(oesgw.msgw.book.journal_stream(("ABC", "007")), uuid + 1_000) == 4
    await svc.terminate()
    # a new OESGW session for the customer: its PreviousSeqNo is the OESGW stream's, not 84's
    again = oesgw.client(uuid=uuid + 1)
    assert oesgw.oesgw.address is not None
    await again.connect(*oesgw.oesgw.address)
    est = await again.logon()
    assert (est.ack.PreviousUUID, est.ack.PreviousSeqNo) == (uuid, 1)
    await again.terminate()
    await msgw.terminate()


async def test_I306_the_oesgw_stream_is_recoverable_with_the_same_uuid(oesgw: Venue) -> None:
    c = await oesgw.logon(oesgw.oesgw)
    await answer(c, definition_request(definition(11)))
    await answer(c, definition_request(definition(12)))
    await reports(c, list_all(900, "007"))  # seq 3 and 4
    await c.terminate()
    # the customer lost its state: re-binds the UUID (no Negotiate) expecting seq 1 again
    back = oesgw.client(uuid=c.uuid)
    assert oesgw.oesgw.address is not None
    await back.connect(*oesgw.oesgw.address)
    est = await back.logon(negotiate=False, next_seq_no=c.machine.next_out, expected_seq_no=1)
    assert est.ack.NextSeqNo == 5
    replay = [await back.next_business() for _ in range(4)]  # the client's own RetransmitRequest
    assert [(g.seq_no, g.uuid, g.possible_retransmission) for g in replay] == [
        (i, c.uuid, True) for i in (1, 2, 3, 4)
    ]
    kinds = [type(g.message) for g in replay]
    assert kinds == [m.PartyDetailsDefinitionRequestAck519] * 2 + [m.PartyDetailsListReport538] * 2
    assert all(g.message.PossRetransFlag is m.BooleanFlag.True_ for g in replay)  # type: ignore[attr-defined]
    first = replay[0].message
    assert isinstance(first, m.PartyDetailsDefinitionRequestAck519)
    assert first.PartyDetailsListReqID == 11
    await back.terminate()


async def test_I306_an_earlier_oesgw_uuid_is_recoverable_from_a_new_one(oesgw: Venue) -> None:
    c = await oesgw.logon(oesgw.oesgw)
    await answer(c, definition_request(definition(11)))
    await c.terminate()
    fresh = await oesgw.logon(oesgw.oesgw, uuid=c.uuid + 1)
    fresh.machine.request_retransmission(oesgw.clock(), from_seq_no=1, count=1, last_uuid=c.uuid)
    fresh._flush()
    got = await fresh.next_business()
    assert (got.seq_no, got.uuid, got.possible_retransmission) == (1, c.uuid, True)
    assert isinstance(got.message, m.PartyDetailsDefinitionRequestAck519)
    await fresh.terminate()


async def test_I301_orders_must_name_party_details_registered_on_the_oesgw(
    oesgw: Venue,
) -> None:
    # the segment's gateway checks each order's PartyDetailsListReqID against the registry
    oesgw.msgw.handler = EngineOrderHandler(MatchingEngine(), party_details=oesgw.oesgw.registry)
    trader = await oesgw.logon(oesgw.msgw)
    trader.send(order("N1"))  # PartyDetailsListReqID=1, not registered
    refused = (await trader.next_business()).message
    assert isinstance(refused, m.BusinessReject521)
    assert refused.BusinessRejectReason == 1 and refused.PartyDetailsListReqID == 1
    admin = await oesgw.logon(oesgw.oesgw)
    admin.send(definition_request(definition(1)))
    assert isinstance((await admin.next_business()).message, m.PartyDetailsDefinitionRequestAck519)
    trader.send(order("N2"))
    assert isinstance((await trader.next_business()).message, m.ExecutionReportNew522)
    # another firm's registration does not count for this one
    other = await oesgw.logon(oesgw.msgw, firm="042")
    other.send(order("N3"))
    assert (await other.next_business()).message.BusinessRejectReason == 1  # type: ignore[attr-defined]
    for c in (trader, admin, other):
        c.close()
