"""Tenant isolation and roles over the REST API (P-001, P-008, P-024, AP-10, AP-12).

Every route under ``/companies/{company_id}`` is called by a user of another company: each
answers 404 -- as for a company that does not exist -- and changes nothing. A user calling his
own company's routes with another company's ids gets 404 too. Roles decide what may change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dropcopy.aio.mail import MemoryMailer
from dropcopy.portal import Portal
from dropcopy.store import (
    DropCopySession,
    DropCopySource,
    KeyPair,
    Notification,
    Request,
    SecurityCode,
    Store,
    repo,
)
from tests.portal.conftest import PASSWORD, FakeClock, api_token
from tests.portal.test_api_support import (
    auth,
    create_body,
    new_session,
    sign_in_as,
)

World = dict[str, int]


@dataclass
class Scene:
    """Acme with a completed Drop Copy session, keys and a request."""

    acme: int
    dc: int
    request: int
    abc: int
    abd: int
    dc_key: str
    abc_key: str


Body = Callable[[Scene], dict[str, Any] | None]


def _none(s: Scene) -> None:
    return None


#: Every company-scoped route, with a body that would succeed for a member.
ROUTES: list[tuple[str, str, Body]] = [
    ("GET", "/sessions", _none),
    ("GET", "/sessions/{dc}", _none),
    ("GET", "/sessions/{dc}/ips", _none),
    ("POST", "/sessions/{dc}/sources", lambda s: {"add": [s.abd]}),
    ("GET", "/sources?environment=CERT", _none),
    ("GET", "/ilink3-sessions", _none),
    ("GET", "/fee", _none),
    ("POST", "/requests/create-session", lambda s: create_body([s.abc])),
    ("GET", "/requests", _none),
    ("GET", "/requests/{request}", _none),
    ("POST", "/keys/overview", lambda s: {"sessions": [f"dropcopy:{s.dc}"]}),
    ("POST", "/keys/generate", lambda s: {"sessions": [f"dropcopy:{s.dc}", f"ilink3:{s.abc}"]}),
    (
        "POST",
        "/keys/delete",
        lambda s: {"keys": {f"dropcopy:{s.dc}": [s.dc_key]}, "confirm": True},
    ),
    ("POST", "/keys/download-code", _none),
    ("POST", "/keys/download", lambda s: {"sessions": [f"ilink3:{s.abc}"], "code": "123456"}),
    ("GET", "/audit", _none),
]
#: The OpenAPI path of each entry of ROUTES.
TEMPLATES = {
    "/sessions/{dc}": "/sessions/{session_pk}",
    "/sessions/{dc}/ips": "/sessions/{session_pk}/ips",
    "/sessions/{dc}/sources": "/sessions/{session_pk}/sources",
    "/requests/{request}": "/requests/{request_id}",
    "/sources?environment=CERT": "/sources",
}


def _url(company: int, path: str, s: Scene) -> str:
    return f"/api/v1/companies/{company}" + path.format(dc=s.dc, request=s.request)


@pytest.fixture
async def scene(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, portal: Portal, clock: FakeClock
) -> Scene:
    token = await sign_in_as(api, mailer, "admin")
    acme = world["acme"]
    [dc] = await new_session(api, token, acme, portal, clock, [world["abc"]])
    r = await api.post(
        f"/api/v1/companies/{acme}/keys/generate",
        json={"sessions": [f"dropcopy:{dc['id']}", f"ilink3:{world['abc']}"]},
        headers=auth(token),
    )
    dc_key, abc_key = (k["access_key_id"] for k in r.json()["keys"])
    r = await api.get(f"/api/v1/companies/{acme}/requests", headers=auth(token))
    return Scene(acme, dc["id"], r.json()[0]["id"], world["abc"], world["abd"], dc_key, abc_key)


def _state(store: Store) -> dict[str, list[Any]]:
    """Everything a company-scoped action could change (not sign-ins or the audit trail)."""
    out: dict[str, list[Any]] = {}
    with store.session() as db:
        for model in (Request, KeyPair, DropCopySession, DropCopySource, Notification):
            table = model.__table__  # type: ignore[attr-defined]
            out[table.name] = [tuple(row) for row in db.execute(select(table)).all()]
        out["codes"] = list(db.scalars(select(SecurityCode.id)))
    return out


async def test_routes_cover_every_company_scoped_route(api: httpx.AsyncClient) -> None:
    prefix = "/api/v1/companies/{company_id}"
    paths = (await api.get("/api/v1/openapi.json")).json()["paths"]
    served = {
        (method.upper(), path.removeprefix(prefix))
        for path, operations in paths.items()
        if path.startswith(prefix)
        for method in operations
    }
    tested = {(m, TEMPLATES.get(p, p)) for m, p, _ in ROUTES}
    assert served == tested


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
async def test_P024_another_companys_user_gets_404_and_changes_nothing(
    api: httpx.AsyncClient,
    mailer: MemoryMailer,
    store: Store,
    scene: Scene,
    method: str,
    path: str,
    body: Body,
) -> None:
    other = await sign_in_as(api, mailer, "other")
    before = _state(store)
    r = await api.request(
        method, _url(scene.acme, path, scene), json=body(scene), headers=auth(other)
    )
    assert r.status_code == 404, r.text
    assert r.json() == {"detail": f"No company #{scene.acme}."}
    # the same as a company that does not exist
    r = await api.request(method, _url(999_999, path, scene), json=body(scene), headers=auth(other))
    assert r.status_code == 404
    assert _state(store) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/sessions/{dc}", _none),
        ("GET", "/sessions/{dc}/ips", _none),
        ("POST", "/sessions/{dc}/sources", lambda s: {"add": [s.abc]}),
        ("GET", "/requests/{request}", _none),
        ("POST", "/requests/create-session", lambda s: create_body([s.abc])),
        ("POST", "/keys/overview", lambda s: {"sessions": [f"dropcopy:{s.dc}"]}),
        ("POST", "/keys/overview", lambda s: {"sessions": [f"ilink3:{s.abc}"]}),
        ("POST", "/keys/generate", lambda s: {"sessions": [f"dropcopy:{s.dc}"]}),
        ("POST", "/keys/generate", lambda s: {"sessions": [f"ilink3:{s.abc}"]}),
        ("POST", "/keys/delete", lambda s: {"keys": {f"ilink3:{s.abc}": []}, "confirm": True}),
        ("POST", "/keys/download", lambda s: {"sessions": [f"dropcopy:{s.dc}"], "code": "123456"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_P024_AP12_another_companys_ids_are_not_found_in_your_company(
    api: httpx.AsyncClient,
    mailer: MemoryMailer,
    store: Store,
    world: World,
    scene: Scene,
    method: str,
    path: str,
    body: Body,
) -> None:
    other = await sign_in_as(api, mailer, "other")
    before = _state(store)
    url = _url(world["other"], path, scene)
    r = await api.request(method, url, json=body(scene), headers=auth(other))
    assert r.status_code == 404, r.text
    assert _state(store) == before


async def test_a_multi_company_user_cannot_mix_companies(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, scene: Scene
) -> None:
    multi = await sign_in_as(api, mailer, "multi")
    url = f"/api/v1/companies/{world['other']}/sessions/{scene.dc}"
    assert (await api.get(url, headers=auth(multi))).status_code == 404
    url = f"/api/v1/companies/{world['acme']}/sessions/{scene.dc}"
    assert (await api.get(url, headers=auth(multi))).status_code == 200


# -- roles (P-001, AP-10) -----------------------------------------------------------------------

#: Role -> route -> expected status (routes of ROUTES; the rest are reads everyone may do).
WRITES = {
    "POST /sessions/{dc}/sources",
    "POST /requests/create-session",
    "POST /keys/overview",
    "POST /keys/generate",
    "POST /keys/delete",
    "POST /keys/download-code",
    "POST /keys/download",
    "GET /audit",
}
SESSION_WRITES = {"POST /sessions/{dc}/sources", "POST /requests/create-session"}
KEY_ROUTES = {r for r in WRITES if "/keys/" in r}
ALLOWED = {
    "viewer": set(),
    "sessions": SESSION_WRITES,
    "keys": KEY_ROUTES,
}


@pytest.mark.parametrize("who", ["viewer", "sessions", "keys"])
async def test_P001_AP10_each_role_may_do_only_its_part(
    api: httpx.AsyncClient, mailer: MemoryMailer, store: Store, scene: Scene, who: str
) -> None:
    token = await sign_in_as(api, mailer, who)
    for method, path, body in ROUTES:
        name = f"{method} {path}"
        if name in WRITES and name not in ALLOWED[who]:
            before = _state(store)
            r = await api.request(
                method, _url(scene.acme, path, scene), json=body(scene), headers=auth(token)
            )
            assert r.status_code == 403, (who, name, r.text)
            assert "role" in r.json()["detail"]
            assert _state(store) == before
        elif name not in WRITES:
            r = await api.request(
                method, _url(scene.acme, path, scene), json=body(scene), headers=auth(token)
            )
            assert r.status_code == 200, (who, name, r.text)
    acme = f"/api/v1/companies/{scene.acme}"
    if who == "sessions":
        r = await api.post(
            f"{acme}/requests/create-session", json=create_body([scene.abc]), headers=auth(token)
        )
        assert r.status_code == 201
    if who == "keys":
        r = await api.post(
            f"{acme}/keys/generate", json={"sessions": [f"ilink3:{scene.abd}"]}, headers=auth(token)
        )
        assert r.status_code == 201
        assert (
            await api.post(f"{acme}/keys/download-code", headers=auth(token))
        ).status_code == 204


async def test_P001_an_unentitled_user_sees_no_company(
    api: httpx.AsyncClient, mailer: MemoryMailer, store: Store, world: World, clock: FakeClock
) -> None:
    with store.session() as db:
        repo.create_user(db, "nobody@acme.example", "Nobody", PASSWORD, now=clock())
    token = await api_token(api, mailer, "nobody@acme.example")
    assert (await api.get("/api/v1/companies", headers=auth(token))).json() == []
    r = await api.post(
        f"/api/v1/companies/{world['acme']}/requests/create-session",
        json=create_body([world["abc"]]),
        headers=auth(token),
    )
    assert r.status_code == 404
