"""Party Details: the pre-registered administrative information the OESGW keeps per firm.

Theory of operation
-------------------
Seed 004 "Order Entry Service Gateway": the Party Details Definition and Party Details List
functionality is handled by the Order Entry Service Gateway (I-301). A customer registers a
*definition* — its executing firm, operator, accounts, clearing instructions, self-match
parameters — under a PartyDetailsListReqID (tag 1505) with PartyDetailsDefinitionRequest518;
later business messages on the Market Segment Gateways name it by that id instead of carrying
the details. The OESGW confirms a request with PartyDetailsDefinitionRequestAck519 (I-303) or
answers a Party Details List Request537 with PartyDetailsListReport538s (I-304); a request that
cannot be honoured gets a BusinessReject521 (I-305). Only the firm of the FIXP session can
create and recover the definitions that belong to it (I-308).

Two layers, both pure and deterministic (no clock, no I/O; every entry point takes ``now``):

* :class:`PartyDetailsRegistry` — the definitions of the current week, per firm:
  ``firm -> PartyDetailsListReqID -> PartyDetailsDefinition``. Each firm has its own id space
  (two firms may both use id 1). Validation answers with a :class:`Refusal` carrying the
  BusinessRejectReason (380) and RefTagID (371) of the wire answer, never an exception.
  Definitions are valid for the week they were made in and are forgotten at the weekly start-up
  (Sunday 16:00 Chicago, :class:`~dropcopy.venue.calendar.Calendar`), as CME's are — customers
  register them again each week. :meth:`PartyDetailsRegistry.known` is what a Market Segment
  Gateway asks about an order's PartyDetailsListReqID.
* :class:`PartyDetailsHandler` — the gateway's ``OrderHandler``: 518 -> 519 or 521,
  537 -> 538… or 521, anything else -> 521 reason 3 (Unsupported Message Type). Messages are
  built with SeqNum/UUID/PossRetransFlag 0; the FIXP layer stamps them.

BusinessRejectReason values (CME's list, reference/ilink3-schema-notes.md):

===  ==============================================================  ========================
380  when                                                            RefTagID
===  ==============================================================  ========================
1    delete or list of an id no firm has defined this week            1505 (518) / 448 (537)
3    any template other than 518 and 537                              —
5    a required party role is missing (1 Executing Firm,               1693, or 1691 for an
     118 Operator; 96 Take Up Firm on a give-up), or an empty          empty PartyDetailID
     PartyDetailID
6    the id belongs to another firm; the Executing Firm is not the     1505 / 448 / 1691 / 1658
     session's firm; RequestingPartyID names another firm (I-308)
100  PartyDetailsListReqID 0 (on-demand information goes to the        1505 / 2668 / 453 /
     MSGW); more than one TrdRegPublications entry; more than 175      447 / 1659 / 1660
     PartyIDs; a PartyIDSource / RequestingPartyIDSource other than
     ``C`` or a RequestingPartyRole other than ``1``
101  a text field with characters outside ASCII 32–126                 1691 / 5149 / 1731
108  PartyDetailsListReqID already used by this firm this week          1505
     (deleted ids stay used until the weekly reset)
110  the same party role, or the same PartyID, more than once          1693 / 448
111  more than ``max_per_firm`` (2500) definitions for the firm         1505
115  a value outside the schema's enum (ListUpdateAction, roles,        the field's tag
     CustOrderCapacity, SMPI …)
118  more than one RequestingPartyID                                   1657
127  a list request with neither RequestingPartyID nor PartyIDs        —
128  a list request with both                                          —
===  ==============================================================  ========================

Reason 126 (one in-flight Party Details List Request) cannot arise: the OESGW answers a list
request completely before it reads the next message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, Final, TypeVar

from dropcopy.ilink3 import messages as m
from dropcopy.sbe.runtime import MessageBase
from dropcopy.venue.calendar import Calendar

__all__ = [
    "DEFAULT_REQUIRED_ROLES",
    "MAX_DEFINITIONS_PER_FIRM",
    "MAX_PARTY_IDS",
    "PartyDetail",
    "PartyDetailStatus",
    "PartyDetailsDefinition",
    "PartyDetailsHandler",
    "PartyDetailsRegistry",
    "PartyRejectReason",
    "Refusal",
    "TrdRegPublication",
    "business_reject",
    "definition_ack",
    "definition_from_request",
    "definition_request",
    "list_reports",
]

Owner = tuple[str, str]  # (Session, Firm), as the gateway's OrderHandler protocol has it

NS_PER_DAY = 86_400_000_000_000

#: "There will be a limit of 2500 Party Detail Definition combinations allowed for each FirmID
#: beyond which further submissions will be rejected" (CME iLink 3 Party Details rules).
MAX_DEFINITIONS_PER_FIRM: Final = 2500
#: NoPartyIDs of a Party Details List Request: maxValue=175 (CME's message specification).
MAX_PARTY_IDS: Final = 175
#: Roles a definition must name: the firm it belongs to and the person responsible for it.
DEFAULT_REQUIRED_ROLES: Final = frozenset(
    {m.PartyDetailRole.ExecutingFirm, m.PartyDetailRole.Operator}
)

# tags named in RefTagID
TAG_PARTY_DETAILS_LIST_REQ_ID: Final = 1505
TAG_LIST_UPDATE_ACTION: Final = 1324
TAG_PARTY_DETAIL_ID: Final = 1691
TAG_PARTY_DETAIL_ROLE: Final = 1693
TAG_NO_TRD_REG_PUBLICATIONS: Final = 2668
TAG_MEMO: Final = 5149
TAG_AVG_PX_GROUP_ID: Final = 1731
TAG_NO_REQUESTING_PARTY_IDS: Final = 1657
TAG_REQUESTING_PARTY_ID: Final = 1658
TAG_REQUESTING_PARTY_ID_SOURCE: Final = 1659
TAG_REQUESTING_PARTY_ROLE: Final = 1660
TAG_NO_PARTY_IDS: Final = 453
TAG_PARTY_ID: Final = 448
TAG_PARTY_ID_SOURCE: Final = 447


class PartyRejectReason(IntEnum):
    """BusinessRejectReason (380) values the OESGW uses (CME's list; same numbers as
    :class:`~dropcopy.venue.orderentry.matching.BusinessRejectReason` where both have them)."""

    UNKNOWN_ID = 1
    UNSUPPORTED_MESSAGE_TYPE = 3
    REQUIRED_FIELD_MISSING = 5
    NOT_AUTHORIZED = 6
    VALUE_OUT_OF_RANGE = 100
    INCORRECT_DATA_FORMAT = 101
    PARTY_DETAILS_LIST_REQ_ID_REUSED = 108
    DUPLICATE_GROUP_ENTRY = 110
    TOO_MANY_DEFINITIONS = 111
    ENUM_NOT_SUPPORTED = 115
    TOO_MANY_REQUESTING_PARTY_IDS = 118
    LIST_REQUEST_IN_FLIGHT = 126
    LIST_REQUEST_WITHOUT_IDS = 127
    LIST_REQUEST_WITH_BOTH_IDS = 128


class PartyDetailStatus(IntEnum):
    """PartyDetailRequestStatus (1878) / PartyDetailDefinitionStatus (1879): FIX's values. The
    OESGW only acknowledges what it accepted unchanged; refusals are BusinessReject521."""

    ACCEPTED = 0
    ACCEPTED_WITH_CHANGES = 1
    REJECTED = 2


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request cannot be honoured: the BusinessReject521 it becomes (I-305). (Not a
    tuple, so it cannot be mistaken for :meth:`PartyDetailsRegistry.lookup`'s answer.)"""

    reason: PartyRejectReason
    text: str
    ref_tag_id: int | None = None


