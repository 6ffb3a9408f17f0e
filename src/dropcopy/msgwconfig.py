"""The Drop Copy 4.0 MSGW configuration file: render and parse (D-090..D-096).

CME publishes, per environment, the list of every market segment with the addresses of its
Drop Copy 4.0 Market Segment Gateway (MSGW) instances on an SFTP site (D-090); clients download
it daily (D-094) and connect to each segment's primary or backup gateway from it instead of
hard-coding addresses (D-085).

CME's real file layout is not public. This module defines **our own** documented text format
(see ``docs/msgw-config.md``): UTF-8 CSV, ``\\n`` line ends, optional ``#`` comment lines at the
top naming the environment and the generation time, a header row, then one row per market
segment sorted by segment id::

    # Drop Copy 4.0 MSGW configuration
    # Environment: CERT
    # Generated: 2026-05-11T21:00:00Z
    MarketSegmentID,MarketSegmentName,PrimaryHost,PrimaryPort,BackupHost,BackupPort
    74,Interest Rates,10.0.1.74,9100,10.0.2.74,9100
    99,Equities,10.0.1.99,9100,,

* MarketSegmentID: tag 1300, an integer 0..254 (``uInt8NULL`` in the iLink 3 schema, 255 being
  its null value);
* MarketSegmentName: free text (CSV-quoted when it holds a comma or a quote), no control
  characters, no surrounding spaces; may be empty;
* PrimaryHost/PrimaryPort: the primary gateway; BackupHost/BackupPort: the backup gateway, both
  empty when the segment has none. A host is an IPv4/IPv6 address or a DNS name (ASCII letters,
  digits and ``. _ : % -``, no brackets); a port is 1..65535.

:func:`parse` accepts ``\\r\\n`` line ends, a UTF-8 byte order mark, blank lines, spaces around
fields, rows in any order and columns in any order (found by header name); columns it does not
know are ignored, so later versions of the format may add some. Anything else is a
:class:`MsgwConfigError` naming the line.

This module depends on the standard library only: client tools load the file with it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

__all__ = [
    "COLUMNS",
    "SFTP_DIRECTORIES",
    "MsgwConfigError",
    "SegmentGateways",
    "file_name",
    "parse",
    "render",
    "sftp_directory",
    "sftp_path",
    "to_client_segments",
]

COLUMNS: Final = (
    "MarketSegmentID",
    "MarketSegmentName",
    "PrimaryHost",
    "PrimaryPort",
    "BackupHost",
    "BackupPort",
)

# Where each environment's file lives on the SFTP site (D-091, D-092, D-093). Our venue serves
# CERT and NEWRELEASE; it may also host Production.
SFTP_DIRECTORIES: Final[Mapping[str, str]] = {
    "Production": "/DCMSGW/Production/Configuration",
    "CERT": "/DCMSGW/Cert/Configuration",
    "NEWRELEASE": "/DCMSGW/NRCert/Configuration",
}

MAX_SEGMENT_ID: Final = 254  # uInt8NULL: 255 is null
_HOST = re.compile(r"[A-Za-z0-9._:%-]+")
_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
# C0/C1 controls and the separators str.splitlines() breaks lines at
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PORT = re.compile(r"[0-9]{1,5}")
_SEGMENT = re.compile(r"[0-9]{1,3}")


class MsgwConfigError(ValueError):
    """A malformed MSGW configuration file. ``line`` is 1-based (0 when not about one line)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.reason = message
        self.line = line


def _check_host(what: str, host: object) -> None:
    if not isinstance(host, str) or not _HOST.fullmatch(host):
        raise ValueError(f"{what} is not a host name or address: {host!r}")


def _check_port(what: str, port: object) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"{what} is not a port 1..65535: {port!r}")


@dataclass(frozen=True, slots=True)
class SegmentGateways:
    """One market segment and the addresses of its primary and (optional) backup DC MSGW."""

    segment_id: int
    name: str
    primary: tuple[str, int]
    backup: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        sid = self.segment_id
        if isinstance(sid, bool) or not isinstance(sid, int) or not 0 <= sid <= MAX_SEGMENT_ID:
            raise ValueError(f"MarketSegmentID is not an integer 0..{MAX_SEGMENT_ID}: {sid!r}")
        if not isinstance(self.name, str) or _CONTROL.search(self.name):
            raise ValueError(f"MarketSegmentName has a control character: {self.name!r}")
        if self.name != self.name.strip():
            raise ValueError(f"MarketSegmentName has surrounding spaces: {self.name!r}")
        for what, address in (("primary", self.primary), ("backup", self.backup)):
            if address is None and what == "backup":
                continue
            if not isinstance(address, tuple) or len(address) != 2:
                raise ValueError(f"{what} is not a (host, port) pair: {address!r}")
            _check_host(f"{what} host", address[0])
            _check_port(f"{what} port", address[1])

    @property
    def gateways(self) -> list[tuple[str, int]]:
        """Primary first, then the backup if there is one."""
        return [self.primary] if self.backup is None else [self.primary, self.backup]


