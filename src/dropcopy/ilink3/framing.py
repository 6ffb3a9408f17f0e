"""CME's Simple Open Framing Header (SOFH) and an incremental, sans-IO frame splitter.

Wire format (ilink3-schema-notes "Framing"): every iLink 3 message on TCP is
``SOFH (4 bytes) | SBE message header (8) | root block | groups | var data``. The SOFH is
little-endian: ``MessageSize`` (uint16, the total length *including* the 4-byte SOFH) then
``EncodingType`` (uint16, 0xCAFE — "CME SBE Version 1.0 Little-endian", bytes ``FE CA``).

The splitter accepts any chunking of the stream (a byte at a time included) and yields each
whole message without its SOFH. A header with an impossible size or another encoding type is
an :class:`InvalidSOFH` (Terminate 18): the stream cannot be resynchronised (decision AI-18), so
the splitter stops there — unless it was built with ``resync=True`` (capture tools), in which
case it reports the garbage and scans forward for the next plausible header.
"""

from __future__ import annotations

from struct import Struct

from .errors import InvalidSOFH

SOFH = Struct("<HH")
SOFH_SIZE = SOFH.size  # 4
ENCODING_TYPE = 0xCAFE  # CME SBE version 1.0, little-endian
SBE_HEADER_SIZE = 8
#: A message must hold at least the SOFH and the SBE message header (AI-18: size < 12 is invalid).
MIN_MESSAGE_SIZE = SOFH_SIZE + SBE_HEADER_SIZE
#: MessageSize is a uint16, so no frame can be larger than this.
MAX_MESSAGE_SIZE = 0xFFFF
_ENCODING_BYTES = SOFH.pack(0, ENCODING_TYPE)[2:]  # b"\xfe\xca"


def frame(sbe_message: bytes) -> bytes:
    """Prefix an SBE message with its SOFH."""
    size = len(sbe_message) + SOFH_SIZE
    if size > MAX_MESSAGE_SIZE:
        raise ValueError(f"message of {size} bytes exceeds the SOFH maximum {MAX_MESSAGE_SIZE}")
    return SOFH.pack(size, ENCODING_TYPE) + sbe_message


class FrameSplitter:
    """Splits a byte stream into SBE messages (sans-IO: ``feed`` bytes, get messages back).

    ``feed`` returns, in stream order, each message's bytes (SBE header onward) and, at most once
    unless ``resync`` is set, an :class:`InvalidSOFH` describing why the stream broke.
    """

    def __init__(self, *, max_message_size: int = MAX_MESSAGE_SIZE, resync: bool = False) -> None:
        if not MIN_MESSAGE_SIZE <= max_message_size <= MAX_MESSAGE_SIZE:
            raise ValueError(
                f"max_message_size must be within {MIN_MESSAGE_SIZE}..{MAX_MESSAGE_SIZE}"
            )
        self.max_message_size = max_message_size
        self.resync = resync
        self._buf = bytearray()
        self.failed: InvalidSOFH | None = None
        self.bytes_discarded = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole message."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes | InvalidSOFH]:
        if self.failed is not None and not self.resync:
            return []
        buf = self._buf
        buf += data
        out: list[bytes | InvalidSOFH] = []
        pos = 0
        end = len(buf)
        unpack = SOFH.unpack_from
        while end - pos >= SOFH_SIZE:
            size, encoding = unpack(buf, pos)
            if encoding != ENCODING_TYPE or size < MIN_MESSAGE_SIZE or size > self.max_message_size:
                error = InvalidSOFH(
                    f"invalid SOFH at stream offset +{pos}: MessageSize {size}, "
                    f"EncodingType 0x{encoding:04X} (expected 0x{ENCODING_TYPE:04X}, "
                    f"size {MIN_MESSAGE_SIZE}..{self.max_message_size})"
                )
                out.append(error)
                if not self.resync:
                    self.failed = error
                    self.bytes_discarded += end - pos
                    del buf[:]
                    return out
                nxt = self._next_candidate(buf, pos + 1)
                self.bytes_discarded += nxt - pos
                pos = nxt
                continue
            if end - pos < size:
                break
            out.append(bytes(buf[pos + SOFH_SIZE : pos + size]))
            pos += size
        if pos:
            del buf[:pos]
        return out

    def _next_candidate(self, buf: bytearray, start: int) -> int:
        """Offset of the next plausible SOFH at or after ``start`` (or where the data ends)."""
        i = start
        while True:
            j = buf.find(_ENCODING_BYTES, i + 2)
            if j < 0:
                return max(start, len(buf) - 3)  # keep a possible partial header
            cand = j - 2
            size = buf[cand] | (buf[cand + 1] << 8)
            if MIN_MESSAGE_SIZE <= size <= self.max_message_size:
                return cand
            i = cand + 1
