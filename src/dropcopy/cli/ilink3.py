"""``dropcopy ilink3``: log on to an iLink 3 Market Segment Gateway with a key file and send
orders from the command line.

Every message received is printed as one JSON line (the same shape as ``dropcopy decode``).
The session's UUID and sequence numbers are kept in a state file (``--state``), so the next run
re-binds the same UUID and continues the numbers (seed 004 "Intra-Session Binding")."""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from dropcopy import keyfile
from dropcopy.aio import run
from dropcopy.aio.ilink3 import FileSessionStore, ILink3Client, LogonRejected, SessionTerminated
from dropcopy.fixp import events as ev
from dropcopy.ilink3 import messages as m
from dropcopy.sbe.runtime import MessageBase, jsonable

app = typer.Typer(
    name="ilink3",
    help="iLink 3 client: log on with a CME key file, send orders, print what comes back.",
    no_args_is_help=True,
)


class Side(StrEnum):
    buy = "buy"
    sell = "sell"


class OrdType(StrEnum):
    limit = "limit"
    market = "market"


class Tif(StrEnum):
    day = "day"
    gtc = "gtc"
    fak = "fak"
    fok = "fok"


_SIDES = {Side.buy: m.SideReq.Buy, Side.sell: m.SideReq.Sell}
_TYPES = {OrdType.limit: m.OrderTypeReq.Limit, OrdType.market: m.OrderTypeReq.MarketwithProtection}
_TIFS = {
    Tif.day: m.TimeInForce.Day,
    Tif.gtc: m.TimeInForce.GoodTillCancel,
    Tif.fak: m.TimeInForce.FillAndKill,
    Tif.fok: m.TimeInForce.FillOrKill,
}
#: reports after which an order needs no more waiting
_FINAL = (
    m.ExecutionReportReject523,
    m.ExecutionReportElimination524,
    m.ExecutionReportCancel534,
    m.BusinessReject521,
    m.OrderCancelReject535,
)

Host = Annotated[str, typer.Option(help="gateway address")]
Port = Annotated[int, typer.Option(help="gateway port")]
KeyFile = Annotated[Path, typer.Option("--key-file", help="CME key file (Request Center format)")]
Session = Annotated[str, typer.Option(help="iLink 3 session id (3 characters)")]
Firm = Annotated[str, typer.Option(help="firm id")]
State = Annotated[
    Path | None,
    typer.Option(help="file keeping UUID and sequence numbers between runs (default: none)"),
]
Wait = Annotated[float, typer.Option(help="seconds to wait for reports")]


