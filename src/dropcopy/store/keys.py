"""Secure key pairs: generation, rotation, deletion, download (dropcopy-wire-notes.md §4).

Rules, and where they come from:

* **Format** (notes §4, AP-07): the Access Key ID is 20 characters ``[A-Za-z0-9]``; the Secret
  Key is 32 random bytes written as base64url without padding (43 characters), the form Request
  Center delivers (I-042). Both come from :mod:`secrets` (I-032: "cryptographically random").
* **Lifetime** (notes §4 "Keys must be rotated every 12 months"; the sample key file's expiry
  is creation + 1 year): a new pair expires 12 calendar months after creation, same wall-clock
  time in America/Chicago.
* **Rotation** (notes §4; P-042, P-044, P-053, AP-01, AP-02): a session holds at most two
  usable pairs. A new pair is usable at once; every older pair that stays is given an expiry
  four weeks later, at market close (``market_close_after(now + 28 days)``, never later than
  its own 12-month expiry). With two usable pairs the caller must name the pair(s) to delete;
  without a choice :class:`~dropcopy.store.errors.KeyChoiceRequired` lists them.
* **Deletion** (P-045, P-054..P-059, AP-05): immediate. The row stays for the record, its
  secret is erased, and it never authenticates again.
* **Expiry and deletion take effect at logon** (AP-05): a pair is *usable* at ``now`` when it
  is not deleted and ``now < expires_at``; connections already up are not dropped.
* **Download** (P-052, P-060, P-063): usable pairs can be downloaded any number of times, as
  CME's key file (:mod:`dropcopy.keyfile`).

The market calendar belongs to the venue, which depends on the store, not the reverse: callers
pass ``market_close_after`` (e.g. :func:`dropcopy.venue.calendar.market_close_after`).
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeAlias
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from dropcopy.keyfile import KeyFileEntry, render

from .database import secret_box
from .errors import InvalidValue, KeyChoiceRequired, NotFound
from .models import DropCopySession, Environment, ILink3Session, KeyPair, User
from .repo import record_audit

__all__ = [
    "ACCESS_KEY_ID_LENGTH",
    "MAX_USABLE_PAIRS",
    "OVERLAP",
    "SECRET_KEY_BYTES",
    "GeneratedKeyPair",
    "KeyOwner",
    "MarketCloseAfter",
    "delete_key_pairs",
    "find_key_pair",
    "generate_key_pair",
    "key_expiry",
    "key_file",
    "key_file_entries",
    "key_pairs",
    "new_access_key_id",
    "new_secret_key",
    "owner_of",
    "reveal_secret",
    "usable_key_pairs",
]

NS = 1_000_000_000
ACCESS_KEY_ID_LENGTH = 20
ACCESS_KEY_ALPHABET = string.ascii_letters + string.digits
SECRET_KEY_BYTES = 32
MAX_USABLE_PAIRS = 2  # AP-01
OVERLAP = 28 * 86_400 * NS  # "expires four weeks later" (P-044)
KEY_LIFETIME_MONTHS = 12
#: Calendar dates (key file, 12-month expiry) are those of CME's home, America/Chicago (AX-04).
CHICAGO = ZoneInfo("America/Chicago")

KeyOwner: TypeAlias = ILink3Session | DropCopySession
#: ``market_close_after(t)``: the first market close at or after ``t`` (ns since the epoch).
MarketCloseAfter: TypeAlias = Callable[[int], int]


@dataclass(frozen=True, slots=True)
class GeneratedKeyPair:
    """A new pair: show ``secret_key`` to the user; it is stored only encrypted."""

    key_pair: KeyPair
    secret_key: str = field(repr=False)
    #: Access Key IDs deleted at once by this generation (the user's choice).
    deleted: tuple[str, ...] = ()
    #: Access Key IDs that now expire at the end of the 4-week overlap.
    expiring: tuple[str, ...] = ()

    @property
    def access_key_id(self) -> str:
        return self.key_pair.access_key_id


def new_access_key_id() -> str:
    """20 random characters ``[A-Za-z0-9]``."""
    return "".join(secrets.choice(ACCESS_KEY_ALPHABET) for _ in range(ACCESS_KEY_ID_LENGTH))


def new_secret_key() -> str:
    """32 random bytes, base64url without padding: 43 characters."""
    return base64.urlsafe_b64encode(secrets.token_bytes(SECRET_KEY_BYTES)).rstrip(b"=").decode()


def key_expiry(created_at: int) -> int:
    """12 calendar months after ``created_at``, same Chicago wall-clock time (29 February
    becomes 28 February)."""
    local = datetime.fromtimestamp(created_at // NS, CHICAGO)
    year = local.year + KEY_LIFETIME_MONTHS // 12
    try:
        later = local.replace(year=year)
    except ValueError:  # 29 February
        later = local.replace(year=year, day=28)
    return int(later.timestamp()) * NS + created_at % NS


def _context(access_key_id: str) -> bytes:
    return f"key_pairs:{access_key_id}".encode()


def _owner_filter(owner: KeyOwner) -> ColumnElement[bool]:
    if isinstance(owner, ILink3Session):
        return KeyPair.ilink3_session_id == owner.id
    return KeyPair.dc_session_id == owner.id


def owner_of(key_pair: KeyPair) -> KeyOwner:
    owner = key_pair.ilink3_session or key_pair.dc_session
    assert owner is not None  # the one_owner check constraint
    return owner


def _label(owner: KeyOwner) -> str:
    if isinstance(owner, ILink3Session):
        return f"iLink 3 session {owner.label}"
    return f"Drop Copy session {owner.session_id}"


def key_pairs(db: Session, owner: KeyOwner, *, include_deleted: bool = False) -> list[KeyPair]:
    """The session's pairs, oldest first."""
    query = select(KeyPair).where(_owner_filter(owner))
    if not include_deleted:
        query = query.where(KeyPair.deleted_at.is_(None))
    return list(db.scalars(query.order_by(KeyPair.created_at, KeyPair.id)))