@dataclass(frozen=True, slots=True)
class PartyDetail:
    """One NoPartyDetails entry: PartyDetailID (1691) in PartyDetailRole (1693)."""

    party_detail_id: str
    role: m.PartyDetailRole


@dataclass(frozen=True, slots=True)
class TrdRegPublication:
    """One NoTrdRegPublications entry (2669/2670)."""

    type: int
    reason: int


@dataclass(frozen=True, slots=True)
class PartyDetailsDefinition:
    """What a PartyDetailsDefinitionRequest518 registers under its PartyDetailsListReqID."""

    party_details_list_req_id: int
    parties: tuple[PartyDetail, ...] = ()
    memo: str | None = None
    avg_px_group_id: str | None = None
    self_match_prevention_id: int | None = None
    self_match_prevention_instruction: m.SMPI | None = None
    cmta_giveup_cd: m.CmtaGiveUpCD | None = None
    cust_order_capacity: m.CustOrderCapacity | None = None
    clearing_account_type: m.ClearingAcctType | None = None
    avg_px_indicator: m.AvgPxInd | None = None
    clearing_trade_price_type: m.SLEDS | None = None
    cust_order_handling_inst: m.CustOrdHandlInst | None = None
    executor: int | None = None
    idm_short_code: int | None = None
    trd_reg_publications: tuple[TrdRegPublication, ...] = ()

    def party(self, role: m.PartyDetailRole) -> str | None:
        """The PartyDetailID registered in ``role``, if any."""
        for p in self.parties:
            if p.role is role:
                return p.party_detail_id
        return None


