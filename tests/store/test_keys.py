"""Secure key pairs: format, rotation, deletion, download, encryption at rest (notes §4)."""

from __future__ import annotations

import base64
import re
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dropcopy import keyfile
from dropcopy.store import (
    AuditEvent,
    ILink3Session,
    InvalidValue,
    KeyChoiceRequired,
    MasterKeyError,
    NotFound,
    Store,
    keys,
    repo,
)
from dropcopy.venue.calendar import market_close_after

from .conftest import DAY, NOW, SECOND, World, ct

FOUR_WEEKS = 28 * DAY


def gen(db: Session, owner: keys.KeyOwner, now: int = NOW, **kw: object) -> keys.GeneratedKeyPair:
    return keys.generate_key_pair(
        db,
        owner,
        now=now,
        market_close_after=market_close_after,
        **kw,  # type: ignore[arg-type]
    )


# -- format ----------------------------------------------------------------------------------


def test_AP07_access_key_id_is_20_alphanumerics_and_secret_43_base64url(
    db: Session, world: World
) -> None:  # I-042
    new = gen(db, world.il3)
    assert re.fullmatch(r"[A-Za-z0-9]{20}", new.access_key_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", new.secret_key)
    assert len(base64.urlsafe_b64decode(new.secret_key + "=")) == 32


def test_I032_keys_are_random_and_unique() -> None:
    ids = {keys.new_access_key_id() for _ in range(2000)}
    secrets_ = {keys.new_secret_key() for _ in range(2000)}
    assert len(ids) == len(secrets_) == 2000
    # every character of the alphabet turns up: not a narrower generator
    assert set("".join(ids)) == set(keys.ACCESS_KEY_ALPHABET)


def test_keys_expire_12_months_after_creation(db: Session, world: World) -> None:
    new = gen(db, world.il3)
    assert new.key_pair.created_at == NOW
    assert new.key_pair.expires_at == ct(2027, 11, 24, 10)
    # the notes' sample key file: created 2018-01-23, expires 2019-01-23
    assert keys.key_expiry(ct(2018, 1, 23, 9, 30)) == ct(2019, 1, 23, 9, 30)
    assert keys.key_expiry(ct(2028, 2, 29, 12)) == ct(2029, 2, 28, 12)
    assert keys.key_expiry(NOW + 123) == ct(2027, 11, 24, 10) + 123  # ns kept


# -- rotation -----------------------------------------------------------------------------------


def test_P046_P053_a_new_pair_is_usable_at_once_and_the_old_one_still_works(
    db: Session, world: World
) -> None:
    first = gen(db, world.il3)
    second = gen(db, world.il3, now=NOW + DAY)
    usable = keys.usable_key_pairs(db, world.il3, NOW + DAY)
    assert [k.access_key_id for k in usable] == [first.access_key_id, second.access_key_id]
    assert second.expiring == (first.access_key_id,) and second.deleted == ()


def test_P044_AP02_older_pair_expires_four_weeks_later_at_market_close(
    db: Session, world: World
) -> None:
    first = gen(db, world.il3)
    second_at = ct(2026, 11, 25, 17, 30)  # Wednesday, after the close
    gen(db, world.il3, now=second_at)
    # four weeks later is Wednesday 23 December 17:30: the next close is Thursday 16:00 CT
    assert first.key_pair.expires_at == ct(2026, 12, 24, 16)
    assert first.key_pair.expires_at - second_at >= FOUR_WEEKS
    assert first.key_pair.superseded_at == second_at
    assert first.key_pair.usable(ct(2026, 12, 24, 15, 59))
    assert not first.key_pair.usable(ct(2026, 12, 24, 16))
    assert [
        k.access_key_id for k in keys.usable_key_pairs(db, world.il3, ct(2026, 12, 24, 16))
    ] == [k.access_key_id for k in keys.key_pairs(db, world.il3)[1:]]


def test_P044_a_friday_evening_rotation_rolls_the_expiry_to_monday_close(
    db: Session, world: World
) -> None:
    first = gen(db, world.dc)
    gen(db, world.dc, now=ct(2026, 11, 27, 18))  # Friday after the weekly close
    assert first.key_pair.expires_at == ct(2026, 12, 28, 16)  # Monday


def test_the_overlap_never_extends_a_pairs_own_12_month_expiry(db: Session, world: World) -> None:
    first = gen(db, world.il3)
    late = first.key_pair.expires_at - 10 * DAY
    gen(db, world.il3, now=late)
    assert first.key_pair.expires_at == ct(2027, 11, 24, 10)


def test_P042_AP01_a_third_pair_requires_choosing_one_to_delete(db: Session, world: World) -> None:
    first = gen(db, world.il3)
    second = gen(db, world.il3, now=NOW + DAY)
    first_expiry = first.key_pair.expires_at
    with pytest.raises(KeyChoiceRequired, match="already has 2 key pairs") as info:
        gen(db, world.il3, now=NOW + 2 * DAY)
    assert info.value.existing == (first.access_key_id, second.access_key_id)
    # nothing changed
    assert len(keys.key_pairs(db, world.il3)) == 2
    assert first.key_pair.expires_at == first_expiry and second.key_pair.superseded_at is None


def test_P045_the_chosen_pair_is_deleted_at_once_the_other_expires_in_four_weeks(
    db: Session, world: World
) -> None:
    first = gen(db, world.il3)
    second = gen(db, world.il3, now=NOW + DAY)
    third_at = NOW + 2 * DAY  # Thursday 26 November 10:00
    third = gen(db, world.il3, now=third_at, delete=[second.access_key_id])
    assert third.deleted == (second.access_key_id,)
    assert second.key_pair.deleted_at == third_at and not second.key_pair.usable(third_at)
    assert second.key_pair.secret_ciphertext is None  # erased
    # the first already expired on its own overlap (from the second generation): kept
    assert first.key_pair.expires_at == ct(2026, 12, 23, 16)
    assert [k.access_key_id for k in keys.usable_key_pairs(db, world.il3, third_at)] == [
        first.access_key_id,
        third.access_key_id,
    ]


def test_AP01_choosing_the_oldest_leaves_the_newer_one_with_a_four_week_expiry(
    db: Session, world: World
) -> None:
    first = gen(db, world.dc)
    second = gen(db, world.dc, now=NOW + DAY)
    third = gen(db, world.dc, now=NOW + 2 * DAY, delete=[first.access_key_id])
    assert first.key_pair.deleted_at == NOW + 2 * DAY
    assert second.key_pair.expires_at == ct(2026, 12, 24, 16)  # 4 weeks after the third
    assert third.expiring == (second.access_key_id,)


def test_deleting_both_existing_pairs_while_generating(db: Session, world: World) -> None:
    a = gen(db, world.il3)
    b = gen(db, world.il3, now=NOW + 1)
    c = gen(db, world.il3, now=NOW + 2, delete=[a.access_key_id, b.access_key_id])
    assert [k.access_key_id for k in keys.usable_key_pairs(db, world.il3, NOW + 2)] == [
        c.access_key_id
    ]
    assert c.expiring == ()


def test_naming_a_pair_that_is_not_the_sessions_usable_pair_is_refused(
    db: Session, world: World
) -> None:
    mine = gen(db, world.il3)
    theirs = gen(db, world.dc)
    with pytest.raises(NotFound, match="not a usable key pair of iLink 3 session ABC/007"):
        gen(db, world.il3, delete=[theirs.access_key_id])
    assert mine.key_pair.deleted_at is None and theirs.key_pair.deleted_at is None


def test_expired_pairs_do_not_count_towards_the_two(db: Session, world: World) -> None:
    gen(db, world.il3)
    gen(db, world.il3, now=NOW + DAY)
    after_overlap = NOW + DAY + FOUR_WEEKS + DAY
    third = gen(db, world.il3, now=after_overlap)  # the first has expired: no choice needed
    assert len(keys.usable_key_pairs(db, world.il3, after_overlap)) == 2
    assert third.expiring != ()


def test_sessions_rotate_independently(db: Session, world: World) -> None:
    gen(db, world.il3)
    gen(db, world.il3, now=NOW + 1)
    gen(db, world.il3_nr)  # another environment's session: its own two
    gen(db, world.il3_nr, now=NOW + 1)
    gen(db, world.dc)
    assert len(keys.usable_key_pairs(db, world.dc, NOW + 2)) == 1


def test_market_close_after_must_not_go_backwards(db: Session, world: World) -> None:
    with pytest.raises(InvalidValue, match="before its argument"):
        keys.generate_key_pair(db, world.il3, now=NOW, market_close_after=lambda t: t - 1)


# -- deletion -----------------------------------------------------------------------------------


def test_P054_P059_deleted_keys_are_gone_for_good(store: Store, world_ids: dict[str, int]) -> None:
    with store.session() as db:
        il3 = db.get_one(ILink3Session, world_ids["il3"])
        a = gen(db, il3)
        b = gen(db, il3, now=NOW + 1)
        deleted = keys.delete_key_pairs(db, il3, [a.access_key_id], now=NOW + 2)
        assert [k.access_key_id for k in deleted] == [a.access_key_id]
    with store.session() as db:
        il3 = db.get_one(ILink3Session, world_ids["il3"])
        gone = keys.find_key_pair(db, a.access_key_id)
        assert gone is not None and gone.deleted_at == NOW + 2 and not gone.usable(NOW + 2)
        with pytest.raises(NotFound, match="was deleted"):
            keys.reveal_secret(db, gone)
        assert [k.access_key_id for k in keys.key_pairs(db, il3)] == [b.access_key_id]
        assert len(keys.key_pairs(db, il3, include_deleted=True)) == 2


def test_P055_the_user_names_the_keys_to_delete(db: Session, world: World) -> None:
    a = gen(db, world.il3)
    with pytest.raises(InvalidValue, match="name the key pair"):
        keys.delete_key_pairs(db, world.il3, [], now=NOW)
    with pytest.raises(NotFound, match="not a key pair of Drop Copy session DCABC1"):
        keys.delete_key_pairs(db, world.dc, [a.access_key_id], now=NOW)
    assert a.key_pair.deleted_at is None


def test_key_operations_are_audited_without_secrets(db: Session, world: World) -> None:
    user = repo.create_user(db, "k@example.com", "K", "long password", now=NOW)
    a = gen(db, world.dc, user=user)
    b = gen(db, world.dc, now=NOW + 1, user=user)
    keys.delete_key_pairs(db, world.dc, [a.access_key_id], now=NOW + 2, user=user)
    db.flush()
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.detail["access_key_id"]) for e in events] == [
        ("key_pair.generated", a.access_key_id),
        ("key_pair.generated", b.access_key_id),
        ("key_pair.deleted", a.access_key_id),
    ]
    assert {e.user_id for e in events} == {user.id}
    assert all(e.subject == "Drop Copy session DCABC1" for e in events)
    dump = repr([(e.action, e.subject, e.detail) for e in events])
    assert a.secret_key not in dump and b.secret_key not in dump
    assert b.key_pair.created_by_id == user.id


