"""The master key that encrypts secrets at rest: where it comes from, and that it is the right one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dropcopy.store import (
    MasterKeyError,
    SecretBox,
    Store,
    create_store_engine,
    keys,
    open_store,
)
from dropcopy.store.crypto import (
    decode_master_key,
    encode_master_key,
    generate_master_key,
    load_master_key_file,
)
from dropcopy.venue.calendar import market_close_after

from .conftest import NOW, make_world


@pytest.fixture(autouse=True)
def _no_master_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DROPCOPY_MASTER_KEY", raising=False)


def _secret_round_trip(url: str, **kw: object) -> tuple[str, str]:
    """Open the store, make a key pair, return (access key id, secret)."""
    with open_store(url, **kw) as store, store.session() as db:  # type: ignore[arg-type]
        world = make_world(db)
        new = keys.generate_key_pair(db, world.il3, now=NOW, market_close_after=market_close_after)
        return new.access_key_id, new.secret_key


def _reveal(url: str, access_key_id: str, **kw: object) -> str:
    with open_store(url, **kw) as store, store.session() as db:  # type: ignore[arg-type]
        kp = keys.find_key_pair(db, access_key_id)
        assert kp is not None
        return keys.reveal_secret(db, kp)


def test_key_file_is_created_0600_beside_a_sqlite_database_and_reused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'venue' / 'dropcopy.db'}"
    key_id, secret = _secret_round_trip(url)
    key_file = tmp_path / "venue" / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(decode_master_key(key_file.read_text())) == 32
    assert _reveal(url, key_id) == secret  # reopened with the same file


def test_master_key_from_the_environment(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_master_key()
    monkeypatch.setenv("DROPCOPY_MASTER_KEY", encode_master_key(key))
    key_file = tmp_path / "unused" / "master.key"
    key_id, secret = _secret_round_trip(url, master_key_file=key_file)
    assert not key_file.exists()  # the environment's key was used, no file written
    assert _reveal(url, key_id, master_key=key) == secret  # it is the same key


def test_a_malformed_key_in_the_environment_is_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DROPCOPY_MASTER_KEY", "too-short")
    with pytest.raises(MasterKeyError, match=r"\$DROPCOPY_MASTER_KEY: a master key is 32 bytes"):
        open_store(url)


def test_a_wrong_master_key_is_detected_at_open(url: str) -> None:
    _secret_round_trip(url, master_key=generate_master_key())
    with pytest.raises(MasterKeyError, match="does not decrypt"):
        open_store(url, master_key=generate_master_key())


def test_a_lost_key_file_is_not_silently_replaced(url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "master.key"
    _secret_round_trip(url, master_key_file=key_file)
    key_file.unlink()
    with pytest.raises(MasterKeyError, match="does not exist"):
        open_store(url, master_key_file=key_file)
    assert not key_file.exists()


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    load_master_key_file(path, create=True)
    os.chmod(path, 0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        load_master_key_file(path, create=False)
    os.chmod(path, 0o600)
    assert len(load_master_key_file(path, create=False)) == 32


def test_a_corrupt_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text("not a key\n")
    os.chmod(path, 0o600)
    with pytest.raises(MasterKeyError, match=r"master\.key: a master key is 32 bytes"):
        load_master_key_file(path, create=True)


def test_secret_box_authenticates_and_hides_its_key() -> None:
    key = generate_master_key()
    box = SecretBox(key)
    blob = box.encrypt(b"secret", b"key_pairs:A")
    assert box.decrypt(blob, b"key_pairs:A") == b"secret"
    assert blob != box.encrypt(b"secret", b"key_pairs:A")  # a fresh nonce each time
    with pytest.raises(MasterKeyError):
        box.decrypt(blob, b"key_pairs:B")  # another row's context
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(MasterKeyError):
        box.decrypt(tampered, b"key_pairs:A")
    with pytest.raises(MasterKeyError, match="unknown format"):
        box.decrypt(b"\x02" + blob[1:], b"key_pairs:A")
    with pytest.raises(MasterKeyError):
        SecretBox(generate_master_key()).decrypt(blob, b"key_pairs:A")
    assert encode_master_key(key) not in repr(box) and "hidden" in repr(box)
    with pytest.raises(MasterKeyError):
        SecretBox(b"short")


def test_store_repr_hides_the_database_password() -> None:
    engine = create_store_engine("postgresql://dc:hunter2@db.example/dropcopy")  # not connected
    store = Store(engine, SecretBox(generate_master_key()))
    assert "hunter2" not in repr(store) and "db.example" in repr(store)
    assert engine.dialect.driver == "psycopg"  # psycopg 3 for a plain postgresql:// URL
    store.close()