def _printable(text: str) -> bool:
    return all(32 <= ord(ch) <= 126 for ch in text)


# ------------------------------------------------------------------------------------ registry


class PartyDetailsRegistry:
    """The week's Party Details Definitions, per firm (seed 004 "Order Entry Service Gateway").

    ``required_roles`` are the PartyDetailRoles every definition must name; a give-up
    (CmtaGiveupCD=G) must also name the Take Up Firm. ``max_per_firm`` bounds the definitions a
    firm may register in a week (reason 111).
    """

    def __init__(
        self,
        calendar: Calendar | None = None,
        *,
        max_per_firm: int = MAX_DEFINITIONS_PER_FIRM,
        required_roles: Iterable[m.PartyDetailRole] = DEFAULT_REQUIRED_ROLES,
    ) -> None:
        self.calendar = calendar or Calendar()
        self.max_per_firm = max_per_firm
        self.required_roles = frozenset(required_roles)
        self._defs: dict[str, dict[int, PartyDetailsDefinition]] = {}
        #: ids used this week, deleted or not: never valid for a new definition until the reset
        self._used: dict[str, set[int]] = {}
        self._week = (0, 0)  # [start, next start) of the week the definitions belong to

    # -- the week ----------------------------------------------------------------------------

    def _roll(self, now: int) -> None:
        """Forget every definition when ``now`` is in another week than the stored ones."""
        start, end = self._week
        if start <= now < end:
            return
        start = self.calendar.week_start(now)
        end = self.calendar.week_start(start + 8 * NS_PER_DAY)
        if (start, end) != self._week:
            self._defs.clear()
            self._used.clear()
            self._week = (start, end)

    # -- queries -----------------------------------------------------------------------------

    def known(self, firm: str, party_details_list_req_id: int, now: int | None = None) -> bool:
        """Whether ``firm`` has a definition under this id (this week, when ``now`` is given):
        what a Market Segment Gateway checks on an order's PartyDetailsListReqID."""
        if now is not None:
            self._roll(now)
        return party_details_list_req_id in self._defs.get(firm, {})

    def get(
        self, firm: str, party_details_list_req_id: int, now: int | None = None
    ) -> PartyDetailsDefinition | None:
        """The firm's own definition under this id, if any."""
        if now is not None:
            self._roll(now)
        return self._defs.get(firm, {}).get(party_details_list_req_id)

    def definitions(self, firm: str, now: int | None = None) -> tuple[PartyDetailsDefinition, ...]:
        """The firm's definitions, by ascending PartyDetailsListReqID."""
        if now is not None:
            self._roll(now)
        own = self._defs.get(firm, {})
        return tuple(own[k] for k in sorted(own))

    def firms(self) -> tuple[str, ...]:
        return tuple(sorted(f for f, d in self._defs.items() if d))

    def _owned_elsewhere(self, firm: str, party_details_list_req_id: int) -> bool:
        return any(party_details_list_req_id in defs for f, defs in self._defs.items() if f != firm)

    def _refuse_foreign_or_unknown(self, firm: str, ident: int, tag: int) -> Refusal:
        if self._owned_elsewhere(firm, ident):
            # I-308: only the firm of the session may create or recover its definitions
            return Refusal(
                PartyRejectReason.NOT_AUTHORIZED,
                f"PartyDetailsListReqID {ident} belongs to another firm",
                tag,
            )
        return Refusal(PartyRejectReason.UNKNOWN_ID, f"Unknown PartyDetailsListReqID {ident}", tag)

    def lookup(
        self, firm: str, ids: Sequence[int], now: int
    ) -> tuple[PartyDetailsDefinition, ...] | Refusal:
        """The firm's definitions under ``ids``, in the order asked; the first id that is not the
        firm's refuses the whole request (6 when another firm has it, else 1)."""
        self._roll(now)
        own = self._defs.get(firm, {})
        seen: set[int] = set()
        found: list[PartyDetailsDefinition] = []
        for ident in ids:
            if ident in seen:
                return Refusal(
                    PartyRejectReason.DUPLICATE_GROUP_ENTRY,
                    f"PartyID {ident} requested more than once",
                    TAG_PARTY_ID,
                )
            seen.add(ident)
            d = own.get(ident)
            if d is None:
                return self._refuse_foreign_or_unknown(firm, ident, TAG_PARTY_ID)
            found.append(d)
        return tuple(found)

    # -- validation --------------------------------------------------------------------------

    def validate(self, firm: str, d: PartyDetailsDefinition) -> Refusal | None:
        """The checks a new definition must pass, besides the firm's id space (108, 111)."""
        if d.party_details_list_req_id == 0:
            return Refusal(
                PartyRejectReason.VALUE_OUT_OF_RANGE,
                "PartyDetailsListReqID 0 is for on-demand information sent to the MSGW",
                TAG_PARTY_DETAILS_LIST_REQ_ID,
            )
        roles: set[m.PartyDetailRole] = set()
        for p in d.parties:
            if not isinstance(p.role, m.PartyDetailRole):
                return Refusal(
                    PartyRejectReason.ENUM_NOT_SUPPORTED,
                    f"PartyDetailRole {p.role} not supported",
                    TAG_PARTY_DETAIL_ROLE,
                )
            if p.role in roles:
                return Refusal(
                    PartyRejectReason.DUPLICATE_GROUP_ENTRY,
                    f"PartyDetailRole {int(p.role)} appears more than once",
                    TAG_PARTY_DETAIL_ROLE,
                )
            roles.add(p.role)
            if not p.party_detail_id:
                return Refusal(
                    PartyRejectReason.REQUIRED_FIELD_MISSING,
                    f"PartyDetailID missing for PartyDetailRole {int(p.role)}",
                    TAG_PARTY_DETAIL_ID,
                )
            if not _printable(p.party_detail_id):
                return Refusal(
                    PartyRejectReason.INCORRECT_DATA_FORMAT,
                    "PartyDetailID has characters outside ASCII 32-126",
                    TAG_PARTY_DETAIL_ID,
                )
        for text, tag, name in (
            (d.memo, TAG_MEMO, "Memo"),
            (d.avg_px_group_id, TAG_AVG_PX_GROUP_ID, "AvgPxGroupID"),
        ):
            if text is not None and not _printable(text):
                return Refusal(
                    PartyRejectReason.INCORRECT_DATA_FORMAT,
                    f"{name} has characters outside ASCII 32-126",
                    tag,
                )
        if len(d.trd_reg_publications) > 1:
            return Refusal(
                PartyRejectReason.VALUE_OUT_OF_RANGE,
                "NoTrdRegPublications must be 0 or 1",
                TAG_NO_TRD_REG_PUBLICATIONS,
            )
        required = set(self.required_roles)
        if d.cmta_giveup_cd is m.CmtaGiveUpCD.GiveUp:
            required.add(m.PartyDetailRole.TakeUpFirm)
        missing = sorted(required - roles)
        if missing:
            return Refusal(
                PartyRejectReason.REQUIRED_FIELD_MISSING,
                f"PartyDetailRole {int(missing[0])} ({missing[0].name}) is required",
                TAG_PARTY_DETAIL_ROLE,
            )
        executing = d.party(m.PartyDetailRole.ExecutingFirm)
        if executing is not None and executing != firm:
            # I-308: a session registers definitions for its own firm only
            return Refusal(
                PartyRejectReason.NOT_AUTHORIZED,
                f"Executing Firm {executing} is not the session's firm",
                TAG_PARTY_DETAIL_ID,
            )
        return None

    # -- changes -----------------------------------------------------------------------------

    def add(
        self, firm: str, d: PartyDetailsDefinition, now: int
    ) -> PartyDetailsDefinition | Refusal:
        """Register ``d`` for ``firm`` (ListUpdateAction A)."""
        self._roll(now)
        refusal = self.validate(firm, d)
        if refusal is not None:
            return refusal
        ident = d.party_details_list_req_id
        if ident in self._used.get(firm, ()):
            return Refusal(
                PartyRejectReason.PARTY_DETAILS_LIST_REQ_ID_REUSED,
                f"PartyDetailsListReqID {ident} already used this week",
                TAG_PARTY_DETAILS_LIST_REQ_ID,
            )
        own = self._defs.setdefault(firm, {})
        if len(own) >= self.max_per_firm:
            return Refusal(
                PartyRejectReason.TOO_MANY_DEFINITIONS,
                f"more than {self.max_per_firm} Party Details Definitions",
                TAG_PARTY_DETAILS_LIST_REQ_ID,
            )
        own[ident] = d
        self._used.setdefault(firm, set()).add(ident)
        return d

    def delete(
        self, firm: str, party_details_list_req_id: int, now: int
    ) -> PartyDetailsDefinition | Refusal:
        """Remove the firm's definition (ListUpdateAction D); returns what was removed. The id
        stays used until the weekly reset (a later Add with it is reason 108)."""
        self._roll(now)
        own = self._defs.get(firm, {})
        d = own.pop(party_details_list_req_id, None)
        if d is None:
            return self._refuse_foreign_or_unknown(
                firm, party_details_list_req_id, TAG_PARTY_DETAILS_LIST_REQ_ID
            )
        return d


