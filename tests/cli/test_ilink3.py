"""``dropcopy ilink3``: a key file, a real gateway over TCP, JSON lines out (seed 004)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dropcopy import keyfile
from dropcopy.cli.main import app
from dropcopy.journal.memory import MemoryJournal
from dropcopy.venue.orderentry.engine_handler import EngineOrderHandler
from dropcopy.venue.orderentry.gateway import AccessKey, MarketSegmentGateway, MemoryKeyDirectory
from dropcopy.venue.orderentry.matching import MatchingEngine

SECRET = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
KEY_ID = "CLIKEY00000000000001"
runner = CliRunner()


@pytest.fixture
def gateway() -> Iterator[tuple[str, int]]:
    """A Market Segment Gateway with the matching engine, on its own loop in a thread (the CLI
    runs its own asyncio loop)."""
    loop = asyncio.new_event_loop()
    keys = MemoryKeyDirectory()
    keys.add(AccessKey(KEY_ID, SECRET, "CLI", "001"))
    gw = MarketSegmentGateway(
        84, keys=keys, journal=MemoryJournal(), handler=EngineOrderHandler(MatchingEngine()),
        clock=time.time_ns,
    )  # fmt: skip
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    address = asyncio.run_coroutine_threadsafe(gw.start(), loop).result(5)
    yield address
    asyncio.run_coroutine_threadsafe(gw.stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def _key_file(tmp_path: Path, secret: str = SECRET) -> Path:
    today = dt.datetime.now(dt.UTC).date()
    path = tmp_path / "keys.txt"
    path.write_text(
        keyfile.render(
            [
                keyfile.KeyFileEntry(
                    "CLI", KEY_ID, secret, today, today + dt.timedelta(days=365), "CERT"
                )
            ]
        )
    )
    return path


def _records(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def _base(address: tuple[str, int], key: Path) -> list[str]:
    host, port = address
    return ["ilink3", "order", "--host", host, "--port", str(port), "--key-file", str(key),
            "--session", "CLI", "--firm", "001"]  # fmt: skip


def test_order_from_the_command_line_rests_then_fills_and_numbers_continue(
    gateway: tuple[str, int], tmp_path: Path
) -> None:
    key, state = _key_file(tmp_path), tmp_path / "state.json"
    args = [*_base(gateway, key), "--security-id", "204527", "--qty", "2", "--state", str(state)]
    first = runner.invoke(app, [*args, "--side", "buy", "--price", "110.5"])
    assert first.exit_code == 0, first.output
    recs = _records(first.output)
    assert [r.get("event") or r.get("template") for r in recs] == [
        "established", "sent", "ExecutionReportNew522", "terminated",
    ]  # fmt: skip
    uuid = json.loads(state.read_text())["uuid"]
    second = runner.invoke(app, [*args, "--side", "sell", "--price", "110.5"])
    assert second.exit_code == 0, second.output
    recs = _records(second.output)
    assert recs[0]["fields"]["UUID"] == uuid  # type: ignore[index]  # re-bound, no Negotiate
    sent = next(r for r in recs if r.get("event") == "sent")
    assert sent["seq_num"] == 2
    kinds = [r.get("template") for r in recs if "template" in r and r.get("event") is None]
    # the sell trades against the resting buy of the same session: its ack, then both fills
    assert kinds.count("ExecutionReportTradeOutright525") == 2


def test_wrong_secret_is_rejected_with_the_venues_code(
    gateway: tuple[str, int], tmp_path: Path
) -> None:
    bad = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    result = runner.invoke(
        app, [*_base(gateway, _key_file(tmp_path, bad)), "--security-id", "204527",
              "--side", "buy", "--qty", "1", "--price", "1"],
    )  # fmt: skip
    assert result.exit_code == 2
    (rec,) = _records(result.output)
    assert rec["event"] == "rejected" and rec["fields"]["ErrorCodes"] == 0  # type: ignore[index]


def test_bad_arguments_get_a_clear_message(gateway: tuple[str, int], tmp_path: Path) -> None:
    key = _key_file(tmp_path)
    no_price = runner.invoke(
        app, [*_base(gateway, key), "--security-id", "1", "--side", "buy", "--qty", "1"]
    )
    assert no_price.exit_code == 2 and "needs --price" in no_price.output
    other = runner.invoke(
        app, [*_base(gateway, key)[:-4], "--session", "ZZZ", "--firm", "001",
              "--security-id", "1", "--side", "buy", "--qty", "1", "--price", "1"],
    )  # fmt: skip
    assert other.exit_code == 2 and "no unexpired key for session 'ZZZ'" in other.output
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("not a key file\n")
    bad_file = runner.invoke(
        app, [*_base(gateway, garbage), "--security-id", "1", "--side", "buy", "--qty", "1",
              "--price", "1"],
    )  # fmt: skip
    assert bad_file.exit_code == 2 and "--key-file" in bad_file.output
