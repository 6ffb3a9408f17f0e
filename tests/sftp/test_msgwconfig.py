"""The MSGW configuration file (our format, docs/msgw-config.md): round trip, every parse error
with its line, file names and SFTP directories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dropcopy import msgwconfig
from dropcopy.aio.dropcopy import Endpoint
from dropcopy.msgwconfig import (
    SFTP_DIRECTORIES,
    MsgwConfigError,
    SegmentGateways,
    file_name,
    parse,
    render,
    sftp_directory,
    sftp_path,
    to_client_segments,
)

HEADER = "MarketSegmentID,MarketSegmentName,PrimaryHost,PrimaryPort,BackupHost,BackupPort"

SEGMENTS = [
    SegmentGateways(99, "Equities", ("10.0.1.99", 9100)),
    SegmentGateways(74, "Interest Rates", ("10.0.1.74", 9100), ("10.0.2.74", 9100)),
]

hosts = st.from_regex(r"[A-Za-z0-9._:%-]{1,40}", fullmatch=True)
ports = st.integers(1, 65535)
names = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30).filter(
    lambda s: s == s.strip()
)
segments = st.builds(
    SegmentGateways,
    segment_id=st.integers(0, 254),
    name=names,
    primary=st.tuples(hosts, ports),
    backup=st.none() | st.tuples(hosts, ports),
)
segment_lists = st.lists(segments, max_size=12, unique_by=lambda s: s.segment_id)
environments = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,15}", fullmatch=True)
times = st.none() | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))]))


@given(environments, segment_lists, times)
def test_D090_render_then_parse_gives_every_segment_back_sorted(
    environment: str, segs: list[SegmentGateways], generated_at: datetime | None
) -> None:
    """D-090: the document lists every market segment with its primary and backup gateway."""
    text = render(environment, segs, generated_at=generated_at)
    assert parse(text) == sorted(segs, key=lambda s: s.segment_id)
    assert parse(text.replace("\n", "\r\n")) == parse(text)
    assert parse("\ufeff" + text) == parse(text)


@given(segment_lists)
def test_to_client_segments_is_what_the_msgw_client_takes(segs: list[SegmentGateways]) -> None:
    out = to_client_segments(segs)
    assert list(out) == [str(s.segment_id) for s in sorted(segs, key=lambda s: s.segment_id)]
    for seg in segs:
        assert [Endpoint.parse(e) for e in out[str(seg.segment_id)]] == [
            Endpoint(h, p) for h, p in seg.gateways
        ]


def test_render_layout() -> None:
    text = render(
        "CERT",
        SEGMENTS,
        generated_at=datetime(2026, 5, 11, 16, tzinfo=timezone(timedelta(hours=-5))),
    )
    assert text == (
        "# Drop Copy 4.0 MSGW configuration\n"
        "# Environment: CERT\n"
        "# Generated: 2026-05-11T21:00:00Z\n"
        f"{HEADER}\n"
        "74,Interest Rates,10.0.1.74,9100,10.0.2.74,9100\n"
        "99,Equities,10.0.1.99,9100,,\n"
    )
    assert to_client_segments(SEGMENTS) == {
        "74": ["10.0.1.74:9100", "10.0.2.74:9100"],
        "99": ["10.0.1.99:9100"],
    }


def test_parse_is_lenient_about_layout() -> None:
    text = (
        "# hand edited\n\n"
        "BackupPort , BackupHost,PrimaryPort,PrimaryHost,MarketSegmentName,MarketSegmentID,Extra\n"
        ' 9101 , fe80::1 ,9100,host-a.example,"Rates, long",074,ignored\n'
        ",,9100,10.0.0.9,,9,\n\n"
    )
    assert parse(text) == [
        SegmentGateways(9, "", ("10.0.0.9", 9100)),
        SegmentGateways(74, "Rates, long", ("host-a.example", 9100), ("fe80::1", 9101)),
    ]
    assert parse(f"{HEADER}\n") == []


def _body(*rows: str) -> str:
    return "# Environment: CERT\n# Generated: x\n" + HEADER + "\n" + "".join(r + "\n" for r in rows)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", 1, "no header row"),
        ("# Environment: CERT\n# nothing else\n", 2, "no header row"),
        (
            "# c\nMarketSegmentID,MarketSegmentName,PrimaryHost,PrimaryPort,BackupHost\n",
            2,
            "header misses column BackupPort",
        ),
        (
            "MarketSegmentID,PrimaryHost,PrimaryPort\n",
            1,
            "header misses column MarketSegmentName, BackupHost, BackupPort",
        ),
        (HEADER + ",PrimaryPort\n", 1, "header names PrimaryPort twice"),
        (_body("74,IR,10.0.1.74,9100,10.0.2.74"), 4, "expected 6 fields, found 5"),
        (_body("74,IR,10.0.1.74,9100,10.0.2.74,9100,x"), 4, "expected 6 fields, found 7"),
        (
            _body("74,IR,10.0.1.74,9100,,", "x,EQ,10.0.1.99,9100,,"),
            5,
            "MarketSegmentID is not an integer: 'x'",
        ),
        (_body("-1,EQ,10.0.1.99,9100,,"), 4, "MarketSegmentID is not an integer: '-1'"),
        (_body("255,EQ,10.0.1.99,9100,,"), 4, "MarketSegmentID is not an integer 0..254: 255"),
        (_body("# late comment"), 4, "expected 6 fields, found 1"),
        (_body("74,IR,10.0.1.74,abc,,"), 4, "PrimaryPort is not an integer: 'abc'"),
        (_body("74,IR,10.0.1.74,,,"), 4, "PrimaryPort is not an integer: ''"),
        (_body("74,IR,10.0.1.74,0,,"), 4, "primary port is not a port 1..65535: 0"),
        (_body("74,IR,10.0.1.74,65536,,"), 4, "primary port is not a port 1..65535: 65536"),
        (
            _body("74,IR,10.0.1.74,9100,10.0.2.74,99999"),
            4,
            "backup port is not a port 1..65535: 99999",
        ),
        (
            _body("74,IR,10.0.1.74,9100,10.0.2.74,"),
            4,
            "BackupHost and BackupPort must be both given or both empty",
        ),
        (
            _body("74,IR,10.0.1.74,9100,,9100"),
            4,
            "BackupHost and BackupPort must be both given or both empty",
        ),
        (_body("74,IR,,9100,,"), 4, "primary host is not a host name or address: ''"),
        (
            _body("74,IR,bad host,9100,,"),
            4,
            "primary host is not a host name or address: 'bad host'",
        ),
        (
            _body("74,IR,10.0.1.74,9100,[::1],9100"),
            4,
            "backup host is not a host name or address: '[::1]'",
        ),
        (
            _body("74,I\x01R,10.0.1.74,9100,,"),
            4,
            "MarketSegmentName has a control character: 'I\\x01R'",
        ),
        (_body('74,"Interest,10.0.1.74,9100,,'), 4, "bad CSV: unexpected end of data"),
        (
            _body("74,IR,10.0.1.74,9100,,", "99,EQ,10.0.1.99,9100,,", "74,IR2,10.0.9.74,9100,,"),
            6,
            "duplicate MarketSegmentID 74 (first on line 4)",
        ),
    ],
)
def test_parse_errors_name_their_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(MsgwConfigError) as info:
        parse(text)
    assert (info.value.line, info.value.reason) == (line, reason)
    assert str(info.value) == f"line {line}: {reason}"
    assert isinstance(info.value, ValueError)


def test_render_refuses_what_it_could_not_parse_back() -> None:
    with pytest.raises(ValueError, match="duplicate MarketSegmentID 74"):
        render("CERT", [*SEGMENTS, SegmentGateways(74, "again", ("h", 1))])
    with pytest.raises(ValueError, match="timezone-aware"):
        render("CERT", SEGMENTS, generated_at=datetime(2026, 5, 11))
    with pytest.raises(ValueError, match="environment"):
        render("CERT\n74", SEGMENTS)
    with pytest.raises(ValueError, match="duplicate"):
        to_client_segments([SEGMENTS[0], SEGMENTS[0]])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"segment_id": 255},
        {"segment_id": True},
        {"name": " padded"},
        {"name": "two\nlines"},
        {"name": "sep\u2028arator"},
        {"primary": ("10.0.0.1", 0)},
        {"primary": ("10.0.0.1",)},
        {"primary": ("10.0.0.1", "9100")},
        {"backup": ("a,b", 9100)},
    ],
)
def test_segment_gateways_validate(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"segment_id": 74, "name": "IR", "primary": ("10.0.0.1", 9100)}
    with pytest.raises(ValueError):
        SegmentGateways(**(fields | kwargs))  # type: ignore[arg-type]


def test_D091_D092_D093_sftp_directories_per_environment() -> None:
    """D-091, D-092, D-093: Production, Certification and New Release Certification directories."""
    assert SFTP_DIRECTORIES == {
        "Production": "/DCMSGW/Production/Configuration",
        "CERT": "/DCMSGW/Cert/Configuration",
        "NEWRELEASE": "/DCMSGW/NRCert/Configuration",
    }
    assert sftp_directory("cert") == "/DCMSGW/Cert/Configuration"
    assert sftp_path("NEWRELEASE") == (
        "/DCMSGW/NRCert/Configuration/DC_MSGW_Configuration_NEWRELEASE.csv"
    )
    with pytest.raises(ValueError):
        sftp_directory("UAT")


def test_file_name() -> None:
    assert file_name("CERT") == "DC_MSGW_Configuration_CERT.csv"
    assert file_name("Production") == "DC_MSGW_Configuration_Production.csv"
    for bad in ("", "../etc", "CERT/x", "-x", "a b"):
        with pytest.raises(ValueError):
            file_name(bad)


def test_module_is_standard_library_only() -> None:
    import ast
    import sys
    from pathlib import Path

    tree = ast.parse(Path(msgwconfig.__file__).read_text())
    mods = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert {m.split(".")[0] for m in mods} <= set(sys.stdlib_module_names) | {"__future__"}
