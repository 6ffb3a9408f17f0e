"""``dropcopy decode``: captured bytes in, one JSON object per message out.

Reads hex (on the command line, in a file, or on standard input) or raw binary files, finds
iLink 3 SBE frames (CME's SOFH: size, ``FE CA``, then an SBE header with schema id 8) and FIX
messages (``8=FIX``), and prints each as JSON: template or MsgType, every field by name, and,
for a Drop Copy ``35=n``, the inner message unwrapped. Bytes that belong to neither are
reported as garbage and skipped; a frame that cannot be decoded is reported and skipped.
"""

from __future__ import annotations

import json
import re
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from dropcopy.fix import codec as fix_codec
from dropcopy.fix.encapsulation import decode_encapsulated
from dropcopy.fix.errors import FixError
from dropcopy.fix.tags import MsgType, Tag
from dropcopy.ilink3 import messages
from dropcopy.ilink3.framing import ENCODING_TYPE, MIN_MESSAGE_SIZE, SOFH, SOFH_SIZE
from dropcopy.sbe.errors import DecodeError
from dropcopy.sbe.runtime import jsonable

_HEX_TEXT = re.compile(rb"^(?:0x)?[0-9a-fA-F\s:]*$")
_ENC = SOFH.pack(0, ENCODING_TYPE)[2:]
_FIX_START = b"8=FIX"
_SAMPLE = 32  # bytes of garbage shown in a report

_TAG_NAMES = {int(t): t.name for t in Tag}
_MSG_TYPE_NAMES = {m.value: m.name for m in MsgType}


def parse_hex(text: bytes | str) -> bytes:
    """Hex text (whitespace, ``:`` and a ``0x`` prefix allowed) to bytes."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    cleaned = re.sub(rb"0x|[\s:]", b"", raw)
    if len(cleaned) % 2 or not re.fullmatch(rb"[0-9a-fA-F]*", cleaned):
        raise ValueError("not hex text")
    return bytes.fromhex(cleaned.decode("ascii"))


def looks_like_hex(data: bytes) -> bool:
    return bool(data.strip()) and _HEX_TEXT.match(data) is not None


def _sbe_candidate(data: bytes, start: int) -> int:
    """Offset of the next plausible iLink 3 frame at or after ``start``, or -1."""
    i = start
    while True:
        j = data.find(_ENC, i + 2)
        if j < 0:
            return -1
        c = j - 2
        if c >= start and c + SOFH_SIZE + 8 <= len(data):
            size = data[c] | data[c + 1] << 8
            schema_id = data[c + 8] | data[c + 9] << 8
            if (
                size >= MIN_MESSAGE_SIZE
                and c + size <= len(data)
                and schema_id == messages.SCHEMA_ID
            ):
                return c
        i = j - 1


def _fix_frame_end(data: bytes, start: int) -> int | None:
    """End of the FIX message starting at ``start`` (after the SOH of 10=), by BodyLength."""
    soh = data.find(b"\x01", start)
    if soh < 0 or not data.startswith(b"9=", soh + 1):
        return None
    soh2 = data.find(b"\x01", soh + 3, soh + 3 + 10)
    if soh2 < 0 or not data[soh + 3 : soh2].isdigit():
        return None
    body_end = soh2 + 1 + int(data[soh + 3 : soh2])
    if not data.startswith(b"10=", body_end):
        return None
    end = data.find(b"\x01", body_end + 3, body_end + 3 + 8)
    return None if end < 0 else end + 1


def fix_fields(msg: fix_codec.Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tag, value in msg.fields:
        text = value.decode("latin-1")
        out.append({"tag": tag, "name": _TAG_NAMES.get(tag, str(tag)), "value": text})
    return out


def fix_record(offset: int, msg: fix_codec.Message) -> dict[str, Any]:
    msg_type = msg.msg_type or ""
    rec: dict[str, Any] = {
        "offset": offset,
        "protocol": "FIX.4.2",
        "MsgType": msg_type,
        "name": _MSG_TYPE_NAMES.get(msg_type, "Unknown"),
        "fields": fix_fields(msg),
    }
    if msg_type == "n":
        try:
            inner = decode_encapsulated(msg)
        except FixError as exc:
            rec["inner_error"] = str(exc)
        else:
            inner_type = inner.msg_type or ""
            rec["inner"] = {
                "MsgType": inner_type,
                "name": _MSG_TYPE_NAMES.get(inner_type, "Unknown"),
                "fields": fix_fields(inner),
            }
    return rec


def sbe_record(offset: int, sbe: bytes) -> dict[str, Any]:
    header = messages.decode_header(sbe)
    msg = messages.decode(sbe)
    return {
        "offset": offset,
        "protocol": "iLink3 SBE",
        "template": msg.NAME,
        "templateId": header.template_id,
        "schemaId": header.schema_id,
        "version": header.version,
        "blockLength": header.block_length,
        "semanticType": msg.SEMANTIC_TYPE,
        "fields": jsonable(msg.to_dict()),
    }


def _garbage(offset: int, data: bytes) -> dict[str, Any]:
    return {
        "offset": offset,
        "error": "garbage",
        "length": len(data),
        "hex": data[:_SAMPLE].hex() + ("…" if len(data) > _SAMPLE else ""),
    }


def scan(data: bytes) -> Iterator[dict[str, Any]]:
    """Every message (or problem) in a capture, in order, as JSON-ready dicts."""
    pos = 0
    n = len(data)
    while pos < n:
        sbe_at = _sbe_candidate(data, pos)
        fix_at = data.find(_FIX_START, pos)
        starts = [s for s in (sbe_at, fix_at) if s >= 0]
        if not starts:
            yield _garbage(pos, data[pos:])
            return
        start = min(starts)
        if start > pos:
            yield _garbage(pos, data[pos:start])
        if start == fix_at:
            end = _fix_frame_end(data, start)
            if end is None:
                yield {
                    "offset": start,
                    "error": "FIX framing",
                    "detail": "no BodyLength/CheckSum frame here",
                }
                pos = start + 1
                continue
            try:
                msg = fix_codec.decode(data[start:end], strict=False)
            except FixError as exc:
                yield {
                    "offset": start,
                    "error": "FIX",
                    "detail": str(exc),
                    "outcome": exc.outcome.name,
                }
            else:
                yield fix_record(start, msg)
            pos = end
        else:
            size = struct.unpack_from("<H", data, start)[0]
            try:
                yield sbe_record(start, data[start + SOFH_SIZE : start + size])
            except DecodeError as exc:
                yield {
                    "offset": start,
                    "error": "SBE decoding",
                    "detail": str(exc),
                    "terminateCode": 19,
                }
            pos = start + size


def _read_source(source: str) -> bytes:
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        p = Path(source)
        if p.is_file():
            data = p.read_bytes()
        else:
            try:
                return parse_hex(source)
            except ValueError:
                raise typer.BadParameter(f"{source!r} is neither a file nor hex text") from None
    if looks_like_hex(data):
        return parse_hex(data)
    return data


def decode_command(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files (raw or hex text), hex strings, or - for standard input (the default)."
        ),
    ] = None,
    pretty: Annotated[bool, typer.Option("--pretty", help="Indent the JSON.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if anything could not be decoded.")
    ] = False,
) -> None:
    """Decode captured iLink 3 (SBE) and FIX / Drop Copy bytes into JSON, one object per message."""
    exit_code = 0
    for source in sources or ["-"]:
        for rec in scan(_read_source(source)):
            if "error" in rec and strict:
                exit_code = 1
            typer.echo(json.dumps(rec, indent=2 if pretty else None, ensure_ascii=False))
    raise typer.Exit(exit_code)