def usable_key_pairs(db: Session, owner: KeyOwner, now: int) -> list[KeyPair]:
    """The pairs that authenticate a logon at ``now``, oldest first."""
    return [k for k in key_pairs(db, owner) if k.usable(now)]


def find_key_pair(
    db: Session, access_key_id: str, environment: Environment | str | None = None
) -> KeyPair | None:
    query = select(KeyPair).where(KeyPair.access_key_id == access_key_id)
    if environment is not None:
        query = query.where(KeyPair.environment == Environment(environment))
    return db.scalar(query)


def reveal_secret(db: Session, key_pair: KeyPair) -> str:
    """The pair's Secret Key in clear (for a download or a logon check)."""
    if key_pair.secret_ciphertext is None:
        raise NotFound(f"key pair {key_pair.access_key_id} was deleted: its secret is gone")
    box = secret_box(db)
    return box.decrypt(key_pair.secret_ciphertext, _context(key_pair.access_key_id)).decode()


def _lock(db: Session, owner: KeyOwner) -> None:
    """Serialize key changes of one session (PostgreSQL row lock; SQLite transactions are
    serialized by the database lock)."""
    cls = type(owner)
    db.execute(select(cls.id).where(cls.id == owner.id).with_for_update())


def _delete(db: Session, key_pair: KeyPair, now: int, user: User | None) -> None:
    key_pair.deleted_at = now
    key_pair.secret_ciphertext = None  # nothing left to leak or to authenticate with
    owner = owner_of(key_pair)
    record_audit(
        db,
        "key_pair.deleted",
        now=now,
        company=owner.company,
        user=user,
        subject=_label(owner),
        detail={"access_key_id": key_pair.access_key_id},
    )


