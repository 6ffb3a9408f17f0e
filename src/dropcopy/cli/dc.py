"""``dropcopy dc``: consume a Drop Copy 4.0 target session from the command line.

``dropcopy dc tail`` logs on with a Request Center key file and prints every copy as it comes:
one JSON object per line (``--format json``) or one row of a table. With ``--positions`` it
keeps the net filled position per account and instrument and prints it at the end. Sequence
numbers are kept in a state file (``--state``) so the next run continues mid-week (D-026).

Convenience Gateway: ``--host``/``--port`` (and ``--backup-host``/``--backup-port``), 57=G.
Market Segment Gateway: one ``--segment`` per market segment, each reached through
``--endpoint SEGMENT=HOST:PORT`` (given twice for a segment: primary, then backup) or, without
one, through ``--host``/``--port``.

Exit codes: 0 done, 2 bad arguments or key file, 3 logon refused (or the session ended by
CME), 4 no connection."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dropcopy import keyfile
from dropcopy.aio import run
from dropcopy.aio.dropcopy import (
    CHICAGO,
    ConnectionFailed,
    Copy,
    DropCopyClient,
    DropCopyMsgwClient,
    Endpoint,
    FileDropCopyStore,
    LogonRejected,
    Positions,
    SessionClosed,
    key_from_file,
)
from dropcopy.fix42 import events as ev

app = typer.Typer(
    name="dc",
    help="Drop Copy 4.0 client: log on with a CME key file and print the copies.",
    no_args_is_help=True,
)

EXIT_OK = 0
EXIT_REFUSED = 3
EXIT_CONNECTION = 4


class Format(StrEnum):
    table = "table"
    json = "json"


_EXEC_TYPES = {
    "0": "new",
    "1": "partial",
    "2": "fill",
    "4": "cancelled",
    "5": "replaced",
    "6": "pending cxl",
    "8": "rejected",
    "C": "expired",
    "E": "pending rpl",
    "F": "trade",
    "H": "trade cxl",
    "G": "trade corr",
}
_SIDES = {"1": "buy", "2": "sell", "5": "sell short", "6": "sell sx"}
_COLUMNS: list[tuple[str, int]] = [
    ("seg", 4),
    ("seq", 7),
    ("flags", 5),
    ("type", 11),
    ("ClOrdID", 20),
    ("OrderID", 14),
    ("account", 10),
    ("instrument", 12),
    ("side", 5),
    ("qty", 6),
    ("fill", 14),
    ("time", 21),
]


def _text(value: object) -> str:
    return "" if value is None else str(value)


class _Output:
    def __init__(self, fmt: Format) -> None:
        self.fmt = fmt
        self.console = Console(file=sys.stdout, soft_wrap=False, width=200)
        self.rows = 0

    def copy(self, c: Copy) -> None:
        if self.fmt is Format.json:
            sys.stdout.write(json.dumps(c.to_dict()) + "\n")
            sys.stdout.flush()
            return
        table = Table(box=None, show_header=self.rows == 0, pad_edge=False)
        for name, width in _COLUMNS:
            table.add_column(name, width=width, no_wrap=True, overflow="ellipsis")
        flags = ("R" if c.poss_dup else "") + ("P" if c.poss_resend else "")
        kind = _EXEC_TYPES.get(c.exec_type or "", c.exec_type or "")
        fill = f"{c.last_qty}@{c.last_px}" if c.is_fill else ""
        table.add_row(
            c.segment,
            str(c.seq_num),
            flags,
            f"{c.msg_type or '?'} {kind}".strip() if c.error is None else "error",
            _text(c.cl_ord_id),
            _text(c.order_id),
            _text(c.account),
            _text(c.symbol or c.security_id),
            _SIDES.get(c.side or "", _text(c.side)),
            _text(c.order_qty),
            fill,
            _text(c.transact_time),
        )
        self.console.print(table)
        self.rows += 1

    def positions(self, positions: Positions) -> None:
        if self.fmt is Format.json:
            sys.stdout.write(json.dumps({"positions": positions.to_list()}) + "\n")
            sys.stdout.flush()
            return
        table = Table(title="Positions")
        for name in ("account", "instrument", "symbol", "net", "bought", "sold", "avg buy",
                     "avg sell", "fills"):  # fmt: skip
            table.add_column(name)
        for p in positions.to_list():
            table.add_row(
                _text(p["account"]), _text(p["instrument"]), _text(p["symbol"]), _text(p["net"]),
                _text(p["bought"]), _text(p["sold"]), _text(p["avg_buy_px"]),
                _text(p["avg_sell_px"]), str(p["fills"]),
            )  # fmt: skip
        self.console.print(table)


def _status(record: dict[str, Any]) -> None:
    """Session events go to stderr, so stdout stays one record per copy."""
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


def _on_event(client: DropCopyClient, e: ev.Event) -> None:
    seg = client.target_sub_id
    if isinstance(e, ev.LoggedOn):
        _status({"event": "logged_on", "segment": seg, "endpoint": str(client.endpoint),
                 "seq_num": e.msg_seq_num})  # fmt: skip
    elif isinstance(e, ev.GapDetected):
        _status({"event": "gap", "segment": seg, "from": e.begin_seq_no, "to": e.end_seq_no})
    elif isinstance(e, ev.ResendRequestSent):
        _status({"event": "resend_request", "segment": seg, "from": e.begin_seq_no,
                 "to": e.end_seq_no})  # fmt: skip
    elif isinstance(e, ev.ResendCompleted):
        _status({"event": "resend_completed", "segment": seg})
    elif isinstance(e, ev.ResendRejected):
        _status({"event": "resend_rejected", "segment": seg, "text": e.text,
                 "start_sequence_number": e.start_sequence_number})  # fmt: skip
    elif isinstance(e, ev.SessionRejectReceived):
        _status({"event": "session_reject", "segment": seg, "text": e.text})
    elif isinstance(e, ev.Closed):
        _status({"event": "closed", "segment": seg, "reason": e.reason, "text": e.logout_text})


def _endpoint(host: str | None, port: int | None, what: str) -> Endpoint | None:
    if host is None and port is None:
        return None
    if host is None or port is None:
        raise typer.BadParameter(f"give both the {what} host and port", param_hint=f"--{what}-*")
    return Endpoint(host, port)


def _segments(
    segment: list[str],
    endpoint: list[str],
    default: list[Endpoint],
) -> dict[str, list[Endpoint]]:
    """``{segment: [primary, backup]}`` from --segment and --endpoint (D-085: configuration)."""
    found: dict[str, list[Endpoint]] = {}
    for spec in endpoint:
        seg, sep, address = spec.partition("=")
        if not sep or not seg:
            raise typer.BadParameter(
                f"expected SEGMENT=HOST:PORT, not {spec!r}", param_hint="--endpoint"
            )
        try:
            found.setdefault(seg, []).append(Endpoint.parse(address))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--endpoint") from exc
    for seg in segment:
        found.setdefault(seg, [])
    for seg, eps in found.items():
        if not seg.isalnum():
            raise typer.BadParameter(f"not a market segment ID: {seg!r}", param_hint="--segment")
        if not eps:
            if not default:
                raise typer.BadParameter(
                    f"segment {seg}: no --endpoint {seg}=HOST:PORT and no --host/--port",
                    param_hint="--endpoint",
                )
            eps.extend(default)
    return found


async def _tail(
    client: DropCopyClient | DropCopyMsgwClient,
    out: _Output,
    positions: Positions | None,
    count: int | None,
    timeout: float | None,
) -> int:
    try:
        await client.logon()
    except LogonRejected as exc:
        _status({"event": "logon_refused", "segment": exc.target_sub_id, "text": exc.text,
                 "next_expected_msg_seq_num": exc.next_expected_msg_seq_num})  # fmt: skip
        client.close()
        return EXIT_REFUSED
    except ConnectionFailed as exc:
        _status({"event": "connection_failed", "segment": exc.target_sub_id, "errors": exc.errors})
        client.close()
        return EXIT_CONNECTION
    rc = EXIT_OK
    received = 0
    try:
        while count is None or received < count:
            try:
                copy = await client.next_copy(timeout)
            except TimeoutError:
                break
            received += 1
            out.copy(copy)
            if positions is not None:
                positions.apply(copy)
    except LogonRejected as exc:
        _status({"event": "logon_refused", "segment": exc.target_sub_id, "text": exc.text})
        rc = EXIT_REFUSED
    except ConnectionFailed as exc:
        _status({"event": "connection_failed", "segment": exc.target_sub_id, "errors": exc.errors})
        rc = EXIT_CONNECTION
    except SessionClosed as exc:
        if not exc.by_us:
            _status({"event": "session_closed", "segment": exc.target_sub_id, "text": str(exc)})
            rc = EXIT_REFUSED
    finally:
        if client.logged_on:
            await client.logout(timeout=5.0)  # D-011: after the in-flight resend
        client.close()
        if positions is not None:
            out.positions(positions)
    return rc


@app.command("tail")
def tail(
    key_file: Annotated[
        Path, typer.Option("--key-file", help="CME key file (Request Center format)")
    ],
    session: Annotated[str, typer.Option(help="Drop Copy Session ID (6 characters)")],
    host: Annotated[str | None, typer.Option(help="designated primary gateway address")] = None,
    port: Annotated[int | None, typer.Option(help="designated primary gateway port")] = None,
    backup_host: Annotated[str | None, typer.Option(help="backup gateway address")] = None,
    backup_port: Annotated[int | None, typer.Option(help="backup gateway port")] = None,
    segment: Annotated[
        list[str] | None,
        typer.Option(help="MSGW market segment ID (repeatable); none: CGW, 57=G"),
    ] = None,
    endpoint: Annotated[
        list[str] | None,
        typer.Option(help="SEGMENT=HOST:PORT (repeatable; a second one is the backup)"),
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="file keeping the sequence numbers between runs")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="output format")] = Format.table,
    positions: Annotated[
        bool, typer.Option("--positions", help="print net positions from fills at the end")
    ] = False,
    count: Annotated[int | None, typer.Option(min=1, help="stop after this many copies")] = None,
    timeout: Annotated[
        float | None, typer.Option(min=0.0, help="stop after this many seconds without a copy")
    ] = None,
    operator: Annotated[str, typer.Option(help="50 SenderSubID (operator ID)")] = "DROPCOPY",
    location: Annotated[str, typer.Option(help="142 SenderLocationID")] = "US,IL",
    heartbeat: Annotated[int, typer.Option(min=5, max=60, help="108 HeartBtInt, seconds")] = 30,
    environment: Annotated[
        str | None, typer.Option(help="use the key file's rows of this environment")
    ] = None,
    attempts: Annotated[
        int, typer.Option(min=1, help="connection attempts before giving up (exit 4)")
    ] = 6,
    reconnect_delay: Annotated[
        float, typer.Option(min=0.0, help="seconds between rounds of connection attempts")
    ] = 1.0,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="session events as JSON on stderr")
    ] = False,
) -> None:
    """Log on, print every copy (fills, acknowledgements) as it arrives, log out at the end."""
    if len(session) != 6 or not session.isalnum():
        raise typer.BadParameter(
            "the Session ID has 6 alphanumeric characters", param_hint="--session"
        )
    try:
        key = key_from_file(key_file, session, today=dt.datetime.now(CHICAGO).date(),
                            environment=environment)  # fmt: skip
    except (OSError, keyfile.KeyFileError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--key-file") from exc
    primary = _endpoint(host, port, "host/port")
    backup = _endpoint(backup_host or (host if backup_port is not None else None), backup_port,
                       "backup")  # fmt: skip
    default = [e for e in (primary, backup) if e is not None]
    if backup is not None and primary is None:
        raise typer.BadParameter("a backup needs a primary (--host/--port)", param_hint="--host")
    store = FileDropCopyStore(state) if state is not None else None
    if store is not None:
        try:
            store.load(session, "G")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise typer.BadParameter(f"{state}: {exc}", param_hint="--state") from exc
    common: dict[str, Any] = {
        "session_id": session,
        "access_key_id": key.access_key_id,
        "secret_key": key.secret_key,
        "sender_sub_id": operator,
        "sender_location_id": location,
        "heart_bt_int": heartbeat,
        "store": store,
        "on_event": _on_event if verbose else None,
        "max_attempts": attempts,
        "reconnect_delay": reconnect_delay,
    }
    client: DropCopyClient | DropCopyMsgwClient
    try:
        if segment or endpoint:
            segments = _segments(segment or [], endpoint or [], default)
            client = DropCopyMsgwClient(segments=segments, **common)
        else:
            if not default:
                raise typer.BadParameter("give --host and --port (or --segment/--endpoint)",
                                         param_hint="--host")  # fmt: skip
            client = DropCopyClient(endpoints=default, target_sub_id="G", **common)
    except ValueError as exc:  # e.g. a secret key that is not 43 base64url characters
        raise typer.BadParameter(str(exc), param_hint="--key-file") from exc
    out = _Output(fmt)
    rc = run(_tail(client, out, Positions() if positions else None, count, timeout))
    raise typer.Exit(rc)
