"""iLink 3 messages on the wire: SOFH framing + the generated SBE codec.

``encode(msg)`` gives the bytes to write to the socket; a :class:`Decoder` turns whatever the
socket delivered into messages, or typed errors carrying their Terminate code.
"""

from __future__ import annotations

from dropcopy.sbe.errors import DecodeError
from dropcopy.sbe.runtime import MessageBase

from . import messages
from .errors import DecodingError, InvalidSOFH
from .framing import ENCODING_TYPE, MAX_MESSAGE_SIZE, SOFH, SOFH_SIZE, FrameSplitter

_pack_sofh = SOFH.pack


def encode(msg: MessageBase) -> bytes:
    """SOFH + SBE bytes of ``msg``."""
    body = msg.encode()
    size = len(body) + SOFH_SIZE
    if size > MAX_MESSAGE_SIZE:
        raise ValueError(f"{msg.NAME} of {size} bytes exceeds the SOFH maximum")
    return _pack_sofh(size, ENCODING_TYPE) + body


def decode_message(sbe: bytes | bytearray | memoryview) -> MessageBase:
    """Decode one SBE message (no SOFH). Raises :class:`DecodingError` (Terminate 19)."""
    try:
        return messages.decode(sbe)
    except DecodeError as exc:
        raise DecodingError(str(exc)) from None


class Decoder:
    """Incremental decoder: ``feed(bytes) -> [message | InvalidSOFH | DecodingError, …]``."""

    def __init__(self, *, max_message_size: int = MAX_MESSAGE_SIZE, resync: bool = False) -> None:
        self.splitter = FrameSplitter(max_message_size=max_message_size, resync=resync)

    def feed(
        self, data: bytes | bytearray | memoryview
    ) -> list[MessageBase | InvalidSOFH | DecodingError]:
        out: list[MessageBase | InvalidSOFH | DecodingError] = []
        decode = messages.decode
        for item in self.splitter.feed(data):
            if isinstance(item, InvalidSOFH):
                out.append(item)
                continue
            try:
                out.append(decode(item))
            except DecodeError as exc:
                out.append(DecodingError(str(exc)))
        return out
