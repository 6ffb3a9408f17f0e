"""CME's downloadable secure key file: render and parse (AP-07, P-052, P-063).

The file Request Center lets a user download (dropcopy-wire-notes.md §4) is fixed-width text:
a header line naming the columns, then one row per key pair::

    Session ID  Access ID             Secret Key                                   Creation Date  Expiration Date  Environment
    U89         dipfNf8kZOOuk7Wz0ZUn  gyJYeacu9T--a1tak4i5S-pBXxwCNK_wUqp9fh5usJ8  2018-01-23     2019-01-23       NEWRELEASE

* Session ID: the 3-character iLink 3 session or the 6-character Drop Copy session (AD-17);
* Access ID: the 20-character Access Key ID sent in the logon (iLink 3 AccessKeyID, FIX 355);
* Secret Key: base64url without padding (43 characters, 32 bytes), to be decoded before use
  (I-041, I-042);
* Creation Date, Expiration Date: ``yyyy-MM-dd``;
* Environment: e.g. ``CERT`` or ``NEWRELEASE``; missing from older files.

Third-party engines read the file by the header's column positions (each value starts under its
column name and ends at the next space), so :func:`render` starts every value exactly under its
header, and no value may contain whitespace. :func:`parse` accepts that layout and also rows
whose columns are separated by any run of spaces or tabs (values never contain whitespace).

This module depends on the standard library only: client tools load key files with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

__all__ = [
    "COLUMNS",
    "KeyFileEntry",
    "KeyFileError",
    "current",
    "load",
    "parse",
    "render",
]

#: The header's column names, in CME's order.
COLUMNS = (
    "Session ID",
    "Access ID",
    "Secret Key",
    "Creation Date",
    "Expiration Date",
    "Environment",
)
_GAP = 2  # spaces between columns (at least one is needed by position-based readers)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class KeyFileError(ValueError):
    """The text is not a key file (no header, a row that does not fit it, a bad date)."""


@dataclass(frozen=True, slots=True)
class KeyFileEntry:
    """One key pair as the key file shows it. ``repr`` hides the secret."""

    session_id: str
    access_key_id: str
    secret_key: str = field(repr=False)
    created: date
    expires: date
    environment: str | None = None

    def expired(self, today: date) -> bool:
        """The file only has dates: a key is taken as expired from its expiration date on."""
        return today >= self.expires


def render(entries: Iterable[KeyFileEntry]) -> str:
    """The key file for ``entries``, one row each, in the given order, ``\\n`` line ends."""
    rows = [
        (
            e.session_id,
            e.access_key_id,
            e.secret_key,
            e.created.isoformat(),
            e.expires.isoformat(),
            e.environment or "",
        )
        for e in entries
    ]
    for row in rows:
        for name, value in zip(COLUMNS, row, strict=True):
            if (not value and name != "Environment") or any(c.isspace() for c in value):
                raise KeyFileError(f"{name} {value!r} is empty or contains whitespace")
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(COLUMNS)]

    def line(values: tuple[str, ...]) -> str:
        cells = [v.ljust(w + _GAP) for v, w in zip(values[:-1], widths, strict=False)]
        return ("".join(cells) + values[-1]).rstrip()

    return "".join(line(values) + "\n" for values in [COLUMNS, *rows])


def parse(text: str) -> list[KeyFileEntry]:
    """The entries of a key file. Blank lines are skipped; the Environment column (or its value
    on a row) may be missing. Raises :class:`KeyFileError` naming the line at fault."""
    lines = text.lstrip("\ufeff").splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    if not numbered:
        raise KeyFileError("the key file is empty")
    header_no, header = numbered[0]
    positions = {name: header.find(name) for name in COLUMNS}
    missing = [n for n, at in positions.items() if at < 0 and n != "Environment"]
    if missing:
        raise KeyFileError(f"line {header_no}: header lacks the column(s) {', '.join(missing)}")
    order = sorted((at, name) for name, at in positions.items() if at >= 0)
    names = [name for _, name in order]
    entries = []
    for n, line in numbered[1:]:
        values = line.split()
        if len(values) == len(names) - 1 and names[-1] == "Environment":
            values.append("")  # a row without its Environment value
        if len(values) != len(names):
            raise KeyFileError(
                f"line {n}: {len(values)} values for the {len(names)} columns {', '.join(names)}"
            )
        row = dict(zip(names, values, strict=True))
        entries.append(
            KeyFileEntry(
                session_id=row["Session ID"],
                access_key_id=row["Access ID"],
                secret_key=row["Secret Key"],
                created=_date(row["Creation Date"], n, "Creation Date"),
                expires=_date(row["Expiration Date"], n, "Expiration Date"),
                environment=row.get("Environment") or None,
            )
        )
    return entries


def load(path: str | Path) -> list[KeyFileEntry]:
    """Read and :func:`parse` the key file at ``path``."""
    return parse(Path(path).read_text(encoding="utf-8"))


def current(
    entries: Iterable[KeyFileEntry],
    session_id: str,
    today: date,
    environment: str | None = None,
) -> KeyFileEntry | None:
    """The key a client should log on with: of ``session_id``'s unexpired entries (in
    ``environment``, when given and the file names environments), the newest one -- during a
    rotation both pairs are valid, and the new one outlives the old (notes §4)."""
    usable = [
        e
        for e in entries
        if e.session_id == session_id
        and not e.expired(today)
        and (environment is None or e.environment in (None, environment))
    ]
    return max(usable, key=lambda e: (e.created, e.expires), default=None)


def _date(value: str, line: int, column: str) -> date:
    if not _DATE.fullmatch(value):
        raise KeyFileError(f"line {line}: {column} {value!r} is not yyyy-MM-dd")
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise KeyFileError(f"line {line}: {column} {value!r}: {e}") from None