# -- encryption at rest --------------------------------------------------------------------------


def test_I032_secret_is_encrypted_at_rest(store: Store, world_ids: dict[str, int]) -> None:
    with store.session() as db:
        new = gen(db, db.get_one(ILink3Session, world_ids["il3"]))
    raw_secret = base64.urlsafe_b64decode(new.secret_key + "=")
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM key_pairs")).all()
    (row,) = rows
    for value in row:
        if isinstance(value, str):
            assert new.secret_key not in value
        if isinstance(value, bytes | memoryview):
            blob = bytes(value)
            assert new.secret_key.encode() not in blob and raw_secret not in blob
    stored = row._mapping["secret_ciphertext"]
    assert stored is not None and len(bytes(stored)) == 1 + 12 + 43 + 16  # format, nonce, tag
    with store.session() as db:
        kp = keys.find_key_pair(db, new.access_key_id)
        assert kp is not None and keys.reveal_secret(db, kp) == new.secret_key


def test_a_ciphertext_is_bound_to_its_key_pair(db: Session, world: World) -> None:
    a = gen(db, world.il3)
    b = gen(db, world.dc)
    b.key_pair.secret_ciphertext = a.key_pair.secret_ciphertext  # a copied row
    with pytest.raises(MasterKeyError, match="does not decrypt"):
        keys.reveal_secret(db, b.key_pair)


