"""Party Details registry and handler, without sockets (seed 004 "Order Entry Service Gateway").

The registry is pure: every test drives it with explicit ``now`` values. Rejections are checked
by BusinessRejectReason (380) and RefTagID (371), the numbers the customer sees.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropcopy.ilink3 import messages as m
from dropcopy.sbe.runtime import MessageBase
from dropcopy.venue.calendar import Calendar
from dropcopy.venue.orderentry.party import (
    PartyDetail,
    PartyDetailsDefinition,
    PartyDetailsHandler,
    PartyDetailsRegistry,
    PartyRejectReason,
    Refusal,
    TrdRegPublication,
    definition_ack,
    definition_from_request,
    definition_request,
    list_reports,
)

NOW = 1_700_000_000_000_000_000  # Tuesday 2023-11-14, mid-week
DAY = 86_400 * 10**9
FIRM_A, FIRM_B = "007", "ABC12"
OWNER_A, OWNER_B = ("S01", FIRM_A), ("S02", FIRM_B)
R = m.PartyDetailRole


def definition(ident: int, firm: str = FIRM_A, **kw: object) -> PartyDetailsDefinition:
    base = PartyDetailsDefinition(
        party_details_list_req_id=ident,
        parties=(
            PartyDetail(firm, R.ExecutingFirm),
            PartyDetail("JSMITH", R.Operator),
            PartyDetail(f"ACCT{ident}", R.CustomerAccount),
        ),
        memo="desk 4",
        avg_px_group_id="APG1",
        self_match_prevention_id=777,
        self_match_prevention_instruction=m.SMPI.CancelNewest,
        cust_order_capacity=m.CustOrderCapacity.Allother,
        clearing_account_type=m.ClearingAcctType.Customer,
        avg_px_indicator=m.AvgPxInd.NoAveragePricing,
        clearing_trade_price_type=m.SLEDS.TradeClearingatExecutionPrice,
        cust_order_handling_inst=m.CustOrdHandlInst.AlgoEngine,
        executor=12,
        idm_short_code=34,
        trd_reg_publications=(TrdRegPublication(2, 12),),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def refused(result: object, reason: int, tag: int | None = None) -> None:
    assert isinstance(result, Refusal), result
    assert result.reason == reason, result
    if tag is not None:
        assert result.ref_tag_id == tag, result


def wire(msg: MessageBase) -> MessageBase:
    """``msg`` as the other side decodes it."""
    return m.decode(msg.encode())


# ------------------------------------------------------------------------------------- registry


def test_I303_a_definition_is_registered_for_its_firm_only() -> None:
    reg = PartyDetailsRegistry()
    d = definition(11)
    assert reg.add(FIRM_A, d, NOW) == d
    assert reg.known(FIRM_A, 11) and reg.known(FIRM_A, 11, NOW)
    assert not reg.known(FIRM_B, 11, NOW)  # seen from another firm, the id does not exist
    assert reg.get(FIRM_A, 11) == d and reg.get(FIRM_B, 11) is None
    assert reg.definitions(FIRM_A, NOW) == (d,) and reg.definitions(FIRM_B, NOW) == ()


def test_I305_reusing_an_id_of_the_firm_is_reason_108() -> None:
    reg = PartyDetailsRegistry()
    reg.add(FIRM_A, definition(11), NOW)
    refused(reg.add(FIRM_A, definition(11, memo="other"), NOW + 1), 108, 1505)
    assert reg.get(FIRM_A, 11) == definition(11)  # the first stays


def test_each_firm_has_its_own_id_space() -> None:
    reg = PartyDetailsRegistry()
    a, b = definition(1, FIRM_A), definition(1, FIRM_B, memo="B's")
    assert reg.add(FIRM_A, a, NOW) == a
    assert reg.add(FIRM_B, b, NOW) == b  # not 108: ids are per firm
    assert reg.get(FIRM_A, 1) == a and reg.get(FIRM_B, 1) == b
    assert reg.delete(FIRM_B, 1, NOW) == b
    assert reg.known(FIRM_A, 1, NOW) and not reg.known(FIRM_B, 1, NOW)


def test_I308_another_firm_cannot_delete_or_recover_a_definition() -> None:
    reg = PartyDetailsRegistry()
    reg.add(FIRM_A, definition(11), NOW)
    refused(reg.delete(FIRM_B, 11, NOW), PartyRejectReason.NOT_AUTHORIZED, 1505)
    refused(reg.lookup(FIRM_B, [11], NOW), PartyRejectReason.NOT_AUTHORIZED, 448)
    assert reg.known(FIRM_A, 11, NOW)  # untouched


def test_I308_the_executing_firm_must_be_the_sessions_firm() -> None:
    reg = PartyDetailsRegistry()
    refused(reg.add(FIRM_B, definition(11, FIRM_A), NOW), PartyRejectReason.NOT_AUTHORIZED, 1691)
    assert not reg.known(FIRM_B, 11, NOW) and not reg.known(FIRM_A, 11, NOW)


def test_unknown_ids_are_reason_1() -> None:
    reg = PartyDetailsRegistry()
    refused(reg.delete(FIRM_A, 5, NOW), PartyRejectReason.UNKNOWN_ID, 1505)
    refused(reg.lookup(FIRM_A, [5], NOW), PartyRejectReason.UNKNOWN_ID, 448)


def test_delete_removes_and_the_id_stays_used_until_the_weekly_reset() -> None:
    reg = PartyDetailsRegistry()
    d = definition(11)
    reg.add(FIRM_A, d, NOW)
    assert reg.delete(FIRM_A, 11, NOW + 1) == d
    assert not reg.known(FIRM_A, 11, NOW + 1)
    refused(reg.delete(FIRM_A, 11, NOW + 2), PartyRejectReason.UNKNOWN_ID)
    refused(reg.add(FIRM_A, d, NOW + 3), 108, 1505)  # a deleted id keeps its meaning all week
    next_week = Calendar().week_start(NOW) + 7 * DAY + 1
    assert reg.add(FIRM_A, d, next_week) == d


def test_definitions_are_forgotten_at_the_weekly_startup() -> None:
    # CME: "Party Detail Definitions are valid only for the week and must be resubmitted at the
    # start of each week on Sunday" (the weekly reset of seed 004, Sunday 16:00 Chicago)
    reg = PartyDetailsRegistry()
    reg.add(FIRM_A, definition(11), NOW)
    startup = Calendar().week_start(NOW) + 7 * DAY
    assert reg.known(FIRM_A, 11, startup - 1)
    assert not reg.known(FIRM_A, 11, startup)
    assert reg.definitions(FIRM_A, startup + 1) == ()


def test_lookup_keeps_the_order_asked_and_refuses_duplicates() -> None:
    reg = PartyDetailsRegistry()
    for i in (3, 1, 2):
        reg.add(FIRM_A, definition(i), NOW)
    found = reg.lookup(FIRM_A, [2, 3], NOW)
    assert not isinstance(found, Refusal)
    assert [d.party_details_list_req_id for d in found] == [2, 3]
    refused(reg.lookup(FIRM_A, [2, 2], NOW), PartyRejectReason.DUPLICATE_GROUP_ENTRY, 448)
    assert [d.party_details_list_req_id for d in reg.definitions(FIRM_A)] == [1, 2, 3]


def test_the_firm_limit_is_reason_111() -> None:
    reg = PartyDetailsRegistry(max_per_firm=2)
    reg.add(FIRM_A, definition(1), NOW)
    reg.add(FIRM_A, definition(2), NOW)
    refused(reg.add(FIRM_A, definition(3), NOW), PartyRejectReason.TOO_MANY_DEFINITIONS)
    assert reg.add(FIRM_B, definition(3, FIRM_B), NOW) == definition(3, FIRM_B)


@pytest.mark.parametrize(
    ("change", "reason", "tag"),
    [
        ({"party_details_list_req_id": 0}, 100, 1505),
        ({"parties": (PartyDetail(FIRM_A, R.ExecutingFirm),)}, 5, 1693),  # no operator
        ({"parties": (PartyDetail("JSMITH", R.Operator),)}, 5, 1693),  # no executing firm
        (
            {
                "parties": (
                    PartyDetail(FIRM_A, R.ExecutingFirm),
                    PartyDetail("JSMITH", R.Operator),
                    PartyDetail("OTHER", R.Operator),
                )
            },
            110,
            1693,
        ),
        (
            {"parties": (PartyDetail(FIRM_A, R.ExecutingFirm), PartyDetail("", R.Operator))},
            5,
            1691,
        ),
        (
            {"parties": (PartyDetail(FIRM_A, R.ExecutingFirm), PartyDetail("J\x01", R.Operator))},
            101,
            1691,
        ),
        ({"memo": "tab\there"}, 101, 5149),
        ({"avg_px_group_id": "caf\xe9"}, 101, 1731),
        ({"trd_reg_publications": (TrdRegPublication(2, 12), TrdRegPublication(2, 1))}, 100, 2668),
        ({"cmta_giveup_cd": m.CmtaGiveUpCD.GiveUp}, 5, 1693),  # a give-up needs a take-up firm
    ],
)
def test_I305_invalid_definitions_are_refused_with_their_code(
    change: dict[str, object], reason: int, tag: int
) -> None:
    reg = PartyDetailsRegistry()
    refused(reg.add(FIRM_A, replace(definition(11), **change), NOW), reason, tag)  # type: ignore[arg-type]
    assert not reg.known(FIRM_A, 11, NOW)


def test_a_give_up_with_a_take_up_firm_is_accepted() -> None:
    reg = PartyDetailsRegistry()
    d = definition(
        11,
        cmta_giveup_cd=m.CmtaGiveUpCD.GiveUp,
        parties=(
            PartyDetail(FIRM_A, R.ExecutingFirm),
            PartyDetail("JSMITH", R.Operator),
            PartyDetail("CLR", R.TakeUpFirm),
            PartyDetail("T-ACC", R.TakeUpAccount),
        ),
    )
    assert reg.add(FIRM_A, d, NOW) == d


def test_required_roles_are_configurable() -> None:
    reg = PartyDetailsRegistry(required_roles={R.ExecutingFirm, R.Operator, R.CustomerAccount})
    refused(
        reg.add(
            FIRM_A,
            definition(
                1, parties=(PartyDetail(FIRM_A, R.ExecutingFirm), PartyDetail("J", R.Operator))
            ),
            NOW,
        ),
        5,
        1693,
    )
    assert reg.add(FIRM_A, definition(2), NOW) == definition(2)


# ----------------------------------------------------------------------- the model, randomised

FIRMS = (FIRM_A, FIRM_B)
OPS = st.lists(
    st.tuples(
        st.sampled_from(("add", "delete", "lookup")), st.sampled_from(FIRMS), st.integers(1, 4)
    ),
    max_size=40,
)


@given(OPS)
@settings(max_examples=200, deadline=None)
def test_I308_registry_agrees_with_a_simple_model(ops: list[tuple[str, str, int]]) -> None:
    """Random add/delete/lookup from two firms over a few ids: every answer is the one a plain
    model predicts (108 reuse, 1 unknown, 6 another firm's), and no firm ever sees another's."""
    reg = PartyDetailsRegistry()
    live: dict[str, set[int]] = {f: set() for f in FIRMS}
    used: dict[str, set[int]] = {f: set() for f in FIRMS}
    for step, (op, firm, ident) in enumerate(ops):
        now = NOW + step
        other = FIRM_B if firm == FIRM_A else FIRM_A
        if op == "add":
            got = reg.add(firm, definition(ident, firm), now)
            if ident in used[firm]:
                refused(got, 108)
            else:
                assert got == definition(ident, firm)
                live[firm].add(ident)
                used[firm].add(ident)
        else:
            got2 = (
                reg.delete(firm, ident, now) if op == "delete" else reg.lookup(firm, [ident], now)
            )
            if ident in live[firm]:
                assert not isinstance(got2, Refusal)
                if op == "delete":
                    live[firm].discard(ident)
            elif ident in live[other]:
                refused(got2, PartyRejectReason.NOT_AUTHORIZED)
            else:
                refused(got2, PartyRejectReason.UNKNOWN_ID)
        for f in FIRMS:
            assert {d.party_details_list_req_id for d in reg.definitions(f)} == live[f]
            for i in range(1, 5):
                assert reg.known(f, i) == (i in live[f])
            # a firm's definitions name the firm itself as executing firm: nothing leaked
            assert all(d.party(R.ExecutingFirm) == f for d in reg.definitions(f))


_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=20)


def _opt(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | strategy


DEFINITIONS = st.builds(
    PartyDetailsDefinition,
    party_details_list_req_id=st.integers(1, 2**64 - 1),
    parties=st.lists(st.sampled_from(list(R)), unique=True, max_size=5).flatmap(
        lambda roles: st.tuples(*[st.builds(PartyDetail, _text, st.just(r)) for r in roles])
    ),
    memo=_opt(st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=75)),
    avg_px_group_id=_opt(_text),
    self_match_prevention_id=_opt(st.integers(0, 2**64 - 2)),
    self_match_prevention_instruction=_opt(st.sampled_from(list(m.SMPI))),
    cmta_giveup_cd=_opt(st.sampled_from(list(m.CmtaGiveUpCD))),
    cust_order_capacity=_opt(st.sampled_from(list(m.CustOrderCapacity))),
    clearing_account_type=_opt(st.sampled_from(list(m.ClearingAcctType))),
    avg_px_indicator=_opt(st.sampled_from(list(m.AvgPxInd))),
    clearing_trade_price_type=_opt(st.sampled_from(list(m.SLEDS))),
    cust_order_handling_inst=_opt(st.sampled_from(list(m.CustOrdHandlInst))),
    executor=_opt(st.integers(0, 2**64 - 2)),
    idm_short_code=_opt(st.integers(0, 2**64 - 2)),
    trd_reg_publications=st.lists(
        st.builds(TrdRegPublication, st.integers(0, 255), st.integers(0, 255)), max_size=1
    ).map(tuple),
)


@given(DEFINITIONS)
@settings(max_examples=200, deadline=None)
def test_a_definition_survives_the_wire_into_the_ack_and_the_report(
    d: PartyDetailsDefinition,
) -> None:
    """518 -> definition is lossless; the 519 and 538 echo every field the template has."""
    request = wire(definition_request(d, seq_num=9, now=NOW))
    assert isinstance(request, m.PartyDetailsDefinitionRequest518)
    assert definition_from_request(request) == d
    ack = wire(definition_ack(d, m.ListUpdAct.Add, NOW))
    assert isinstance(ack, m.PartyDetailsDefinitionRequestAck519)
    (report,) = (wire(r) for r in list_reports([d], 5, NOW))
    assert isinstance(report, m.PartyDetailsListReport538)
    for echo in (ack, report):
        assert echo.PartyDetailsListReqID == d.party_details_list_req_id
        assert echo.AvgPxGroupID == d.avg_px_group_id
        assert echo.SelfMatchPreventionID == d.self_match_prevention_id
        assert echo.SelfMatchPreventionInstruction == d.self_match_prevention_instruction
        assert echo.CmtaGiveupCD == d.cmta_giveup_cd
        assert echo.CustOrderCapacity == d.cust_order_capacity
        assert echo.ClearingAccountType == d.clearing_account_type
        assert echo.AvgPxIndicator == d.avg_px_indicator
        assert echo.ClearingTradePriceType == d.clearing_trade_price_type
        assert echo.CustOrderHandlingInst == d.cust_order_handling_inst
        assert echo.Executor == d.executor and echo.IDMShortCode == d.idm_short_code
        assert [(p.PartyDetailID, p.PartyDetailRole) for p in echo.NoPartyDetails] == [
            (p.party_detail_id, p.role) for p in d.parties
        ]
        assert [
            (t.TrdRegPublicationType, t.TrdRegPublicationReason) for t in echo.NoTrdRegPublications
        ] == [(t.type, t.reason) for t in d.trd_reg_publications]
    assert ack.Memo == d.memo  # the 538 has no Memo field


# -------------------------------------------------------------------------------------- handler


def handle(h: PartyDetailsHandler, owner: tuple[str, str], msg: MessageBase) -> list[MessageBase]:
    out = h.on_business(owner, 255, wire(msg), NOW)
    assert all(o == owner for o, _ in out)  # answers go to the requester only
    return [wire(x) for _, x in out]


def reject(out: list[MessageBase], reason: int, tag: int | None = None) -> m.BusinessReject521:
    (rej,) = out
    assert isinstance(rej, m.BusinessReject521), rej
    assert rej.BusinessRejectReason == reason, rej.Text
    assert rej.RefTagID == tag, rej.Text
    return rej


def list_request(
    ident: int = 900,
    *,
    firm: str | None = None,
    ids: tuple[int, ...] = (),
    source: str = "C",
    role: str = "1",
    id_source: str = "C",
    requesting: int = 1,
) -> m.PartyDetailsListRequest537:
    return m.PartyDetailsListRequest537(
        PartyDetailsListReqID=ident,
        SendingTimeEpoch=NOW,
        SeqNum=4,
        NoRequestingPartyIDs=[
            m.PartyDetailsListRequest537_NoRequestingPartyIDs(
                RequestingPartyID=firm, RequestingPartyIDSource=source, RequestingPartyRole=role
            )
            for _ in range(requesting if firm is not None else 0)
        ],
        NoPartyIDs=[
            m.PartyDetailsListRequest537_NoPartyIDs(PartyID=i, PartyIDSource=id_source, PartyRole=1)
            for i in ids
        ],
    )


def test_I303_a_definition_request_is_acknowledged_with_the_definition() -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    (ack,) = handle(h, OWNER_A, definition_request(definition(11), seq_num=3, now=NOW))
    assert isinstance(ack, m.PartyDetailsDefinitionRequestAck519)
    assert ack.PartyDetailRequestStatus == 0 and ack.PartyDetailDefinitionStatus == 0
    assert ack.ListUpdateAction is m.ListUpdAct.Add and ack.PartyDetailsListReqID == 11
    assert ack.Memo == "desk 4" and ack.SelfMatchPreventionID == 777
    assert (ack.SeqNum, ack.UUID, ack.PossRetransFlag) == (0, 0, m.BooleanFlag.False_)
    assert h.registry.known(FIRM_A, 11, NOW)


def test_I305_a_reused_id_is_rejected_108_with_the_references() -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    handle(h, OWNER_A, definition_request(definition(11)))
    rej = reject(handle(h, OWNER_A, definition_request(definition(11), seq_num=7)), 108, 1505)
    assert (rej.RefSeqNum, rej.RefMsgType, rej.BusinessRejectRefID) == (7, "CX", 11)
    assert rej.PartyDetailsListReqID == 11


def test_a_delete_is_acknowledged_with_what_was_deleted() -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    handle(h, OWNER_A, definition_request(definition(11)))
    bare = PartyDetailsDefinition(11)  # a delete names the id only
    (ack,) = handle(h, OWNER_A, definition_request(bare, action=m.ListUpdAct.Delete))
    assert isinstance(ack, m.PartyDetailsDefinitionRequestAck519)
    assert ack.ListUpdateAction is m.ListUpdAct.Delete and ack.Memo == "desk 4"
    assert len(ack.NoPartyDetails) == 3
    assert not h.registry.known(FIRM_A, 11, NOW)


def test_I308_handler_refuses_another_firms_delete_with_6() -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    handle(h, OWNER_A, definition_request(definition(11)))
    delete = definition_request(PartyDetailsDefinition(11), action=m.ListUpdAct.Delete)
    reject(handle(h, OWNER_B, delete), 6, 1505)
    reject(
        handle(
            h, OWNER_B, definition_request(PartyDetailsDefinition(12), action=m.ListUpdAct.Delete)
        ),
        1,
        1505,
    )
    assert h.registry.known(FIRM_A, 11, NOW)


def test_values_outside_the_schema_enums_are_reason_115() -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    ok = definition_request(definition(11))
    bad_action = m.PartyDetailsDefinitionRequest518(
        PartyDetailsListReqID=11, SendingTimeEpoch=NOW, ListUpdateAction="M", SeqNum=1
    )
    reject(handle(h, OWNER_A, bad_action), 115, 1324)
    bad_capacity = m.PartyDetailsDefinitionRequest518(
        PartyDetailsListReqID=11, SendingTimeEpoch=NOW, ListUpdateAction="A", SeqNum=1,
        CustOrderCapacity=9, NoPartyDetails=ok.NoPartyDetails,
    )  # fmt: skip
    reject(handle(h, OWNER_A, bad_capacity), 115, 582)
    bad_role = m.PartyDetailsDefinitionRequest518(
        PartyDetailsListReqID=11, SendingTimeEpoch=NOW, ListUpdateAction="A", SeqNum=1,
        NoPartyDetails=[m.PartyDetailsDefinitionRequest518_NoPartyDetails(PartyDetailID="X", PartyDetailRole=7)],
    )  # fmt: skip
    reject(handle(h, OWNER_A, bad_role), 115, 1693)
    assert not h.registry.known(FIRM_A, 11, NOW)
    assert isinstance(handle(h, OWNER_A, ok)[0], m.PartyDetailsDefinitionRequestAck519)


def test_I304_a_list_request_for_the_firm_reports_each_definition() -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    for i in (12, 11, 13):
        handle(h, OWNER_A, definition_request(definition(i)))
    handle(h, OWNER_B, definition_request(definition(50, FIRM_B)))
    out = handle(h, OWNER_A, list_request(900, firm=FIRM_A))
    assert all(isinstance(r, m.PartyDetailsListReport538) for r in out)
    reports = [r for r in out if isinstance(r, m.PartyDetailsListReport538)]
    assert [r.PartyDetailsListReqID for r in reports] == [11, 12, 13]  # not B's 50
    assert {r.PartyDetailsListReportID for r in reports} == {900}
    assert {r.TotNumParties for r in reports} == {3}
    assert [r.LastFragment for r in reports] == [m.BooleanFlag.False_] * 2 + [m.BooleanFlag.True_]
    assert {r.RequestResult for r in reports} == {m.ReqResult.ValidRequest}


def test_I304_a_list_of_specific_ids_in_the_order_asked() -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    for i in (11, 12, 13):
        handle(h, OWNER_A, definition_request(definition(i)))
    out = handle(h, OWNER_A, list_request(ids=(13, 11)))
    assert [r.PartyDetailsListReqID for r in out] == [13, 11]  # type: ignore[attr-defined]
    assert [r.TotNumParties for r in out] == [2, 2]  # type: ignore[attr-defined]


def test_a_firm_without_definitions_gets_one_no_data_report() -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    (r,) = handle(h, OWNER_A, list_request(firm=FIRM_A))
    assert isinstance(r, m.PartyDetailsListReport538)
    assert r.RequestResult is m.ReqResult.NoDataFoundThatMatchedSelectionCriteria
    assert (r.TotNumParties, r.LastFragment, r.PartyDetailsListReqID) == (0, m.BooleanFlag.True_, 0)


@pytest.mark.parametrize(
    ("request_", "reason", "tag"),
    [
        (list_request(firm=FIRM_B), 6, 1658),  # I-308: another firm's definitions
        (list_request(ids=(11, 50)), 6, 448),  # B's id 50 among A's own
        (list_request(ids=(11, 99)), 1, 448),
        (list_request(ids=(11, 11)), 110, 448),
        (list_request(), 127, None),
        (list_request(firm=FIRM_A, ids=(11,)), 128, None),
        (list_request(firm=FIRM_A, requesting=2), 118, 1657),
        (list_request(firm=FIRM_A, source="D"), 100, 1659),
        (list_request(firm=FIRM_A, role="7"), 100, 1660),
        (list_request(ids=(11,), id_source="D"), 100, 447),
        (list_request(ids=tuple(range(1000, 1176))), 100, 453),
    ],
)
def test_I305_list_requests_that_cannot_be_honoured(
    request_: m.PartyDetailsListRequest537, reason: int, tag: int | None
) -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    handle(h, OWNER_A, definition_request(definition(11)))
    handle(h, OWNER_B, definition_request(definition(50, FIRM_B)))
    rej = reject(handle(h, OWNER_A, request_), reason, tag)
    assert (rej.RefMsgType, rej.RefSeqNum, rej.BusinessRejectRefID) == ("CF", 4, 900)


def test_I305_any_other_template_is_unsupported_reason_3() -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    order = m.NewOrderSingle514(
        Price="4512.25", OrderQty=2, SecurityID=204527, Side=m.SideReq.Buy, SeqNum=5, SenderID="trader1",
        ClOrdID="O1", PartyDetailsListReqID=11, OrderRequestID=1, SendingTimeEpoch=0, Location="US,IL",
        OrdType=m.OrderTypeReq.Limit, ManualOrderIndicator=m.ManualOrdIndReq.Manual,
    )  # fmt: skip
    rej = reject(handle(h, OWNER_A, order), 3)
    assert (rej.RefMsgType, rej.RefSeqNum, rej.SenderID, rej.Location) == (
        "D",
        5,
        "TRADER1",
        "US,IL",
    )
    assert rej.ManualOrderIndicator == m.ManualOrdInd.Manual and rej.PartyDetailsListReqID == 11


def test_disconnects_cancel_nothing() -> None:
    h = PartyDetailsHandler(PartyDetailsRegistry())
    handle(h, OWNER_A, definition_request(definition(11)))
    assert h.on_disconnect(OWNER_A, 255, False, NOW) == []
    assert h.registry.known(FIRM_A, 11, NOW)  # definitions live for the week, not the connection
