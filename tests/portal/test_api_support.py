"""Helpers shared by the REST API tests (``test_api*.py``); this module holds no tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from dropcopy.aio.mail import MemoryMailer
from dropcopy.portal import Portal
from dropcopy.store import Notification, SecurityCode, Store, repo
from tests.portal.conftest import PASSWORD, FakeClock, api_token

__all__ = [
    "auth",
    "codes_of",
    "create_body",
    "make_operator",
    "new_session",
    "notifications",
    "run_batch",
    "sign_in_as",
]

EMAILS = {
    "admin": "admin@acme.example",
    "sessions": "sessions@acme.example",
    "keys": "keys@acme.example",
    "viewer": "viewer@acme.example",
    "other": "other@other.example",
    "nofirm": "nofirm@nofirm.example",
    "multi": "multi@acme.example",
    "operator": "operator@cme.example",
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in_as(client: httpx.AsyncClient, mailer: MemoryMailer, who: str) -> str:
    """A full bearer token of ``who`` (a key of :data:`EMAILS`)."""
    return await api_token(client, mailer, EMAILS[who])


def make_operator(store: Store, now: int) -> None:
    """A CME operator (no company), who may run the processing."""
    with store.session() as db:
        repo.create_user(db, EMAILS["operator"], "Operator", PASSWORD, now=now, operator=True)


def notifications(store: Store) -> list[Notification]:
    """Every queued notification mail, oldest first."""
    with store.session() as db:
        rows = list(db.scalars(select(Notification).order_by(Notification.id)))
        db.expunge_all()
        return rows


def codes_of(store: Store) -> int:
    """How many security codes were issued, all users."""
    with store.session() as db:
        return len(list(db.scalars(select(SecurityCode.id))))


def create_body(source_ids: list[int], **overrides: Any) -> dict[str, Any]:
    """A valid Create New Session body (CERT, Convenience Gateway, 1 session)."""
    body: dict[str, Any] = {
        "environment": "CERT",
        "session_type": "Convenience Gateway",
        "number_of_sessions": 1,
        "business_rationale": "Risk monitoring of our clearing firm",
        "source_ids": source_ids,
    }
    body.update(overrides)
    return body


def run_batch(portal: Portal, clock: FakeClock) -> dict[str, Any]:
    """The operator's "run now", a minute after the last submit."""
    clock.advance(60)
    return portal.run_batch()


async def new_session(
    client: httpx.AsyncClient,
    token: str,
    company: int,
    portal: Portal,
    clock: FakeClock,
    source_ids: list[int],
    **overrides: Any,
) -> list[dict[str, Any]]:
    """Submit Create New Session, run the processing; the new sessions (as the API shows them)."""
    r = await client.post(
        f"/api/v1/companies/{company}/requests/create-session",
        json=create_body(source_ids, **overrides),
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    report = run_batch(portal, clock)
    assert rid in report["completed"], report
    r = await client.get(f"/api/v1/companies/{company}/requests/{rid}", headers=auth(token))
    ids = r.json()["result"]["ids"]
    out = []
    for pk in ids:
        r = await client.get(f"/api/v1/companies/{company}/sessions/{pk}", headers=auth(token))
        assert r.status_code == 200, r.text
        out.append(r.json())
    return out