# -- download ----------------------------------------------------------------------------------


def test_P052_P060_key_file_lists_usable_pairs_and_downloads_alike(
    db: Session, world: World
) -> None:
    old = gen(db, world.il3)
    new = gen(db, world.il3, now=NOW + SECOND)
    dc = gen(db, world.dc)
    deleted = gen(db, world.dc, now=NOW + SECOND)
    keys.delete_key_pairs(db, world.dc, [deleted.access_key_id], now=NOW + 2 * SECOND)
    owners: list[keys.KeyOwner] = [world.il3, world.dc]
    text_ = keys.key_file(db, owners, now=NOW + 3 * SECOND)
    assert keys.key_file(db, owners, now=NOW + 3 * SECOND) == text_  # downloaded again: same
    entries = keyfile.parse(text_)
    assert [(e.session_id, e.access_key_id, e.secret_key) for e in entries] == [
        ("ABC", old.access_key_id, old.secret_key),
        ("ABC", new.access_key_id, new.secret_key),
        ("DCABC1", dc.access_key_id, dc.secret_key),  # AD-17: the 6-character ID
    ]
    assert entries[0].expires == date(2026, 12, 22)  # the overlap's end, Chicago date
    assert entries[1].created == date(2026, 11, 24) and entries[1].expires == date(2027, 11, 24)
    assert {e.environment for e in entries} == {"CERT"}