# ------------------------------------------------------------------------- SBE <-> definitions

_E = TypeVar("_E", bound=Enum)


class _NotInEnum(Exception):
    def __init__(self, tag: int, name: str, value: object) -> None:
        super().__init__(f"{name} {value!r} not supported")
        self.tag = tag
        self.text = f"{name} {value!r} not supported"


def _member(enum: type[_E], value: object, tag: int, name: str) -> _E | None:
    if value is None:
        return None
    if isinstance(value, enum):
        return value
    raise _NotInEnum(tag, name, value)


def definition_from_request(
    msg: m.PartyDetailsDefinitionRequest518,
) -> PartyDetailsDefinition | Refusal:
    """The definition a 518 asks for; a value outside the schema's enums is reason 115."""
    try:
        parties = tuple(
            PartyDetail(e.PartyDetailID, _role(e.PartyDetailRole)) for e in msg.NoPartyDetails
        )
        return PartyDetailsDefinition(
            party_details_list_req_id=msg.PartyDetailsListReqID,
            parties=parties,
            memo=msg.Memo,
            avg_px_group_id=msg.AvgPxGroupID,
            self_match_prevention_id=msg.SelfMatchPreventionID,
            self_match_prevention_instruction=_member(
                m.SMPI, msg.SelfMatchPreventionInstruction, 8000, "SelfMatchPreventionInstruction"
            ),
            cmta_giveup_cd=_member(m.CmtaGiveUpCD, msg.CmtaGiveupCD, 9708, "CmtaGiveupCD"),
            cust_order_capacity=_member(
                m.CustOrderCapacity, msg.CustOrderCapacity, 582, "CustOrderCapacity"
            ),
            clearing_account_type=_member(
                m.ClearingAcctType, msg.ClearingAccountType, 1816, "ClearingAccountType"
            ),
            avg_px_indicator=_member(m.AvgPxInd, msg.AvgPxIndicator, 819, "AvgPxIndicator"),
            clearing_trade_price_type=_member(
                m.SLEDS, msg.ClearingTradePriceType, 1598, "ClearingTradePriceType"
            ),
            cust_order_handling_inst=_member(
                m.CustOrdHandlInst, msg.CustOrderHandlingInst, 1031, "CustOrderHandlingInst"
            ),
            executor=msg.Executor,
            idm_short_code=msg.IDMShortCode,
            trd_reg_publications=tuple(
                TrdRegPublication(e.TrdRegPublicationType, e.TrdRegPublicationReason)
                for e in msg.NoTrdRegPublications
            ),
        )
    except _NotInEnum as bad:
        return Refusal(PartyRejectReason.ENUM_NOT_SUPPORTED, bad.text, bad.tag)