def _endpoint(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def to_client_segments(segments: Iterable[SegmentGateways]) -> dict[str, list[str]]:
    """The ``segments`` argument of ``DropCopyMsgwClient``: ``{"74": ["host:port", ...]}``,
    primary first, by segment id (IPv6 hosts bracketed)."""
    out: dict[str, list[str]] = {}
    for seg in sorted(segments, key=lambda s: s.segment_id):
        key = str(seg.segment_id)
        if key in out:
            raise ValueError(f"duplicate MarketSegmentID {key}")
        out[key] = [_endpoint(host, port) for host, port in seg.gateways]
    return out


def _check_environment(environment: str) -> None:
    if not isinstance(environment, str) or not _ENVIRONMENT.fullmatch(environment):
        raise ValueError(f"not an environment name: {environment!r}")


def file_name(environment: str) -> str:
    """``DC_MSGW_Configuration_<environment>.csv``, e.g. ``DC_MSGW_Configuration_CERT.csv``."""
    _check_environment(environment)
    return f"DC_MSGW_Configuration_{environment}.csv"


def sftp_directory(environment: str) -> str:
    """The SFTP directory of an environment (case-insensitive: ``cert`` is ``CERT``)."""
    for name, directory in SFTP_DIRECTORIES.items():
        if name.lower() == environment.lower():
            return directory
    raise ValueError(f"no SFTP directory for environment {environment!r}")


def sftp_path(environment: str) -> str:
    """Absolute SFTP path of an environment's file, e.g.
    ``/DCMSGW/Cert/Configuration/DC_MSGW_Configuration_CERT.csv``."""
    return f"{sftp_directory(environment)}/{file_name(environment)}"


def render(
    environment: str,
    segments: Iterable[SegmentGateways],
    *,
    generated_at: datetime | None = None,
) -> str:
    """The file for ``environment``: comment lines, header, one row per segment by id.

    ``generated_at`` must be timezone-aware; it is written in UTC. Raises ``ValueError`` on a
    bad environment name, a naive time or a duplicate segment id.
    """
    _check_environment(environment)
    lines = ["# Drop Copy 4.0 MSGW configuration", f"# Environment: {environment}"]
    if generated_at is not None:
        if generated_at.tzinfo is None or generated_at.utcoffset() is None:
            raise ValueError("generated_at must be timezone-aware")
        stamp = generated_at.astimezone(UTC).replace(tzinfo=None).isoformat()
        lines.append(f"# Generated: {stamp}Z")
    rows = sorted(segments, key=lambda s: s.segment_id)
    seen: set[int] = set()
    for seg in rows:
        if seg.segment_id in seen:
            raise ValueError(f"duplicate MarketSegmentID {seg.segment_id}")
        seen.add(seg.segment_id)

    out = io.StringIO()
    out.write("\n".join(lines) + "\n")
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for seg in rows:
        backup_host, backup_port = seg.backup if seg.backup is not None else ("", "")
        writer.writerow(
            [
                seg.segment_id,
                seg.name,
                seg.primary[0],
                seg.primary[1],
                backup_host,
                backup_port,
            ]
        )
    return out.getvalue()


def _fields(text: str, number: int) -> list[str]:
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as exc:
        raise MsgwConfigError(f"bad CSV: {exc}", number) from None
    if len(rows) != 1:  # pragma: no cover - one physical line gives one row
        raise MsgwConfigError("bad CSV row", number)
    return [f.strip() for f in rows[0]]


def _int(value: str, pattern: re.Pattern[str], column: str, number: int) -> int:
    if not pattern.fullmatch(value):
        raise MsgwConfigError(f"{column} is not an integer: {value!r}", number)
    return int(value)


def parse(text: str) -> list[SegmentGateways]:
    """Read a file made by :func:`render` (or edited by hand); segments by id.

    Raises :class:`MsgwConfigError` (a ``ValueError``) with the line number.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    header: dict[str, int] | None = None
    first_line: dict[int, int] = {}
    out: list[SegmentGateways] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if header is None:
            if line.lstrip().startswith("#"):
                continue
            names = _fields(line, number)
            header = {}
            for index, name in enumerate(names):
                if name in header:
                    raise MsgwConfigError(f"header names {name} twice", number)
                header[name] = index
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise MsgwConfigError(f"header misses column {', '.join(missing)}", number)
            continue
        values = _fields(line, number)
        if len(values) != len(header):
            raise MsgwConfigError(f"expected {len(header)} fields, found {len(values)}", number)
        row = {column: values[header[column]] for column in COLUMNS}
        sid = _int(row["MarketSegmentID"], _SEGMENT, "MarketSegmentID", number)
        primary = (row["PrimaryHost"], _int(row["PrimaryPort"], _PORT, "PrimaryPort", number))
        backup: tuple[str, int] | None = None
        if row["BackupHost"] or row["BackupPort"]:
            if not (row["BackupHost"] and row["BackupPort"]):
                raise MsgwConfigError(
                    "BackupHost and BackupPort must be both given or both empty", number
                )
            backup = (row["BackupHost"], _int(row["BackupPort"], _PORT, "BackupPort", number))
        if sid in first_line:
            raise MsgwConfigError(
                f"duplicate MarketSegmentID {sid} (first on line {first_line[sid]})", number
            )
        try:
            seg = SegmentGateways(sid, row["MarketSegmentName"], primary, backup)
        except ValueError as exc:
            raise MsgwConfigError(str(exc), number) from None
        first_line[sid] = number
        out.append(seg)
    if header is None:
        raise MsgwConfigError("no header row", len(text.splitlines()) or 1)
    return sorted(out, key=lambda s: s.segment_id)
