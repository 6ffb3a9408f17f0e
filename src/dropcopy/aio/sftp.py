"""A read-only SFTP server for the Drop Copy 4.0 MSGW configuration files (D-090..D-096).

CME publishes each environment's MSGW configuration on an SFTP site (D-090) under
``/DCMSGW/<Env>/Configuration`` (D-091..D-093), readable with a generic user name and password
or with the user's own CME credentials (D-095); clients fetch it with any SFTP client (D-096),
daily (D-094). :class:`MsgwConfigSftpServer` is our venue's equivalent, built on asyncssh.

The file system it serves is virtual and read-only, and never touches the real one (the host key
file is the only file it reads or writes):

* directories: ``/``, ``/DCMSGW``, ``/DCMSGW/<Env>`` and ``/DCMSGW/<Env>/Configuration`` for each
  directory of :data:`dropcopy.msgwconfig.SFTP_DIRECTORIES`;
* files: those of the ``documents()`` map (absolute SFTP path -> text, served as UTF-8) that lie
  directly in one of those directories; ``documents()`` is called at every listing, ``stat`` and
  ``open``, so clients always see current content (a file keeps the content it had when it was
  opened until it is closed). A file's modification time is when the server first saw its
  current content;
* listing, ``stat`` and open-for-read work; every change (write, create, remove, rename, mkdir,
  rmdir, setstat, symlink, link) is refused with "permission denied"; other paths are
  "no such file".

Only password authentication, decided by the injected ``authenticate(username, password)`` (the
portal accepts the generic user or any active portal user, D-095). Failed attempts are logged
with the user name and peer address, never the password, delayed by ``auth_failure_delay`` and
limited to ``max_auth_attempts`` per connection; a connection must authenticate within
``login_timeout``. Only the ``sftp`` subsystem: no shell, no exec, no scp, no port, agent or X11
forwarding, no pty.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import os
import posixpath
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import asyncssh

from dropcopy.msgwconfig import SFTP_DIRECTORIES

__all__ = ["Authenticator", "MsgwConfigSftpServer"]

log = logging.getLogger(__name__)

Authenticator = Callable[[str, str], bool | Awaitable[bool]]

_OWNER = "dcmsgw"
_HOST_KEY_ALGORITHM = "ssh-ed25519"
# SFTP v5+ desired-access bits that change something (draft-ietf-secsh-filexfer-13 section 8.1.1):
# WRITE_DATA, APPEND_DATA, WRITE_NAMED_ATTRS, DELETE_CHILD, WRITE_ATTRIBUTES, DELETE, WRITE_ACL,
# WRITE_OWNER.
_ACE4_CHANGES = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000


@dataclass(frozen=True, slots=True)
class _OpenFile:
    path: str
    data: bytes
    mtime: int


def _normalize(path: bytes) -> str | None:
    """The absolute, normalized form of a client path (relative to ``/``), or None."""
    try:
        text = path.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    return "/" + posixpath.normpath(posixpath.join("/", text)).lstrip("/")


def _directories(leaves: Iterable[str]) -> frozenset[str]:
    found = {"/"}
    for leaf in leaves:
        path = _normalize(leaf.encode())
        while path and path != "/":
            found.add(path)
            path = posixpath.dirname(path)
    return frozenset(found)


class _ReadOnlyFs:
    """The virtual tree, shared by every session of one server."""

    def __init__(
        self, documents: Callable[[], Mapping[str, str]], directories: Iterable[str]
    ) -> None:
        self._documents = documents
        self.leaves = frozenset(d for d in (_normalize(x.encode()) for x in directories) if d)
        self.directories = _directories(self.leaves)
        self.started = int(time.time())
        self._seen: dict[str, tuple[bytes, int]] = {}  # path -> (sha256, first seen)

    def files(self) -> dict[str, tuple[bytes, int]]:
        """Current files: path -> (content, mtime)."""
        out: dict[str, tuple[bytes, int]] = {}
        now = int(time.time())
        for raw, text in self._documents().items():
            path = _normalize(raw.encode())
            if path is None or path != raw or posixpath.dirname(path) not in self.leaves:
                continue
            data = text.encode("utf-8")
            digest = hashlib.sha256(data).digest()
            seen = self._seen.get(path)
            if seen is None or seen[0] != digest:
                seen = self._seen[path] = (digest, now)
            out[path] = (data, seen[1])
        return out

    def dir_attrs(self) -> asyncssh.SFTPAttrs:
        return self._attrs(asyncssh.FILEXFER_TYPE_DIRECTORY, stat.S_IFDIR | 0o555, 0, self.started)

    def file_attrs(self, size: int, mtime: int) -> asyncssh.SFTPAttrs:
        return self._attrs(asyncssh.FILEXFER_TYPE_REGULAR, stat.S_IFREG | 0o444, size, mtime)

    @staticmethod
    def _attrs(kind: int, mode: int, size: int, mtime: int) -> asyncssh.SFTPAttrs:
        return asyncssh.SFTPAttrs(
            type=kind,
            size=size,
            uid=0,
            gid=0,
            owner=_OWNER,
            group=_OWNER,
            permissions=mode,
            atime=mtime,
            mtime=mtime,
            nlink=1,
        )


def _denied() -> asyncssh.SFTPPermissionDenied:
    return asyncssh.SFTPPermissionDenied("Read-only file system")


def _no_such_file() -> asyncssh.SFTPNoSuchFile:
    return asyncssh.SFTPNoSuchFile("No such file")


class _Session(asyncssh.SFTPServer):
    """One client's SFTP session over the shared read-only tree. Every method the base class
    implements with the local file system is overridden."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], fs: _ReadOnlyFs) -> None:
        super().__init__(chan)
        self._fs = fs

    # ------------------------------------------------------------------ lookups

    def _lookup(self, path: bytes) -> tuple[str, asyncssh.SFTPAttrs]:
        name = _normalize(path)
        if name is None:
            raise _no_such_file()
        if name in self._fs.directories:
            return name, self._fs.dir_attrs()
        found = self._fs.files().get(name)
        if found is None:
            raise _no_such_file()
        return name, self._fs.file_attrs(len(found[0]), found[1])

    def format_user(self, uid: int | None) -> str:
        return _OWNER

    def format_group(self, gid: int | None) -> str:
        return _OWNER

    def map_path(self, path: bytes) -> bytes:
        name = _normalize(path)
        if name is None:
            raise _no_such_file()
        return name.encode()

    def reverse_map_path(self, path: bytes) -> bytes:
        return path

    def realpath(self, path: bytes) -> bytes:
        return self.map_path(path)

    def stat(self, path: bytes) -> asyncssh.SFTPAttrs:
        return self._lookup(path)[1]

    def lstat(self, path: bytes) -> asyncssh.SFTPAttrs:
        return self._lookup(path)[1]

    def readlink(self, path: bytes) -> bytes:
        self._lookup(path)
        raise asyncssh.SFTPInvalidParameter("Not a symbolic link")

    def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        # A plain method (not an async generator), so a bad path fails the OPENDIR itself.
        name, _ = self._lookup(path)
        if name not in self._fs.directories:
            raise asyncssh.SFTPNotADirectory("Not a directory")
        entries: list[asyncssh.SFTPName] = [
            asyncssh.SFTPName(b".", attrs=self._fs.dir_attrs()),
            asyncssh.SFTPName(b"..", attrs=self._fs.dir_attrs()),
        ]
        for child in sorted(self._fs.directories):
            if child != "/" and posixpath.dirname(child) == name:
                entries.append(
                    asyncssh.SFTPName(
                        posixpath.basename(child).encode(), attrs=self._fs.dir_attrs()
                    )
                )
        for child, (data, mtime) in sorted(self._fs.files().items()):
            if posixpath.dirname(child) == name:
                attrs = self._fs.file_attrs(len(data), mtime)
                entries.append(asyncssh.SFTPName(posixpath.basename(child).encode(), attrs=attrs))
        return self._iterate(entries)

    @staticmethod
    async def _iterate(entries: list[asyncssh.SFTPName]) -> AsyncIterator[asyncssh.SFTPName]:
        for entry in entries:
            yield entry

    def statvfs(self, path: bytes) -> asyncssh.SFTPVFSAttrs:
        raise asyncssh.SFTPOpUnsupported("statvfs not supported")

    # ------------------------------------------------------------------ reading

    def _open_for_read(self, path: bytes) -> _OpenFile:
        name = _normalize(path)
        if name is None:
            raise _no_such_file()
        if name in self._fs.directories:
            raise asyncssh.SFTPFileIsADirectory("Is a directory")
        found = self._fs.files().get(name)
        if found is None:
            raise _no_such_file()
        return _OpenFile(name, found[0], found[1])

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        changes = (
            asyncssh.FXF_WRITE
            | asyncssh.FXF_APPEND
            | asyncssh.FXF_CREAT
            | asyncssh.FXF_TRUNC
            | asyncssh.FXF_EXCL
        )
        if pflags & changes:
            raise _denied()
        return self._open_for_read(path)

    def open56(
        self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs
    ) -> object:
        disposition = flags & asyncssh.FXF_ACCESS_DISPOSITION
        if (
            desired_access & _ACE4_CHANGES
            or flags & asyncssh.FXF_APPEND_DATA
            or disposition != asyncssh.FXF_OPEN_EXISTING
        ):
            raise _denied()
        return self._open_for_read(path)

    @staticmethod
    def _file(file_obj: object) -> _OpenFile:
        if not isinstance(file_obj, _OpenFile):  # pragma: no cover - asyncssh passes ours back
            raise asyncssh.SFTPInvalidHandle("Invalid file handle")
        return file_obj

    def close(self, file_obj: object) -> None:
        return None

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        return self._file(file_obj).data[offset : offset + size]

    def fstat(self, file_obj: object) -> asyncssh.SFTPAttrs:
        opened = self._file(file_obj)
        return self._fs.file_attrs(len(opened.data), opened.mtime)

    def fstatvfs(self, file_obj: object) -> asyncssh.SFTPVFSAttrs:
        raise asyncssh.SFTPOpUnsupported("fstatvfs not supported")

    def fsync(self, file_obj: object) -> None:
        return None  # nothing was written

    # ------------------------------------------------------------------ changes: all refused

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        raise _denied()

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise _denied()

    def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise _denied()

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        raise _denied()

    def remove(self, path: bytes) -> None:
        raise _denied()

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise _denied()

    def rmdir(self, path: bytes) -> None:
        raise _denied()

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        raise _denied()

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        raise _denied()

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise _denied()

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise _denied()