def _role(value: m.PartyDetailRole | int) -> m.PartyDetailRole:
    role = _member(m.PartyDetailRole, value, TAG_PARTY_DETAIL_ROLE, "PartyDetailRole")
    assert role is not None
    return role


def _definition_fields(d: PartyDetailsDefinition) -> dict[str, Any]:
    """The definition's own fields, as 518, 519 and 538 all carry them."""
    return {
        "AvgPxGroupID": d.avg_px_group_id,
        "SelfMatchPreventionID": d.self_match_prevention_id,
        "CmtaGiveupCD": d.cmta_giveup_cd,
        "CustOrderCapacity": d.cust_order_capacity,
        "ClearingAccountType": d.clearing_account_type,
        "SelfMatchPreventionInstruction": d.self_match_prevention_instruction,
        "AvgPxIndicator": d.avg_px_indicator,
        "ClearingTradePriceType": d.clearing_trade_price_type,
        "CustOrderHandlingInst": d.cust_order_handling_inst,
        "Executor": d.executor,
        "IDMShortCode": d.idm_short_code,
    }


def definition_request(
    d: PartyDetailsDefinition,
    *,
    action: m.ListUpdAct = m.ListUpdAct.Add,
    seq_num: int = 0,
    now: int = 0,
) -> m.PartyDetailsDefinitionRequest518:
    """The PartyDetailsDefinitionRequest518 a customer sends to register (or delete) ``d``."""
    return m.PartyDetailsDefinitionRequest518(
        PartyDetailsListReqID=d.party_details_list_req_id,
        SendingTimeEpoch=now,
        ListUpdateAction=action,
        SeqNum=seq_num,
        Memo=d.memo,
        **_definition_fields(d),
        NoPartyDetails=[
            m.PartyDetailsDefinitionRequest518_NoPartyDetails(
                PartyDetailID=p.party_detail_id, PartyDetailRole=p.role
            )
            for p in d.parties
        ],
        NoTrdRegPublications=[
            m.PartyDetailsDefinitionRequest518_NoTrdRegPublications(
                TrdRegPublicationType=t.type, TrdRegPublicationReason=t.reason
            )
            for t in d.trd_reg_publications
        ],
    )


