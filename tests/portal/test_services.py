"""The portal's actions (:class:`dropcopy.portal.Portal`) on SQLite and PostgreSQL: signing in
with a second factor, security codes, the daily processing, tenant isolation at the service
layer. The REST API and the browser tests drive the same actions from outside."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dropcopy.portal import OwnerRef, Portal
from dropcopy.portal.errors import (
    Forbidden,
    Invalid,
    KeyChoiceNeeded,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from dropcopy.portal.services import FIRM_ID_REQUIRED
from dropcopy.store import (
    DropCopySession,
    GlobexFirmId,
    ILink3Session,
    Notification,
    SecurityCode,
    Store,
    TwoFactorMethod,
    User,
    repo,
)

from .conftest import NS, PASSWORD, FakeClock, ct, sign_in

CT = ZoneInfo("America/Chicago")


def create(portal: Portal, token: str, world: dict[str, int], **kw: object) -> int:
    actor = portal.actor(token)
    args: dict[str, object] = {
        "environment": "CERT",
        "session_type": "Convenience Gateway",
        "number_of_sessions": 1,
        "business_rationale": "Risk desk copy",
        "source_ids": [world["abc"]],
    }
    args.update(kw)
    return portal.submit_create(actor, **args).id  # type: ignore[arg-type]


def at_4pm(clock: FakeClock) -> int:
    """Move the clock to a minute after the next 16:00 CT; that 16:00 (the batch cut-off)."""
    day = datetime.fromtimestamp(clock.now // NS, CT).date()
    cutoff = ct(day.year, day.month, day.day, 16)
    if cutoff <= clock.now:
        day = day + timedelta(days=1)
        cutoff = ct(day.year, day.month, day.day, 16)
    clock.now = cutoff + 60 * NS
    return cutoff


# -- signing in (I-031) ------------------------------------------------------------------------


def test_I031_sign_in_needs_the_emailed_code(portal: Portal) -> None:
    result = portal.sign_in("admin@acme.example", PASSWORD)
    assert result.method == "email" and result.code is not None
    with pytest.raises(Unauthenticated):  # password alone is not signed in
        portal.actor(result.token)
    assert portal.pending_sign_in(result.token) == "admin@acme.example"
    wrong = "000000" if result.code.code != "000000" else "111111"
    with pytest.raises(Unauthenticated, match="not correct"):
        portal.verify_sign_in(result.token, wrong)
    actor = portal.verify_sign_in(result.token, result.code.code)
    assert actor.email == "admin@acme.example" and actor.company_name == "Acme Trading"
    assert portal.actor(result.token).user_id == actor.user_id
    portal.sign_out(result.token)
    with pytest.raises(Unauthenticated):
        portal.actor(result.token)


def test_I031_a_code_is_single_use_and_expires(portal: Portal, clock: FakeClock) -> None:
    first = portal.sign_in("admin@acme.example", PASSWORD)
    assert first.code is not None
    clock.advance(601)  # AP-06: about 10 minutes
    with pytest.raises(Unauthenticated):
        portal.verify_sign_in(first.token, first.code.code)
    second = portal.sign_in("admin@acme.example", PASSWORD)
    assert second.code is not None
    portal.verify_sign_in(second.token, second.code.code)
    third = portal.sign_in("admin@acme.example", PASSWORD)
    assert third.code is not None
    with pytest.raises(Unauthenticated):  # the code of the second sign-in is used up
        portal.verify_sign_in(third.token, second.code.code)


def test_I031_authenticator_users_enter_their_totp(portal: Portal, store: Store) -> None:
    import pyotp

    seed = pyotp.random_base32()
    with store.session() as db:
        user = repo.find_user(db, "keys@acme.example")
        assert user is not None
        user.two_factor_method = TwoFactorMethod.AUTHENTICATOR
        repo.set_totp_secret(db, user, seed.encode())
    result = portal.sign_in("keys@acme.example", PASSWORD)
    assert result.method == "authenticator" and result.code is None
    code = pyotp.TOTP(seed).at(portal.clock() // NS)
    assert portal.verify_sign_in(result.token, code).email == "keys@acme.example"


def test_AP06_five_wrong_codes_revoke_the_code(portal: Portal) -> None:
    result = portal.sign_in("admin@acme.example", PASSWORD)
    assert result.code is not None
    wrong = f"{(int(result.code.code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(Unauthenticated, match="not correct"):
            portal.verify_sign_in(result.token, wrong)
    with pytest.raises(Unauthenticated, match="Too many"):
        portal.verify_sign_in(result.token, wrong)
    with pytest.raises(Unauthenticated):  # even the right code is dead now
        portal.verify_sign_in(result.token, result.code.code)


def test_login_rate_limit_counts_failures_per_email(portal: Portal) -> None:
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            portal.sign_in("admin@acme.example", "not the password")
    with pytest.raises(RateLimited):
        portal.sign_in("admin@acme.example", PASSWORD)
    portal.sign_in("keys@acme.example", PASSWORD)  # another email is not locked


def test_login_lock_lifts_after_the_window(portal: Portal, clock: FakeClock) -> None:
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            portal.sign_in("admin@acme.example", "nope-nope")
    clock.advance(15 * 60 + 1)
    assert portal.sign_in("admin@acme.example", PASSWORD).code is not None


def test_at_most_ten_codes_a_day(portal: Portal, store: Store, clock: FakeClock) -> None:
    token = sign_in(portal, "admin@acme.example")  # code 1
    actor = portal.actor(token)
    for _ in range(9):  # codes 2..10 ("Resend Code")
        assert portal.download_code(actor) is not None
    with pytest.raises(RateLimited):
        portal.download_code(actor)
    with store.session() as db:
        assert len(db.scalars(select(SecurityCode)).all()) == 10
    clock.now = ct(2026, 11, 25, 0, 1)  # the next Chicago day
    assert portal.download_code(actor) is not None


# -- companies and roles (P-001, P-008, AP-10) ---------------------------------------------------


def test_P008_a_multi_company_user_picks_the_company(portal: Portal, world: dict[str, int]) -> None:
    token = sign_in(portal, "multi@acme.example")
    actor = portal.actor(token)
    names = [n for _, n in portal.companies(actor)]
    assert names == ["Acme Trading", "Other Clearing"]
    actor = portal.choose_company(token, world["other"])
    assert portal.actor(token).company_name == "Other Clearing"
    rid = portal.submit_create(
        actor,
        environment="CERT",
        session_type="Convenience Gateway",
        number_of_sessions=1,
        business_rationale="Other's copy",
        source_ids=[world["xyz"]],
    ).id
    assert [r.id for r in portal.requests(actor)] == [rid]
    acme = portal.choose_company(token, world["acme"])
    assert portal.requests(acme) == []  # the request belongs to the chosen company
    with pytest.raises(NotFound):
        portal.choose_company(token, world["nofirm"])  # not one of the user's companies


def test_P001_roles_limit_what_a_user_can_do(portal: Portal, world: dict[str, int]) -> None:
    viewer = portal.actor(sign_in(portal, "viewer@acme.example"))
    keys_user = portal.actor(sign_in(portal, "keys@acme.example"))
    sessions_user = portal.actor(sign_in(portal, "sessions@acme.example"))
    args = {
        "environment": "CERT",
        "session_type": "CGW",
        "number_of_sessions": 1,
        "business_rationale": "x",
        "source_ids": [world["abc"]],
    }
    with pytest.raises(Forbidden):
        portal.submit_create(viewer, **args)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        portal.submit_create(keys_user, **args)  # type: ignore[arg-type]
    portal.submit_create(sessions_user, **args)  # type: ignore[arg-type]
    ref = OwnerRef("ilink3", world["abc"])
    with pytest.raises(Forbidden):
        portal.generate_keys(sessions_user, [ref])
    with pytest.raises(Forbidden):
        portal.generate_keys(viewer, [ref])
    assert portal.generate_keys(keys_user, [ref])[0].session_id == "ABC/007"
    assert portal.list_sessions(viewer) == []  # viewers may look


# -- create requests (P-006..P-022) ----------------------------------------------------------


def test_P007_no_globex_firm_id_is_refused_with_the_seeds_note(
    portal: Portal, world: dict[str, int]
) -> None:
    actor = portal.actor(sign_in(portal, "nofirm@nofirm.example"))
    with pytest.raises(Invalid) as e:
        portal.submit_create(
            actor,
            environment="CERT",
            session_type="CGW",
            number_of_sessions=1,
            business_rationale="x",
            source_ids=[],
        )
    assert e.value.message == FIRM_ID_REQUIRED


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("environment", "PROD", "CERT or NEWRELEASE"),
        ("session_type", "iLink 2", "Session Type"),
        ("number_of_sessions", 3, "1 or 2"),
        ("number_of_sessions", 0, "1 or 2"),
        ("business_rationale", "  ", "Business Rationale"),
        ("source_ids", [], "at least one source"),
    ],
)
def test_P009_P011_P012_P013_bad_fields_are_refused(
    portal: Portal, world: dict[str, int], field: str, value: object, message: str
) -> None:
    token = sign_in(portal, "admin@acme.example")
    with pytest.raises(Invalid, match=message):
        create(portal, token, world, **{field: value})
    assert portal.requests(portal.actor(token)) == []


def test_P014_only_own_sources_in_the_environment(portal: Portal, world: dict[str, int]) -> None:
    token = sign_in(portal, "admin@acme.example")
    actor = portal.actor(token)
    assert [s.label for s in portal.source_choices(actor, "CERT")] == ["ABC/007", "ABD/007"]
    assert [s.id for s in portal.source_choices(actor, "NEWRELEASE")] == [world["abc_nr"]]
    with pytest.raises(NotFound):  # another company's iLink 3 session
        create(portal, token, world, source_ids=[world["xyz"]])
    with pytest.raises(Invalid, match="NEWRELEASE"):
        create(portal, token, world, source_ids=[world["abc_nr"]])


def test_P017_one_mail_queued_without_secrets(
    portal: Portal, store: Store, world: dict[str, int]
) -> None:
    token = sign_in(portal, "admin@acme.example")
    rid = create(portal, token, world)
    with store.session() as db:
        (note,) = db.scalars(select(Notification)).all()
    assert note.to_address == "admin@acme.example" and note.request_id == rid
    assert f"#{rid}" in note.subject and "In-Progress" in note.body


def test_P018_P019_P020_P022_in_progress_until_4pm_then_completed(
    portal: Portal, world: dict[str, int], clock: FakeClock
) -> None:
    token = sign_in(portal, "admin@acme.example")
    actor = portal.actor(token)
    rid = create(portal, token, world, number_of_sessions=2)
    assert portal.request(actor, rid).status == "In-Progress"
    assert portal.list_sessions(actor) == []
    # a batch whose cut-off is before the submission leaves it alone (AP-03)
    portal.run_batch(cutoff=clock.now - NS)
    assert portal.request(actor, rid).status == "In-Progress"
    cutoff = at_4pm(clock)
    report = portal.run_batch(cutoff)
    assert report["completed"] == [rid]
    done = portal.request(actor, rid)
    assert done.status == "Completed" and done.result is not None
    sessions = portal.list_sessions(actor)
    assert sorted(s.session_id for s in sessions) == sorted(done.result["session_ids"])
    assert len(sessions) == 2  # AP-08: two independent sessions
    assert {s.business_rationale for s in sessions} == {"Risk desk copy"}
    assert all([x.label for x in s.sources] == ["ABC/007"] for s in sessions)
    assert portal.last_batch_cutoff() == cutoff
    assert portal.run_batch(cutoff)["completed"] == []  # idempotent


def test_P021_a_failed_request_names_its_reason(
    portal: Portal, store: Store, world: dict[str, int], clock: FakeClock
) -> None:
    token = sign_in(portal, "admin@acme.example")
    actor = portal.actor(token)
    bad = create(portal, token, world)
    good = create(portal, token, world, source_ids=[world["abd"]])
    with store.session() as db:  # the source is decommissioned before processing
        db.delete(db.get_one(ILink3Session, world["abc"]))
    report = portal.run_batch(at_4pm(clock))
    assert report["completed"] == [good]
    failed = portal.request(actor, bad)
    assert failed.status == "Failed" and "no longer exists" in (failed.reason or "")


def test_P007_firm_id_removed_before_processing_fails_the_request(
    portal: Portal, store: Store, world: dict[str, int], clock: FakeClock
) -> None:
    token = sign_in(portal, "admin@acme.example")
    rid = create(portal, token, world, environment="NEWRELEASE", source_ids=[world["abc_nr"]])
    with store.session() as db:
        db.delete(db.get_one(ILink3Session, world["abc_nr"]))
        for row in db.scalars(select(GlobexFirmId).where(GlobexFirmId.environment == "NEWRELEASE")):
            db.delete(row)
    portal.run_batch(at_4pm(clock))
    assert portal.request(portal.actor(token), rid).reason == FIRM_ID_REQUIRED


def test_P034_P035_P040_sources_change_only_when_processed(
    portal: Portal, world: dict[str, int], clock: FakeClock
) -> None:
    token = sign_in(portal, "admin@acme.example")
    actor = portal.actor(token)
    create(portal, token, world)
    portal.run_batch(at_4pm(clock))
    (session,) = portal.list_sessions(actor)
    rid = portal.submit_sources(actor, session.id, add=[world["abd"]], remove=[world["abc"]]).id
    assert [s.label for s in portal.session(actor, session.id).sources] == ["ABC/007"]
    assert portal.session(actor, session.id).pending_requests == (rid,)
    portal.run_batch(at_4pm(clock))
    assert portal.request(actor, rid).status == "Completed"
    assert [s.label for s in portal.session(actor, session.id).sources] == ["ABD/007"]
    # removing a source that is not attached is refused at submit (AP-04)
    with pytest.raises(Invalid, match="not attached"):
        portal.submit_sources(actor, session.id, remove=[world["abc"]])


def test_AP04_two_requests_on_the_same_source_in_one_run_conflict(
    portal: Portal, world: dict[str, int], clock: FakeClock
) -> None:
    token = sign_in(portal, "admin@acme.example")
    actor = portal.actor(token)
    create(portal, token, world)
    portal.run_batch(at_4pm(clock))
    (session,) = portal.list_sessions(actor)
    first = portal.submit_sources(actor, session.id, add=[world["abd"]]).id
    second = portal.submit_sources(actor, session.id, add=[world["abd"]]).id
    report = portal.run_batch(at_4pm(clock))
    assert report["completed"] == [first] and list(report["failed"]) == [str(second)]


# -- keys ----------------------------------------------------------------------------------------


def test_P042_a_third_key_needs_a_choice(portal: Portal, world: dict[str, int]) -> None:
    actor = portal.actor(sign_in(portal, "admin@acme.example"))
    ref = OwnerRef("ilink3", world["abc"])
    k1 = portal.generate_keys(actor, [ref])[0].access_key_id
    second = portal.generate_keys(actor, [ref])[0]
    assert second.expiring == (k1,)  # P-044: "to be expired in 4 weeks"
    with pytest.raises(KeyChoiceNeeded) as e:
        portal.generate_keys(actor, [ref])
    assert e.value.existing == {str(ref): (k1, second.access_key_id)}
    third = portal.generate_keys(actor, [ref], delete={ref: [k1]})[0]
    assert third.deleted == (k1,) and third.expiring == (second.access_key_id,)
    (overview,) = portal.key_overview(actor, [ref])
    assert [k.access_key_id for k in overview.keys] == [second.access_key_id, third.access_key_id]


def test_P049_P060_download_needs_the_code_and_is_repeatable(
    portal: Portal, world: dict[str, int]
) -> None:
    from dropcopy import keyfile

    actor = portal.actor(sign_in(portal, "admin@acme.example"))
    ref = OwnerRef("ilink3", world["abc"])
    made = portal.generate_keys(actor, [ref])[0]
    with pytest.raises(Forbidden):  # no code asked for yet
        portal.download_keys(actor, [ref], "123456")
    code = portal.download_code(actor)
    assert code is not None
    _, text = portal.download_keys(actor, [ref], code.code)
    (entry,) = keyfile.parse(text)
    assert entry.access_key_id == made.access_key_id and len(entry.secret_key) == 43
    with pytest.raises(Forbidden):  # single use
        portal.download_keys(actor, [ref], code.code)
    first = portal.download_code(actor)
    resent = portal.download_code(actor)  # P-050: Resend Code revokes the first
    assert first is not None and resent is not None
    with pytest.raises(Forbidden):
        portal.download_keys(actor, [ref], first.code)
    _, again = portal.download_keys(actor, [ref], resent.code)
    assert again == text


def test_P055_deleting_with_two_keys_needs_a_choice(portal: Portal, world: dict[str, int]) -> None:
    actor = portal.actor(sign_in(portal, "admin@acme.example"))
    ref = OwnerRef("ilink3", world["abc"])
    k1 = portal.generate_keys(actor, [ref])[0].access_key_id
    k2 = portal.generate_keys(actor, [ref])[0].access_key_id
    with pytest.raises(Invalid, match="select the key"):
        portal.delete_keys(actor, {ref: []})
    assert portal.delete_keys(actor, {ref: [k1]}) == [k1]
    assert portal.delete_keys(actor, {ref: []}) == [k2]  # the only one left


# -- tenant isolation ------------------------------------------------------------------------------


def test_another_companys_rows_are_not_found(
    portal: Portal, store: Store, world: dict[str, int], clock: FakeClock
) -> None:
    other = portal.actor(sign_in(portal, "other@other.example"))
    rid = portal.submit_create(
        other,
        environment="CERT",
        session_type="MSGW",
        number_of_sessions=1,
        business_rationale="theirs",
        source_ids=[world["xyz"]],
    ).id
    portal.run_batch(at_4pm(clock))
    (theirs,) = portal.list_sessions(other)
    acme = portal.actor(sign_in(portal, "admin@acme.example"))
    for call in (
        lambda: portal.session(acme, theirs.id),
        lambda: portal.view_ips(acme, theirs.id),
        lambda: portal.request(acme, rid),
        lambda: portal.submit_sources(acme, theirs.id, add=[world["abc"]]),
        lambda: portal.key_overview(acme, [OwnerRef("dropcopy", theirs.id)]),
        lambda: portal.generate_keys(acme, [OwnerRef("dropcopy", theirs.id)]),
        lambda: portal.generate_keys(acme, [OwnerRef("ilink3", world["xyz"])]),
        lambda: portal.delete_keys(acme, {OwnerRef("ilink3", world["xyz"]): []}),
        lambda: portal.download_keys(acme, [OwnerRef("dropcopy", theirs.id)], "000000"),
    ):
        with pytest.raises(NotFound):
            call()
    assert portal.list_sessions(acme) == [] and portal.requests(acme) == []
    with store.session() as db:
        assert db.get_one(DropCopySession, theirs.id).key_pairs == []


def test_P026_view_ips_lists_every_segment(
    portal: Portal, world: dict[str, int], clock: FakeClock
) -> None:
    token = sign_in(portal, "admin@acme.example")
    create(portal, token, world, session_type="Market Segment Gateway (iLink 3)")
    create(portal, token, world)
    portal.run_batch(at_4pm(clock))
    actor = portal.actor(token)
    by_type = {s.session_type: s for s in portal.list_sessions(actor)}
    ips = portal.view_ips(actor, by_type["MSGW"].id)["gateways"]
    assert [(g["segment"], g["primary"], g["backup"]) for g in ips] == [
        ("80", "127.0.0.1:9380", "127.0.0.1:9480"),
        ("84", "127.0.0.1:9384", "127.0.0.1:9484"),
    ]
    (cgw,) = portal.view_ips(actor, by_type["CGW"].id)["gateways"]
    assert (cgw["primary"], cgw["backup"]) == ("127.0.0.1:9301", "127.0.0.1:9302")


def test_P028_sort_and_filter(portal: Portal, world: dict[str, int], clock: FakeClock) -> None:
    token = sign_in(portal, "admin@acme.example")
    create(portal, token, world, business_rationale="alpha desk")
    create(portal, token, world, business_rationale="beta desk", source_ids=[world["abd"]])
    portal.run_batch(at_4pm(clock))
    actor = portal.actor(token)
    ids = [s.session_id for s in portal.list_sessions(actor)]
    assert ids == sorted(ids)
    assert [s.session_id for s in portal.list_sessions(actor, descending=True)] == ids[::-1]
    (only,) = portal.list_sessions(actor, search="ABD")
    assert only.business_rationale == "beta desk"
    assert portal.list_sessions(actor, environment="NEWRELEASE") == []
    with pytest.raises(Invalid):
        portal.list_sessions(actor, sort="password")


def test_user_inactive_cannot_use_a_token(portal: Portal, store: Store) -> None:
    token = sign_in(portal, "admin@acme.example")
    with store.session() as db:
        user = db.scalar(select(User).where(User.email == "admin@acme.example"))
        assert user is not None
        user.active = False
    with pytest.raises(Unauthenticated):
        portal.actor(token)
