"""The daily request processing that begins at 4pm CT (P-019..P-022, P-038..P-040, AP-03, AP-04).

A run takes a cut-off (the scheduled 16:00 America/Chicago, or ``now`` for an operator's "run
now") and processes, oldest first, every In-Progress request submitted before it. Each request
is validated again -- the world may have changed since it was submitted -- and either provisions
the Drop Copy session(s) or source changes into the store that the gateways read (so the
session can log on and receive its sources' activity, P-023, P-040) and becomes Completed, or
becomes Failed with a reason shown on My Requests (P-021, P-039). Each request is processed in
its own savepoint: one failure never undoes another request.

The time of the last run is kept in the store (``store_meta`` ``batch.last_cutoff``), so a run
missed while the service was down happens when it comes back (restart-safe), and a second run
for the same cut-off processes nothing new (idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropcopy.store import (
    DropCopySource,
    ILink3Session,
    Request,
    RequestKind,
    SessionType,
    StoreMeta,
    User,
    repo,
)
from dropcopy.store.errors import StoreError

from .services import FIRM_ID_REQUIRED, has_firm_id

__all__ = ["BatchReport", "last_cutoff", "process_requests"]

LAST_CUTOFF = "batch.last_cutoff"


@dataclass
class BatchReport:
    cutoff: int
    completed: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff,
            "completed": self.completed,
            "failed": {str(k): v for k, v in self.failed.items()},
        }


class _Fail(Exception):
    pass


def last_cutoff(db: Session) -> int | None:
    row = db.get(StoreMeta, LAST_CUTOFF)
    return int(row.value.decode()) if row is not None else None


def _set_last_cutoff(db: Session, cutoff: int) -> None:
    row = db.get(StoreMeta, LAST_CUTOFF)
    if row is None:
        db.add(StoreMeta(name=LAST_CUTOFF, value=str(cutoff).encode()))
    elif int(row.value.decode()) < cutoff:
        row.value = str(cutoff).encode()


def process_requests(db: Session, cutoff: int, now: int) -> BatchReport:
    """Process every In-Progress request submitted before ``cutoff`` (the caller commits)."""
    report = BatchReport(cutoff)
    touched: dict[int, set[int]] = {}  # session pk -> source ids changed earlier in this run
    for req in repo.pending_requests(db, submitted_before=cutoff):
        savepoint = db.begin_nested()
        try:
            if req.kind is RequestKind.CREATE_SESSION:
                result = _create(db, req, now)
            else:
                result = _manage(db, req, now, touched)
            repo.complete_request(db, req, now=now, result=result)
            savepoint.commit()
            report.completed.append(req.id)
        except (_Fail, StoreError) as e:
            savepoint.rollback()
            db.refresh(req)
            repo.fail_request(db, req, str(e), now=now)
            report.failed[req.id] = str(e)
        repo.record_audit(
            db,
            f"request.{str(req.status).lower()}",
            now=now,
            company=req.company,
            subject=f"request #{req.id}",
            detail={"reason": req.reason} if req.reason else {},
        )
        _notify_result(db, req, now)
    _set_last_cutoff(db, cutoff)
    db.flush()
    return report


def _sources(db: Session, req: Request, ids: list[int]) -> list[ILink3Session]:
    out = []
    for sid in ids:
        row = db.get(ILink3Session, sid)
        if row is None:
            raise _Fail(f"Source SenderComp #{sid} no longer exists.")
        if row.company_id != req.company_id:
            raise _Fail(f"Source SenderComp {row.label} does not belong to {req.company.name}.")
        if row.environment != req.environment:
            raise _Fail(f"Source SenderComp {row.label} is not in {req.environment}.")
        out.append(row)
    return out


def _create(db: Session, req: Request, now: int) -> dict[str, Any]:
    p = req.payload
    if not has_firm_id(db, req.company, req.environment):
        raise _Fail(FIRM_ID_REQUIRED)
    kind = SessionType(p["session_type"])
    sources = _sources(db, req, list(p["sources"]))
    if not sources:
        raise _Fail("The request has no source SenderComp.")
    limit = repo.MAX_SOURCES[kind]
    if len(sources) > limit:
        raise _Fail(f"A {kind} target session holds at most {limit} source SenderComps.")
    count = int(p["number_of_sessions"])
    if count not in (1, 2):
        raise _Fail("Number of Sessions must be 1 or 2.")
    group = repo.create_dc_group(db, req.company, req.environment, now=now)
    made = []
    for _ in range(count):  # AP-08: two independent target sessions of one group
        s = repo.create_dc_session(
            db,
            req.company,
            req.environment,
            kind,
            now=now,
            business_rationale=str(p.get("business_rationale", "")),
            group=group,
            sources=sources,
        )
        made.append(s)
    return {"session_ids": [s.session_id for s in made], "ids": [s.id for s in made]}


def _manage(db: Session, req: Request, now: int, touched: dict[int, set[int]]) -> dict[str, Any]:
    session = req.dc_session
    if session is None:
        raise _Fail("The Drop Copy session no longer exists.")
    p = req.payload
    add = _sources(db, req, list(p.get("add", [])))
    remove_ids = list(p.get("remove", []))
    changed = {s.id for s in add} | set(remove_ids)
    clash = changed & touched.get(session.id, set())
    if clash:
        raise _Fail(
            "Conflicts with an earlier request processed in the same run for the same source "
            "SenderComp(s)."
        )
    attached = {
        link.ilink3_session_id: link
        for link in db.scalars(
            select(DropCopySource).where(DropCopySource.dc_session_id == session.id)
        )
    }
    for s in add:
        if s.id in attached:
            raise _Fail(f"Source SenderComp {s.label} is already attached to {session.session_id}.")
    for sid in remove_ids:
        if sid not in attached:
            raise _Fail(f"Source SenderComp #{sid} is not attached to {session.session_id}.")
    for sid in remove_ids:
        source = db.get(ILink3Session, sid)
        assert source is not None
        repo.remove_source(db, session, source)
    for s in add:
        repo.add_source(db, session, s, now=now)
    touched.setdefault(session.id, set()).update(changed)
    return {
        "session_id": session.session_id,
        "sources": [x.ilink3_session.label for x in session.sources],
    }


def _notify_result(db: Session, req: Request, now: int) -> None:
    user = db.get(User, req.user_id)
    if user is None:
        return
    if req.result and "session_ids" in req.result:
        what = f"Drop Copy session(s) {', '.join(req.result['session_ids'])} are ready."
    elif req.reason:
        what = f"Reason: {req.reason}"
    else:
        what = "The source SenderComps were changed."
    repo.queue_notification(
        db,
        user,
        f"Request #{req.id} {req.status}",
        f"Hello {user.display_name},\n\nYour request #{req.id} is {req.status}. {what}\n\n"
        "This is an automatic notification from Request Center.\n",
        now=now,
        request=req,
    )