def definition_ack(
    d: PartyDetailsDefinition, action: m.ListUpdAct, now: int
) -> m.PartyDetailsDefinitionRequestAck519:
    """PartyDetailsDefinitionRequestAck519 echoing the definition as registered (or, for a
    delete, as it was), both statuses Accepted (I-303)."""
    return m.PartyDetailsDefinitionRequestAck519(
        SeqNum=0,
        UUID=0,
        PartyDetailsListReqID=d.party_details_list_req_id,
        SendingTimeEpoch=now,
        PartyDetailRequestStatus=PartyDetailStatus.ACCEPTED,
        ListUpdateAction=action,
        PartyDetailDefinitionStatus=PartyDetailStatus.ACCEPTED,
        PossRetransFlag=m.BooleanFlag.False_,
        Memo=d.memo,
        **_definition_fields(d),
        NoPartyDetails=[
            m.PartyDetailsDefinitionRequestAck519_NoPartyDetails(
                PartyDetailID=p.party_detail_id, PartyDetailRole=p.role
            )
            for p in d.parties
        ],
        NoTrdRegPublications=[
            m.PartyDetailsDefinitionRequestAck519_NoTrdRegPublications(
                TrdRegPublicationType=t.type, TrdRegPublicationReason=t.reason
            )
            for t in d.trd_reg_publications
        ],
    )


