"""The matching engine behind the Market Segment Gateway's :class:`OrderHandler` interface.

A customer's request becomes an engine command (or a BusinessReject); every engine event becomes
the execution reports its owner receives — the aggressor and the resting order of a fill may
belong to different customers. Cancel on disconnect: an ungraceful end of the customer's primary
connection cancels its working orders in the scope the engine is configured with (Day orders by
default; seed 004 "Terminate - Client Initiated", I-247, AI-26); a graceful Terminate leaves them
working (I-246, I-248).
"""

from __future__ import annotations

from dropcopy.sbe.runtime import MessageBase

from . import matching, reports
from .gateway import Owner
from .party import PartyDetailsRegistry


class EngineOrderHandler:
    """``party_details``: when given, an order whose PartyDetailsListReqID the firm has not
    registered through the Order Entry Service Gateway gets BusinessReject 1 (Unknown ID)."""

    def __init__(
        self, engine: matching.MatchingEngine, party_details: PartyDetailsRegistry | None = None
    ) -> None:
        self.engine = engine
        self.party_details = party_details

    def _publish(self, events: list[matching.Event], now: int) -> list[tuple[Owner, MessageBase]]:
        out: list[tuple[Owner, MessageBase]] = []
        for e in events:
            owner = (e.owner.session, e.owner.firm)
            out.extend((owner, msg) for msg in reports.to_messages(e, now))
        return out

    def on_business(
        self, owner: Owner, segment: int, msg: MessageBase, now: int
    ) -> list[tuple[Owner, MessageBase]]:
        who = matching.Owner(owner[0], owner[1], segment)
        registry = self.party_details
        if registry is not None:
            req_id = getattr(msg, "PartyDetailsListReqID", None)
            if req_id is not None and not registry.known(owner[1], req_id, now):
                return [
                    (owner, out)
                    for out in reports.business_reject(
                        msg, owner, segment, matching.BusinessRejectReason.UNKNOWN_ID,
                        f"Unknown PartyDetailsListReqID {req_id}", now,
                    )
                ]  # fmt: skip
        cmd = reports.command_from_message(msg, who, now)
        events: list[matching.Event] = (
            [cmd] if isinstance(cmd, matching.BusinessRejected) else self.engine.handle(cmd, now)
        )
        return self._publish(events, now)

    def on_disconnect(
        self, owner: Owner, segment: int, graceful: bool, now: int
    ) -> list[tuple[Owner, MessageBase]]:
        if graceful:
            return []
        return self._publish(
            self.engine.cancel_on_disconnect(matching.Owner(owner[0], owner[1], segment), now), now
        )
