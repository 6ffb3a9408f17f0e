"""Message-type filters of a target session (seed 003 "Introduction"; the categories of AD-21)."""

from __future__ import annotations

import pytest

from dropcopy.ilink3 import messages as m
from dropcopy.store.models import MessageTypes
from dropcopy.venue.dropcopy import Category, accepts, category

FILLS = [m.ExecutionReportTradeOutright525, m.ExecutionReportTradeSpread526,
         m.ExecutionReportTradeSpreadLeg527]  # fmt: skip
TRADE_CORRECTIONS = [m.ExecutionReportTradeAddendumOutright548,
                     m.ExecutionReportTradeAddendumSpread549,
                     m.ExecutionReportTradeAddendumSpreadLeg550]  # fmt: skip
ACKS = [m.ExecutionReportNew522, m.ExecutionReportModify531, m.ExecutionReportCancel534,
        m.ExecutionReportElimination524, m.ExecutionReportReject523, m.OrderCancelReject535,
        m.OrderCancelReplaceReject536, m.OrderMassActionReport562, m.ExecutionReportStatus532,
        m.BusinessReject521]  # fmt: skip


@pytest.mark.parametrize("cls", FILLS + TRADE_CORRECTIONS)
def test_D006_fills_trade_cancels_and_corrections_are_trade_execution_reports(cls: type) -> None:
    assert category(cls.TEMPLATE_ID) is Category.TRADE
    assert accepts(MessageTypes.TRADE_EXECUTION_REPORTS, cls.TEMPLATE_ID)
    assert not accepts(MessageTypes.ORDER_ENTRY_ACKNOWLEDGMENTS, cls.TEMPLATE_ID)
    assert accepts(MessageTypes.ALL, cls.TEMPLATE_ID)


@pytest.mark.parametrize("cls", ACKS)
def test_D007_acknowledgments_are_order_entry_acknowledgments(cls: type) -> None:
    assert category(cls.TEMPLATE_ID) is Category.ACKNOWLEDGMENT
    assert accepts(MessageTypes.ORDER_ENTRY_ACKNOWLEDGMENTS, cls.TEMPLATE_ID)
    assert not accepts(MessageTypes.TRADE_EXECUTION_REPORTS, cls.TEMPLATE_ID)
    assert accepts(MessageTypes.ALL, cls.TEMPLATE_ID)


@pytest.mark.parametrize(
    "cls",
    [
        m.ExecutionReportPendingCancel564,  # D-008: EBS only
        m.ExecutionReportPendingReplace565,  # D-009: EBS only
        m.MassQuoteAck545,  # D-010: not supported
        m.PartyDetailsDefinitionRequestAck519,  # not order routing activity
        m.QuoteCancelAck563,
    ],
)
def test_D008_D009_D010_never_copied_whatever_the_filter(cls: type) -> None:
    assert category(cls.TEMPLATE_ID) is Category.NEVER
    assert not any(accepts(f, cls.TEMPLATE_ID) for f in MessageTypes)
