"""Secure keys over the REST API: generate, delete, download with a security code
(P-041..P-063, AP-01, AP-02, AP-05..AP-07, AP-13)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from dropcopy.aio.mail import MemoryMailer
from dropcopy.keyfile import COLUMNS, parse
from dropcopy.portal import Portal
from dropcopy.store import Store
from tests.portal.conftest import FakeClock, last_code
from tests.portal.test_api_support import (
    EMAILS,
    auth,
    new_session,
    notifications,
    sign_in_as,
)
from tests.store.conftest import ct

World = dict[str, int]


class Keys:
    """The key endpoints of one company, as one user."""

    def __init__(self, client: httpx.AsyncClient, mailer: MemoryMailer, company: int) -> None:
        self.client = client
        self.mailer = mailer
        self.base = f"/api/v1/companies/{company}/keys"
        self.token = ""
        self.email = ""

    async def sign_in(self, who: str) -> Keys:
        self.token = await sign_in_as(self.client, self.mailer, who)
        self.email = EMAILS[who]
        return self

    async def post(self, what: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(f"{self.base}/{what}", json=body, headers=auth(self.token))

    async def generate(self, *refs: str, **delete: list[str]) -> httpx.Response:
        body: dict[str, Any] = {"sessions": list(refs)}
        if delete:
            body["delete"] = {k.replace("_", ":"): v for k, v in delete.items()}
        return await self.post("generate", body)

    async def overview(self, *refs: str) -> dict[str, list[dict[str, Any]]]:
        r = await self.post("overview", {"sessions": list(refs)})
        assert r.status_code == 200, r.text
        return {o["session"]: o["keys"] for o in r.json()}

    async def code(self) -> str:
        r = await self.post("download-code")
        assert r.status_code == 204, r.text
        return last_code(self.mailer, self.email)

    async def download(self, *refs: str, code: str) -> httpx.Response:
        return await self.post("download", {"sessions": list(refs), "code": code})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def _keys(api: httpx.AsyncClient, mailer: MemoryMailer, world: World) -> Keys:
    return await Keys(api, mailer, world["acme"]).sign_in("keys")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_P041_P043_P046_generate_for_several_sessions_gives_one_new_key_each(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, portal: Portal, clock: FakeClock
) -> None:
    admin = await sign_in_as(api, mailer, "admin")
    [dc] = await new_session(api, admin, world["acme"], portal, clock, [world["abc"]])
    keys = await _keys(api, mailer, world)
    refs = (f"dropcopy:{dc['id']}", f"ilink3:{world['abc']}", f"ilink3:{world['abd']}")
    r = await keys.generate(*refs)
    assert r.status_code == 201, r.text
    made = r.json()["keys"]
    assert [m["session"] for m in made] == list(refs)
    assert [m["session_id"] for m in made] == [dc["session_id"], "ABC/007", "ABD/007"]
    for m in made:
        assert len(m["access_key_id"]) == 20
        assert m["deleted"] == m["expiring"] == []
        assert "secret" not in str(m).lower()  # secrets only through the download
    overview = await keys.overview(*refs)
    assert {k: [x["access_key_id"] for x in v] for k, v in overview.items()} == {
        m["session"]: [m["access_key_id"]] for m in made
    }
    r = await api.get(f"/api/v1/companies/{world['acme']}/sessions/{dc['id']}", headers=auth(admin))
    assert [k["access_key_id"] for k in r.json()["keys"]] == [made[0]["access_key_id"]]


async def test_P042_a_session_holding_two_keys_needs_one_chosen_for_deletion(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    keys = await _keys(api, mailer, world)
    ref = f"ilink3:{world['abc']}"
    first = (await keys.generate(ref)).json()["keys"][0]["access_key_id"]
    r = await keys.generate(ref)
    second = r.json()["keys"][0]["access_key_id"]
    assert r.json()["keys"][0]["expiring"] == [first]  # AP-01: one key: no prompt

    r = await keys.generate(ref)
    assert r.status_code == 409
    assert r.json()["existing"] == {ref: [first, second]}
    r = await keys.post("overview", {"sessions": [ref]})
    assert r.json()[0]["must_choose"] is True
    assert [k["access_key_id"] for k in r.json()[0]["keys"]] == [first, second]  # unchanged

    r = await keys.generate(ref, **{f"ilink3_{world['abc']}": ["A" * 20]})
    assert r.status_code == 404  # not a usable key of the session
    r = await keys.generate(ref, **{f"ilink3_{world['abd']}": [first]})
    assert r.status_code == 422  # a session that is not selected

    r = await keys.generate(ref, **{f"ilink3_{world['abc']}": [first]})
    assert r.status_code == 201, r.text
    made = r.json()["keys"][0]
    assert made["deleted"] == [first]  # P-045
    assert made["expiring"] == [second]
    overview = await keys.overview(ref)
    assert [k["access_key_id"] for k in overview[ref]] == [second, made["access_key_id"]]


async def test_P044_the_key_not_deleted_expires_four_weeks_after_the_new_one(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, clock: FakeClock
) -> None:
    keys = await _keys(api, mailer, world)
    ref = f"ilink3:{world['abd']}"
    old = (await keys.generate(ref)).json()["keys"][0]["access_key_id"]
    clock.advance(3600)
    new = (await keys.generate(ref)).json()["keys"][0]
    by_id = {k["access_key_id"]: k for k in (await keys.overview(ref))[ref]}
    assert by_id[old]["superseded"] is True
    assert by_id[new["access_key_id"]]["superseded"] is False
    overlap = _at(by_id[old]["expires_at"]) - _at(by_id[new["access_key_id"]]["created_at"])
    assert timedelta(days=28) <= overlap < timedelta(days=29)  # at market close (AP-02)
    clock.now = ct(2026, 12, 22, 15, 59)  # 4 weeks later, before the close
    await keys.sign_in("keys")  # API tokens last 24 hours
    assert len((await keys.overview(ref))[ref]) == 2
    clock.now = ct(2026, 12, 22, 16)
    assert [k["access_key_id"] for k in (await keys.overview(ref))[ref]] == [new["access_key_id"]]


async def test_P049_P052_P061_P063_download_needs_the_security_code_and_gives_the_key_file(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    keys = await _keys(api, mailer, world)
    refs = (f"ilink3:{world['abc']}", f"ilink3:{world['abd']}")
    made = (await keys.generate(*refs)).json()["keys"]
    r = await keys.post("download", {"sessions": list(refs)})
    assert r.status_code == 422  # no code
    r = await keys.download(*refs, code="123456")
    assert r.status_code == 403  # no code was sent yet
    code = await keys.code()
    r = await keys.download(*refs, code=_wrong(code))
    assert r.status_code == 403
    assert r.json() == {"detail": "The security code is not correct."}
    r = await keys.download(*refs, code=code)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["content-disposition"].startswith('attachment; filename="keys-')
    assert r.headers["cache-control"] == "no-store"
    assert r.text.splitlines()[0].split()[:2] == ["Session", "ID"]
    assert all(c in r.text.splitlines()[0] for c in COLUMNS)  # AP-07
    entries = parse(r.text)
    assert [(e.session_id, e.access_key_id) for e in entries] == [
        ("ABC", made[0]["access_key_id"]),
        ("ABD", made[1]["access_key_id"]),
    ]
    for e in entries:
        assert len(e.secret_key) == 43
        assert e.environment == "CERT"
    r = await keys.download(*refs, code=code)
    assert r.status_code == 403  # single use


async def test_P050_P062_resend_code_sends_a_new_code_and_revokes_the_old(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    keys = await _keys(api, mailer, world)
    ref = f"ilink3:{world['abc']}"
    await keys.generate(ref)
    sent = len(mailer.sent)
    old = await keys.code()
    new = await keys.code()  # Resend Code
    assert len(mailer.sent) == sent + 2
    assert mailer.sent[-1].to == EMAILS["keys"]
    if old != new:
        assert (await keys.download(ref, code=old)).status_code == 403
    assert (await keys.download(ref, code=new)).status_code == 200


async def test_P060_two_downloads_give_the_same_secrets(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    keys = await _keys(api, mailer, world)
    ref = f"ilink3:{world['abc']}"
    await keys.generate(ref)
    first = await keys.download(ref, code=await keys.code())
    second = await keys.download(ref, code=await keys.code())
    assert first.status_code == second.status_code == 200
    assert [e.secret_key for e in parse(first.text)] == [e.secret_key for e in parse(second.text)]


async def test_AP06_at_most_ten_codes_a_day_sign_in_included(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, clock: FakeClock
) -> None:
    keys = await _keys(api, mailer, world)  # the sign-in used one code
    for _ in range(9):
        assert (await keys.post("download-code")).status_code == 204
    sent = len(mailer.sent)
    r = await keys.post("download-code")  # the 11th code of the day
    assert r.status_code == 429
    assert len(mailer.sent) == sent
    clock.now = ct(2026, 11, 25, 0, 1)  # a new day in Chicago
    assert (await keys.post("download-code")).status_code == 204


async def test_P054_P055_P056_delete_asks_which_key_and_a_confirmation(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    keys = await _keys(api, mailer, world)
    abc, abd = f"ilink3:{world['abc']}", f"ilink3:{world['abd']}"
    k1 = (await keys.generate(abc)).json()["keys"][0]["access_key_id"]
    k2 = (await keys.generate(abc)).json()["keys"][0]["access_key_id"]
    only = (await keys.generate(abd)).json()["keys"][0]["access_key_id"]

    for bad in (
        {"keys": {abc: [k1]}},  # no confirmation
        {"keys": {abc: [k1]}, "confirm": False},  # cancelled at the confirmation (P-056)
        {"keys": {}, "confirm": True},
        {"keys": {"session:1": [k1]}, "confirm": True},
    ):
        assert (await keys.post("delete", bad)).status_code == 422, bad
    r = await keys.post("delete", {"keys": {abc: []}, "confirm": True})
    assert r.status_code == 422  # two keys: choose (P-055)
    assert "select the key(s)" in r.json()["detail"]
    assert len((await keys.overview(abc))[abc]) == 2  # nothing deleted

    r = await keys.post("delete", {"keys": {abc: [k1], abd: []}, "confirm": True})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["deleted"]) == sorted([k1, only])
    overview = await keys.overview(abc, abd)
    assert [k["access_key_id"] for k in overview[abc]] == [k2]
    assert overview[abd] == []
    r = await keys.post("delete", {"keys": {abd: []}, "confirm": True})
    assert r.status_code == 422  # no keys left


async def test_P048_P058_AP13_one_notification_per_key_action_never_with_secrets_or_codes(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, store: Store
) -> None:
    keys = await _keys(api, mailer, world)
    ref = f"ilink3:{world['abc']}"
    seen = len(notifications(store))

    def new_mails() -> list[Any]:
        nonlocal seen
        rows = notifications(store)
        new, seen = rows[seen:], len(rows)
        return new

    made = (await keys.generate(ref)).json()["keys"][0]["access_key_id"]
    [generated] = new_mails()
    assert generated.to_address == EMAILS["keys"]
    assert made in generated.body
    code = await keys.code()
    assert new_mails() == []  # the code goes only through its own channel
    download = await keys.download(ref, code=code)
    [downloaded] = new_mails()
    await keys.post("delete", {"keys": {ref: [made]}, "confirm": True})
    [deleted] = new_mails()
    assert made in deleted.body
    secrets_ = [e.secret_key for e in parse(download.text)]
    for note in (generated, downloaded, deleted):
        assert note.to_address == EMAILS["keys"]
        for secret in [*secrets_, code, keys.token]:
            assert secret not in note.body
            assert secret not in note.subject


async def test_AP05_a_deleted_key_is_gone_from_the_next_download(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    keys = await _keys(api, mailer, world)
    ref = f"ilink3:{world['abc']}"
    k1 = (await keys.generate(ref)).json()["keys"][0]["access_key_id"]
    k2 = (await keys.generate(ref)).json()["keys"][0]["access_key_id"]
    await keys.post("delete", {"keys": {ref: [k1]}, "confirm": True})
    r = await keys.download(ref, code=await keys.code())
    assert [e.access_key_id for e in parse(r.text)] == [k2]
