"""QuickFIX (C++ engine, Python binding) as a real Drop Copy 4.0 client of our gateway.

The client runs in a child process (``quickfix_dc_client.py``; the binding can abort its
process on a C++ exception) over real TCP against :class:`~tests.interop.acceptor.TestAcceptor`,
validating everything it receives with ``data/CME-DC42.xml``. Seed 003 sections: "Session
Logon" (signed Logon; mid-week Logon and 789), "Encapsulated Payload" (35=n), "Message
Recovery: Client to Drop Copy" (Resend Request, 43=Y/122 resends, gap fills).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from dropcopy.fix import decode, encode
from dropcopy.fix.secure_logon import canonical_string as our_canonical_string
from dropcopy.fix.secure_logon import sign as our_sign

from ..fix42.harness import CLIENT, KEY_ID, OPERATOR, SECRET
from . import quickfix_dc_client as client
from .acceptor import TestAcceptor

pytest.importorskip(
    "quickfix", reason="QuickFIX (the quickfix-ssl wheel) cannot be imported", exc_type=ImportError
)

SCRIPT = Path(client.__file__)
INVALID_LOGON = "Invalid logon. Logout forced."  # wire notes §1.9, AX-01


def inner_report(n: int) -> bytes:
    """The n-th source execution report (distinct 34 / 17 ExecID / 5979 RequestTime)."""
    return encode(
        "8",
        [
            (34, 100 + n),
            (49, "CME"),
            (50, "G"),
            (52, "20251124-14:30:00.000"),
            (56, "ABC007N"),
            (57, "TRADER1"),
            (143, "US,IL"),
            (17, f"E{n}"),
            (37, f"8477{n}"),
            (39, "2"),
            (55, "ES"),
            (150, "F"),
            (5979, 1_763_994_600_000_000_000 + n),
        ],
    )


@pytest.fixture
async def acceptor() -> AsyncIterator[TestAcceptor]:
    async with TestAcceptor({KEY_ID: SECRET}, sender_comp_ids=frozenset({CLIENT})) as acc:
        yield acc


Spawn = Callable[..., Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def spawn(acceptor: TestAcceptor) -> AsyncIterator[Spawn]:
    """``await spawn(workdir, **config)`` starts a QuickFIX client of ``acceptor``; a child
    still running when the test ends (it failed half-way) is killed."""
    children: list[asyncio.subprocess.Process] = []

    async def start(workdir: Path, **overrides: Any) -> asyncio.subprocess.Process:
        proc = await start_client(acceptor, workdir, **overrides)
        children.append(proc)
        return proc

    yield start
    for proc in children:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def start_client(
    acc: TestAcceptor, workdir: Path, **overrides: Any
) -> asyncio.subprocess.Process:
    config = {
        "host": acc.host,
        "port": acc.port,
        "sender_comp_id": CLIENT,
        "sender_sub_id": OPERATOR,
        "target_sub_id": "G",
        "heart_bt_int": 30,
        "access_key_id": KEY_ID,
        "secret_key": SECRET,
        "timeout": 8.0,
        "workdir": str(workdir),
        **overrides,
    }
    path = workdir / "client.json"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))  # the secret stays off the command line
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        "--config",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def logged_on(acc: TestAcceptor, proc: asyncio.subprocess.Process) -> None:
    """Until QuickFIX is logged on to the acceptor (fails early if the child dies)."""
    waiter = asyncio.ensure_future(acc.wait_logged_on(8.0))
    exited = asyncio.ensure_future(proc.wait())
    done, _ = await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        _, err = await proc.communicate()
        pytest.fail(f"QuickFIX exited before logon: {err.decode()[-2000:]}")
    exited.cancel()
    waiter.result()


async def finish(proc: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    out, err = await asyncio.wait_for(proc.communicate(), 15)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    errors = [e for e in lines if e["event"] == "error"]
    assert not errors, errors
    assert proc.returncode == 0, (lines, err.decode()[-2000:])
    return lines


def of(lines: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [e for e in lines if e["event"] == event]


def inner_fields(raw: bytes) -> list[list[Any]]:
    return [[tag, value.decode()] for tag, value in decode(raw).fields]


# ------------------------------------------------------------------------------ tests


def test_quickfix_client_signer_matches_the_known_answer_vector() -> None:
    """The child's own HMAC code (wire notes §1.3 vector 1) agrees with CME's and ours."""
    vector = "1 B08004N MSG 20170623-14:48:42.855 92 60 US,NY 0 BRIO 8.0 ABC".split()
    values = dict(zip(client.CANONICAL_TAGS, vector, strict=True))
    canonical = client.canonical_string(values)
    assert canonical.encode() == our_canonical_string(values)
    secret = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4"
    expected = "oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3s"
    assert client.sign(canonical, secret) == expected == our_sign(canonical.encode(), secret)


async def test_quickfix_logs_on_signed_and_receives_copies_in_order(
    acceptor: TestAcceptor, spawn: Spawn, tmp_path: Path
) -> None:
    """Seed 003 "Session Logon" + "Encapsulated Payload": our gateway verifies QuickFIX's
    HMAC, QuickFIX validates our Logon ack and 35=n with its dictionary and gets each inner
    message intact (its own parser checks the inner 9 and 10)."""
    proc = await spawn(tmp_path / "qf", copies=3)
    await logged_on(acceptor, proc)
    inners = [inner_report(n) for n in (1, 2, 3)]
    seqs = [acceptor.push(raw) for raw in inners]
    lines = await finish(proc)

    # our side: the signature verified, with every field CME's Logon carries
    assert [(c.access_key_id, c.signature_ok) for c in acceptor.logons] == [(KEY_ID, True)]
    (logon,) = acceptor.received_of_type("A")
    assert logon.get(1400) == b"CME-1-SHA-256" and logon.get(1401) == b"43"
    assert logon.get(354) == b"20" and logon.get(355) == KEY_ID.encode()
    assert logon.get(50) == OPERATOR.encode() and logon.get(57) == b"G"
    assert logon.get(142) == b"US,IL" and logon.get(369) == b"0"
    assert 98 not in logon and logon.get(1603) == b"QuickFIX-DC"

    # QuickFIX's side: the ack, three copies in order, nothing rejected
    (ack,) = of(lines, "logon_ack")
    assert (ack["seq"], ack["heart_bt_int"], ack["last_processed"]) == (1, 30, "1")
    assert of(lines, "logon")
    copies = of(lines, "copy")
    assert [c["seq"] for c in copies] == seqs == [2, 3, 4]
    for copy, raw in zip(copies, inners, strict=True):
        assert copy["rtrf"] and copy["xml_data_len"] == copy["payload_len"] == len(raw) + 13
        assert "inner_error" not in copy and copy["inner_msg_type"] == "8"
        assert copy["inner"] == inner_fields(raw)
        assert copy["poss_dup"] is None and copy["orig_sending_time"] is None
    assert not of(lines, "reject_sent") and not of(lines, "resend_request_sent")

    # QuickFIX logs out gracefully; CME's confirmation carries 789 (wire notes §1.5)
    assert len(acceptor.received_of_type("5")) == 1
    (logout,) = of(lines, "logout")
    assert logout["next_expected"] == 3  # QuickFIX sent Logon 1, Logout 2


async def test_quickfix_recovers_a_gap_with_a_resend_request(
    acceptor: TestAcceptor, spawn: Spawn, tmp_path: Path
) -> None:
    """Seed 003 "Message Recovery": copies 2 and 3 of 5 are lost; QuickFIX sees the gap on
    copy 4, sends a Resend Request, our gateway resends them with 43=Y and 122, and QuickFIX
    ends with all five inner messages, in order, once each."""
    proc = await spawn(tmp_path / "qf", copies=5, linger=0.3)
    await logged_on(acceptor, proc)
    inners = [inner_report(n) for n in range(1, 6)]
    seqs = [acceptor.push(inners[0])]
    acceptor.lose(2)
    seqs += [acceptor.push(raw) for raw in inners[1:]]
    lines = await finish(proc)

    assert seqs == [2, 3, 4, 5, 6] and acceptor.lost == [3, 4]
    # QuickFIX asked from the first missing number (FIX 4.2: 16=0 = infinity)
    (request,) = of(lines, "resend_request_sent")
    assert (request["begin"], request["end"]) == (3, 0)
    (received,) = acceptor.received_of_type("2")
    assert received.get(7) == b"3" and received.get(16) == b"0"
    # our answer: 3..6 (through the last sent) again, 43=Y, 122 = the first 52, same 34
    resent = [m for m in acceptor.written_of_type("n") if m.get(43) == b"Y"]
    assert [m.get_int(34) for m in resent] == [3, 4, 5, 6]
    journal = acceptor.journals[CLIENT]
    for msg in resent:
        first = decode(journal[msg.get_int(34) or 0])
        assert msg.get(122) == first.get(52) and msg.get(213) == first.get(213)

    copies = of(lines, "copy")
    assert [c["seq"] for c in copies] == [2, 3, 4, 5, 6]  # no duplicate delivered
    assert [c["inner"] for c in copies] == [inner_fields(raw) for raw in inners]
    assert [c["poss_dup"] for c in copies] == [None, "Y", "Y", None, None]
    assert all(c["orig_sending_time"] for c in copies[1:3])
    assert not of(lines, "reject_sent")
    assert of(lines, "exit")[0]["copies"] == 5


async def test_quickfix_with_a_wrong_secret_gets_a_logout(
    acceptor: TestAcceptor, spawn: Spawn, tmp_path: Path
) -> None:
    """AX-01: a Logon whose HMAC does not verify gets ``Invalid logon. Logout forced.``"""
    wrong = base64.urlsafe_b64encode(bytes(range(1, 33))).rstrip(b"=").decode()
    proc = await spawn(tmp_path / "qf", secret_key=wrong, copies=1)
    lines = await finish(proc)

    assert [(c.access_key_id, c.signature_ok) for c in acceptor.logons] == [(KEY_ID, False)]
    (logout,) = of(lines, "logout")
    assert (logout["text"], logout["seq"], logout["next_expected"]) == (INVALID_LOGON, 1, 1)
    assert not of(lines, "logon_ack") and not of(lines, "copy")
    assert of(lines, "exit")[0]["reason"] == "logged out"
    (sent,) = acceptor.written_of_type("5")
    assert sent.get(58) == INVALID_LOGON.encode()
    assert not acceptor.written_of_type("A")


async def test_quickfix_that_lost_its_store_mid_week_recovers_with_789_and_a_resend(
    acceptor: TestAcceptor, spawn: Spawn, tmp_path: Path
) -> None:
    """Seed 003 "Session Logon", mid-week: QuickFIX starts again from an empty store and logs
    on with 34=1; the gateway logs it out with 789 (D-026); it logs on again with that number,
    sees the Logon ack far above what it expects, sends a Resend Request, and gets the week's
    copies again with 43=Y and the gateway's admin messages (Logouts, Logon ack) as a GapFill
    (D-159)."""
    first = await spawn(tmp_path / "monday", copies=2)
    await logged_on(acceptor, first)
    inners = [inner_report(n) for n in range(1, 5)]
    assert [acceptor.push(raw) for raw in inners[:2]] == [2, 3]
    assert [c["seq"] for c in of(await finish(first), "copy")] == [2, 3]
    await acceptor.wait_for(lambda: CLIENT in acceptor.sequences)
    assert acceptor.sequences[CLIENT] == (5, 3)  # CME's Logout was 4; QuickFIX's Logout 2

    fresh = await spawn(tmp_path / "tuesday", copies=4, exit_after_logouts=2, linger=0.3)
    await logged_on(acceptor, fresh)
    assert [acceptor.push(raw) for raw in inners[2:]] == [7, 8]
    lines = await finish(fresh)

    refused, *_ = of(lines, "logout")
    assert refused["text"] == "MsgSeqNum too low, expecting 3 but received 1"
    assert (refused["seq"], refused["next_expected"]) == (5, 3)
    assert of(lines, "relogon") == [{"event": "relogon", "next_sender_seq_num": 3}]
    assert [m.get_int(34) for m in acceptor.received_of_type("A")] == [1, 1, 3]
    assert all(check.signature_ok for check in acceptor.logons)
    (ack,) = of(lines, "logon_ack")
    assert ack["seq"] == 6  # 5 was the refusing Logout
    # QuickFIX counted the refusing Logout as its 1 and asks from 2, Enhanced
    (request,) = of(lines, "resend_request_sent")
    assert (request["begin"], request["end"]) == (2, 0)
    (gap_fill,) = of(lines, "sequence_reset")
    assert (gap_fill["seq"], gap_fill["new_seq_no"], gap_fill["gap_fill"]) == (4, 7, "Y")
    assert gap_fill["poss_dup"] == "Y" and gap_fill["orig_sending_time"]
    copies = of(lines, "copy")
    assert [c["seq"] for c in copies] == [2, 3, 7, 8]
    assert [c["inner"] for c in copies] == [inner_fields(raw) for raw in inners]
    assert [c["poss_dup"] for c in copies] == ["Y", "Y", None, None]
    assert not of(lines, "reject_sent")


async def test_quickfix_stays_in_step_after_a_refused_logon_mid_week(
    acceptor: TestAcceptor, spawn: Spawn, tmp_path: Path
) -> None:
    """A Logout refusing a Logon is a message of the target's stream (numbered in it, with
    789; wire notes §1.5: CME's Logouts are sequenced). QuickFIX counts every Logout it gets
    as its next expected number, so a refusal numbered outside the stream would put its next
    Logon ack "too low" and QuickFIX would log out."""
    store = tmp_path / "qf"
    first = await spawn(store, copies=1)
    await logged_on(acceptor, first)
    assert acceptor.push(inner_report(1)) == 2
    await finish(first)
    await acceptor.wait_for(lambda: CLIENT in acceptor.sequences)

    wrong = base64.urlsafe_b64encode(bytes(range(1, 33))).rstrip(b"=").decode()
    refused = of(await finish(await spawn(store, secret_key=wrong)), "logout")
    assert [(e["text"], e["seq"], e["next_expected"]) for e in refused] == [(INVALID_LOGON, 4, 3)]

    again = await spawn(store, copies=1, exit_after_logouts=2)
    await logged_on(acceptor, again)
    assert acceptor.push(inner_report(2)) == 7  # 5: the Logout answering a wrong 34
    lines = await finish(again)
    (ack,) = of(lines, "logon_ack")
    assert ack["seq"] == 6
    assert [c["seq"] for c in of(lines, "copy")] == [7]
    assert not [e for e in of(lines, "logout_sent") if e["text"]]  # QuickFIX saw no error
    assert not of(lines, "resend_request_sent") and not of(lines, "reject_sent")
