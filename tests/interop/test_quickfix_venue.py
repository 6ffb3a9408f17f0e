"""QuickFIX (C++, in a child process) as a Drop Copy 4.0 client of the *real* venue: the CGW
Drop Copy gateway fed by iLink 3 trading through the matching engine, over TCP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ..venue_dropcopy.harness import OTHER_SECRET, SECRET, DcVenue, dc_key
from .test_quickfix_dropcopy import finish, of, start_client

pytest.importorskip(
    "quickfix", reason="QuickFIX (the quickfix-ssl wheel) cannot be imported", exc_type=ImportError
)
pytestmark = pytest.mark.asyncio

SESSION = "CGWALL"
INVALID_LOGON = "Invalid logon. Logout forced."


@pytest.fixture
async def venue() -> AsyncIterator[DcVenue]:
    v = await DcVenue().start()
    yield v
    await v.stop()


async def quickfix(venue: DcVenue, workdir: Path, **overrides: Any) -> asyncio.subprocess.Process:
    host, port = venue.addresses["cgw"]
    target = SimpleNamespace(host=host, port=port)
    config: dict[str, Any] = {
        "sender_comp_id": SESSION + "N",
        "access_key_id": dc_key(SESSION),
        "secret_key": SECRET,
        **overrides,
    }
    return await start_client(target, workdir, **config)  # type: ignore[arg-type]


async def until_logged_on(venue: DcVenue, proc: asyncio.subprocess.Process) -> None:
    for _ in range(400):
        stream = venue.cgw_book.streams.get(SESSION)
        if stream is not None and stream.live:
            return
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.02)
    _, err = await proc.communicate()
    pytest.fail(f"QuickFIX did not log on: {err.decode()[-2000:]}")


def clordids(lines: list[dict[str, Any]]) -> list[str]:
    return [dict((str(t), v) for t, v in c["inner"]).get("11", "") for c in of(lines, "copy")]


async def test_quickfix_receives_copies_of_real_trades_and_recovers_what_it_missed(
    venue: DcVenue, tmp_path: Path
) -> None:
    store = tmp_path / "qf"
    first = await quickfix(venue, store, copies=4)
    await until_logged_on(venue, first)
    await venue.cross(84, tag="1")
    lines = await finish(first)
    assert clordids(lines) == ["B1", "S1", "S1", "B1"]
    assert [c["seq"] for c in of(lines, "copy")] == [2, 3, 4, 5]
    assert not of(lines, "reject_sent")
    # while QuickFIX is away, more trades are copied; on its return it asks for them (D-029)
    await venue.cross(84, tag="2")
    second = await quickfix(venue, store, copies=4)
    lines = await finish(second)
    assert clordids(lines) == ["B2", "S2", "S2", "B2"]
    assert {c["poss_dup"] for c in of(lines, "copy")} == {"Y"}  # resent: 43=Y with 122
    assert of(lines, "resend_request_sent")
    assert not of(lines, "reject_sent")


async def test_quickfix_stays_in_step_after_the_gateway_refuses_a_logon(
    venue: DcVenue, tmp_path: Path
) -> None:
    store = tmp_path / "qf"
    first = await quickfix(venue, store, copies=4)
    await until_logged_on(venue, first)
    await venue.cross(84, tag="1")
    await finish(first)
    refused = of(await finish(await quickfix(venue, store, secret_key=OTHER_SECRET)), "logout")
    assert [e["text"] for e in refused] == [INVALID_LOGON]
    assert refused[0]["next_expected"] is not None  # 789: numbered in the session's stream
    again = await quickfix(venue, store, copies=4, exit_after_logouts=2)
    await until_logged_on(venue, again)
    await venue.cross(84, tag="2")
    lines = await finish(again)
    assert clordids(lines) == ["B2", "S2", "S2", "B2"]
    assert not [e for e in of(lines, "logout_sent") if e["text"]]  # QuickFIX saw no error
    assert not of(lines, "reject_sent")
