"""The REST API (``/api/v1``): signing in, sessions, requests and their processing (seed 000).

Each test is named after the rule it proves. Keys: ``test_api_keys.py``; tenant isolation and
roles: ``test_api_tenancy.py``; the schema: ``test_api_schema.py``.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete

from dropcopy.aio.mail import MemoryMailer
from dropcopy.portal import Portal
from dropcopy.portal.services import FIRM_ID_REQUIRED
from dropcopy.store import ILink3Session, Store
from tests.portal.conftest import PASSWORD, FakeClock, last_code
from tests.portal.test_api_support import (
    EMAILS,
    auth,
    create_body,
    make_operator,
    new_session,
    notifications,
    run_batch,
    sign_in_as,
)
from tests.store.conftest import ct

World = dict[str, int]


def _create_url(company: int) -> str:
    return f"/api/v1/companies/{company}/requests/create-session"


# -- signing in (I-031) ------------------------------------------------------------------------


async def test_I031_sign_in_takes_the_password_then_the_mailed_code(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    email = EMAILS["admin"]
    r = await api.post("/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["method"] == "email"
    assert r.headers["cache-control"] == "no-store"
    pending = r.json()["token"]
    code = last_code(mailer, email)
    assert code not in r.text  # the code goes only through its own channel

    assert (await api.get("/api/v1/me", headers=auth(pending))).status_code == 401
    wrong = "000000" if code != "000000" else "111111"
    r = await api.post("/api/v1/auth/verify", json={"code": wrong}, headers=auth(pending))
    assert r.status_code == 401
    r = await api.post("/api/v1/auth/verify", json={"code": code}, headers=auth(pending))
    assert r.status_code == 200, r.text
    assert r.json()["user"]["email"] == email

    r = await api.get("/api/v1/me", headers=auth(pending))
    assert r.status_code == 200
    me = r.json()
    assert me["user"]["operator"] is False
    assert me["companies"] == [
        {"id": world["acme"], "name": "Acme Trading", "roles": ["administrator"]}
    ]
    # a used code does not sign in twice
    r = await api.post("/api/v1/auth/verify", json={"code": code}, headers=auth(pending))
    assert r.status_code == 401


async def test_I031_pending_token_reaches_nothing_but_verify_resend_and_sign_out(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    r = await api.post(
        "/api/v1/auth/sign-in", json={"email": EMAILS["admin"], "password": PASSWORD}
    )
    pending = auth(r.json()["token"])
    acme = world["acme"]
    for method, url, body in [
        ("GET", "/api/v1/me", None),
        ("GET", "/api/v1/companies", None),
        ("GET", f"/api/v1/companies/{acme}/sessions", None),
        ("GET", f"/api/v1/companies/{acme}/requests", None),
        ("POST", _create_url(acme), create_body([world["abc"]])),
        ("POST", f"/api/v1/companies/{acme}/keys/generate", {"sessions": ["ilink3:1"]}),
        ("POST", f"/api/v1/companies/{acme}/keys/download-code", None),
        ("GET", "/api/v1/msgw-config/CERT", None),
        ("POST", "/api/v1/admin/batch/run", None),
    ]:
        r = await api.request(method, url, json=body, headers=pending)
        assert r.status_code == 401, (url, r.text)
    sent = len(mailer.sent)
    r = await api.post("/api/v1/auth/resend-code", headers=pending)
    assert r.status_code == 204
    assert len(mailer.sent) == sent + 1
    assert (await api.post("/api/v1/auth/sign-out", headers=pending)).status_code == 204
    code = last_code(mailer, EMAILS["admin"])
    r = await api.post("/api/v1/auth/verify", json={"code": code}, headers=pending)
    assert r.status_code == 401  # signed out before the second factor


async def test_I031_resend_code_revokes_the_previous_sign_in_code(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    email = EMAILS["viewer"]
    r = await api.post("/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
    pending = auth(r.json()["token"])
    first = last_code(mailer, email)
    assert (await api.post("/api/v1/auth/resend-code", headers=pending)).status_code == 204
    second = last_code(mailer, email)
    if first != second:
        r = await api.post("/api/v1/auth/verify", json={"code": first}, headers=pending)
        assert r.status_code == 401
    r = await api.post("/api/v1/auth/verify", json={"code": second}, headers=pending)
    assert r.status_code == 200


async def test_I031_five_failed_passwords_lock_sign_in_even_with_the_right_password(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, clock: FakeClock
) -> None:
    email = EMAILS["keys"]
    for _ in range(5):
        r = await api.post("/api/v1/auth/sign-in", json={"email": email, "password": "wrong!"})
        assert r.status_code == 401
        assert r.json() == {"detail": "Invalid email or password."}
    r = await api.post("/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert r.status_code == 429
    assert not mailer.sent  # no code was sent
    clock.advance(15 * 60 + 1)
    r = await api.post("/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200


async def test_unknown_email_and_wrong_password_answer_alike(
    api: httpx.AsyncClient, world: World
) -> None:
    a = await api.post(
        "/api/v1/auth/sign-in", json={"email": "nobody@acme.example", "password": PASSWORD}
    )
    b = await api.post("/api/v1/auth/sign-in", json={"email": EMAILS["admin"], "password": "x"})
    assert (a.status_code, a.json()) == (b.status_code, b.json())


async def test_no_token_a_bad_token_or_the_web_cookie_is_401(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    r = await api.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    r = await api.get("/api/v1/me", headers=auth("not-a-token"))
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    r = await api.get("/api/v1/me", headers={"Authorization": f"Basic {token}"})
    assert r.status_code == 401
    # the API never reads the cookie (so it needs no CSRF token)
    r = await api.get("/api/v1/me", headers={"Cookie": f"dropcopy_session={token}"})
    assert r.status_code == 401
    assert (await api.get("/api/v1/me", headers=auth(token))).status_code == 200


async def test_sign_out_revokes_the_token(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    assert (await api.post("/api/v1/auth/sign-out", headers=auth(token))).status_code == 204
    assert (await api.get("/api/v1/me", headers=auth(token))).status_code == 401
    assert (await api.post("/api/v1/auth/sign-out", headers=auth(token))).status_code == 204


async def test_P008_a_user_of_several_companies_works_in_each_by_its_id(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, portal: Portal, clock: FakeClock
) -> None:
    token = await sign_in_as(api, mailer, "multi")
    r = await api.get("/api/v1/companies", headers=auth(token))
    assert [(c["name"], c["roles"]) for c in r.json()] == [
        ("Acme Trading", ["administrator"]),
        ("Other Clearing", ["administrator"]),
    ]
    [made] = await new_session(api, token, world["other"], portal, clock, [world["xyz"]])
    other = await api.get(f"/api/v1/companies/{world['other']}/sessions", headers=auth(token))
    acme = await api.get(f"/api/v1/companies/{world['acme']}/sessions", headers=auth(token))
    assert [s["session_id"] for s in other.json()] == [made["session_id"]]
    assert acme.json() == []
    r = await api.get(
        f"/api/v1/companies/{world['acme']}/sessions/{made['id']}", headers=auth(token)
    )
    assert r.status_code == 404


# -- Create New Session (P-006..P-022) ----------------------------------------------------------


async def test_P006_P015_P018_submit_creates_an_in_progress_request(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    token = await sign_in_as(api, mailer, "sessions")
    acme = world["acme"]
    r = await api.post(_create_url(acme), json=create_body([world["abc"]]), headers=auth(token))
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "In-Progress"
    assert req["kind"] == "create_session"
    assert req["environment"] == "CERT"
    assert req["reason"] is None
    assert req["submitted_by"] == EMAILS["sessions"]
    r = await api.get(f"/api/v1/companies/{acme}/requests", headers=auth(token))
    assert [x["id"] for x in r.json()] == [req["id"]]
    r = await api.get(f"/api/v1/companies/{acme}/requests/{req['id']}", headers=auth(token))
    assert r.json() == req


async def test_P007_create_without_globex_firm_id_is_refused_with_the_seeds_explanation(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, store: Store
) -> None:
    token = await sign_in_as(api, mailer, "nofirm")
    nofirm = world["nofirm"]
    before = len(notifications(store))
    r = await api.post(_create_url(nofirm), json=create_body([1]), headers=auth(token))
    assert r.status_code == 422
    assert r.json() == {"detail": FIRM_ID_REQUIRED}
    r = await api.get(f"/api/v1/companies/{nofirm}/requests", headers=auth(token))
    assert r.json() == []
    assert len(notifications(store)) == before


async def test_P009_environment_is_exactly_cert_or_newrelease(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    url = _create_url(world["acme"])
    for bad in ("PROD", "Production", "", "cert", None):
        body = create_body([world["abc"]], environment=bad)
        assert (await api.post(url, json=body, headers=auth(token))).status_code == 422, bad
    for env, source in (("CERT", world["abc"]), ("NEWRELEASE", world["abc_nr"])):
        r = await api.post(url, json=create_body([source], environment=env), headers=auth(token))
        assert r.status_code == 201, r.text
        assert r.json()["environment"] == env
    # a source of the other environment is refused
    r = await api.post(
        url, json=create_body([world["abc_nr"]], environment="CERT"), headers=auth(token)
    )
    assert r.status_code == 422


async def test_P011_session_type_is_one_of_the_seeds_two(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    url = _create_url(world["acme"])
    for bad in ("FIX Gateway", "cgw", "Market Segment Gateway", ""):
        body = create_body([world["abc"]], session_type=bad)
        assert (await api.post(url, json=body, headers=auth(token))).status_code == 422, bad
    for kind in ("Convenience Gateway", "Market Segment Gateway (iLink 3)", "CGW", "MSGW"):
        body = create_body([world["abc"]], session_type=kind)
        r = await api.post(url, json=body, headers=auth(token))
        assert r.status_code == 201, r.text
        assert r.json()["payload"]["session_type"] == (
            "CGW" if "Conv" in kind or kind == "CGW" else "MSGW"
        )


async def test_P012_number_of_sessions_is_1_or_2_and_2_makes_two_sessions(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, portal: Portal, clock: FakeClock
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    url = _create_url(world["acme"])
    for bad in (0, 3, -1, "2", 1.5):
        body = create_body([world["abc"]], number_of_sessions=bad)
        assert (await api.post(url, json=body, headers=auth(token))).status_code == 422, bad
    made = await new_session(
        api, token, world["acme"], portal, clock, [world["abc"], world["abd"]], number_of_sessions=2
    )
    assert len(made) == 2
    assert made[0]["session_id"] != made[1]["session_id"]
    for s in made:  # AP-08: same environment, type and sources; own ids and keys
        assert s["environment"] == "CERT"
        assert s["session_type"] == "CGW"
        assert [x["label"] for x in s["sources"]] == ["ABC/007", "ABD/007"]


async def test_P013_P032_business_rationale_is_required_and_shown_on_details(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, portal: Portal, clock: FakeClock
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    url = _create_url(world["acme"])
    for bad in ("", "   ", "x" * 2001, "nul\x00byte"):
        body = create_body([world["abc"]], business_rationale=bad)
        assert (await api.post(url, json=body, headers=auth(token))).status_code == 422
    text = "Mirror of our MSGW activity\nfor the risk desk"
    [s] = await new_session(
        api, token, world["acme"], portal, clock, [world["abc"]], business_rationale=text
    )
    assert s["business_rationale"] == text


async def test_P014_add_source_sendercomps_offers_only_the_companys_own(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    acme = world["acme"]
    r = await api.get(f"/api/v1/companies/{acme}/sources?environment=CERT", headers=auth(token))
    assert [(s["id"], s["label"]) for s in r.json()] == [
        (world["abc"], "ABC/007"),
        (world["abd"], "ABD/007"),
    ]
    r = await api.get(
        f"/api/v1/companies/{acme}/sources?environment=NEWRELEASE", headers=auth(token)
    )
    assert [s["id"] for s in r.json()] == [world["abc_nr"]]
    r = await api.get(f"/api/v1/companies/{acme}/sources", headers=auth(token))
    assert r.status_code == 422  # the environment is required
    # AP-12: at least one source; never another company's
    r = await api.post(_create_url(acme), json=create_body([]), headers=auth(token))
    assert r.status_code == 422
    r = await api.post(_create_url(acme), json=create_body([world["xyz"]]), headers=auth(token))
    assert r.status_code == 404
    r = await api.get(f"/api/v1/companies/{acme}/ilink3-sessions", headers=auth(token))
    assert sorted(s["id"] for s in r.json()) == sorted(
        [world["abc"], world["abd"], world["abc_nr"]]
    )


async def test_P017_AP13_one_notification_per_submit_to_the_registered_address(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, store: Store
) -> None:
    token = await sign_in_as(api, mailer, "sessions")
    before = notifications(store)
    r = await api.post(
        _create_url(world["acme"]), json=create_body([world["abc"]]), headers=auth(token)
    )
    new = notifications(store)[len(before) :]
    assert len(new) == 1
    note = new[0]
    assert note.to_address == EMAILS["sessions"]
    assert note.request_id == r.json()["id"]
    assert f"#{r.json()['id']}" in note.subject
    assert "In-Progress" in note.body
    assert token not in note.body
    assert last_code(mailer, EMAILS["sessions"]) not in note.body


async def test_P019_requests_wait_for_the_daily_4pm_ct_processing(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, portal: Portal, clock: FakeClock
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    acme = world["acme"]
    clock.now = ct(2026, 11, 24, 15)
    r = await api.post(_create_url(acme), json=create_body([world["abc"]]), headers=auth(token))
    early = r.json()["id"]
    clock.now = ct(2026, 11, 24, 15, 59)
    r = await api.get(f"/api/v1/companies/{acme}/requests/{early}", headers=auth(token))
    assert r.json()["status"] == "In-Progress"
    clock.now = ct(2026, 11, 24, 16, 1)  # submitted after the run began: waits a day
    r = await api.post(_create_url(acme), json=create_body([world["abd"]]), headers=auth(token))
    late = r.json()["id"]
    clock.now = ct(2026, 11, 24, 16, 2)
    portal.run_batch(cutoff=ct(2026, 11, 24, 16))  # what the scheduler runs at 16:00 CT (AP-03)
    r = await api.get(f"/api/v1/companies/{acme}/requests", headers=auth(token))
    status = {x["id"]: x["status"] for x in r.json()}
    assert status == {early: "Completed", late: "In-Progress"}
    done = next(x for x in r.json() if x["id"] == early)
    assert done["processed_at"] == "2026-11-24T22:02:00Z"  # 16:02 CT


async def test_P019_the_operators_run_now_endpoint_processes_what_is_waiting(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, store: Store, clock: FakeClock
) -> None:
    make_operator(store, clock())
    admin = await sign_in_as(api, mailer, "admin")
    operator = await sign_in_as(api, mailer, "operator")
    acme = world["acme"]
    r = await api.post(_create_url(acme), json=create_body([world["abc"]]), headers=auth(admin))
    rid = r.json()["id"]
    assert (await api.post("/api/v1/admin/batch/run", headers=auth(admin))).status_code == 403
    assert (await api.get("/api/v1/admin/batch", headers=auth(admin))).status_code == 403
    r = await api.get("/api/v1/admin/batch", headers=auth(operator))
    assert r.json() == {"last_cutoff": None}
    clock.advance(60)
    r = await api.post("/api/v1/admin/batch/run", headers=auth(operator))
    assert r.status_code == 200, r.text
    assert r.json()["completed"] == [rid]
    assert r.json()["failed"] == {}
    r = await api.get(f"/api/v1/companies/{acme}/requests/{rid}", headers=auth(admin))
    assert r.json()["status"] == "Completed"
    r = await api.get("/api/v1/admin/batch", headers=auth(operator))
    assert r.json()["last_cutoff"] is not None


async def test_P020_P022_P029_P030_P031_the_session_appears_only_once_completed(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, portal: Portal, clock: FakeClock
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    acme = world["acme"]
    r = await api.post(
        _create_url(acme),
        json=create_body([world["abc"]], session_type="MSGW"),
        headers=auth(token),
    )
    rid = r.json()["id"]
    assert (await api.get(f"/api/v1/companies/{acme}/sessions", headers=auth(token))).json() == []
    run_batch(portal, clock)
    r = await api.get(f"/api/v1/companies/{acme}/requests/{rid}", headers=auth(token))
    req = r.json()
    assert req["status"] == "Completed"
    [listed] = (await api.get(f"/api/v1/companies/{acme}/sessions", headers=auth(token))).json()
    assert req["result"]["session_ids"] == [listed["session_id"]]
    assert len(listed["session_id"]) == 6
    assert listed["environment"] == "CERT"
    assert listed["session_type"] == "MSGW"
    assert listed["session_type_label"] == "Market Segment Gateway (iLink 3)"
    assert listed["keys"] == []


async def test_P021_a_failed_request_shows_its_reason_on_my_requests(
    api: httpx.AsyncClient,
    mailer: MemoryMailer,
    world: World,
    portal: Portal,
    clock: FakeClock,
    store: Store,
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    acme = world["acme"]
    r = await api.post(_create_url(acme), json=create_body([world["abc"]]), headers=auth(token))
    rid = r.json()["id"]
    with store.session() as db:  # the source leaves the company before the processing (AP-04)
        db.execute(delete(ILink3Session).where(ILink3Session.id == world["abc"]))
    reason = f"Source SenderComp #{world['abc']} no longer exists."
    report = run_batch(portal, clock)
    assert report["failed"] == {str(rid): reason}
    [req] = (await api.get(f"/api/v1/companies/{acme}/requests", headers=auth(token))).json()
    assert req["status"] == "Failed"
    assert req["reason"] == reason
    r = await api.get(f"/api/v1/companies/{acme}/requests/{rid}", headers=auth(token))
    assert r.json()["reason"] == reason
    assert (await api.get(f"/api/v1/companies/{acme}/sessions", headers=auth(token))).json() == []


# -- viewing and editing (P-024..P-040) ---------------------------------------------------------


async def test_P026_view_ips_shows_every_segments_primary_and_backup(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, portal: Portal, clock: FakeClock
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    acme = world["acme"]
    [msgw] = await new_session(api, token, acme, portal, clock, [world["abc"]], session_type="MSGW")
    [cgw] = await new_session(api, token, acme, portal, clock, [world["abd"]])
    r = await api.get(f"/api/v1/companies/{acme}/sessions/{msgw['id']}/ips", headers=auth(token))
    assert r.json() == {
        "session_type": "MSGW",
        "gateways": [
            {
                "segment": "80",
                "name": "Equities",
                "primary": "127.0.0.1:9380",
                "backup": "127.0.0.1:9480",
            },
            {
                "segment": "84",
                "name": "Interest Rates",
                "primary": "127.0.0.1:9384",
                "backup": "127.0.0.1:9484",
            },
        ],
    }
    r = await api.get(f"/api/v1/companies/{acme}/sessions/{cgw['id']}/ips", headers=auth(token))
    assert r.json() == {
        "session_type": "CGW",
        "gateways": [
            {"segment": "G", "name": None, "primary": "127.0.0.1:9301", "backup": "127.0.0.1:9302"}
        ],
    }


async def test_P028_sessions_can_be_filtered_and_sorted(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, portal: Portal, clock: FakeClock
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    acme = world["acme"]
    [a] = await new_session(api, token, acme, portal, clock, [world["abc"]])
    [b] = await new_session(api, token, acme, portal, clock, [world["abd"]], session_type="MSGW")
    [c] = await new_session(
        api, token, acme, portal, clock, [world["abc_nr"]], environment="NEWRELEASE"
    )
    url = f"/api/v1/companies/{acme}/sessions"

    async def ids(**params: str) -> list[int]:
        r = await api.get(url, params=params, headers=auth(token))
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()]

    assert sorted(await ids()) == sorted([a["id"], b["id"], c["id"]])
    assert await ids(environment="NEWRELEASE") == [c["id"]]
    assert await ids(session_type="MSGW") == [b["id"]]
    assert await ids(session_type="Convenience Gateway", environment="CERT") == [a["id"]]
    assert await ids(search=b["session_id"]) == [b["id"]]
    assert await ids(search="abd/007") == [b["id"]]
    assert await ids(sort="created_at") == [a["id"], b["id"], c["id"]]
    assert await ids(sort="created_at", order="desc") == [c["id"], b["id"], a["id"]]
    by_id = sorted([a, b, c], key=lambda s: s["session_id"])
    assert await ids(sort="session_id") == [s["id"] for s in by_id]
    for bad in ({"sort": "secret"}, {"order": "up"}, {"environment": "PROD"}):
        r = await api.get(url, params=bad, headers=auth(token))
        assert r.status_code == 422


async def test_P033_P039_edit_sources_is_a_request_processed_at_4pm(
    api: httpx.AsyncClient,
    mailer: MemoryMailer,
    world: World,
    portal: Portal,
    clock: FakeClock,
    store: Store,
) -> None:
    token = await sign_in_as(api, mailer, "sessions")
    acme = world["acme"]
    [s] = await new_session(api, token, acme, portal, clock, [world["abc"]])
    url = f"/api/v1/companies/{acme}/sessions/{s['id']}/sources"
    before = notifications(store)
    r = await api.post(url, json={"add": [world["abd"]]}, headers=auth(token))  # P-034
    assert r.status_code == 201, r.text
    add = r.json()
    assert add["status"] == "In-Progress"
    assert add["dc_session_id"] == s["session_id"]
    new = notifications(store)[len(before) :]  # P-037: one mail
    assert [(n.to_address, n.request_id) for n in new] == [(EMAILS["sessions"], add["id"])]
    r = await api.get(f"/api/v1/companies/{acme}/sessions/{s['id']}", headers=auth(token))
    assert r.json()["pending_requests"] == [add["id"]]
    assert [x["label"] for x in r.json()["sources"]] == ["ABC/007"]  # P-038: not yet
    run_batch(portal, clock)
    r = await api.get(f"/api/v1/companies/{acme}/sessions/{s['id']}", headers=auth(token))
    assert [x["label"] for x in r.json()["sources"]] == ["ABC/007", "ABD/007"]

    # P-035 remove; P-039 a second request for the same source fails in the same run
    first = await api.post(url, json={"remove": [world["abd"]]}, headers=auth(token))
    second = await api.post(url, json={"remove": [world["abd"]]}, headers=auth(token))
    assert first.status_code == second.status_code == 201
    report = run_batch(portal, clock)
    assert report["completed"] == [first.json()["id"]]
    r = await api.get(
        f"/api/v1/companies/{acme}/requests/{second.json()['id']}", headers=auth(token)
    )
    assert r.json()["status"] == "Failed"
    assert "Conflicts with an earlier request" in r.json()["reason"]
    r = await api.get(f"/api/v1/companies/{acme}/sessions/{s['id']}", headers=auth(token))
    assert [x["label"] for x in r.json()["sources"]] == ["ABC/007"]

    for bad in (
        {},
        {"add": [], "remove": []},
        {"add": [world["abc"]]},  # already attached
        {"remove": [world["abd"]]},  # not attached
        {"add": [world["abc_nr"]]},  # another environment
        {"add": [world["abd"]], "extra": 1},
    ):
        r = await api.post(url, json=bad, headers=auth(token))
        assert r.status_code == 422, (bad, r.text)
    r = await api.post(url, json={"add": [world["xyz"]]}, headers=auth(token))
    assert r.status_code == 404  # another company's source does not exist for us


async def test_D110_D111_the_first_group_is_free_the_next_costs_500(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, portal: Portal, clock: FakeClock
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    acme = world["acme"]
    r = await api.get(f"/api/v1/companies/{acme}/fee", headers=auth(token))
    assert r.json()["monthly_fee_usd"] == 0
    await new_session(api, token, acme, portal, clock, [world["abc"]])
    r = await api.get(f"/api/v1/companies/{acme}/fee", headers=auth(token))
    assert r.json() == {
        "existing_groups": 1,
        "monthly_fee_usd": 500,
        "text": r.json()["text"],
    }
    assert "$500/month" in r.json()["text"]


async def test_D090_msgw_configuration_file_downloads_as_csv(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    token = await sign_in_as(api, mailer, "viewer")
    r = await api.get("/api/v1/msgw-config/CERT", headers=auth(token))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="DC_MSGW_Configuration_CERT.csv"' in r.headers["content-disposition"]
    assert "80,Equities,127.0.0.1,9380,127.0.0.1,9480" in r.text
    assert (await api.get("/api/v1/msgw-config/PROD", headers=auth(token))).status_code == 422
    assert (await api.get("/api/v1/msgw-config/CERT")).status_code == 401


async def test_audit_trail_is_for_administrators(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World
) -> None:
    admin = await sign_in_as(api, mailer, "admin")
    viewer = await sign_in_as(api, mailer, "viewer")
    acme = world["acme"]
    await api.post(_create_url(acme), json=create_body([world["abc"]]), headers=auth(admin))
    r = await api.get(f"/api/v1/companies/{acme}/audit", headers=auth(admin))
    assert r.status_code == 200
    assert "request.submitted" in [e["action"] for e in r.json()]
    r = await api.get(f"/api/v1/companies/{acme}/audit?limit=1", headers=auth(admin))
    assert len(r.json()) == 1
    r = await api.get(f"/api/v1/companies/{acme}/audit", headers=auth(viewer))
    assert r.status_code == 403


@pytest.mark.parametrize("field", ["extra", "Environment"])
async def test_unknown_fields_are_refused(
    api: httpx.AsyncClient, mailer: MemoryMailer, world: World, field: str
) -> None:
    token = await sign_in_as(api, mailer, "admin")
    body = create_body([world["abc"]])
    body[field] = "CERT"
    r = await api.post(_create_url(world["acme"]), json=body, headers=auth(token))
    assert r.status_code == 422