class _SshServer(asyncssh.SSHServer):
    """Password authentication only, through the injected ``authenticate``."""

    def __init__(self, owner: MsgwConfigSftpServer) -> None:
        self._owner = owner
        self._conn: asyncssh.SSHServerConnection | None = None
        self._peer = "?"
        self._failures = 0

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self._peer = f"{peer[0]}:{peer[1]}"
        self._owner._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._owner._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is always required

    def public_key_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        try:
            result = self._owner._authenticate(username, password)
            ok = bool(await result) if inspect.isawaitable(result) else bool(result)
        except Exception as exc:
            log.error(
                "MSGW config SFTP: authentication of user %r from %s failed with %s",
                username,
                self._peer,
                type(exc).__name__,
            )
            ok = False
        if ok:
            log.info("MSGW config SFTP: user %r logged in from %s", username, self._peer)
            return True
        self._failures += 1
        log.warning(
            "MSGW config SFTP: wrong password for user %r from %s (attempt %d)",
            username,
            self._peer,
            self._failures,
        )
        if self._owner.auth_failure_delay > 0:
            await asyncio.sleep(self._owner.auth_failure_delay)
        if self._failures >= self._owner.max_auth_attempts and self._conn is not None:
            log.warning(
                "MSGW config SFTP: disconnecting %s after %d failed attempts",
                self._peer,
                self._failures,
            )
            self._conn.disconnect(
                asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "Too many authentication failures"
            )
        return False

    def change_password(self, username: str, old_password: str, new_password: str) -> bool:
        return False

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        return False

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        return False

    def unix_server_requested(self, listen_path: str) -> bool:
        return False

    def tun_requested(self, unit: int | None) -> bool:
        return False

    def tap_requested(self, unit: int | None) -> bool:
        return False


