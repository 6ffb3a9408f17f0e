"""Every store test runs on SQLite and on PostgreSQL.

SQLite: a file in the test's own directory. PostgreSQL (127.0.0.1:5432, trust auth, or
``$DROPCOPY_TEST_POSTGRES_URL``): one throwaway database ``dropcopy_test_<random>`` per test
session, dropped at the end, and in it a fresh schema per test (an empty database as far as the
test can tell: the URL sets ``search_path``). When the server is unreachable the PostgreSQL
tests skip with the reason, unless ``DROPCOPY_REQUIRE_SERVICES=1``, where they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from dropcopy.store import (
    Company,
    DropCopySession,
    Environment,
    GlobexFirmId,
    ILink3Session,
    SessionType,
    Store,
    open_store,
    repo,
)

CT = ZoneInfo("America/Chicago")
SECOND = 10**9
DAY = 86_400 * SECOND


def ct(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    """ns since the epoch of a Chicago wall-clock time."""
    return int(datetime(y, mo, d, h, mi, tzinfo=CT).timestamp()) * SECOND


#: Tuesday 24 November 2026, 10:00 in Chicago: the tests' "now".
NOW = ct(2026, 11, 24, 10)

PG_ADMIN_URL = os.environ.get(
    "DROPCOPY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[URL]:
    admin = make_url(PG_ADMIN_URL)
    if admin.drivername == "postgresql":
        admin = admin.set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        conn = engine.connect()
    except OperationalError as e:
        engine.dispose()
        where = f"{admin.host}:{admin.port or 5432}"
        reason = f"PostgreSQL at {where} is unreachable ({e.orig})"
        if os.environ.get("DROPCOPY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and DROPCOPY_REQUIRE_SERVICES=1")
        pytest.skip(f"{reason}; set DROPCOPY_REQUIRE_SERVICES=1 to make this a failure")
    name = f"dropcopy_test_{secrets.token_hex(6)}"
    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name)
    finally:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
        engine.dispose()


@pytest.fixture
def pg_url(pg_database: URL) -> Iterator[str]:
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = pg_database.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("SET lock_timeout = '20s'")
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'dropcopy.db'}"
    pg: str = request.getfixturevalue("pg_url")
    return pg


@pytest.fixture
def master_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def store(url: str, master_key: bytes) -> Iterator[Store]:
    s = open_store(url, master_key=master_key)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def db(store: Store) -> Iterator[Session]:
    with store.session() as session:
        yield session


@dataclass
class World:
    company: Company
    other: Company  # another company, with its own firm and sessions
    firm: GlobexFirmId
    il3: ILink3Session  # ABC/007 in CERT
    il3_nr: ILink3Session  # ABC/007 in NEWRELEASE
    il3_other: ILink3Session  # XYZ/900 in CERT, of the other company
    dc: DropCopySession  # DCABC1, CGW, CERT
    dc_nr: DropCopySession  # DCNR01, MSGW, NEWRELEASE


def make_world(db: Session, now: int = NOW) -> World:
    acme = repo.create_company(db, "Acme Trading", now=now)
    other = repo.create_company(db, "Other Clearing", now=now)
    firm = repo.add_globex_firm_id(db, acme, "007", Environment.CERT, now=now)
    repo.add_globex_firm_id(db, acme, "007", Environment.NEWRELEASE, now=now)
    repo.add_globex_firm_id(db, other, "900", Environment.CERT, now=now)
    il3 = repo.create_ilink3_session(db, acme, "CERT", "ABC", "007", now=now)
    il3_nr = repo.create_ilink3_session(db, acme, "NEWRELEASE", "ABC", "007", now=now)
    il3_other = repo.create_ilink3_session(db, other, "CERT", "XYZ", "900", now=now)
    dc = repo.create_dc_session(
        db, acme, "CERT", SessionType.CGW, session_id="DCABC1", now=now, sources=[il3]
    )
    dc_nr = repo.create_dc_session(
        db, acme, "NEWRELEASE", SessionType.MSGW, session_id="DCNR01", now=now, sources=[il3_nr]
    )
    return World(acme, other, firm, il3, il3_nr, il3_other, dc, dc_nr)


@pytest.fixture
def world(db: Session) -> World:
    return make_world(db)


@pytest.fixture
def world_ids(store: Store) -> dict[str, int]:
    """The world, committed; its rows' ids (for tests that use several transactions)."""
    with store.session() as db:
        w = make_world(db)
        return {
            "company": w.company.id,
            "other": w.other.id,
            "il3": w.il3.id,
            "il3_nr": w.il3_nr.id,
            "il3_other": w.il3_other.id,
            "dc": w.dc.id,
            "dc_nr": w.dc_nr.id,
        }
