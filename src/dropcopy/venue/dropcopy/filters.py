"""Which copied iLink 3 messages a Drop Copy target session receives (message-type filters).

Seed 003 "Introduction" lets authorized persons choose the message types of a target session
(D-005): *Trade Execution Reports* (fill notices, complete and partial, D-006), *Order Entry
Acknowledgments* (the acks that give open orders, D-007), or all of them. AD-21 completes the
categories from CME's own descriptions (wire notes §2.5):

* **trade**: fills (525, 526, 527) and trade cancels / corrections (548, 549, 550);
* **acknowledgment**: new (522), modify (531), cancel (534), status (532), elimination (524),
  rejects (523, 535, 536, and the Business Reject 521 of an order), mass action reports (562);
* **never**: the EBS-only Pending Cancel (564, 39=6) and Pending Replace (565, 39=E) are not
  emitted for the futures and options sources this venue has (D-008, D-009, AD-21); Mass Quote
  Acknowledgments (545) are not supported (D-010); anything else (party details, quote cancel
  acks, RFQ acks, security definitions) is not order routing activity.
"""

from __future__ import annotations

import enum
from typing import Final

from dropcopy.ilink3 import messages as m
from dropcopy.store.models import MessageTypes


class Category(enum.Enum):
    TRADE = "trade"
    ACKNOWLEDGMENT = "acknowledgment"
    NEVER = "never"


#: template id -> category (AD-21); a template not listed is never copied.
CATEGORIES: Final[dict[int, Category]] = {
    **{
        cls.TEMPLATE_ID: Category.TRADE
        for cls in (
            m.ExecutionReportTradeOutright525,
            m.ExecutionReportTradeSpread526,
            m.ExecutionReportTradeSpreadLeg527,
            m.ExecutionReportTradeAddendumOutright548,
            m.ExecutionReportTradeAddendumSpread549,
            m.ExecutionReportTradeAddendumSpreadLeg550,
        )
    },
    **{
        cls.TEMPLATE_ID: Category.ACKNOWLEDGMENT
        for cls in (
            m.BusinessReject521,
            m.ExecutionReportNew522,
            m.ExecutionReportReject523,
            m.ExecutionReportElimination524,
            m.ExecutionReportModify531,
            m.ExecutionReportStatus532,
            m.ExecutionReportCancel534,
            m.OrderCancelReject535,
            m.OrderCancelReplaceReject536,
            m.OrderMassActionReport562,
        )
    },
    m.ExecutionReportPendingCancel564.TEMPLATE_ID: Category.NEVER,  # D-008: EBS only
    m.ExecutionReportPendingReplace565.TEMPLATE_ID: Category.NEVER,  # D-009: EBS only
    m.MassQuoteAck545.TEMPLATE_ID: Category.NEVER,  # D-010
}

_WANTED: Final[dict[MessageTypes, frozenset[Category]]] = {
    MessageTypes.ALL: frozenset({Category.TRADE, Category.ACKNOWLEDGMENT}),
    MessageTypes.TRADE_EXECUTION_REPORTS: frozenset({Category.TRADE}),
    MessageTypes.ORDER_ENTRY_ACKNOWLEDGMENTS: frozenset({Category.ACKNOWLEDGMENT}),
}


def category(template_id: int) -> Category:
    return CATEGORIES.get(template_id, Category.NEVER)


def accepts(message_types: MessageTypes, template_id: int) -> bool:
    """Does a target with this filter receive a copy of this iLink 3 template?"""
    return CATEGORIES.get(template_id, Category.NEVER) in _WANTED[message_types]
