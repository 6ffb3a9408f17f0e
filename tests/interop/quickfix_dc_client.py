"""A Drop Copy 4.0 consumer built on QuickFIX (C++, through its Python binding).

Run as a **child process** (QuickFIX's binding can abort the whole process on a C++
exception)::

    python tests/interop/quickfix_dc_client.py --config client.json [--port 9000 ...]

The JSON file (or the matching ``--option`` flags, which win) gives :class:`ClientConfig`.
A ``SocketInitiator`` logs on as Drop Copy target session ``sender_comp_id`` to TargetCompID
``CME`` and TargetSubID ``target_sub_id`` (``G`` on a Convenience Gateway, the market segment
ID on a Market Segment Gateway), then prints one JSON object per line on stdout for
everything that happens: the Logon it sent, the Logon ack, every encapsulated copy (35=n)
with its outer 34/43/97/122 and the inner message's fields, Resend Requests and Sequence
Resets, rejects, the Logout and its 58/789. It logs out and exits once ``copies`` copies
arrived (after ``linger`` more seconds), after ``exit_after_logouts`` Logouts from CME, or at
``timeout``. A Logon refused with 789 NextExpectedMsgSeqNum (the mid-week rule of seed 003
"Session Logon") is retried at once with that MsgSeqNum, as a CME client must.

How the Drop Copy dialect is grafted onto QuickFIX (reference/dropcopy-wire-notes.md §1):

* QuickFIX C++ 1.15 fills 8, 49, 56, 34 and 52 of every message and only then calls
  ``toAdmin``; the hook adds 50 SenderSubID, 57 TargetSubID, 142 SenderLocationID and 369
  LastMsgSeqNumProcessed (QuickFIX 1.15 has no setting for it: expected target number - 1).
* On the Logon the hook drops 98 EncryptMethod (CME's certification tool refuses it), adds
  1603/1604/1605 and signs: the canonical string is the wire values of 34, 49, 50, 52, 57,
  108, 142, 369, 1603, 1604, 1605 joined with ``\\n``; 1402 is the unpadded base64url
  HMAC-SHA256 of it under the base64url-decoded secret, with 1400=CME-1-SHA-256, 1401=43,
  354=20 and 355=Access Key ID. The signer is written here from the wire notes, independently
  of ``dropcopy.fix.secure_logon``, so the venue's verifier is checked against another
  implementation.
* Incoming messages are validated with ``data/CME-DC42.xml`` (``dictionary``; empty:
  ``UseDataDictionary=N``), which defines 35=n with 212/213 and CME's extra tags.

Nothing of the ``dropcopy`` package is imported: this is an outside client.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

HMAC_VERSION = "CME-1-SHA-256"
CANONICAL_TAGS = (34, 49, 50, 52, 57, 108, 142, 369, 1603, 1604, 1605)
SOH = "\x01"
RTRF_OPEN, RTRF_CLOSE = "<RTRF>", "</RTRF>"
DEFAULT_DICTIONARY = Path(__file__).with_name("data") / "CME-DC42.xml"


@dataclasses.dataclass
class ClientConfig:
    host: str = "127.0.0.1"
    port: int = 0
    sender_comp_id: str = "ABCDEFN"
    sender_sub_id: str = "OPS1"
    target_comp_id: str = "CME"
    target_sub_id: str = "G"
    sender_location_id: str = "US,IL"
    heart_bt_int: int = 30
    access_key_id: str = ""
    secret_key: str = ""
    application_system_name: str = "QuickFIX-DC"
    trading_system_version: str = "1.15.1"
    application_system_vendor: str = "quickfix"
    #: exit after this many copies (35=n); 0: run until logged out or ``timeout``
    copies: int = 0
    #: exit once this many Logouts came from CME; before that, a Logon refused with 789
    #: NextExpectedMsgSeqNum is retried at once with that MsgSeqNum
    exit_after_logouts: int = 1
    #: seconds to keep the session after the last expected copy (extra copies are reported)
    linger: float = 0.0
    timeout: float = 10.0
    #: QuickFIX's FileStore / FileLog / settings go here
    workdir: str = "."
    #: data dictionary path; "" runs QuickFIX with UseDataDictionary=N
    dictionary: str = str(DEFAULT_DICTIONARY)


# ------------------------------------------------------------------------- secure logon


def canonical_string(values: dict[int, str]) -> str:
    """The 11 wire values of the secure logon canonical string, joined with ``\\n``."""
    return "\n".join(values[tag] for tag in CANONICAL_TAGS)


def sign(canonical: str, secret_key: str) -> str:
    """1402: unpadded base64url HMAC-SHA256 of ``canonical`` under the base64url secret."""
    key = base64.urlsafe_b64decode(secret_key + "=" * (-len(secret_key) % 4))
    digest = hmac.new(key, canonical.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def split_fields(raw: str) -> list[list[Any]]:
    """``tag=value`` pairs of a FIX message without data fields, as ``[tag, value]`` lists."""
    out: list[list[Any]] = []
    for part in raw.split(SOH):
        if part:
            tag, _, value = part.partition("=")
            out.append([int(tag), value])
    return out


# ------------------------------------------------------------------------------ output

_print_lock = threading.Lock()


def emit(event: str, **data: Any) -> None:
    line = json.dumps({"event": event, **data}, sort_keys=True)
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def settings_text(cfg: ClientConfig, workdir: Path) -> str:
    dictionary = (
        f"UseDataDictionary=Y\nDataDictionary={cfg.dictionary}\n"
        if cfg.dictionary
        else "UseDataDictionary=N\n"
    )
    return (
        "[DEFAULT]\n"
        "ConnectionType=initiator\n"
        f"FileStorePath={workdir / 'store'}\n"
        f"FileLogPath={workdir / 'log'}\n"
        "StartTime=00:00:00\n"
        "EndTime=00:00:00\n"
        "ReconnectInterval=60\n"
        "LogonTimeout=5\n"
        "LogoutTimeout=2\n"
        f"{dictionary}"
        "ValidateUserDefinedFields=Y\n"
        "ValidateFieldsOutOfOrder=Y\n"
        "ValidateFieldsHaveValues=Y\n"
        "CheckLatency=Y\n"
        "MaxLatency=120\n"
        "TimestampPrecision=3\n"
        "\n[SESSION]\n"
        "BeginString=FIX.4.2\n"
        f"SenderCompID={cfg.sender_comp_id}\n"
        f"TargetCompID={cfg.target_comp_id}\n"
        f"SocketConnectHost={cfg.host}\n"
        f"SocketConnectPort={cfg.port}\n"
        f"HeartBtInt={cfg.heart_bt_int}\n"
    )


# ------------------------------------------------------------------------- the client


def _application_class(fix: Any) -> type:
    """The ``quickfix.Application`` subclass (built lazily: ``sign`` and friends above import
    without QuickFIX)."""

    def get(fields: Any, tag: int) -> str | None:
        return str(fields.getField(tag)) if fields.isSetField(tag) else None

    def wire(msg: Any) -> str:
        return str(msg.toString()).replace(SOH, "|")

    class DropCopyApplication(fix.Application):  # type: ignore[misc]
        def __init__(self, cfg: ClientConfig) -> None:
            super().__init__()
            self.cfg = cfg
            self.copies = 0
            self.logouts = 0
            self.logged_on = False
            self.next_sender: int | None = None  # 789 of a Logout refusing our Logon
            self.relogon_with: int | None = None  # set once that session is down
            self.enough = threading.Event()

        # every callback is guarded: an exception escaping into C++ may abort the process
        def _guard(self, name: str, fn: Any, *args: Any) -> None:
            try:
                fn(*args)
            except Exception as exc:
                emit("error", callback=name, error=repr(exc), trace=traceback.format_exc())

        def onCreate(self, session_id: Any) -> None:
            emit("created", session=session_id.toString())

        def onLogon(self, session_id: Any) -> None:
            self.logged_on = True
            emit("logon", session=session_id.toString())

        def onLogout(self, session_id: Any) -> None:
            self.logged_on = False
            emit("session_logout", session=session_id.toString())
            if self.next_sender is not None:
                self.relogon_with, self.next_sender = self.next_sender, None

        def toAdmin(self, msg: Any, session_id: Any) -> None:
            self._guard("toAdmin", self._to_admin, msg, session_id)

        def fromAdmin(self, msg: Any, session_id: Any) -> None:
            self._guard("fromAdmin", self._from_admin, msg)

        def toApp(self, msg: Any, session_id: Any) -> None:
            emit("app_sent", wire=wire(msg))

        def fromApp(self, msg: Any, session_id: Any) -> None:
            self._guard("fromApp", self._from_app, msg)

        # -- outgoing: the Drop Copy header and the secure logon

        def _to_admin(self, msg: Any, session_id: Any) -> None:
            cfg = self.cfg
            header = msg.getHeader()
            msg_type = header.getField(35)
            session = fix.Session.lookupSession(session_id)
            header.setField(50, cfg.sender_sub_id)
            header.setField(57, cfg.target_sub_id)
            header.setField(142, cfg.sender_location_id)
            header.setField(369, str(session.getExpectedTargetNum() - 1))
            seq = int(header.getField(34))
            if msg_type == "A":
                # (QuickFIX also "initiates" a Logon on the closed socket after a Logout: that
                # one is reported here too but never reaches the wire.)
                msg.removeField(98)  # EncryptMethod: not part of CME's Logon
                msg.setField(1603, cfg.application_system_name)
                msg.setField(1604, cfg.trading_system_version)
                msg.setField(1605, cfg.application_system_vendor)
                values = {
                    tag: header.getField(tag) if header.isSetField(tag) else msg.getField(tag)
                    for tag in CANONICAL_TAGS
                }
                signature = sign(canonical_string(values), cfg.secret_key)
                msg.setField(354, str(len(cfg.access_key_id)))
                msg.setField(355, cfg.access_key_id)
                msg.setField(1400, HMAC_VERSION)
                msg.setField(1401, str(len(signature)))
                msg.setField(1402, signature)
                emit("logon_sent", seq=seq, sending_time=values[52], wire=wire(msg))
            elif msg_type == "2":
                begin, end = int(msg.getField(7)), int(msg.getField(16))
                emit("resend_request_sent", seq=seq, begin=begin, end=end)
            elif msg_type == "3":
                emit(
                    "reject_sent",
                    seq=seq,
                    ref_seq_num=get(msg, 45),
                    reason=get(msg, 373),
                    text=get(msg, 58),
                )
            elif msg_type == "4":
                emit("sequence_reset_sent", seq=seq, new_seq_no=int(msg.getField(36)))
            elif msg_type == "5":
                emit("logout_sent", seq=seq, text=get(msg, 58))
            else:
                emit("admin_sent", msg_type=msg_type, seq=seq, test_req_id=get(msg, 112))

        # -- incoming

        def _from_admin(self, msg: Any) -> None:
            header = msg.getHeader()
            msg_type = header.getField(35)
            seq = int(header.getField(34))
            common = {
                "seq": seq,
                "poss_dup": get(header, 43),
                "orig_sending_time": get(header, 122),
                "last_processed": get(header, 369),
            }
            if msg_type == "A":
                emit("logon_ack", heart_bt_int=int(msg.getField(108)), wire=wire(msg), **common)
            elif msg_type == "5":
                value = get(msg, 789)
                next_expected = int(value) if value else None
                emit("logout", text=get(msg, 58), next_expected=next_expected, **common)
                if not self.logged_on and next_expected is not None:
                    self.next_sender = next_expected
                self.logouts += 1
            elif msg_type == "4":
                emit(
                    "sequence_reset",
                    new_seq_no=int(msg.getField(36)),
                    gap_fill=get(msg, 123),
                    **common,
                )
            elif msg_type == "3":
                emit(
                    "reject",
                    ref_seq_num=get(msg, 45),
                    text=get(msg, 58),
                    start_sequence_number=get(msg, 5024),
                    **common,
                )
            elif msg_type == "2":
                begin, end = int(msg.getField(7)), int(msg.getField(16))
                emit("resend_request", begin=begin, end=end, **common)
            else:
                emit("admin", msg_type=msg_type, test_req_id=get(msg, 112), **common)

        def _from_app(self, msg: Any) -> None:
            header = msg.getHeader()
            msg_type = header.getField(35)
            seq = int(header.getField(34))
            if msg_type != "n":
                emit("app", msg_type=msg_type, seq=seq, wire=wire(msg))
                return
            payload = header.getField(213)
            inner = payload[len(RTRF_OPEN) : -len(RTRF_CLOSE)]
            record: dict[str, Any] = {
                "seq": seq,
                "poss_dup": get(header, 43),
                "poss_resend": get(header, 97),
                "orig_sending_time": get(header, 122),
                "xml_data_len": int(header.getField(212)),
                "payload_len": len(payload.encode("latin-1")),
                "rtrf": payload.startswith(RTRF_OPEN) and payload.endswith(RTRF_CLOSE),
            }
            # QuickFIX itself checks the inner message's 9 BodyLength and 10 CheckSum
            inner_msg = fix.Message()
            try:
                inner_msg.setString(inner, True)
            except Exception as exc:
                record["inner_error"] = repr(exc)
            else:
                record["inner_msg_type"] = inner_msg.getHeader().getField(35)
            record["inner"] = split_fields(inner)
            self.copies += 1
            emit("copy", **record)
            if self.cfg.copies and self.copies >= self.cfg.copies:
                self.enough.set()

    return DropCopyApplication


def run(cfg: ClientConfig) -> NoReturn:
    import quickfix as fix  # type: ignore[import-untyped]  # here: imports without it

    workdir = Path(cfg.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    settings_path = workdir / "quickfix.cfg"
    settings_path.write_text(settings_text(cfg, workdir))
    settings = fix.SessionSettings(str(settings_path))
    session_id = fix.SessionID("FIX.4.2", cfg.sender_comp_id, cfg.target_comp_id)
    app = _application_class(fix)(cfg)
    store = fix.FileStoreFactory(settings)
    log = fix.FileLogFactory(settings)
    initiator = fix.SocketInitiator(app, store, settings, log)
    initiator.start()
    deadline = time.monotonic() + cfg.timeout
    reason = "timeout"
    while time.monotonic() < deadline:
        if app.enough.is_set():
            reason = "copies"
            break
        if app.logouts >= cfg.exit_after_logouts:
            reason = "logged out"
            break
        if app.relogon_with is not None:
            # Seed 003 "Session Logon", mid-week: log on again with the MsgSeqNum of CME's
            # 789. QuickFIX's own reconnect would not do: after a Logout it "initiates" a Logon
            # on the closed socket, which burns a sequence number. So: a new initiator, and
            # the number set before it connects.
            next_seq, app.relogon_with = app.relogon_with, None
            initiator.stop(True)
            del initiator  # its sessions go with it: the new one registers its own
            initiator = fix.SocketInitiator(app, store, settings, log)
            fix.Session.lookupSession(session_id).setNextSenderMsgSeqNum(next_seq)
            emit("relogon", next_sender_seq_num=next_seq)
            initiator.start()
        time.sleep(0.01)
    if reason == "copies" and cfg.linger > 0:
        time.sleep(cfg.linger)
    # A graceful Logout: QuickFIX writes it on its next timer tick and then waits for CME's.
    # (``initiator.stop()`` would do the same, polling in whole seconds.)
    session = fix.Session.lookupSession(session_id)
    if app.logged_on and session is not None:
        session.logout()
        end = time.monotonic() + 5
        while app.logged_on and time.monotonic() < end:
            time.sleep(0.01)
    emit("exit", reason=reason, copies=app.copies)
    sys.stdout.flush()
    # The session is over (logged out, or given up on). Leave without ``initiator.stop()``,
    # which joins QuickFIX's thread (it polls its sockets in one-second steps), and before
    # ``initiator`` and ``app`` are released: destroying them while that thread runs crashes.
    os._exit(2 if reason == "timeout" else 0)


def load_config(argv: list[str] | None = None) -> ClientConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="JSON file with ClientConfig fields")
    for f in dataclasses.fields(ClientConfig):
        kind = {"int": int, "float": float}.get(str(f.type), str)
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind)
    args = parser.parse_args(argv)
    values: dict[str, Any] = json.loads(args.config.read_text()) if args.config else {}
    for f in dataclasses.fields(ClientConfig):
        given = getattr(args, f.name)
        if given is not None:
            values[f.name] = given
    return ClientConfig(**values)


def main(argv: list[str] | None = None) -> NoReturn:
    run(load_config(argv))


if __name__ == "__main__":
    main()
