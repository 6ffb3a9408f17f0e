"""Opening the store: engine, schema migrations (Alembic, shipped in the package), master key.

:func:`open_store` is the one call portal, gateways and CLI make: it creates the engine for a
database URL (SQLite by default, PostgreSQL through psycopg 3), creates or upgrades the schema
to the newest migration, loads (or on first use creates) the master key that encrypts secrets
at rest, checks that key against the database, and returns a :class:`Store`.

SQLite details: foreign keys are enforced (``PRAGMA foreign_keys=ON``), file databases use WAL,
and transactions really begin at ``BEGIN`` (not at pysqlite's first write), so a transaction
reads one snapshot and a concurrent writer makes it fail instead of silently interleaving.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, insert, select, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from .crypto import (
    MASTER_KEY_ENV,
    MASTER_KEY_FILE,
    SecretBox,
    decode_master_key,
    load_master_key_file,
)
from .errors import MasterKeyError, StoreError
from .models import StoreMeta

__all__ = [
    "DATA_DIR_ENV",
    "DB_FILE",
    "Store",
    "alembic_config",
    "create_store_engine",
    "current_revision",
    "default_data_dir",
    "default_url",
    "head_revision",
    "open_store",
    "secret_box",
    "upgrade",
]

DATA_DIR_ENV = "DROPCOPY_DATA_DIR"
DB_FILE = "dropcopy.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_BOX = "dropcopy.secret_box"
_IMMEDIATE = "dropcopy_sqlite_immediate"
_CANARY_NAME = "master_key_check"
_CANARY = b"dropcopy: this database's secrets are encrypted under this master key"
_PG_MIGRATION_LOCK = 0x64726F70636F7079  # "dropcopy": serializes concurrent upgrades


def default_data_dir() -> Path:
    """``$DROPCOPY_DATA_DIR``, else ``$XDG_DATA_HOME/dropcopy``, else ``~/.local/share/dropcopy``
    (the CLI passes its configured data directory instead)."""
    if env := os.environ.get(DATA_DIR_ENV):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "dropcopy"


def default_url(data_dir: Path | None = None) -> str:
    """``sqlite:///<data dir>/dropcopy.db``."""
    return f"sqlite:///{(data_dir or default_data_dir()) / DB_FILE}"


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):
        return None  # a URI filename: the caller manages it
    return Path(url.database)


def create_store_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``. ``postgresql://`` uses psycopg 3. For SQLite, the database's
    directory is created, foreign keys are on, and a file database uses WAL; an in-memory one is
    a single connection shared by all threads (so it is one database)."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() != "sqlite":
        return create_engine(u, **kwargs)
    path = _sqlite_file(u)
    if path is None:
        kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(u, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if path is not None:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def alembic_config(url: str | URL | None = None, connection: Connection | None = None) -> Config:
    """An Alembic configuration for the shipped migrations -- no ``alembic.ini`` needed. Pass
    the ``connection`` to run in, or a ``url`` (for ``alembic`` commands that connect)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
    cfg.set_main_option("version_path_separator", "os")
    if url is not None:
        rendered = make_url(url).render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this version of dropcopy."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None: no schema yet)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | URL | Engine, revision: str = "head") -> None:
    """Create the schema, or upgrade it, to ``revision`` (default: the newest), in one
    transaction. Safe when several processes start at once: PostgreSQL takes an advisory lock,
    SQLite a write lock (``BEGIN IMMEDIATE``) before looking at the current version."""
    engine = url if isinstance(url, Engine) else create_store_engine(url)
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                    )
                command.upgrade(alembic_config(connection=conn), revision)
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def secret_box(db: Session) -> SecretBox:
    """The :class:`SecretBox` of the store this session came from."""
    box = db.info.get(_BOX)
    if not isinstance(box, SecretBox):
        raise StoreError("this session has no secret box: make sessions with Store.sessionmaker")
    return box


class Store:
    """An open store: the engine, a session factory whose sessions carry the secret box, and
    the box itself. Close it with :meth:`close` (or use it as a context manager)."""

    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self.engine = engine
        self.box = box
        #: Makes :class:`~sqlalchemy.orm.Session` objects; objects stay usable after commit.
        self.sessionmaker: sessionmaker[Session] = sessionmaker(
            engine, expire_on_commit=False, info={_BOX: box}
        )

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed when the block ends, rolled back on error."""
        with self.sessionmaker.begin() as db:
            yield db

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(
    url: str | URL | None = None,
    *,
    data_dir: Path | None = None,
    master_key: bytes | None = None,
    master_key_file: Path | None = None,
    migrate: bool = True,
    **engine_kwargs: Any,
) -> Store:
    """Open (creating or upgrading, unless ``migrate`` is false) the store at ``url``, by
    default ``sqlite:///<data dir>/dropcopy.db``.

    The master key is ``master_key``, else ``$DROPCOPY_MASTER_KEY`` (base64url), else the file
    ``master_key_file`` -- by default ``master.key`` beside a SQLite database file, or in the
    data directory. A missing file is created (0600) only while the database holds no secrets
    yet; a key that does not decrypt the database's check value raises
    :class:`~dropcopy.store.errors.MasterKeyError`."""
    if url is None:
        url = default_url(data_dir)
    engine = create_store_engine(url, **engine_kwargs)
    try:
        if migrate:
            upgrade(engine)
        else:
            at, head = current_revision(engine), head_revision()
            if at != head:
                raise StoreError(f"the schema is at {at}, this dropcopy needs {head}: upgrade it")
        with engine.connect() as conn:
            with conn.begin():
                canary = conn.execute(
                    select(StoreMeta.value).where(StoreMeta.name == _CANARY_NAME)
                ).scalar_one_or_none()
        key_file = master_key_file or _default_key_file(make_url(url), data_dir)
        box = SecretBox(_master_key(master_key, key_file, create=canary is None))
        with engine.connect() as conn:
            conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                canary = conn.execute(
                    select(StoreMeta.value).where(StoreMeta.name == _CANARY_NAME)
                ).scalar_one_or_none()
                if canary is None:
                    conn.execute(
                        insert(StoreMeta).values(
                            name=_CANARY_NAME, value=box.encrypt(_CANARY, _CANARY_NAME.encode())
                        )
                    )
                elif box.decrypt(canary, _CANARY_NAME.encode()) != _CANARY:
                    raise MasterKeyError("the master key check value is corrupt")
    except MasterKeyError as e:
        engine.dispose()
        raise MasterKeyError(
            f"{e} (this database's secrets need the master key they were encrypted with: "
            f"${MASTER_KEY_ENV} or {master_key_file or 'the master.key file'})"
        ) from None
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, box)


def _default_key_file(url: URL, data_dir: Path | None) -> Path:
    db_file = _sqlite_file(url)
    if db_file is not None:
        return db_file.parent / MASTER_KEY_FILE
    return (data_dir or default_data_dir()) / MASTER_KEY_FILE


def _master_key(explicit: bytes | None, key_file: Path, *, create: bool) -> bytes:
    if explicit is not None:
        return explicit
    if env := os.environ.get(MASTER_KEY_ENV):
        try:
            return decode_master_key(env)
        except MasterKeyError as e:
            raise MasterKeyError(f"${MASTER_KEY_ENV}: {e}") from None
    return load_master_key_file(key_file, create=create)
