"""Incremental FIX 4.2 stream framer (sans-IO): bytes in, messages and typed errors out.

Theory of operation
-------------------
``FixFramer.feed(data)`` appends ``data`` to what is left of earlier reads and returns, in
stream order, every complete :class:`~dropcopy.fix.codec.Message` and every
:class:`~dropcopy.fix.errors.FixError` found so far. It never raises for any input.

Boundaries come only from the header: ``8=FIX...`` SOH ``9=<n>`` SOH, then ``<n>`` body bytes,
then ``10=<value>`` SOH. A data field (a 213 ``<RTRF>`` payload full of SOH, ``=`` and even a
whole inner ``8=FIX.4.2`` message) is therefore never looked at while framing.

Bad input and what happens to it (the outcome each error carries):

* bytes before ``8=FIX`` -> one :class:`GarbageData` per run (DROP), reported when the next
  frame starts, at :meth:`FixFramer.close`, or every ``max_garbage_run`` bytes;
* no ``9=``, a non-numeric or oversized 9, no ``10=`` where 9 points -> a framing error (DROP);
  scanning resumes at the next ``8=FIX`` after the bad frame's first byte, and the bytes
  skipped on the way belong to that error (no extra :class:`GarbageData`);
* checksum problems follow decision AD-06: a 10 value that is non-numeric *and* longer than 3
  characters -> :class:`ChecksumGarbled` (DISCONNECT, D-137); any other bad 10 -> dropped
  (:class:`ChecksumIncorrect`, D-062); the frame is skipped as a whole;
* a framed message with malformed fields -> :class:`DecodeError` (DROP); a BeginString other
  than ``FIX.4.2`` -> :class:`BeginStringIncorrect` (LOGOUT).

The result does not depend on how the stream is chunked (a test feeds it byte by byte and in
random pieces). Memory is bounded by :attr:`FramerLimits.max_message_size` plus one read.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import texts
from .codec import (
    _HEAD,
    BAD_FRAME,
    BEGIN_STRING,
    FRAMED,
    MAX_BODY_LENGTH_DIGITS,
    NEED_MORE,
    SOH,
    Message,
    _decode_framed,
    _parse,
    _scan_frame,
)
from .errors import (
    BeginStringIncorrect,
    FixError,
    GarbageData,
    TruncatedMessage,
)

__all__ = ["FixFramer", "FramerLimits"]

_START = b"8=FIX"


@dataclass(frozen=True, slots=True)
class FramerLimits:
    """Named size limits of :class:`FixFramer`."""

    #: Largest whole message (8= through the SOH after 10=). Drop Copy's biggest message is a
    #: 35=n with 213 of at most 8000 bytes (wire notes §2.1), so 64 KiB is generous.
    max_message_size: int = 65536
    #: Garbage is reported at least once per this many skipped bytes.
    max_garbage_run: int = 65536
    #: How many bytes of skipped garbage an error keeps in ``data``.
    garbage_sample: int = 64

    def __post_init__(self) -> None:
        if self.max_message_size < 32 or self.max_garbage_run < 1 or self.garbage_sample < 0:
            raise ValueError(f"unusable framer limits: {self}")


class FixFramer:
    """Cut a FIX 4.2 byte stream into messages; see the module docstring."""

    __slots__ = (
        "_buf",
        "_garbage",
        "_garbage_sample",
        "_limits",
        "_need",
        "_resyncing",
        "_strict",
    )

    def __init__(self, limits: FramerLimits | None = None, *, strict: bool = True) -> None:
        self._limits = limits or FramerLimits()
        self._strict = strict
        self._buf = bytearray()
        self._need = 0  # bytes required in _buf before scanning again
        self._garbage = 0  # length of the current unreported garbage run
        self._garbage_sample = b""
        self._resyncing = False  # skipping after a bad frame: no GarbageData for it

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a message."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message | FixError]:
        """Add ``data`` and return every message or error completed by it, in order."""
        out: list[Message | FixError] = []
        if self._buf:
            self._buf += data
            if len(self._buf) < self._need:
                return out
            buf = bytes(self._buf)
        else:
            buf = data if isinstance(data, bytes) else bytes(data)
        self._need = 0
        pos = self._run(buf, out)
        self._buf = bytearray(buf[pos:])
        return out

    def close(self) -> list[Message | FixError]:
        """End of stream: report what is left (a truncated message and/or garbage)."""
        out: list[Message | FixError] = []
        buf = bytes(self._buf)
        self._buf = bytearray()
        self._need = 0
        if buf.startswith(_START):
            self._flush_garbage(out)
            out.append(TruncatedMessage(texts.TRUNCATED, data=buf[: self._limits.garbage_sample]))
        elif buf:
            self._skip(buf, out)
        self._flush_garbage(out)
        self._resyncing = False
        return out

    # ------------------------------------------------------------------ internals

    def _skip(self, garbage: bytes, out: list[Message | FixError]) -> None:
        if self._resyncing or not garbage:
            return
        limits = self._limits
        run = limits.max_garbage_run
        sample = limits.garbage_sample
        while garbage:
            piece = garbage[: run - self._garbage]
            garbage = garbage[len(piece) :]
            if len(self._garbage_sample) < sample:
                self._garbage_sample += piece[: sample - len(self._garbage_sample)]
            self._garbage += len(piece)
            if self._garbage >= run:
                self._flush_garbage(out)

    def _flush_garbage(self, out: list[Message | FixError]) -> None:
        if self._garbage:
            out.append(GarbageData(texts.BEGIN_STRING_MISSING, tag=8, data=self._garbage_sample))
            self._garbage = 0
            self._garbage_sample = b""

    def _run(self, buf: bytes, out: list[Message | FixError]) -> int:
        """Scan ``buf`` from 0; return the index of the first byte to keep."""
        n = len(buf)
        pos = 0
        max_size = self._limits.max_message_size
        strict = self._strict
        append = out.append
        startswith = buf.startswith
        find = buf.find
        while pos < n:
            if not startswith(_START, pos):
                start = find(_START, pos)
                if start < 0:
                    # keep a tail that may be the beginning of "8=FIX"
                    keep = n
                    for k in range(min(4, n - pos), 0, -1):
                        if _START.startswith(buf[n - k :]):
                            keep = n - k
                            break
                    self._skip(buf[pos:keep], out)
                    return keep
                self._skip(buf[pos:start], out)
                pos = start
            if self._resyncing:
                self._resyncing = False
            if self._garbage:
                self._flush_garbage(out)
            # fast path: 8=FIX.4.2 SOH 9=<digits> SOH ... 10=ddd SOH, all of it in buf
            if startswith(_HEAD, pos):
                soh = find(SOH, pos + 12, pos + 12 + MAX_BODY_LENGTH_DIGITS + 1)
                if soh > 0:
                    length_text = buf[pos + 12 : soh]
                    if length_text.isdigit():
                        end = soh + 8 + int(length_text)
                        if end <= n and end - pos <= max_size:
                            try:
                                msg = _decode_framed(buf[pos:end], end - 7 - pos, strict)
                            except FixError as exc:  # well framed, bad fields
                                append(exc)
                                pos = end
                                continue
                            if msg is not None:
                                append(msg)
                                pos = end
                                continue
            status, a, b, err = _scan_frame(buf, pos, max_size)
            if status == FRAMED:
                raw = buf[pos:a]
                try:
                    msg = _parse(raw, b - pos, strict)
                except FixError as exc:
                    append(exc)
                else:
                    if raw.startswith(_HEAD) or msg.begin_string == BEGIN_STRING:
                        append(msg)
                    else:
                        append(
                            BeginStringIncorrect(
                                texts.BEGIN_STRING_INCORRECT, tag=8, data=msg.begin_string
                            )
                        )
                pos = a
            elif status == NEED_MORE:
                self._need = a
                return pos
            else:
                assert status == BAD_FRAME and err is not None
                append(err)
                self._resyncing = a == pos + 1
                pos = a
        return pos
