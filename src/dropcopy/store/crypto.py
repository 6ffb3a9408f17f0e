"""Secrets at rest: AES-256-GCM under a master key (I-032: "keeps it in a secure vault").

Every secret the store keeps -- key pairs' Secret Keys, users' TOTP seeds -- is encrypted with
:class:`SecretBox` before it reaches the database. A ciphertext is ``0x01 || nonce (12 bytes) ||
AES-GCM(ciphertext || tag)``; the leading byte names this format so that another can follow.
Each ciphertext is bound to the row it belongs to by the GCM associated data (e.g.
``b"keypair:" + access_key_id``), so copying one row's ciphertext into another row does not
decrypt.

The master key (32 random bytes, written as 43 characters of base64url) comes from, in order:

1. the ``master_key`` argument of :func:`dropcopy.store.open_store`;
2. the environment variable ``DROPCOPY_MASTER_KEY``;
3. a file, by default ``master.key`` beside the SQLite database (or in the data directory for a
   server database), created on first use with mode 0600. A key file readable by the group or
   others is refused, as ssh refuses such private keys.

The box never logs or shows a secret: ``repr`` of the box and of the models hides them.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import MasterKeyError

__all__ = [
    "MASTER_KEY_ENV",
    "MASTER_KEY_FILE",
    "SecretBox",
    "decode_master_key",
    "encode_master_key",
    "generate_master_key",
    "load_master_key_file",
]

MASTER_KEY_ENV = "DROPCOPY_MASTER_KEY"
MASTER_KEY_FILE = "master.key"
MASTER_KEY_BYTES = 32  # AES-256
_FORMAT = b"\x01"
_NONCE_BYTES = 12


def generate_master_key() -> bytes:
    return os.urandom(MASTER_KEY_BYTES)


def encode_master_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def decode_master_key(text: str) -> bytes:
    """The 32-byte key written as base64url (padding optional)."""
    text = text.strip()
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != MASTER_KEY_BYTES:
        raise MasterKeyError(
            f"a master key is {MASTER_KEY_BYTES} bytes written as base64url "
            f"({len(encode_master_key(bytes(MASTER_KEY_BYTES)))} characters)"
        )
    return key


def load_master_key_file(path: Path, *, create: bool) -> bytes:
    """The master key kept in ``path``; when the file does not exist and ``create`` is true, a
    new random key is written there (mode 0600, the directory created 0700 if missing)."""
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        if not create:
            raise MasterKeyError(f"master key file {path} does not exist") from None
    key = generate_master_key()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return _read_key_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(encode_master_key(key) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key


def _read_key_file(path: Path) -> bytes:
    with open(path, encoding="ascii") as f:
        mode = os.fstat(f.fileno()).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MasterKeyError(
                f"master key file {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(mode):04o}): chmod 600 it"
            )
        text = f.read()
    try:
        return decode_master_key(text)
    except MasterKeyError as e:
        raise MasterKeyError(f"master key file {path}: {e}") from None


class SecretBox:
    """Authenticated encryption of small secrets under the master key."""

    __slots__ = ("_aead",)

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != MASTER_KEY_BYTES:
            raise MasterKeyError(f"a master key is {MASTER_KEY_BYTES} bytes")
        self._aead = AESGCM(master_key)

    def __repr__(self) -> str:
        return "SecretBox(<master key hidden>)"

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        """``plaintext`` encrypted and bound to ``context`` (the associated data)."""
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        """The plaintext of ``blob``; :class:`MasterKeyError` when it was encrypted under another
        master key or another context, or was altered."""
        if blob[:1] != _FORMAT or len(blob) < 1 + _NONCE_BYTES + 16:
            raise MasterKeyError("not a secret encrypted by this store (unknown format)")
        nonce = blob[1 : 1 + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[1 + _NONCE_BYTES :], context)
        except InvalidTag:
            raise MasterKeyError(
                "a stored secret does not decrypt: wrong master key, or the data was altered"
            ) from None