def generate_key_pair(
    db: Session,
    owner: KeyOwner,
    *,
    now: int,
    market_close_after: MarketCloseAfter,
    delete: Iterable[str] = (),
    user: User | None = None,
) -> GeneratedKeyPair:
    """Generate a new pair for ``owner``, usable at once (P-046, P-053).

    ``delete`` names usable pairs to delete immediately (P-042, P-045); it is required when the
    session already holds :data:`MAX_USABLE_PAIRS` usable pairs (else
    :class:`KeyChoiceRequired`). Each pair that remains gets the 4-week expiry at market close
    (P-044, AP-01, AP-02)."""
    _lock(db, owner)
    usable = usable_key_pairs(db, owner, now)
    by_id = {k.access_key_id: k for k in usable}
    chosen = list(dict.fromkeys(delete))
    unknown = [a for a in chosen if a not in by_id]
    if unknown:
        raise NotFound(f"{', '.join(unknown)}: not a usable key pair of {_label(owner)}")
    remaining = [k for k in usable if k.access_key_id not in chosen]
    if len(remaining) >= MAX_USABLE_PAIRS:
        existing = tuple(by_id)
        raise KeyChoiceRequired(
            f"{_label(owner)} already has {len(usable)} key pairs: choose one to delete "
            f"immediately ({', '.join(existing)})",
            existing,
        )
    overlap_end = market_close_after(now + OVERLAP)
    if overlap_end < now + OVERLAP:
        raise InvalidValue("market_close_after returned a time before its argument")
    for access_key_id in chosen:
        _delete(db, by_id[access_key_id], now, user)
    for k in remaining:
        if k.superseded_at is None:
            k.superseded_at = now
        k.expires_at = min(k.expires_at, overlap_end)

    access_key_id = new_access_key_id()
    while find_key_pair(db, access_key_id) is not None:  # 62**20: never, but be sure
        access_key_id = new_access_key_id()
    secret = new_secret_key()
    key_pair = KeyPair(
        access_key_id=access_key_id,
        secret_ciphertext=secret_box(db).encrypt(secret.encode(), _context(access_key_id)),
        environment=owner.environment,
        created_at=now,
        expires_at=key_expiry(now),
        created_by_id=user.id if user is not None else None,
    )
    if isinstance(owner, ILink3Session):
        key_pair.ilink3_session = owner
    else:
        key_pair.dc_session = owner
    db.add(key_pair)
    record_audit(
        db,
        "key_pair.generated",
        now=now,
        company=owner.company,
        user=user,
        subject=_label(owner),
        detail={
            "access_key_id": access_key_id,
            "deleted": chosen,
            "expiring": [k.access_key_id for k in remaining],
        },
    )
    db.flush()
    return GeneratedKeyPair(
        key_pair,
        secret,
        deleted=tuple(chosen),
        expiring=tuple(k.access_key_id for k in remaining),
    )


def delete_key_pairs(
    db: Session,
    owner: KeyOwner,
    access_key_ids: Sequence[str],
    *,
    now: int,
    user: User | None = None,
) -> list[KeyPair]:
    """Delete the named pairs of ``owner`` immediately (P-054..P-059). The caller names them:
    with several pairs the user picks (P-055)."""
    if not access_key_ids:
        raise InvalidValue("name the key pair(s) to delete")
    _lock(db, owner)
    mine = {k.access_key_id: k for k in key_pairs(db, owner)}
    unknown = [a for a in access_key_ids if a not in mine]
    if unknown:
        raise NotFound(f"{', '.join(unknown)}: not a key pair of {_label(owner)}")
    deleted = [mine[a] for a in dict.fromkeys(access_key_ids)]
    for k in deleted:
        _delete(db, k, now, user)
    db.flush()
    return deleted


def _chicago_date(t: int) -> date:
    return datetime.fromtimestamp(t // NS, CHICAGO).date()


def key_file_entries(db: Session, pairs: Iterable[KeyPair]) -> list[KeyFileEntry]:
    """The key file rows of ``pairs`` (secrets decrypted; dates in Chicago). The Session ID is
    the 3-character iLink 3 session or the 6-character Drop Copy session (AD-17)."""
    entries = []
    for k in pairs:
        owner = owner_of(k)
        entries.append(
            KeyFileEntry(
                session_id=owner.session_id,
                access_key_id=k.access_key_id,
                secret_key=reveal_secret(db, k),
                created=_chicago_date(k.created_at),
                expires=_chicago_date(k.expires_at),
                environment=str(k.environment),
            )
        )
    return entries


def key_file(db: Session, owners: Iterable[KeyOwner], *, now: int) -> str:
    """ "Download All Key(s)" (P-051, P-060): the usable pairs of ``owners`` as CME's key file.
    The same pairs give the same file every time."""
    pairs = [k for owner in owners for k in usable_key_pairs(db, owner, now)]
    return render(key_file_entries(db, pairs))