def test_AP07_a_key_file_secret_signs_a_logon_the_venue_verifies(db: Session, world: World) -> None:
    from dropcopy.ilink3 import signing

    gen(db, world.il3)
    (entry,) = keyfile.parse(keys.key_file(db, [world.il3], now=NOW))
    canonical = "1563720650008\n1563720660068\nABC\n007"  # I-037
    kp = keys.find_key_pair(db, entry.access_key_id, "CERT")
    assert kp is not None
    assert signing.signature(entry.secret_key, canonical) == signing.signature(
        keys.reveal_secret(db, kp), canonical
    )
    assert keys.find_key_pair(db, entry.access_key_id, "NEWRELEASE") is None


def test_AP01_concurrent_generations_never_make_a_third_pair(
    store: Store, world_ids: dict[str, int]
) -> None:
    """PostgreSQL: the second generation waits on the session's row lock, then sees two pairs.
    SQLite: the second writer's transaction fails ("database is locked"). Either way: two."""
    import threading

    from sqlalchemy.exc import OperationalError

    with store.session() as db:
        gen(db, db.get_one(ILink3Session, world_ids["il3"]))
    outcome: dict[str, BaseException] = {}

    def second() -> None:
        try:
            with store.session() as db:
                gen(db, db.get_one(ILink3Session, world_ids["il3"]), now=NOW + 2)
        except (KeyChoiceRequired, OperationalError) as e:
            outcome["error"] = e

    with store.session() as db:
        gen(db, db.get_one(ILink3Session, world_ids["il3"]), now=NOW + 1)
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)  # it cannot finish while this transaction holds the session
    thread.join(30)
    assert not thread.is_alive() and "error" in outcome
    with store.session() as db:
        il3 = db.get_one(ILink3Session, world_ids["il3"])
        assert len(keys.usable_key_pairs(db, il3, NOW + 3)) == 2