def list_reports(
    defs: Sequence[PartyDetailsDefinition], report_id: int, now: int
) -> list[m.PartyDetailsListReport538]:
    """One PartyDetailsListReport538 per definition (I-304): PartyDetailsListReportID is the
    request's PartyDetailsListReqID, TotNumParties the number of reports, LastFragment set on the
    last. No definitions: one report with RequestResult 2 (no data found), TotNumParties 0 and
    PartyDetailsListReqID 0. The 538 has no Memo field, so the memo is not reported."""
    if not defs:
        return [
            m.PartyDetailsListReport538(
                SeqNum=0,
                UUID=0,
                PartyDetailsListReqID=0,
                PartyDetailsListReportID=report_id,
                SendingTimeEpoch=now,
                TotNumParties=0,
                RequestResult=m.ReqResult.NoDataFoundThatMatchedSelectionCriteria,
                LastFragment=m.BooleanFlag.True_,
                PossRetransFlag=m.BooleanFlag.False_,
            )
        ]
    last = len(defs) - 1
    return [
        m.PartyDetailsListReport538(
            SeqNum=0,
            UUID=0,
            PartyDetailsListReqID=d.party_details_list_req_id,
            PartyDetailsListReportID=report_id,
            SendingTimeEpoch=now,
            TotNumParties=len(defs),
            RequestResult=m.ReqResult.ValidRequest,
            LastFragment=m.BooleanFlag.True_ if i == last else m.BooleanFlag.False_,
            PossRetransFlag=m.BooleanFlag.False_,
            **_definition_fields(d),
            NoPartyDetails=[
                m.PartyDetailsListReport538_NoPartyDetails(
                    PartyDetailID=p.party_detail_id, PartyDetailRole=p.role
                )
                for p in d.parties
            ],
            NoTrdRegPublications=[
                m.PartyDetailsListReport538_NoTrdRegPublications(
                    TrdRegPublicationType=t.type, TrdRegPublicationReason=t.reason
                )
                for t in d.trd_reg_publications
            ],
        )
        for i, d in enumerate(defs)
    ]


def business_reject(
    msg: MessageBase, refusal: Refusal, now: int, *, ref_id: int | None = None
) -> m.BusinessReject521:
    """BusinessReject521 refusing ``msg`` (I-305): RefSeqNum its SeqNum, RefMsgType its MsgType,
    BusinessRejectRefID ``ref_id`` (the request's PartyDetailsListReqID), echoing the
    PartyDetailsListReqID, SenderID, Location and ManualOrderIndicator the message has."""
    seq = getattr(msg, "SeqNum", None)
    sender = getattr(msg, "SenderID", None)
    location = getattr(msg, "Location", None)
    manual = getattr(msg, "ManualOrderIndicator", None)
    pdl = getattr(msg, "PartyDetailsListReqID", None)
    return m.BusinessReject521(
        SeqNum=0,
        UUID=0,
        SendingTimeEpoch=now,
        BusinessRejectReason=int(refusal.reason),
        RefMsgType=msg.SEMANTIC_TYPE,
        PossRetransFlag=m.BooleanFlag.False_,
        Text=refusal.text.encode("latin-1", "replace")[:256].decode("latin-1") or None,
        SenderID=sender.upper() if isinstance(sender, str) and sender else None,
        PartyDetailsListReqID=pdl if isinstance(pdl, int) else None,
        BusinessRejectRefID=ref_id,
        Location=location if isinstance(location, str) and location else None,
        RefSeqNum=seq if isinstance(seq, int) else None,
        RefTagID=refusal.ref_tag_id,
        ManualOrderIndicator=int(manual) if isinstance(manual, int) else None,
    )


# ------------------------------------------------------------------------------------- handler


