"""Repositories: companies, firm IDs, users, roles, sessions, sources, requests (seed 000)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dropcopy.store import (
    AlreadyExists,
    AuditEvent,
    DropCopySource,
    Environment,
    InvalidValue,
    LimitExceeded,
    MessageTypes,
    NotFound,
    RequestKind,
    RequestStatus,
    Role,
    SessionType,
    Store,
    TwoFactorMethod,
    repo,
)
from dropcopy.store.models import User

from .conftest import NOW, SECOND, World, ct

# -- companies and Globex Firm IDs ------------------------------------------------------------


def test_company_names_are_unique(db: Session) -> None:
    repo.create_company(db, "Acme", now=NOW)
    with pytest.raises(AlreadyExists, match="company 'Acme' already exists"):
        repo.create_company(db, " Acme ", now=NOW)
    assert repo.find_company(db, "Acme") is not None
    with pytest.raises(InvalidValue):
        repo.create_company(db, "  ", now=NOW)


def test_a_race_lost_at_the_unique_constraint_still_reads_already_exists(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.session() as db:
        repo.create_company(db, "Acme", now=NOW)
    monkeypatch.setattr(repo, "find_company", lambda db, name: None)  # the check saw nothing
    with pytest.raises(AlreadyExists, match="rolled back"), store.session() as db:
        repo.create_company(db, "Acme", now=NOW)


def test_globex_firm_id_format_and_one_owner_per_environment(db: Session, world: World) -> None:
    for bad in ("", "TOOLONG", "ab1", "A-1"):
        with pytest.raises(InvalidValue, match="Globex Firm ID"):
            repo.add_globex_firm_id(db, world.company, bad, "CERT", now=NOW)
    with pytest.raises(AlreadyExists, match="Globex Firm ID 900 already exists in CERT"):
        repo.add_globex_firm_id(db, world.company, "900", "CERT", now=NOW)
    # the same firm ID in the other environment is a different data space (AP-09)
    repo.add_globex_firm_id(db, world.company, "900", "NEWRELEASE", now=NOW)


@pytest.mark.parametrize("env", ["PROD", "", "cert", "Production"])
def test_P009_environment_is_exactly_cert_or_newrelease(
    db: Session, world: World, env: str
) -> None:  # AP-09
    with pytest.raises(InvalidValue, match="CERT or NEWRELEASE"):
        repo.add_globex_firm_id(db, world.company, "123", env, now=NOW)
    with pytest.raises(InvalidValue, match="CERT or NEWRELEASE"):
        repo.create_dc_session(db, world.company, env, "CGW", now=NOW)


# -- users and roles -----------------------------------------------------------------------------


def test_users_log_in_by_email_with_an_argon2_password(db: Session) -> None:
    user = repo.create_user(db, " Alice@Example.COM ", "Alice", "s3cret-passw0rd", now=NOW)
    assert user.email == "alice@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert "s3cret-passw0rd" not in user.password_hash
    assert repo.find_user(db, "ALICE@example.com") is user
    assert repo.verify_password(user, "s3cret-passw0rd")
    assert not repo.verify_password(user, "s3cret-passw0rd!")
    user.active = False
    assert not repo.verify_password(user, "s3cret-passw0rd")  # inactive users never log in
    with pytest.raises(AlreadyExists, match=r"alice@example\.com"):
        repo.create_user(db, "alice@example.com", "Other", "another-password", now=NOW)
    with pytest.raises(InvalidValue, match="at least 8"):
        repo.create_user(db, "bob@example.com", "Bob", "short", now=NOW)
    with pytest.raises(InvalidValue, match="not an email"):
        repo.create_user(db, "bob", "Bob", "long enough", now=NOW)


def test_changing_a_password(db: Session) -> None:
    user = repo.create_user(db, "a@example.com", "A", "first password", now=NOW)
    repo.set_password(user, "second password")
    assert repo.verify_password(user, "second password")
    assert not repo.verify_password(user, "first password")


def test_operator_flag_and_two_factor_method(db: Session) -> None:
    op = repo.create_user(
        db,
        "ops@venue.example",
        "Ops",
        "operator password",
        now=NOW,
        operator=True,
        two_factor_method=TwoFactorMethod.AUTHENTICATOR,
    )
    plain = repo.create_user(db, "u@example.com", "U", "user password", now=NOW)
    assert op.operator and not plain.operator
    assert op.two_factor_method is TwoFactorMethod.AUTHENTICATOR
    assert plain.two_factor_method is TwoFactorMethod.EMAIL  # the default


def test_totp_secret_is_encrypted_at_rest(store: Store) -> None:
    seed = b"JBSWY3DPEHPK3PXP-raw-seed"
    with store.session() as db:
        user = repo.create_user(db, "a@example.com", "A", "long password", now=NOW)
        repo.set_totp_secret(db, user, seed)
        user_id = user.id
    with store.engine.connect() as conn:
        raw = conn.execute(select(User.totp_secret_ciphertext).where(User.id == user_id)).scalar()
    assert raw is not None and seed not in raw
    with store.session() as db:
        user = db.get_one(User, user_id)
        assert repo.totp_secret(db, user) == seed
        repo.set_totp_secret(db, user, None)
        assert repo.totp_secret(db, user) is None


def test_P008_a_user_may_hold_roles_in_several_companies(db: Session, world: World) -> None:
    user = repo.create_user(db, "a@example.com", "A", "long password", now=NOW)
    repo.add_membership(db, user, world.company, Role.KEY_MANAGEMENT, now=NOW)
    repo.add_membership(db, user, world.company, "session_manager", now=NOW)
    repo.add_membership(db, user, world.other, Role.VIEWER, now=NOW)
    assert repo.roles_of(db, user, world.company) == {Role.KEY_MANAGEMENT, Role.SESSION_MANAGER}
    assert repo.roles_of(db, user, world.other) == {Role.VIEWER}
    assert [c.name for c in repo.companies_of(db, user)] == ["Acme Trading", "Other Clearing"]
    with pytest.raises(AlreadyExists, match="already key_management of Acme Trading"):
        repo.add_membership(db, user, world.company, Role.KEY_MANAGEMENT, now=NOW)
    with pytest.raises(InvalidValue, match="role must be one of"):
        repo.add_membership(db, user, world.company, "superuser", now=NOW)


# -- iLink 3 sessions ------------------------------------------------------------------------


def test_ilink3_session_is_session_3_chars_plus_firm(db: Session, world: World) -> None:  # AX-05
    for bad in ("AB", "ABCD", "ab1", "A C"):
        with pytest.raises(InvalidValue, match="3 characters"):
            repo.create_ilink3_session(db, world.company, "CERT", bad, "007", now=NOW)
    assert world.il3.label == "ABC/007"


def test_ilink3_session_unique_per_environment_session_and_firm(db: Session, world: World) -> None:
    with pytest.raises(AlreadyExists, match="ABC/007 already exists in CERT"):
        repo.create_ilink3_session(db, world.company, "CERT", "ABC", "007", now=NOW)
    # the same session ID under another firm, or in another environment, is another session
    repo.add_globex_firm_id(db, world.company, "008", "CERT", now=NOW)
    repo.create_ilink3_session(db, world.company, "CERT", "ABC", "008", now=NOW)
    assert world.il3_nr.session_id == world.il3.session_id
    found = repo.find_ilink3_session(db, "NEWRELEASE", "ABC", "007")
    assert found is world.il3_nr


def test_ilink3_session_needs_the_companys_own_firm_id(db: Session, world: World) -> None:
    with pytest.raises(NotFound, match="Acme Trading has no Globex Firm ID 900 in CERT"):
        repo.create_ilink3_session(db, world.company, "CERT", "QQQ", "900", now=NOW)
    with pytest.raises(NotFound, match="no Globex Firm ID 555"):
        repo.create_ilink3_session(db, world.company, "CERT", "QQQ", "555", now=NOW)


# -- Drop Copy sessions ------------------------------------------------------------------------


def test_P007_globex_firm_id_must_exist_before_a_dc_session(db: Session) -> None:
    bare = repo.create_company(db, "No Firm Yet", now=NOW)
    with pytest.raises(NotFound, match="no Globex Firm ID in CERT"):
        repo.create_dc_session(db, bare, "CERT", "CGW", now=NOW)
    repo.add_globex_firm_id(db, bare, "321", "CERT", now=NOW)
    repo.create_dc_session(db, bare, "CERT", "CGW", now=NOW)


def test_P011_session_type_is_cgw_or_msgw(db: Session, world: World) -> None:
    with pytest.raises(InvalidValue, match="session type must be CGW or MSGW"):
        repo.create_dc_session(db, world.company, "CERT", "iLink2", now=NOW)
    with pytest.raises(InvalidValue, match="message types must be one of all"):
        repo.create_dc_session(db, world.company, "CERT", "CGW", now=NOW, message_types="fills")
    s = repo.create_dc_session(db, world.company, "CERT", "MSGW", now=NOW)
    assert s.session_type is SessionType.MSGW


@pytest.mark.parametrize("bad", ["DCABC", "DCABC1N", "dcabc1", "DC-AB1"])
def test_AD17_dc_session_id_is_6_characters(db: Session, world: World, bad: str) -> None:
    with pytest.raises(InvalidValue, match="6 characters"):
        repo.create_dc_session(db, world.company, "CERT", "CGW", session_id=bad, now=NOW)


def test_dc_session_ids_are_assigned_unique_per_environment(db: Session, world: World) -> None:
    s = repo.create_dc_session(db, world.company, "CERT", "CGW", now=NOW)
    repo.check_dc_session_id(s.session_id)
    with pytest.raises(AlreadyExists, match="DCABC1 already exists in CERT"):
        repo.create_dc_session(db, world.company, "CERT", "MSGW", session_id="DCABC1", now=NOW)
    other_env = repo.create_dc_session(
        db, world.company, "NEWRELEASE", "CGW", session_id="DCABC1", now=NOW
    )
    assert repo.find_dc_session(db, "NEWRELEASE", "DCABC1") is other_env
    assert repo.find_dc_session(db, "CERT", "DCABC1") is world.dc


def test_P032_details_keep_rationale_filter_and_defaults(db: Session, world: World) -> None:
    s = repo.create_dc_session(
        db,
        world.company,
        "CERT",
        "CGW",
        now=NOW,
        business_rationale="Back office positions",
        message_types=MessageTypes.TRADE_EXECUTION_REPORTS,  # AD-21
    )
    assert s.business_rationale == "Back office positions"
    assert s.message_types is MessageTypes.TRADE_EXECUTION_REPORTS
    assert world.dc.message_types is MessageTypes.ALL  # the default (AD-21)
    assert (s.environment, s.created_at) == (Environment.CERT, NOW)


def test_AD18_AP08_two_sessions_of_one_request_share_a_group(db: Session, world: World) -> None:
    group = repo.create_dc_group(db, world.company, "CERT", now=NOW)
    a = repo.create_dc_session(db, world.company, "CERT", "CGW", now=NOW, group=group)
    b = repo.create_dc_session(db, world.company, "CERT", "CGW", now=NOW, group=group)
    assert a.session_id != b.session_id and a.group is b.group is group
    assert world.dc.group is not group  # a session made alone is its own group
    with pytest.raises(InvalidValue, match="another company or environment"):
        repo.create_dc_session(db, world.company, "NEWRELEASE", "CGW", now=NOW, group=group)


# -- sources -----------------------------------------------------------------------------------


def test_P003_P034_sources_are_attached_once(db: Session, world: World) -> None:
    assert [s.ilink3_session for s in world.dc.sources] == [world.il3]
    with pytest.raises(AlreadyExists, match="ABC/007 is already attached to DCABC1"):
        repo.add_source(db, world.dc, world.il3, now=NOW)


def test_AP04_source_must_be_in_the_environment_and_of_the_company(
    db: Session, world: World
) -> None:
    with pytest.raises(InvalidValue, match="is in NEWRELEASE"):
        repo.add_source(db, world.dc, world.il3_nr, now=NOW)
    with pytest.raises(InvalidValue, match="another company"):
        repo.add_source(db, world.dc, world.il3_other, now=NOW)
    # P-003: an operator may link related entities' sessions
    repo.add_source(db, world.dc, world.il3_other, now=NOW, any_company=True)
    assert {s.ilink3_session.label for s in world.dc.sources} == {"ABC/007", "XYZ/900"}


def test_P035_AP12_removing_sources_down_to_none(db: Session, world: World) -> None:
    repo.remove_source(db, world.dc, world.il3)
    assert world.dc.sources == []
    assert db.scalars(select(DropCopySource)).all() != []  # dc_nr keeps its own
    with pytest.raises(NotFound, match="not attached"):
        repo.remove_source(db, world.dc, world.il3)


def test_source_limit_per_target_type(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(repo.MAX_SOURCES, SessionType.CGW, 1)
    repo.add_globex_firm_id(db, world.company, "008", "CERT", now=NOW)
    more = repo.create_ilink3_session(db, world.company, "CERT", "DEF", "008", now=NOW)
    with pytest.raises(LimitExceeded, match="CGW target session holds at most 1"):
        repo.add_source(db, world.dc, more, now=NOW)
    assert repo.MAX_SOURCES[SessionType.MSGW] == 5000


# -- requests ------------------------------------------------------------------------------------


def test_P018_P020_P021_request_lifecycle(db: Session, world: World) -> None:
    user = repo.create_user(db, "a@example.com", "A", "long password", now=NOW)
    payload = {"session_type": "CGW", "sources": ["ABC/007"], "number_of_sessions": 2}
    create = repo.submit_request(
        db, world.company, user, RequestKind.CREATE_SESSION, "CERT", payload, now=NOW
    )
    edit = repo.submit_request(
        db,
        world.company,
        user,
        "manage_sources",
        "CERT",
        {"remove": ["ABC/007"]},
        now=NOW + SECOND,
        dc_session=world.dc,
    )
    assert create.status is RequestStatus.IN_PROGRESS and create.processed_at is None
    assert create.payload == payload
    # AP-03: a batch starting at 16:00 CT processes what was submitted before it
    batch = ct(2026, 11, 24, 16)
    late = repo.submit_request(db, world.company, user, "create_session", "CERT", {}, now=batch)
    assert repo.pending_requests(db, submitted_before=batch) == [create, edit]
    repo.complete_request(db, create, now=batch, result={"session_ids": ["AAAAAA", "BBBBBB"]})
    repo.fail_request(db, edit, "source ABC/007 is not attached to DCABC1", now=batch)
    assert (create.status, create.processed_at) == (RequestStatus.COMPLETED, batch)
    assert (edit.status, edit.reason) == (
        RequestStatus.FAILED,
        "source ABC/007 is not attached to DCABC1",
    )
    assert repo.pending_requests(db, submitted_before=batch + 1) == [late]
    with pytest.raises(InvalidValue, match="already Completed"):
        repo.fail_request(db, create, "again", now=batch)
    with pytest.raises(InvalidValue, match="needs a reason"):
        repo.fail_request(db, late, " ", now=batch)


def test_requests_name_their_session_only_when_editing_it(db: Session, world: World) -> None:
    user = repo.create_user(db, "a@example.com", "A", "long password", now=NOW)
    with pytest.raises(InvalidValue):
        repo.submit_request(db, world.company, user, "manage_sources", "CERT", {}, now=NOW)
    with pytest.raises(InvalidValue):
        repo.submit_request(
            db, world.company, user, "create_session", "CERT", {}, now=NOW, dc_session=world.dc
        )
    with pytest.raises(InvalidValue, match="another company or environment"):
        repo.submit_request(
            db, world.other, user, "manage_sources", "CERT", {}, now=NOW, dc_session=world.dc
        )
    with pytest.raises(InvalidValue, match="unknown request kind"):
        repo.submit_request(db, world.company, user, "delete_everything", "CERT", {}, now=NOW)


def test_audit_trail_and_notification_outbox(db: Session, world: World) -> None:
    user = repo.create_user(db, "a@example.com", "A", "long password", now=NOW)
    repo.record_audit(
        db, "session.created", now=NOW, company=world.company, user=user, subject="DCABC1"
    )
    note = repo.queue_notification(db, user, "Request 1 submitted", "Your request…", now=NOW)
    db.flush()
    (event,) = db.scalars(select(AuditEvent)).all()
    assert (event.action, event.company_id, event.user_id, event.detail) == (
        "session.created",
        world.company.id,
        user.id,
        {},
    )
    assert (note.to_address, note.sent_at, note.attempts) == ("a@example.com", None, 0)  # AP-13


def test_store_session_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.session() as db:
        repo.create_company(db, "Doomed", now=NOW)
        raise RuntimeError("boom")
    with store.session() as db:
        assert repo.find_company(db, "Doomed") is None
        assert isinstance(db.scalars(select(User)).all(), list)
