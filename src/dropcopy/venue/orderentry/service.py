"""iLink 3 Order Entry Service Gateway (OESGW): Party Details over its own FIXP session.

Theory of operation
-------------------
Seed 004 "Order Entry Service Gateway": "a separate FIXP session is negotiated and established
with the OESGW and can be left open and heart beating until a Party Details Definition Request
or Party Details List Request needs to be made" (I-302). The FIXP acceptor is the Market Segment
Gateway's — HMAC authentication, UUID rules, weekly reset, keep-alive, journalled sequenced
publishing and retransmission are the same — with two differences:

* **its own sequence streams** (I-307, "FIXP session on the OESGW needs to use its own UUID and
  sequence numbers"): the OESGW has its own :class:`~.gateway.SessionBook` under the reserved
  segment number :data:`OESGW_SEGMENT`, so a customer's UUID, sequence numbers and journal
  stream (``ilink3/<Session><Firm>/255``) there are independent of every market segment's —
  even when the gateways share one journal. The stream is recoverable like any other (I-306).
* **its business layer** is :class:`~.party.PartyDetailsHandler`: Party Details Definition and
  List Requests only (I-303, I-304); anything else is BusinessReject 3 (I-305).

:data:`OESGW_SEGMENT` is 255, the null value of MarketSegmentID (tag 1300, uInt8NULL): no
instrument can be on it (``Instrument`` accepts 0–254), so it can never clash with a Market
Segment Gateway. The registry is shared with whoever validates orders' PartyDetailsListReqID on
the Market Segment Gateways (:meth:`~.party.PartyDetailsRegistry.known`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from dropcopy.journal import Journal

from .gateway import KeyDirectory, MarketSegmentGateway, SessionBook
from .party import PartyDetailsHandler, PartyDetailsRegistry

__all__ = ["OESGW_SEGMENT", "OrderEntryServiceGateway"]

#: The OESGW's segment number in session books and journal stream names: MarketSegmentID's
#: null value (uInt8NULL 255), which no market segment can have.
OESGW_SEGMENT: Final = 255


class OrderEntryServiceGateway(MarketSegmentGateway):
    """One OESGW instance (the designated primary, or with ``backup=True`` the backup sharing the
    primary's ``book``). ``registry`` holds the Party Details Definitions; pass the same one to
    the primary and the backup, and to the Market Segment Gateways' order validation."""

    def __init__(
        self,
        *,
        keys: KeyDirectory,
        journal: Journal,
        clock: Callable[[], int],
        registry: PartyDetailsRegistry | None = None,
        book: SessionBook | None = None,
        environment_indicator: int | None = None,
        backup: bool = False,
    ) -> None:
        book = book or SessionBook(OESGW_SEGMENT)
        if book.segment != OESGW_SEGMENT:
            raise ValueError(f"the OESGW's session book must be segment {OESGW_SEGMENT}")
        self.registry = registry or PartyDetailsRegistry(book.calendar)
        super().__init__(
            OESGW_SEGMENT,
            keys=keys,
            journal=journal,
            handler=PartyDetailsHandler(self.registry),
            clock=clock,
            book=book,
            environment_indicator=environment_indicator,
            backup=backup,
        )
