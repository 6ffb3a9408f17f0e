"""The MSGW configuration SFTP site, driven by real SFTP clients over loopback: OpenSSH's
``sftp`` (password through ``SSH_ASKPASS``) and asyncssh's client."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from dropcopy.aio.sftp import MsgwConfigSftpServer
from dropcopy.msgwconfig import SegmentGateways, parse, render, sftp_path

GENERIC_USER = "cmeconfig"
GENERIC_PASSWORD = "generic-Test-pw (not CME's)"
PORTAL_USERS = {"alice@firm.example": "alice's portal pw"}

CERT = sftp_path("CERT")
NEWRELEASE = sftp_path("NEWRELEASE")
CERT_SEGMENTS = [
    SegmentGateways(74, "Interest Rates", ("10.0.1.74", 9100), ("10.0.2.74", 9100)),
    SegmentGateways(99, "Equities, Index", ("10.0.1.99", 9100), ("10.0.2.99", 9101)),
]
NR_SEGMENTS = [SegmentGateways(80, "Energy", ("10.1.1.80", 9200))]
SFTP = shutil.which("sftp")


@dataclass
class Site:
    server: MsgwConfigSftpServer
    documents: dict[str, str]
    tmp: Path
    attempts: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port


async def _authenticate(attempts: list[str], username: str, password: str) -> bool:
    """What the portal wires in (D-095): the generic user, or an active portal user."""
    attempts.append(username)
    await asyncio.sleep(0)
    if username == GENERIC_USER:
        return password == GENERIC_PASSWORD
    return PORTAL_USERS.get(username) == password


@pytest.fixture
async def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    monkeypatch.chdir(tmp_path)  # anything written to the real cwd would show up here
    documents = {
        CERT: render("CERT", CERT_SEGMENTS),
        NEWRELEASE: render("NEWRELEASE", NR_SEGMENTS),
        "/elsewhere/secret.csv": "not served",
    }
    attempts: list[str] = []
    server = MsgwConfigSftpServer(
        lambda: documents,
        lambda u, p: _authenticate(attempts, u, p),
        host_key_path=tmp_path / "host_key",
        host="127.0.0.1",
        port=0,
        auth_failure_delay=0,
        max_auth_attempts=3,
    )
    await server.start()
    try:
        yield Site(server, documents, tmp_path, attempts)
    finally:
        await server.stop()


def _connect(site: Site, username: str = GENERIC_USER, password: str = GENERIC_PASSWORD) -> Any:
    return asyncssh.connect(
        "127.0.0.1",
        site.port,
        username=username,
        password=password,
        known_hosts=None,
        client_keys=None,
        agent_path=None,
        config=None,
        preferred_auth="password",
    )


# ============================================================================ OpenSSH sftp


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str


async def _openssh(
    site: Site, commands: str, *, user: str = GENERIC_USER, password: str = GENERIC_PASSWORD
) -> Run:
    """OpenSSH ``sftp -b`` with the password given by an SSH_ASKPASS helper (no sshpass)."""
    askpass = site.tmp / "askpass.sh"
    askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$MSGW_TEST_PASSWORD"\n')
    askpass.chmod(0o700)
    batch = site.tmp / "batch"
    batch.write_text(commands)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(site.tmp),
        "SSH_ASKPASS": str(askpass),
        "SSH_ASKPASS_REQUIRE": "force",
        "MSGW_TEST_PASSWORD": password,
    }
    assert SFTP is not None
    proc = await asyncio.create_subprocess_exec(
        SFTP,
        "-F", "/dev/null",
        "-o", "BatchMode=no",  # before -b, so it wins: askpass may answer the password prompt
        "-b", str(batch),
        "-P", str(site.port),
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "PubkeyAuthentication=no",
        "-o", "IdentityAgent=none",
        "-o", "NumberOfPasswordPrompts=1",
        "-o", "LogLevel=ERROR",
        f"{user}@127.0.0.1",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=site.tmp,
        env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


needs_openssh = pytest.mark.skipif(SFTP is None, reason="OpenSSH sftp is not installed")


@needs_openssh
async def test_D091_D092_D096_generic_user_lists_and_gets_cert_file_with_openssh(
    site: Site,
) -> None:
    """D-090/D-091/D-092/D-096: the site needs a user name and password; with the generic user
    (CME's is ``cmeconfig``), an SFTP client lists /DCMSGW/Cert/Configuration and downloads
    the file; it parses to the segments served."""
    run = await _openssh(
        site,
        f"ls /DCMSGW\nls -l /DCMSGW/Cert/Configuration\nget {CERT} cert.csv\n",
    )
    assert run.rc == 0, run.stderr
    assert "Cert" in run.stdout and "NRCert" in run.stdout and "Production" in run.stdout
    assert "DC_MSGW_Configuration_CERT.csv" in run.stdout
    assert "-r--r--r--" in run.stdout
    assert parse((site.tmp / "cert.csv").read_text()) == CERT_SEGMENTS
    assert site.attempts == [GENERIC_USER]


@needs_openssh
async def test_D093_D095_portal_user_gets_newrelease_file_with_openssh(site: Site) -> None:
    """D-093/D-095: a user's own credentials work instead of the generic ones; the New Release
    file is in /DCMSGW/NRCert/Configuration."""
    user, password = next(iter(PORTAL_USERS.items()))
    run = await _openssh(site, f"get {NEWRELEASE} nr.csv\n", user=user, password=password)
    assert run.rc == 0, run.stderr
    assert parse((site.tmp / "nr.csv").read_text()) == NR_SEGMENTS


@needs_openssh
async def test_wrong_password_is_refused_with_openssh(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dropcopy.aio.sftp")
    run = await _openssh(site, f"get {CERT} cert.csv\n", password="wrong-pw-xyzzy")
    assert run.rc != 0
    assert "Permission denied" in run.stderr
    assert not (site.tmp / "cert.csv").exists()
    assert "wrong password for user 'cmeconfig'" in caplog.text
    assert "wrong-pw-xyzzy" not in caplog.text


@needs_openssh
async def test_changes_are_refused_and_nothing_changes_with_openssh(site: Site) -> None:
    (site.tmp / "local.csv").write_text("74,x,1.2.3.4,1,,\n")
    before_docs = dict(site.documents)
    before_files = sorted(p.name for p in site.tmp.iterdir())
    directory = "/DCMSGW/Cert/Configuration"
    refused = [
        f"put local.csv {directory}/new.csv",
        f"put local.csv {CERT}",
        f"rm {CERT}",
        f"rename {CERT} {directory}/moved.csv",
        f"mkdir {directory}/sub",
        "mkdir DCMSGW2",
        f"rmdir {directory}",
        f"chmod 777 {CERT}",
        f"ln -s {CERT} {directory}/link.csv",
    ]
    run = await _openssh(site, "".join(f"-{c}\n" for c in refused) + f"ls -l {directory}\n")
    assert run.rc == 0, run.stderr
    assert run.stderr.count("Permission denied") == len(refused), run.stderr
    listing = [line for line in run.stdout.splitlines() if not line.startswith("sftp>")]
    assert [line.split()[-1] for line in listing] == ["DC_MSGW_Configuration_CERT.csv"]
    assert site.documents == before_docs
    assert sorted(p.name for p in site.tmp.iterdir()) == sorted(
        {*before_files, "askpass.sh", "batch"}
    )


@needs_openssh
async def test_paths_outside_the_tree_are_no_such_file_with_openssh(site: Site) -> None:
    for path in (
        "/etc/passwd",
        "/DCMSGW/Cert/Configuration/../../../etc/passwd",
        "/elsewhere/secret.csv",
        "/DCMSGW/Cert/Configuration/DC_MSGW_Configuration_PROD.csv",
    ):
        run = await _openssh(site, f"get {path} out.csv\n")
        assert run.rc != 0
        assert "No such file" in run.stderr or "not found" in run.stderr, run.stderr
        assert not (site.tmp / "out.csv").exists()


@needs_openssh
async def test_a_new_download_sees_changed_content_with_openssh(site: Site) -> None:
    """Clients re-download on a schedule; each download is the current content."""
    first = await _openssh(site, f"get {CERT} one.csv\n")
    changed = [*CERT_SEGMENTS, SegmentGateways(120, "New", ("10.0.1.120", 9100))]
    site.documents[CERT] = render("CERT", changed)
    second = await _openssh(site, f"get {CERT} two.csv\n")
    assert first.rc == second.rc == 0
    assert parse((site.tmp / "one.csv").read_text()) == CERT_SEGMENTS
    assert parse((site.tmp / "two.csv").read_text()) == changed


# ============================================================================ asyncssh client


async def test_D095_generic_and_portal_users_read_with_asyncssh(site: Site) -> None:
    """D-095: generic user and a portal user's own credentials both give access."""
    for user, password in [(GENERIC_USER, GENERIC_PASSWORD), *PORTAL_USERS.items()]:
        async with _connect(site, user, password) as conn, conn.start_sftp_client() as sftp:
            assert sorted(await sftp.listdir("/")) == [".", "..", "DCMSGW"]
            assert sorted(await sftp.listdir("/DCMSGW/Cert/Configuration")) == [
                ".", "..", "DC_MSGW_Configuration_CERT.csv"
            ]  # fmt: skip
            assert await sftp.listdir("/DCMSGW/Production/Configuration") == [".", ".."]
            async with sftp.open(CERT, "rb") as f:
                assert parse((await f.read()).decode()) == CERT_SEGMENTS
            attrs = await sftp.stat(CERT)
            assert attrs.size == len(site.documents[CERT].encode())
            assert await sftp.isdir("/DCMSGW/NRCert/Configuration")
            assert await sftp.realpath(".") == "/"


async def test_wrong_password_and_unknown_user_are_refused_with_asyncssh(site: Site) -> None:
    for user, password in [
        (GENERIC_USER, "nope"),
        ("alice@firm.example", GENERIC_PASSWORD),
        ("mallory@firm.example", "x"),
    ]:
        with pytest.raises(asyncssh.PermissionDenied):
            async with _connect(site, user, password):
                pass


class _Guesser(asyncssh.SSHClient):
    """Keeps offering wrong passwords for as long as the server lets it."""

    def __init__(self) -> None:
        self.offered = 0

    def password_auth_requested(self) -> str:
        self.offered += 1
        return f"guess-{self.offered}"


async def test_failed_attempts_are_limited_per_connection_and_logged_without_password(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dropcopy.aio.sftp")
    guesser = _Guesser()
    with pytest.raises((asyncssh.DisconnectError, asyncssh.ConnectionLost)):
        await asyncssh.connect(
            "127.0.0.1",
            site.port,
            username=GENERIC_USER,
            client_factory=lambda: guesser,
            known_hosts=None,
            client_keys=None,
            agent_path=None,
            config=None,
            preferred_auth="password",
        )
    assert site.attempts == [GENERIC_USER] * 3
    assert caplog.text.count("wrong password for user 'cmeconfig'") == 3
    assert "disconnecting" in caplog.text
    assert "guess-" not in caplog.text


async def test_failure_delay_slows_guessing(tmp_path: Path) -> None:
    server = MsgwConfigSftpServer(
        dict, lambda u, p: False, host_key_path=tmp_path / "k", auth_failure_delay=0.3
    )
    async with server:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(asyncssh.PermissionDenied):
            async with asyncssh.connect(
                "127.0.0.1", server.port, username="u", password="p", known_hosts=None,
                client_keys=None, agent_path=None, config=None, preferred_auth="password",
            ):  # fmt: skip
                pass
        assert loop.time() - start >= 0.3


async def test_changes_are_refused_with_asyncssh(site: Site) -> None:
    before = dict(site.documents)
    async with _connect(site) as conn, conn.start_sftp_client() as sftp:
        attempts: list[Callable[[], Awaitable[object]]] = [
            lambda: sftp.open(CERT, "wb"),
            lambda: sftp.open(CERT, "ab"),
            lambda: sftp.open(CERT, "r+b"),
            lambda: sftp.open("/DCMSGW/Cert/Configuration/new.csv", "xb"),
            lambda: sftp.open("/tmp/x.csv", "wb"),
            lambda: sftp.remove(CERT),
            lambda: sftp.remove("/nowhere"),
            lambda: sftp.rename(CERT, "/DCMSGW/x.csv"),
            lambda: sftp.posix_rename(CERT, "/DCMSGW/x.csv"),
            lambda: sftp.mkdir("/DCMSGW/Cert/Configuration/sub"),
            lambda: sftp.rmdir("/DCMSGW/Production/Configuration"),
            lambda: sftp.setstat(CERT, asyncssh.SFTPAttrs(permissions=0o777)),
            lambda: sftp.chmod("/DCMSGW", 0o777),
            lambda: sftp.utime(CERT, (0, 0)),
            lambda: sftp.truncate(CERT, 0),
            lambda: sftp.symlink(CERT, "/DCMSGW/link"),
            lambda: sftp.link(CERT, "/DCMSGW/hard"),
        ]
        for attempt in attempts:
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await attempt()
        async with sftp.open(CERT, "rb") as f:
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await f.write(b"x", 0)
            with pytest.raises(asyncssh.SFTPPermissionDenied):
                await f.chmod(0o777)
        assert sorted(await sftp.listdir("/DCMSGW/Cert/Configuration")) == [
            ".", "..", "DC_MSGW_Configuration_CERT.csv"
        ]  # fmt: skip
        assert (await sftp.stat(CERT)).permissions == stat.S_IFREG | 0o444
    assert site.documents == before
    assert sorted(p.name for p in site.tmp.iterdir()) == ["host_key"]


async def test_outside_paths_are_no_such_file_with_asyncssh(site: Site) -> None:
    async with _connect(site) as conn, conn.start_sftp_client() as sftp:
        for path in (
            "/etc/passwd",
            "/DCMSGW/../etc/hostname",
            "/elsewhere/secret.csv",
            "/elsewhere",
            "/DCMSGW/Cert/Configuration/missing.csv",
            "host_key",
        ):
            with pytest.raises(asyncssh.SFTPNoSuchFile):
                await sftp.stat(path)
            with pytest.raises(asyncssh.SFTPNoSuchFile):
                await sftp.open(path, "rb")
        for path in ("/etc", "/tmp", "/DCMSGW/Test"):
            with pytest.raises(asyncssh.SFTPNoSuchFile):
                await sftp.listdir(path)
        with pytest.raises(asyncssh.SFTPError, match="Is a directory"):
            await sftp.open("/DCMSGW", "rb")
        with pytest.raises(asyncssh.SFTPError, match="Not a directory"):
            await sftp.listdir(CERT)


async def test_content_changes_are_seen_and_an_open_file_stays_consistent(
    site: Site,
) -> None:
    """A later download sees the current file (documents() is asked every time)."""
    changed = [SegmentGateways(74, "Interest Rates", ("10.9.1.74", 9300))]
    async with _connect(site) as conn, conn.start_sftp_client() as sftp:
        async with sftp.open(CERT, "rb") as f:
            site.documents[CERT] = render("CERT", changed)
            assert parse((await f.read()).decode()) == CERT_SEGMENTS
        async with sftp.open(CERT, "rb") as f:
            assert parse((await f.read()).decode()) == changed
        assert (await sftp.stat(CERT)).size == len(site.documents[CERT])
        site.documents["/DCMSGW/Production/Configuration/DC_MSGW_Configuration_Production.csv"] = (
            render("Production", changed)
        )
        assert await sftp.listdir("/DCMSGW/Production/Configuration") == [
            ".", "..", "DC_MSGW_Configuration_Production.csv"
        ]  # fmt: skip


async def test_no_shell_exec_or_forwarding(site: Site) -> None:
    async with _connect(site) as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.run("cat /etc/passwd")
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_process()  # a shell
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_connection(asyncssh.SSHTCPSession, "127.0.0.1", site.port)
        with pytest.raises(asyncssh.ChannelListenError):
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 1)


async def test_host_key_is_generated_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "host_key"
    seen = []
    for _ in range(2):
        async with MsgwConfigSftpServer(dict, lambda u, p: True, host_key_path=path) as server:
            key = await asyncssh.get_server_host_key("127.0.0.1", server.port)
            assert key is not None
            seen.append(key.export_public_key())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert seen[0] == seen[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["host_key"]


async def test_stop_closes_open_connections(site: Site) -> None:
    conn = await _connect(site)
    sftp = await conn.start_sftp_client()
    await site.server.stop()
    with pytest.raises((asyncssh.SFTPError, asyncssh.Error, OSError)):
        await asyncio.wait_for(sftp.listdir("/"), 5)
    conn.close()
    assert not site.server.serving
