"""``dropcopy dc tail`` end to end against the fake Drop Copy gateway (on its own loop in a
thread: the command runs its own asyncio loop)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from typer.testing import CliRunner

from dropcopy.aio.dropcopy import FileDropCopyStore
from dropcopy.cli.main import app

from .fakevenue import (
    OTHER_SECRET,
    SESSION,
    FakeVenue,
    VenueThread,
    ack,
    fill,
    key_file_text,
)

runner = CliRunner()


def key_file(tmp_path: Path, text: str | None = None) -> Path:
    path = tmp_path / "keys.txt"
    path.write_text(key_file_text() if text is None else text)
    return path


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def tail(tmp_path: Path, port: int, *extra: str) -> list[str]:
    return [
        "dc", "tail", "--key-file", str(key_file(tmp_path)), "--session", SESSION,
        "--host", "127.0.0.1", "--port", str(port), "--timeout", "3", *extra,
    ]  # fmt: skip


def test_dc_tail_count_json_end_to_end(tmp_path: Path) -> None:
    copies = [ack("A1", 1), fill("A1", seq=2, side="1", last_qty=10, last_px="100.25")]
    state = tmp_path / "state.json"
    with VenueThread(lambda: FakeVenue(publish_on_logon=copies)) as v:
        result = runner.invoke(
            app, tail(tmp_path, v.port, "--count", "2", "--format", "json", "--state", str(state))
        )
        assert result.exit_code == 0, result.output
        recs = lines(result.stdout)
        assert [(r["seq_num"], r["cl_ord_id"], r["exec_type"]) for r in recs] == [
            (2, "A1", "0"),
            (3, "A1", "2"),
        ]
        assert recs[1]["fill"] is True and recs[1]["last_qty"] == "10"
        assert recs[1]["last_px"] == "100.25" and recs[1]["segment"] == "G"
        assert recs[0]["source"] == "ABC007N" and recs[0]["request_time"] is not None
        assert v.received("5")  # logged out gracefully at the end
    saved = FileDropCopyStore(state).load(SESSION, "G")
    assert saved is not None and saved.next_out == 3  # Logon 1, Logout 2


def test_dc_tail_positions(tmp_path: Path) -> None:
    copies = [
        fill("B1", seq=1, side="1", last_qty=5, last_px="100"),
        fill("B2", seq=2, side="1", last_qty=3, last_px="102"),
        fill("S1", seq=3, side="2", last_qty=2, last_px="103"),
        fill("X1", seq=4, side="2", last_qty=4, last_px="50", account="ACC2", security_id="777"),
        ack("B3", 5),  # not a fill
    ]
    with VenueThread(lambda: FakeVenue(publish_on_logon=copies)) as v:
        result = runner.invoke(
            app, tail(tmp_path, v.port, "--count", "5", "--format", "json", "--positions")
        )
    assert result.exit_code == 0, result.output
    *recs, summary = lines(result.stdout)
    assert len(recs) == 5
    assert summary == {
        "positions": [
            {
                "account": "ACC1", "instrument": "12345", "symbol": "ES", "security_id": "12345",
                "net": "6", "bought": "8", "sold": "2", "avg_buy_px": "100.75",
                "avg_sell_px": "103", "fills": 3,
            },
            {
                "account": "ACC2", "instrument": "777", "symbol": "ES", "security_id": "777",
                "net": "-4", "bought": "0", "sold": "4", "avg_buy_px": None,
                "avg_sell_px": "50", "fills": 1,
            },
        ]
    }  # fmt: skip


def test_dc_tail_table_format(tmp_path: Path) -> None:
    copies = [fill("T1", seq=1, side="2", last_qty=7, last_px="99.5")]
    with VenueThread(lambda: FakeVenue(publish_on_logon=copies)) as v:
        result = runner.invoke(app, tail(tmp_path, v.port, "--count", "1", "--positions"))
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()[:2]
    assert "ClOrdID" in header and "T1" in row and "7@99.5" in row and "sell" in row
    assert "Positions" in result.stdout and "-7" in result.stdout


def test_dc_tail_msgw_endpoints(tmp_path: Path) -> None:
    segments = frozenset({"74", "99"})
    with (
        VenueThread(lambda: FakeVenue("74", market_segments=segments,
                                      publish_on_logon=[ack("A", 1)])) as a,
        VenueThread(lambda: FakeVenue("99", market_segments=segments,
                                      publish_on_logon=[ack("B", 1)])) as b,
    ):  # fmt: skip
        result = runner.invoke(
            app,
            [
                "dc", "tail", "--key-file", str(key_file(tmp_path)), "--session", SESSION,
                "--endpoint", f"74=127.0.0.1:{a.port}", "--endpoint", f"99=127.0.0.1:{b.port}",
                "--count", "2", "--format", "json", "--timeout", "3",
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        recs = lines(result.stdout)
        assert sorted((r["segment"], r["seq_num"], r["cl_ord_id"]) for r in recs) == [
            ("74", 2, "A"),
            ("99", 2, "B"),
        ]
        assert a.logons[0].get(57) == b"74" and b.logons[0].get(57) == b"99"


def test_dc_tail_bad_key_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not a key file\n")
    result = runner.invoke(
        app,
        ["dc", "tail", "--key-file", str(bad), "--session", SESSION, "--host", "h", "--port", "1"],
    )
    assert result.exit_code == 2
    missing = runner.invoke(app, tail(tmp_path, 1, "--session", "ZZZZZZ"))
    assert missing.exit_code == 2 and "no unexpired key" in missing.output
    state = tmp_path / "state.json"
    state.write_text("[1, 2]")
    bad_state = runner.invoke(app, tail(tmp_path, 1, "--state", str(state)))
    assert bad_state.exit_code == 2 and "--state" in bad_state.output
    no_host = runner.invoke(app, ["dc", "tail", "--key-file", str(key_file(tmp_path)),
                                  "--session", SESSION])  # fmt: skip
    assert no_host.exit_code == 2


def test_dc_tail_refused_logon_exits_3(tmp_path: Path) -> None:
    with VenueThread(lambda: FakeVenue(secret=OTHER_SECRET)) as v:
        result = runner.invoke(app, tail(tmp_path, v.port, "--count", "1"))
    assert result.exit_code == 3, result.output
    (status,) = [r for r in lines(result.stderr) if r.get("event") == "logon_refused"]
    assert status["text"] == "Invalid logon. Logout forced."


def test_dc_tail_nothing_listening_exits_4(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once the socket is closed
    result = runner.invoke(
        app, tail(tmp_path, port, "--count", "1", "--attempts", "2", "--reconnect-delay", "0")
    )
    assert result.exit_code == 4, result.output
    assert any(r.get("event") == "connection_failed" for r in lines(result.stderr))
