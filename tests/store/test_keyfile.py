"""CME's key file (AP-07; dropcopy-wire-notes.md §4): render and parse, pure functions."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import pytest

from dropcopy.keyfile import COLUMNS, KeyFileEntry, KeyFileError, current, load, parse, render

SAMPLE = KeyFileEntry(
    session_id="U89",
    access_key_id="dipfNf8kZOOuk7Wz0ZUn",
    secret_key="gyJYeacu9T--a1tak4i5S-pBXxwCNK_wUqp9fh5usJ8",
    created=date(2018, 1, 23),
    expires=date(2019, 1, 23),
    environment="NEWRELEASE",
)
DC = KeyFileEntry(
    session_id="DCABC1",
    access_key_id="A" * 20,
    secret_key="b" * 43,
    created=date(2026, 11, 24),
    expires=date(2027, 11, 24),
    environment="CERT",
)


def epam_style_read(text: str) -> list[dict[str, str]]:
    """How position-based readers (EPAM FIX Antenna, notes §4) take a key file apart: each value
    starts at its header's column and ends at the next space."""
    lines = text.splitlines()
    at = {name: lines[0].index(name) for name in COLUMNS}
    rows = []
    for line in lines[1:]:
        rows.append({name: line[i:].split(" ", 1)[0] for name, i in at.items()})
    return rows


def test_AP07_render_has_cme_header_and_one_row_per_key() -> None:
    text = render([SAMPLE, DC])
    lines = text.splitlines()
    assert lines[0].split("  ")[0] == "Session ID"
    assert [c for c in COLUMNS if c in lines[0]] == list(COLUMNS)
    assert len(lines) == 3 and text.endswith("\n")
    assert lines[1].split() == [
        "U89",
        "dipfNf8kZOOuk7Wz0ZUn",
        "gyJYeacu9T--a1tak4i5S-pBXxwCNK_wUqp9fh5usJ8",
        "2018-01-23",
        "2019-01-23",
        "NEWRELEASE",
    ]


def test_AP07_values_start_under_their_header_for_position_based_readers() -> None:
    rows = epam_style_read(render([SAMPLE, DC]))
    assert rows[0] == {
        "Session ID": "U89",
        "Access ID": "dipfNf8kZOOuk7Wz0ZUn",
        "Secret Key": "gyJYeacu9T--a1tak4i5S-pBXxwCNK_wUqp9fh5usJ8",
        "Creation Date": "2018-01-23",
        "Expiration Date": "2019-01-23",
        "Environment": "NEWRELEASE",
    }
    assert rows[1]["Session ID"] == "DCABC1" and rows[1]["Environment"] == "CERT"


def test_AP07_round_trip() -> None:
    entries = [SAMPLE, DC]
    assert parse(render(entries)) == entries


def test_P052_parse_the_notes_sample_row_separated_by_two_spaces() -> None:
    text = (
        "Session ID  Access ID  Secret Key  Creation Date  Expiration Date  Environment\r\n"
        "U89  dipfNf8kZOOuk7Wz0ZUn  gyJYeacu9T--a1tak4i5S-pBXxwCNK_wUqp9fh5usJ8  2018-01-23  "
        "2019-01-23  NEWRELEASE\r\n\r\n"
    )
    (entry,) = parse(text)
    assert entry == SAMPLE
    # I-042: the secret is base64url without padding, 32 bytes once decoded
    assert len(base64.urlsafe_b64decode(entry.secret_key + "=")) == 32


def test_older_files_without_the_environment_column() -> None:
    text = (
        "Session ID  Access ID             Secret Key  Creation Date  Expiration Date\n"
        "U89         dipfNf8kZOOuk7Wz0ZUn  gyJYeacu9T--a1tak4i5S-pBXxwCNK_wUqp9fh5usJ8  "
        "2018-01-23     2019-01-23\n"
    )
    (entry,) = parse(text)
    assert entry.environment is None and entry.expires == date(2019, 1, 23)


def test_a_row_without_its_environment_value_and_a_rendered_blank_environment() -> None:
    no_env = KeyFileEntry("ABC", "C" * 20, "d" * 43, date(2026, 1, 2), date(2027, 1, 2))
    text = render([DC, no_env])
    assert text.splitlines()[2].endswith("2027-01-02")  # no trailing spaces
    assert parse(text) == [DC, no_env]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Access ID  Secret Key\nx y\n", "lacks the column"),
        (
            "Session ID  Access ID  Secret Key  Creation Date  Expiration Date  Environment\n"
            "U89  A  B  2018-01-23\n",
            "line 2: 4 values",
        ),
        (
            "Session ID  Access ID  Secret Key  Creation Date  Expiration Date  Environment\n"
            "U89  A  B  23/01/2018  2019-01-23  CERT\n",
            "line 2: Creation Date '23/01/2018' is not yyyy-MM-dd",
        ),
        (
            "Session ID  Access ID  Secret Key  Creation Date  Expiration Date  Environment\n"
            "U89  A  B  2018-01-23  2019-02-30  CERT\n",
            "line 2: Expiration Date",
        ),
    ],
)
def test_parse_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(KeyFileError, match=message):
        parse(text)


def test_render_refuses_values_that_would_break_the_columns() -> None:
    with pytest.raises(KeyFileError, match="whitespace"):
        render([KeyFileEntry("A C", "x" * 20, "y" * 43, date(2026, 1, 1), date(2027, 1, 1))])
    with pytest.raises(KeyFileError, match="empty"):
        render([KeyFileEntry("ABC", "", "y" * 43, date(2026, 1, 1), date(2027, 1, 1))])


def test_repr_hides_the_secret() -> None:
    assert SAMPLE.secret_key not in repr(SAMPLE)
    assert "dipfNf8kZOOuk7Wz0ZUn" in repr(SAMPLE)


def test_current_picks_the_newest_unexpired_key_of_the_session() -> None:
    old = KeyFileEntry("ABC", "O" * 20, "o" * 43, date(2026, 1, 5), date(2026, 2, 2), "CERT")
    new = KeyFileEntry("ABC", "N" * 20, "n" * 43, date(2026, 1, 5), date(2027, 1, 5), "CERT")
    nr = KeyFileEntry("ABC", "R" * 20, "r" * 43, date(2026, 1, 6), date(2027, 1, 6), "NEWRELEASE")
    other = KeyFileEntry("XYZ", "X" * 20, "x" * 43, date(2026, 1, 7), date(2027, 1, 7), "CERT")
    entries = [new, old, nr, other]
    assert current(entries, "ABC", date(2026, 1, 10), "CERT") is new
    assert current(entries, "ABC", date(2026, 1, 10)) is nr  # any environment: the newest
    assert current([old], "ABC", date(2026, 2, 1)) is old
    assert current([old], "ABC", date(2026, 2, 2)) is None  # expired on its expiration date
    assert current(entries, "QQQ", date(2026, 1, 10)) is None


def test_load_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text("\ufeff" + render([SAMPLE]), encoding="utf-8")  # a BOM is tolerated
    assert load(path) == [SAMPLE]