def _load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    try:
        key = asyncssh.read_private_key(path)
    except FileNotFoundError:
        pass
    else:
        if path.stat().st_mode & 0o077:
            log.warning("MSGW config SFTP: host key %s is readable by others (chmod 600)", path)
        return key
    key = asyncssh.generate_private_key(_HOST_KEY_ALGORITHM, comment="dropcopy MSGW config SFTP")
    data = key.export_private_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    log.info("MSGW config SFTP: generated host key %s", path)
    return key


class MsgwConfigSftpServer:
    """The MSGW configuration SFTP site: a read-only virtual tree over ``documents()``.

    ``documents()`` maps absolute SFTP paths (e.g.
    ``/DCMSGW/Cert/Configuration/DC_MSGW_Configuration_CERT.csv``) to file text.
    ``authenticate(username, password)`` returns (or resolves to) whether to let the user in.
    ``host_key_path`` is read, or created (ed25519, mode 0600) when missing. ``port=0`` picks a
    free port; read :attr:`port` after :meth:`start`.
    """

    def __init__(
        self,
        documents: Callable[[], Mapping[str, str]],
        authenticate: Authenticator,
        *,
        host_key_path: str | os.PathLike[str],
        host: str = "127.0.0.1",
        port: int = 0,
        directories: Iterable[str] = SFTP_DIRECTORIES.values(),
        max_auth_attempts: int = 3,
        login_timeout: float = 30.0,
        auth_failure_delay: float = 1.0,
    ) -> None:
        if max_auth_attempts < 1:
            raise ValueError("max_auth_attempts must be at least 1")
        self._fs = _ReadOnlyFs(documents, directories)
        self._authenticate = authenticate
        self.host_key_path = Path(host_key_path)
        self.host = host
        self._port = port
        self.max_auth_attempts = max_auth_attempts
        self.login_timeout = login_timeout
        self.auth_failure_delay = auth_failure_delay
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self.host_key: asyncssh.SSHKey | None = None

    @property
    def port(self) -> int:
        """The listening port (the real one once started, when constructed with 0)."""
        if self._acceptor is not None:
            return self._acceptor.get_port()
        return self._port

    @property
    def serving(self) -> bool:
        return self._acceptor is not None

    async def start(self) -> None:
        if self._acceptor is not None:
            raise RuntimeError("already started")
        self.host_key = _load_or_create_host_key(self.host_key_path)
        fs = self._fs

        def sftp_factory(chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
            return _Session(chan, fs)

        self._acceptor = await asyncssh.create_server(
            lambda: _SshServer(self),
            self.host,
            self._port,
            server_host_keys=[self.host_key],
            sftp_factory=sftp_factory,
            allow_scp=False,
            allow_pty=False,
            agent_forwarding=False,
            x11_forwarding=False,
            authorized_client_keys=None,
            known_client_hosts=None,
            gss_host=None,
            gss_kex=False,
            gss_auth=False,
            rdns_lookup=False,
            login_timeout=self.login_timeout,
        )
        log.info("MSGW config SFTP: listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is None:
            return
        acceptor.close()
        connections = list(self._connections)
        for conn in connections:
            conn.close()
        for conn in connections:
            with contextlib.suppress(Exception):
                await conn.wait_closed()
        await acceptor.wait_closed()

    async def __aenter__(self) -> MsgwConfigSftpServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