def _print(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _message_record(e: ev.BusinessMessage) -> dict[str, Any]:
    msg = e.message
    return {
        "template": msg.NAME,
        "seq_num": e.seq_no,
        "uuid": e.uuid,
        "poss_retrans": e.possible_retransmission,
        "fields": jsonable(msg.to_dict()),
    }


def _client(key_file: Path, session: str, firm: str, state: Path | None) -> ILink3Client:
    try:
        entries = keyfile.load(key_file)
    except (OSError, keyfile.KeyFileError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--key-file") from exc
    key = keyfile.current(entries, session, dt.datetime.now(dt.UTC).date())
    if key is None:
        raise typer.BadParameter(
            f"no unexpired key for session {session!r} in {key_file}", param_hint="--key-file"
        )
    return ILink3Client(
        secret_key=key.secret_key,
        access_key_id=key.access_key_id,
        session=session,
        firm=firm,
        store=FileSessionStore(state) if state is not None else None,
    )


async def _session(client: ILink3Client, host: str, port: int, work: Any) -> int:
    try:
        await client.connect(host, port)
        est = await client.logon()
        _print({"event": "established", "fields": jsonable(est.ack.to_dict())})
        await work(client)
        term = await client.terminate()
        _print({"event": "terminated", "code": term.code, "reason": term.reason})
        return 0
    except LogonRejected as exc:
        _print({"event": "rejected", "fields": jsonable(exc.message.to_dict())})
        return 2
    except SessionTerminated as exc:
        _print({"event": "terminated", "code": exc.event.code, "reason": exc.event.reason})
        return 3
    except OSError as exc:
        _print({"event": "error", "error": str(exc)})
        return 4
    finally:
        client.close()


async def _drain(client: ILink3Client, wait: float, until: Any = None) -> None:
    """Print business messages until ``until(msg)`` says done or ``wait`` seconds of quiet."""
    while True:
        try:
            got = await client.next_business(timeout=wait)
        except TimeoutError:
            return
        _print(_message_record(got))
        if until is not None and until(got.message):
            return


@app.command("logon")
def logon(
    host: Host, port: Port, key_file: KeyFile, session: Session, firm: Firm, state: State = None,
    wait: Wait = 1.0,
) -> None:  # fmt: skip
    """Negotiate (or re-bind the stored UUID), Establish, print anything recovered, Terminate."""
    client = _client(key_file, session, firm, state)
    raise typer.Exit(run(_session(client, host, port, lambda c: _drain(c, wait))))


@app.command("order")
def order(
    host: Host,
    port: Port,
    key_file: KeyFile,
    session: Session,
    firm: Firm,
    security_id: Annotated[int, typer.Option(help="SecurityID of the instrument")],
    side: Annotated[Side, typer.Option()],
    qty: Annotated[int, typer.Option(min=1)],
    price: Annotated[str | None, typer.Option(help="limit price")] = None,
    ord_type: Annotated[OrdType, typer.Option("--type")] = OrdType.limit,
    tif: Annotated[Tif, typer.Option()] = Tif.day,
    cl_ord_id: Annotated[str | None, typer.Option(help="default: generated")] = None,
    sender_id: Annotated[str, typer.Option(help="SenderID (tag 5392)")] = "DROPCOPY",
    location: Annotated[str, typer.Option(help="Location (tag 9537)")] = "US,IL",
    party_details: Annotated[int, typer.Option(help="PartyDetailsListReqID")] = 1,
    state: State = None,
    wait: Wait = 2.0,
) -> None:
    """Send one NewOrderSingle514 and print the reports until the order rests, fills or ends."""
    if ord_type is OrdType.limit:
        if price is None:
            raise typer.BadParameter("a limit order needs --price", param_hint="--price")
        try:
            Decimal(price)
        except ArithmeticError as exc:
            raise typer.BadParameter(f"not a price: {price!r}", param_hint="--price") from exc
    client = _client(key_file, session, firm, state)
    clordid = cl_ord_id or f"DC{dt.datetime.now(dt.UTC):%H%M%S%f}"[:20]
    msg = m.NewOrderSingle514(
        Price=price if ord_type is OrdType.limit else None, OrderQty=qty, SecurityID=security_id,
        Side=_SIDES[side], SeqNum=0, SenderID=sender_id, ClOrdID=clordid,
        PartyDetailsListReqID=party_details, OrderRequestID=1, SendingTimeEpoch=0, Location=location,
        OrdType=_TYPES[ord_type], ManualOrderIndicator=m.ManualOrdIndReq.Manual,
        TimeInForce=_TIFS[tif],
    )  # fmt: skip

    def done(report: MessageBase) -> bool:
        if isinstance(report, _FINAL):
            return True
        if isinstance(report, m.ExecutionReportTradeOutright525):
            return int(report.LeavesQty) == 0
        return isinstance(report, m.ExecutionReportNew522) and tif in (Tif.day, Tif.gtc)

    async def work(c: ILink3Client) -> None:
        await _drain(c, 0.2)  # anything recovered at logon comes first
        seq = c.send(msg)
        _print({"event": "sent", "template": msg.NAME, "seq_num": seq, "cl_ord_id": clordid})
        await _drain(c, wait, done)
        await _drain(c, 0.2)  # a fill right after the acknowledgment

    raise typer.Exit(run(_session(client, host, port, work)))