class PartyDetailsHandler:
    """The OESGW's business layer, in the shape of the gateway's ``OrderHandler`` protocol."""

    def __init__(self, registry: PartyDetailsRegistry) -> None:
        self.registry = registry

    def on_business(
        self, owner: Owner, segment: int, msg: MessageBase, now: int
    ) -> list[tuple[Owner, MessageBase]]:
        firm = owner[1]
        out: list[MessageBase]
        if isinstance(msg, m.PartyDetailsDefinitionRequest518):
            out = [self._definition(firm, msg, now)]
        elif isinstance(msg, m.PartyDetailsListRequest537):
            out = self._list(firm, msg, now)
        else:
            refusal = Refusal(
                PartyRejectReason.UNSUPPORTED_MESSAGE_TYPE,
                f"{msg.NAME} is not supported on the Order Entry Service Gateway",
            )
            out = [business_reject(msg, refusal, now)]
        return [(owner, x) for x in out]

    def on_disconnect(
        self, owner: Owner, segment: int, graceful: bool, now: int
    ) -> list[tuple[Owner, MessageBase]]:
        """Nothing works on the OESGW, so nothing is cancelled; definitions stay for the week."""
        return []

    def _definition(
        self, firm: str, msg: m.PartyDetailsDefinitionRequest518, now: int
    ) -> MessageBase:
        ident = msg.PartyDetailsListReqID
        action = msg.ListUpdateAction
        result: PartyDetailsDefinition | Refusal
        if action is m.ListUpdAct.Add:
            d = definition_from_request(msg)
            result = d if isinstance(d, Refusal) else self.registry.add(firm, d, now)
        elif action is m.ListUpdAct.Delete:
            result = self.registry.delete(firm, ident, now)
        else:
            result = Refusal(
                PartyRejectReason.ENUM_NOT_SUPPORTED,
                f"ListUpdateAction {action!r} not supported",
                TAG_LIST_UPDATE_ACTION,
            )
        if isinstance(result, Refusal):
            return business_reject(msg, result, now, ref_id=ident)
        assert isinstance(action, m.ListUpdAct)
        return definition_ack(result, action, now)

    def _list(self, firm: str, msg: m.PartyDetailsListRequest537, now: int) -> list[MessageBase]:
        result = self._select(firm, msg, now)
        if isinstance(result, Refusal):
            return [business_reject(msg, result, now, ref_id=msg.PartyDetailsListReqID)]
        return list(list_reports(result, msg.PartyDetailsListReqID, now))

    def _select(
        self, firm: str, msg: m.PartyDetailsListRequest537, now: int
    ) -> tuple[PartyDetailsDefinition, ...] | Refusal:
        requesting, party_ids = msg.NoRequestingPartyIDs, msg.NoPartyIDs
        if len(requesting) > 1:
            return Refusal(
                PartyRejectReason.TOO_MANY_REQUESTING_PARTY_IDS,
                "at most one RequestingPartyID",
                TAG_NO_REQUESTING_PARTY_IDS,
            )
        if not requesting and not party_ids:
            return Refusal(
                PartyRejectReason.LIST_REQUEST_WITHOUT_IDS,
                "Party Details List Request is missing RequestingPartyID and PartyID",
            )
        if requesting and party_ids:
            return Refusal(
                PartyRejectReason.LIST_REQUEST_WITH_BOTH_IDS,
                "Party Details List Request cannot contain both RequestingPartyID and PartyID",
            )
        if requesting:
            r = requesting[0]
            if r.RequestingPartyIDSource != "C":
                return Refusal(
                    PartyRejectReason.VALUE_OUT_OF_RANGE,
                    "RequestingPartyIDSource must be C",
                    TAG_REQUESTING_PARTY_ID_SOURCE,
                )
            if r.RequestingPartyRole != "1":
                return Refusal(
                    PartyRejectReason.VALUE_OUT_OF_RANGE,
                    "RequestingPartyRole must be 1 (executing firm)",
                    TAG_REQUESTING_PARTY_ROLE,
                )
            if r.RequestingPartyID != firm:
                # I-308: a session recovers its own firm's definitions only
                return Refusal(
                    PartyRejectReason.NOT_AUTHORIZED,
                    f"RequestingPartyID {r.RequestingPartyID} is not the session's firm",
                    TAG_REQUESTING_PARTY_ID,
                )
            return self.registry.definitions(firm, now)
        if len(party_ids) > MAX_PARTY_IDS:
            return Refusal(
                PartyRejectReason.VALUE_OUT_OF_RANGE,
                f"at most {MAX_PARTY_IDS} PartyIDs",
                TAG_NO_PARTY_IDS,
            )
        for p in party_ids:
            if p.PartyIDSource != "C":
                return Refusal(
                    PartyRejectReason.VALUE_OUT_OF_RANGE,
                    "PartyIDSource must be C",
                    TAG_PARTY_ID_SOURCE,
                )
        return self.registry.lookup(firm, [p.PartyID for p in party_ids], now)
