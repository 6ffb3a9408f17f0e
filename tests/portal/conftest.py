"""Portal test fixtures: a store on SQLite and PostgreSQL, a fake clock, a populated world, the
:class:`Portal`, the ASGI app with an in-memory mailer, and an httpx client per user.

The world (all passwords :data:`PASSWORD`, second factor by email unless noted):

* Acme Trading: firm 007 in CERT and NEWRELEASE; iLink 3 sessions ABC/007 and ABD/007 (CERT),
  ABC/007 (NEWRELEASE). Users: admin@acme.example (administrator), sessions@acme.example
  (session_manager), keys@acme.example (key_management), viewer@acme.example (viewer).
* Other Clearing: firm 900 in CERT; iLink 3 session XYZ/900; other@other.example
  (administrator).
* No Firm LLC: no Globex Firm ID; nofirm@nofirm.example (administrator).
* multi@acme.example: administrator of Acme Trading and of Other Clearing (P-008).
"""

# ruff: noqa: F811  (fixtures imported from tests.store.conftest are used as parameters)
from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from dropcopy.aio.mail import MemoryMailer
from dropcopy.msgwconfig import SegmentGateways
from dropcopy.portal import EnvironmentGateways, Portal
from dropcopy.portal.app import PortalContext, create_app
from dropcopy.store import Role, Store, repo
from tests.portal_io.smtp_sink import smtp_sink  # noqa: F401  (fixture)
from tests.store.conftest import (  # noqa: F401  (fixtures)
    NOW,
    backend,
    ct,
    master_key,
    pg_database,
    pg_url,
    store,
    url,
)

PASSWORD = "correct horse battery"
NS = 1_000_000_000

GATEWAYS = {
    "CERT": EnvironmentGateways(
        cgw_primary="127.0.0.1:9301",
        cgw_backup="127.0.0.1:9302",
        msgw=(
            SegmentGateways(84, "Interest Rates", ("127.0.0.1", 9384), ("127.0.0.1", 9484)),
            SegmentGateways(80, "Equities", ("127.0.0.1", 9380), ("127.0.0.1", 9480)),
        ),
    ),
    "NEWRELEASE": EnvironmentGateways(
        cgw_primary="127.0.0.1:9501",
        cgw_backup=None,
        msgw=(SegmentGateways(84, "Interest Rates", ("127.0.0.1", 9584), None),),
    ),
}


class FakeClock:
    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * NS)


def build_world(store: Store, now: int = NOW) -> dict[str, int]:
    with store.session() as db:
        acme = repo.create_company(db, "Acme Trading", now=now)
        other = repo.create_company(db, "Other Clearing", now=now)
        nofirm = repo.create_company(db, "No Firm LLC", now=now)
        repo.add_globex_firm_id(db, acme, "007", "CERT", now=now)
        repo.add_globex_firm_id(db, acme, "007", "NEWRELEASE", now=now)
        repo.add_globex_firm_id(db, other, "900", "CERT", now=now)
        abc = repo.create_ilink3_session(db, acme, "CERT", "ABC", "007", now=now)
        abd = repo.create_ilink3_session(db, acme, "CERT", "ABD", "007", now=now)
        abc_nr = repo.create_ilink3_session(db, acme, "NEWRELEASE", "ABC", "007", now=now)
        xyz = repo.create_ilink3_session(db, other, "CERT", "XYZ", "900", now=now)
        users = {
            "admin": (acme, Role.ADMINISTRATOR),
            "sessions": (acme, Role.SESSION_MANAGER),
            "keys": (acme, Role.KEY_MANAGEMENT),
            "viewer": (acme, Role.VIEWER),
            "other": (other, Role.ADMINISTRATOR),
            "nofirm": (nofirm, Role.ADMINISTRATOR),
        }
        ids: dict[str, int] = {}
        for name, (company, role) in users.items():
            domain = {acme.id: "acme", other.id: "other", nofirm.id: "nofirm"}[company.id]
            u = repo.create_user(db, f"{name}@{domain}.example", name.title(), PASSWORD, now=now)
            repo.add_membership(db, u, company, role, now=now)
            ids[f"user_{name}"] = u.id
        multi = repo.create_user(db, "multi@acme.example", "Multi", PASSWORD, now=now)
        repo.add_membership(db, multi, acme, Role.ADMINISTRATOR, now=now)
        repo.add_membership(db, multi, other, Role.ADMINISTRATOR, now=now)
        db.flush()
        ids.update(
            acme=acme.id,
            other=other.id,
            nofirm=nofirm.id,
            abc=abc.id,
            abd=abd.id,
            abc_nr=abc_nr.id,
            xyz=xyz.id,
            user_multi=multi.id,
        )
        return ids


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with tiny parameters: each test creates seven users and signs some in; the
    production parameters (RFC 9106) cost ~0.1 s a hash. Behaviour is the same."""
    from argon2 import PasswordHasher

    from dropcopy.store import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(store: Store) -> dict[str, int]:
    return build_world(store)


@pytest.fixture
def portal(store: Store, clock: FakeClock, world: dict[str, int]) -> Portal:
    return Portal(store, clock, gateways=GATEWAYS)


@pytest.fixture
def mailer() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
def context(portal: Portal, mailer: MemoryMailer) -> PortalContext:
    return PortalContext(portal=portal, mailer=mailer, cookie_secure=False)


CODE = re.compile(r"security code to (?:sign in|download your keys) is (\d{6})")


def last_code(mailer: MemoryMailer, to: str) -> str:
    """The latest security code mailed to ``to``."""
    for email in reversed(mailer.sent):
        m = CODE.search(email.body)
        if email.to == to and m:
            return m.group(1)
    raise AssertionError(f"no security code was mailed to {to}")


def sign_in(portal: Portal, email: str) -> str:
    """Sign ``email`` in through :class:`Portal` (both factors); the token."""
    result = portal.sign_in(email, PASSWORD, "api")
    assert result.code is not None
    portal.verify_sign_in(result.token, result.code.code)
    return result.token


@pytest.fixture
def app(context: PortalContext):  # type: ignore[no-untyped-def]
    return create_app(context)


@pytest.fixture
async def api(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


async def api_token(client: httpx.AsyncClient, mailer: MemoryMailer, email: str) -> str:
    """Sign in over the API (password, then the mailed code); the bearer token."""
    r = await client.post("/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    pending = r.json()["token"]
    r = await client.post(
        "/api/v1/auth/verify",
        json={"code": last_code(mailer, email)},
        headers={"Authorization": f"Bearer {pending}"},
    )
    assert r.status_code == 200, r.text
    return pending
