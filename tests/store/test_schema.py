"""Migrations, models and the database's own constraints, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from dropcopy.store import (
    Base,
    KeyPair,
    StoreError,
    create_store_engine,
    current_revision,
    default_url,
    head_revision,
    open_store,
    upgrade,
)
from dropcopy.store.__main__ import main as store_main
from dropcopy.store.database import alembic_config
from dropcopy.store.models import DropCopySession, GlobexFirmId, ILink3Session, User

from .conftest import NOW, World


def _check_constraints(engine_url: str) -> dict[str, set[str]]:
    engine = create_store_engine(engine_url)
    try:
        insp = inspect(engine)
        return {
            t: {str(c["name"]) for c in insp.get_check_constraints(t) if c.get("name")}
            for t in Base.metadata.tables
        }
    finally:
        engine.dispose()


def test_migrations_produce_exactly_the_models(url: str) -> None:
    upgrade(url)
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], diff
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_make_the_models_check_constraints(url: str, tmp_path: Path) -> None:
    """Autogenerate does not compare CHECK constraints: compare them with what the models
    create (``create_all`` on a scratch SQLite file), name by name, and look for every allowed
    enum value in the migrated database's own text of the check."""
    scratch = f"sqlite:///{tmp_path / 'models.db'}"
    engine = create_engine(scratch)
    Base.metadata.create_all(engine)
    engine.dispose()
    expected = _check_constraints(scratch)
    assert expected["key_pairs"] == {"ck_key_pairs_one_owner", "ck_key_pairs_environment"}
    upgrade(url)
    assert _check_constraints(url) == expected
    engine = create_store_engine(url)
    try:
        checks = {
            c["name"]: c["sqltext"] for c in inspect(engine).get_check_constraints("requests")
        }
    finally:
        engine.dispose()
    for value in ("In-Progress", "Completed", "Failed"):
        assert value in checks["ck_requests_status"]


def test_upgrade_is_idempotent_and_downgrade_to_base_empties_the_database(url: str) -> None:
    upgrade(url)
    upgrade(url)  # nothing to do the second time
    engine = create_store_engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_open_store_without_migrating_refuses_an_old_schema(url: str, master_key: bytes) -> None:
    with pytest.raises(StoreError, match="upgrade it"):
        open_store(url, master_key=master_key, migrate=False)
    open_store(url, master_key=master_key).close()
    open_store(url, master_key=master_key, migrate=False).close()  # now current


def test_default_url_is_a_sqlite_file_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DROPCOPY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DROPCOPY_MASTER_KEY", raising=False)
    assert default_url() == f"sqlite:///{tmp_path / 'data' / 'dropcopy.db'}"
    open_store().close()
    assert (tmp_path / "data" / "dropcopy.db").is_file()
    assert (tmp_path / "data" / "master.key").is_file()


def test_schema_check_command_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    assert store_main(["check"]) == 0
    assert "match" in capsys.readouterr().out


# -- what the database itself enforces (a bug in a repository cannot get past these) ----------


def test_enum_columns_are_checked_by_the_database(db: Session, world: World) -> None:
    with pytest.raises(StatementError, match="not among the defined enum values"):
        db.execute(  # SQLAlchemy refuses it first...
            insert(GlobexFirmId).values(
                company_id=world.company.id, environment="PROD", firm_id="123", created_at=NOW
            )
        )
    with pytest.raises(IntegrityError, match=r"ck_globex_firm_ids_environment|CHECK"):
        db.execute(  # ...and the database's CHECK constraint refuses raw SQL
            text(
                "INSERT INTO globex_firm_ids (company_id, environment, firm_id, created_at) "
                "VALUES (:company, 'PROD', '123', 0)"
            ),
            {"company": world.company.id},
        )


def test_ilink3_session_firm_must_be_the_companys_firm_in_that_environment(
    db: Session, world: World
) -> None:
    # firm 900 exists in CERT, but belongs to the other company: the composite foreign key
    with pytest.raises(IntegrityError):
        db.execute(
            insert(ILink3Session).values(
                company_id=world.company.id,
                environment="CERT",
                session_id="QQQ",
                firm_id="900",
                created_at=NOW,
            )
        )


def test_a_key_pair_belongs_to_exactly_one_session(db: Session, world: World) -> None:
    with pytest.raises(IntegrityError):
        db.execute(
            insert(KeyPair).values(
                access_key_id="A" * 20,
                secret_ciphertext=b"x",
                environment="CERT",
                ilink3_session_id=world.il3.id,
                dc_session_id=world.dc.id,
                created_at=NOW,
                expires_at=NOW + 1,
            )
        )


def test_a_key_pair_needs_an_owner(db: Session) -> None:
    with pytest.raises(IntegrityError):
        db.execute(
            insert(KeyPair).values(
                access_key_id="B" * 20,
                secret_ciphertext=b"x",
                environment="CERT",
                created_at=NOW,
                expires_at=NOW + 1,
            )
        )


def test_foreign_keys_are_enforced(db: Session) -> None:
    with pytest.raises(IntegrityError):
        db.execute(
            insert(DropCopySession).values(
                company_id=999,
                group_id=999,
                environment="CERT",
                session_type="CGW",
                session_id="NOPE01",
                business_rationale="",
                message_types="all",
                status="active",
                created_at=NOW,
            )
        )


def test_repr_of_models_never_shows_secrets(db: Session, world: World) -> None:
    from dropcopy.store import keys, repo
    from dropcopy.venue.calendar import market_close_after

    user = repo.create_user(db, "a@example.com", "A", "correct horse", now=NOW)
    repo.set_totp_secret(db, user, b"TOTPSEED")
    new = keys.generate_key_pair(db, world.il3, now=NOW, market_close_after=market_close_after)
    db.flush()
    for shown in (repr(user), repr(new.key_pair), repr(new)):
        assert new.secret_key not in shown
        assert "ciphertext" not in shown and "password_hash" not in shown
        assert "argon2" not in shown
    assert "a@example.com" in repr(user) and new.access_key_id in repr(new.key_pair)
    assert isinstance(user, User) and "id=" in repr(user)
