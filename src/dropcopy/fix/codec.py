"""FIX 4.2 tag=value codec: :class:`Message`, :func:`decode`, :func:`encode`, :func:`checksum`.

Theory of operation
-------------------
A message is the ordered list of its ``(tag, value)`` fields, 8 / 9 first and 10 last, values
being the bytes on the wire. :func:`decode` takes exactly one complete message; the stream
framer (:mod:`dropcopy.fix.framing`) cuts a byte stream into such messages and shares the same
field parser.

Decoding is built for speed: the common message -- one ``=`` per field, printable ASCII, no data
field -- is parsed with a handful of C-level passes and no per-field Python code:

1. the frame: ``8=FIX.4.2`` SOH ``9=<n>`` SOH, ``10=`` exactly where 9 says, and the checksum.
   The byte sum comes from :func:`zlib.adler32` started at 0: its low half *is* the plain byte
   sum while that sum is below 65521 (any 256 bytes, or 515 ASCII bytes), so longer input is
   summed in such chunks;
2. ``raw.translate(None, <printable bytes except '='>)`` must leave exactly ``=\x01`` per
   field, which proves at once that every field has exactly one ``=`` and that the message is
   printable ASCII;
3. one ``replace(b"=", SOH).split(SOH)`` gives tags and values alternately; the tag texts
   joined with ``=`` key a cache of validated ``int`` tag tuples (messages of one type share a
   layout); otherwise tags go through a cache of canonical tag numbers that leaves out the
   data tags, so a data field or an odd tag falls back to the general parser.

The general parser finds each data field (213, 355, 96, 1402, 91, 89 right after its length
tag) with one regular expression, leftmost first -- so never inside an earlier data value --,
splits the ordinary fields in between as above (field by field only when a value holds ``=``)
and takes the data value by its length, so it may hold SOH, ``=`` or a whole FIX message. Both
paths give the same result (a test checks it).

Lookup by tag builds a ``dict`` on first use (first occurrence wins). Data fields are only
length-read when their length tag immediately precedes them (FIX 4.2); otherwise they are
ordinary fields.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Final, TypeAlias

from . import texts
from .errors import (
    BeginStringIncorrect,
    BodyLengthIncorrect,
    BodyLengthMissing,
    ChecksumGarbled,
    ChecksumIncorrect,
    ChecksumMissing,
    DecodeError,
    FieldFormatError,
    FixEncodeError,
    FixError,
    GarbageData,
    GroupCountMismatch,
    MessageTooLarge,
    TruncatedMessage,
)
from .tags import DATA_LENGTH_TAG

__all__ = [
    "BEGIN_STRING",
    "SOH",
    "FieldValue",
    "Message",
    "checksum",
    "decode",
    "encode",
    "encode_body",
    "encode_data_last",
    "field_value_bytes",
]

SOH: Final = b"\x01"
BEGIN_STRING: Final = b"FIX.4.2"

#: A value handed to :func:`encode`: bytes as they go on the wire, ``str`` (ASCII),
#: ``int``, ``Decimal`` (fixed-point text) or ``bool`` (``Y``/``N``).
FieldValue: TypeAlias = bytes | str | int | Decimal

_HEAD: Final = b"8=FIX.4.2\x019="  # 12 bytes
_PRINTABLE: Final = bytes(range(0x20, 0x7F))
_PRINTABLE_NOT_EQ: Final = _PRINTABLE.replace(b"=", b"")
_MAX_FAST_FIELDS: Final = 2048
_EQ_SOH: Final = b"=\x01" * _MAX_FAST_FIELDS
_SOHS: Final = SOH * _MAX_FAST_FIELDS
# sum(b"10=") + SOH: the trailer's bytes that are not checksum digits.
_TRAILER_SUM: Final = sum(b"10=\x01")
_RESERVED_TAGS: Final = frozenset({8, 9, 10, 35})
_TRAILER_TAGS: Final = frozenset({93, 89, 10})
_DECIMAL_RE: Final = re.compile(rb"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")

#: Named limits of the frame header (also used by the stream framer).
MAX_BEGIN_STRING_LENGTH: Final = 16
MAX_BODY_LENGTH_DIGITS: Final = 9
MAX_CHECKSUM_LENGTH: Final = 16
MAX_TAG_DIGITS: Final = 9


# --------------------------------------------------------------------------- checksum


def _byte_sum(data: bytes | bytearray) -> int:
    """Exact sum of the bytes of ``data``."""
    n = len(data)
    # Started at 0, adler32's low 16 bits are the byte sum modulo 65521: exact while the sum
    # stays below 65521, i.e. for up to 256 arbitrary bytes or 515 ASCII bytes
    # (127 * 515 = 65405). Longer data is summed in such chunks.
    if n <= 256:
        return zlib.adler32(data, 0) & 0xFFFF
    step = 515 if data.isascii() else 256
    if n <= step:
        return zlib.adler32(data, 0) & 0xFFFF
    adler32 = zlib.adler32
    if n <= 2 * step:
        return (adler32(data[:step], 0) & 0xFFFF) + (adler32(data[step:], 0) & 0xFFFF)
    total = 0
    for i in range(0, n, step):
        total += adler32(data[i : i + step], 0) & 0xFFFF
    return total


def checksum(data: bytes | bytearray | memoryview) -> int:
    """FIX CheckSum (10) of ``data``: the sum of its bytes modulo 256."""
    return _byte_sum(data if not isinstance(data, memoryview) else data.tobytes()) & 0xFF


# --------------------------------------------------------------------------- tags

# Canonical tag text -> int, for the fast path. Data tags are left out on purpose: a data
# field makes the fast path fall back to the general parser, which reads it by length.
_TAG_CACHE_LIMIT: Final = 20000
_TAG_INT: dict[bytes, int] = {
    str(t).encode(): t for t in range(1, 2000) if t not in DATA_LENGTH_TAG
}
_TAG_GET: Final = _TAG_INT.__getitem__


def _tag_of(text: bytes) -> int:
    """Parse a tag number strictly: 1-9 digits, no sign, no leading zero, not 0."""
    tag = _TAG_INT.get(text)
    if tag is not None:
        return tag
    if (
        not text
        or len(text) > MAX_TAG_DIGITS
        or not text.isdigit()
        or text[0] == 0x30  # leading zero, or the tag 0
    ):
        raise DecodeError(texts.MALFORMED_FIELD, data=text[:32])
    tag = int(text)
    if tag not in DATA_LENGTH_TAG and len(_TAG_INT) < _TAG_CACHE_LIMIT:
        _TAG_INT[text] = tag
    return tag


def _int_value(value: bytes, tag: int) -> int:
    if value.isdigit() or (value[:1] == b"-" and value[1:].isdigit()):
        return int(value)
    raise FieldFormatError(
        f"Tag {tag} has an invalid integer value",
        tag=tag,
        session_reject_reason=6,
    )


# --------------------------------------------------------------------------- message


class Message:
    """A decoded FIX message: ordered ``(tag, value)`` fields, values as wire bytes.

    The fields include 8 BeginString, 9 BodyLength (first) and 10 CheckSum (last).
    :attr:`raw` holds the exact bytes the message was decoded from or encoded to.
    Build one with :func:`decode`, :meth:`build` or the stream framer.
    """

    __slots__ = ("_index", "_tags", "_values", "raw")

    raw: bytes
    _tags: tuple[int, ...]
    _values: list[bytes]
    _index: dict[int, bytes] | None

    def __init__(self, raw: bytes, tags: tuple[int, ...], values: list[bytes]) -> None:
        self.raw = raw
        self._tags = tags
        self._values = values
        self._index = None

    @classmethod
    def build(cls, msg_type: str | bytes, fields: Iterable[tuple[int, FieldValue]]) -> Message:
        """Encode ``fields`` (see :func:`encode`) and return the decoded message."""
        return decode(encode(msg_type, fields))

    # --- whole message

    @property
    def msg_type(self) -> str | None:
        """35 MsgType, when it is the third field (where FIX 4.2 puts it), else ``None``."""
        tags = self._tags
        if len(tags) > 3 and tags[2] == 35:
            return self._values[2].decode("latin-1")
        return None

    @property
    def begin_string(self) -> bytes:
        return self._values[0]

    @property
    def fields(self) -> list[tuple[int, bytes]]:
        """All fields in wire order, 8, 9 and 10 included."""
        return list(zip(self._tags, self._values, strict=True))

    @property
    def body_fields(self) -> list[tuple[int, bytes]]:
        """The fields from 35 MsgType up to, not including, 10 CheckSum."""
        return list(zip(self._tags[2:-1], self._values[2:-1], strict=True))

    @property
    def tags(self) -> list[int]:
        """Tag numbers in wire order (a copy)."""
        return list(self._tags)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return zip(self._tags, self._values, strict=True)

    def __len__(self) -> int:
        return len(self._tags)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message):
            return self.raw == other.raw
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"Message({self.as_text()!r})"

    def as_text(self, sep: str = "|") -> str:
        """The message with SOH shown as ``sep`` (data fields included verbatim)."""
        return self.raw.decode("latin-1").replace("\x01", sep)

    def encode(self) -> bytes:
        """The wire bytes (same as :attr:`raw`)."""
        return self.raw

    # --- lookup

    def _lookup(self) -> dict[int, bytes]:
        index = self._index
        if index is None:
            tags, values = self._tags, self._values
            index = dict(zip(tags, values, strict=True))
            if len(index) != len(tags):  # repeated tags: the first occurrence wins
                index = dict(zip(reversed(tags), reversed(values), strict=True))
            self._index = index
        return index

    def get(self, tag: int, default: bytes | None = None) -> bytes | None:
        """Value of the first ``tag`` field, or ``default``."""
        return self._lookup().get(tag, default)

    def __getitem__(self, tag: int) -> bytes:
        return self._lookup()[tag]

    def __contains__(self, tag: object) -> bool:
        return tag in self._lookup()

    def get_all(self, tag: int) -> list[bytes]:
        """Values of every ``tag`` field, in order."""
        return [v for t, v in zip(self._tags, self._values, strict=True) if t == tag]

    def get_str(self, tag: int, default: str | None = None) -> str | None:
        """Value as ``str`` (Latin-1, so any byte decodes), or ``default``."""
        value = self._lookup().get(tag)
        return default if value is None else value.decode("latin-1")

    def get_int(self, tag: int, default: int | None = None) -> int | None:
        """Value as ``int``; :class:`FieldFormatError` if it is not ``-?[0-9]+``."""
        value = self._lookup().get(tag)
        return default if value is None else _int_value(value, tag)

    def get_bool(self, tag: int, default: bool | None = None) -> bool | None:
        """``Y`` -> True, ``N`` -> False; :class:`FieldFormatError` otherwise."""
        value = self._lookup().get(tag)
        if value is None:
            return default
        if value == b"Y":
            return True
        if value == b"N":
            return False
        raise FieldFormatError(
            f"Tag {tag} has an invalid boolean value", tag=tag, session_reject_reason=6
        )

    def get_decimal(self, tag: int, default: Decimal | None = None) -> Decimal | None:
        """Value as :class:`~decimal.Decimal` (FIX Price/Qty/Float text)."""
        value = self._lookup().get(tag)
        if value is None:
            return default
        if _DECIMAL_RE.fullmatch(value) is None:
            raise FieldFormatError(
                f"Tag {tag} has an invalid decimal value", tag=tag, session_reject_reason=6
            )
        return Decimal(value.decode("ascii"))

    def group(
        self,
        count_tag: int,
        delimiter_tag: int,
        members: Collection[int] | None = None,
    ) -> list[list[tuple[int, bytes]]]:
        """Entries of the repeating group announced by ``count_tag`` (NumInGroup).

        Each entry starts with ``delimiter_tag`` and keeps wire order. An entry ends at the next
        delimiter, at a tag already present in it, at a trailer tag (93, 89, 10), at a tag not
        in ``members`` (when given), or -- without ``members`` -- at a tag that no earlier
        entry had. With a single entry and no ``members`` the group therefore runs to the end
        of the body: pass ``members`` when the group is followed by other fields.
        Returns ``[]`` when ``count_tag`` is absent or 0; raises :class:`GroupCountMismatch`
        when the entries found do not match the count.
        """
        tags, values = self._tags, self._values
        try:
            i = tags.index(count_tag)
        except ValueError:
            return []
        count = _int_value(values[i], count_tag)
        entries: list[list[tuple[int, bytes]]] = []
        if count == 0:
            return entries
        earlier: set[int] = set()
        current_tags: set[int] = set()
        current: list[tuple[int, bytes]] = []
        j = i + 1
        n = len(tags)
        while j < n:
            tag = tags[j]
            if tag == delimiter_tag:
                if len(entries) == count:
                    raise _group_mismatch(count_tag, count, len(entries) + 1)
                earlier |= current_tags
                current = [(tag, values[j])]
                current_tags = {tag}
                entries.append(current)
            elif (
                not entries
                or tag in _TRAILER_TAGS
                or tag in current_tags
                or (members is not None and tag not in members)
                or (members is None and len(entries) > 1 and tag not in earlier)
            ):
                break
            else:
                current.append((tag, values[j]))
                current_tags.add(tag)
            j += 1
        if len(entries) != count:
            raise _group_mismatch(count_tag, count, len(entries))
        return entries


def _group_mismatch(count_tag: int, count: int, found: int) -> GroupCountMismatch:
    return GroupCountMismatch(
        f"Incorrect NumInGroup count for repeating group: {count_tag}={count}, found {found}",
        tag=count_tag,
        session_reject_reason=16,
    )


# --------------------------------------------------------------------------- decoding


# A length field immediately followed by a data tag: "SOH <length tag>=<value> SOH <data tag>=".
_DATA_FIELD_RE: Final = re.compile(
    rb"\x01(212|354|95|1401|90|93)=([^\x01]*)\x01(213|355|96|1402|91|89)="
)


def _parse_general(raw: bytes, body_end: int, strict: bool) -> Message:
    """General parse of ``raw[:body_end]``; the checked ``10=xxx`` SOH trailer is appended.

    Runs of ordinary fields are split in one pass each; a data field is found with
    :data:`_DATA_FIELD_RE` (leftmost first, so never inside an earlier data value) and its value
    is taken by the length just before it.
    """
    tags: list[int] = []
    values: list[bytes] = []
    pos = 0
    search = _DATA_FIELD_RE.search
    while pos < body_end:
        at = max(pos - 1, 0)
        while True:
            m = search(raw, at, body_end)
            if m is None or DATA_LENGTH_TAG[int(m[3])] == int(m[1]):
                break
            at = m.start() + 1  # a length tag followed by another data tag: ordinary fields
        if m is None:
            _parse_region(raw, pos, body_end, strict, tags, values)
            break
        _parse_region(raw, pos, m.start() + 1, strict, tags, values)
        length_text = m[2]
        data_tag = int(m[3])
        if not length_text.isdigit() or len(length_text) > MAX_BODY_LENGTH_DIGITS:
            raise DecodeError(texts.DATA_LENGTH_INCORRECT, tag=DATA_LENGTH_TAG[data_tag])
        start = m.end()
        end = start + int(length_text)
        if end >= body_end or raw[end] != 1:
            raise DecodeError(texts.DATA_LENGTH_INCORRECT, tag=data_tag)
        tags.append(int(m[1]))
        values.append(length_text)
        tags.append(data_tag)
        values.append(raw[start:end])
        pos = end + 1
    tags.append(10)
    values.append(raw[body_end + 3 : -1])
    return Message(raw, tuple(tags), values)


def _parse_region(
    raw: bytes, start: int, end: int, strict: bool, tags: list[int], values: list[bytes]
) -> None:
    """Ordinary fields in ``raw[start:end]`` (``raw[end - 1]`` is SOH, or the region is empty)."""
    if start >= end:
        return
    region = raw[start:end]
    skeleton = region.translate(None, _PRINTABLE_NOT_EQ)
    if skeleton == _EQ_SOH[: len(skeleton)]:  # one "=" per field, printable
        flat = region.replace(b"=", SOH).split(SOH)
        tag_texts = flat[0:-1:2]
        try:
            tags += map(_TAG_GET, tag_texts)
        except KeyError:
            del tags[len(values) :]  # undo a partial extend
            tags += map(_tag_of, tag_texts)
        values += flat[1::2]
        return
    for field in region[:-1].split(SOH):
        tag_text, eq, value = field.partition(b"=")
        if not eq:
            raise DecodeError(texts.MALFORMED_FIELD, data=field[:32])
        tag = _tag_of(tag_text)
        if strict and value.translate(None, _PRINTABLE):
            raise DecodeError(texts.NON_PRINTABLE, tag=tag)
        tags.append(tag)
        values.append(value)


def _parse(raw: bytes, body_end: int, strict: bool) -> Message:
    """Fields of a framed message (the general path; :func:`decode` tries the fast one)."""
    return _parse_general(raw, body_end, strict)


# Frame scanning shared by decode() and the stream framer.
NEED_MORE: Final = 0
FRAMED: Final = 1
BAD_FRAME: Final = 2


def _scan_frame(buf: bytes, pos: int, max_size: int) -> tuple[int, int, int, FixError | None]:
    """Frame one message that starts at ``buf[pos]`` with ``8=FIX``.

    Returns ``(status, a, b, error)``:

    * ``(NEED_MORE, needed, 0, None)``: at least ``needed`` bytes from ``pos`` are required;
    * ``(FRAMED, end, body_end, None)``: ``buf[pos:end]`` is a message with a correct checksum,
      whose body ends at ``body_end`` (absolute index of ``10=``);
    * ``(BAD_FRAME, resume, 0, error)``: bad frame; scanning resumes at ``resume``.
    """
    n = len(buf)
    find = buf.find
    # --- 8=BeginString SOH
    soh1 = find(SOH, pos + 2, pos + 2 + MAX_BEGIN_STRING_LENGTH + 1)
    if soh1 < 0:
        if n - pos < 2 + MAX_BEGIN_STRING_LENGTH + 1:
            return NEED_MORE, n - pos + 1, 0, None
        return (
            BAD_FRAME,
            pos + 1,
            0,
            BeginStringIncorrect(
                texts.BEGIN_STRING_INCORRECT,
                outcome=GarbageData.default_outcome,
                tag=8,
                data=buf[pos : pos + 2 + MAX_BEGIN_STRING_LENGTH + 1],
            ),
        )
    # --- 9=BodyLength SOH
    if n < soh1 + 3:
        return NEED_MORE, soh1 + 3 - pos, 0, None
    if buf[soh1 + 1 : soh1 + 3] != b"9=":
        return (
            BAD_FRAME,
            pos + 1,
            0,
            BodyLengthMissing(texts.BODY_LENGTH_MISSING, tag=9, data=buf[pos : soh1 + 3]),
        )
    digits_at = soh1 + 3
    soh2 = find(SOH, digits_at, digits_at + MAX_BODY_LENGTH_DIGITS + 1)
    if soh2 < 0 and n < digits_at + MAX_BODY_LENGTH_DIGITS + 1:
        return NEED_MORE, n - pos + 1, 0, None
    if soh2 < 0 or not buf[digits_at:soh2].isdigit():
        # not an integer, or more digits than any message could need
        stop = soh2 + 1 if soh2 >= 0 else digits_at + MAX_BODY_LENGTH_DIGITS + 1
        return (
            BAD_FRAME,
            pos + 1,
            0,
            BodyLengthIncorrect(
                texts.body_length_incorrect("an integer"), tag=9, data=buf[pos:stop]
            ),
        )
    length_text = buf[digits_at:soh2]
    body_start = soh2 + 1
    body_end = body_start + int(length_text)
    if body_end + 7 - pos > max_size:
        return (
            BAD_FRAME,
            pos + 1,
            0,
            MessageTooLarge(texts.MESSAGE_TOO_LARGE, tag=9, data=buf[pos:body_start]),
        )
    # --- 10= where 9 says
    if n < body_end + 3:
        return NEED_MORE, body_end + 3 - pos, 0, None
    if buf[body_end : body_end + 3] != b"10=" or buf[body_end - 1] != 1:
        # Where was the trailer? Look only at bytes every chunking has by now.
        found = find(b"\x0110=", body_start - 1, body_end + 3)
        err: FixError
        if found >= 0:
            err = BodyLengthIncorrect(
                texts.body_length_incorrect(found + 1 - body_start),
                tag=9,
                data=buf[pos:body_start],
            )
        else:
            err = ChecksumMissing(texts.CHECKSUM_MISSING, tag=10, data=buf[pos:body_start])
        return BAD_FRAME, pos + 1, 0, err
    # --- checksum value up to SOH
    value_at = body_end + 3
    soh3 = find(SOH, value_at, value_at + MAX_CHECKSUM_LENGTH + 1)
    if soh3 < 0:
        if n < value_at + MAX_CHECKSUM_LENGTH + 1:
            return NEED_MORE, n - pos + 1, 0, None
        soh3 = value_at + MAX_CHECKSUM_LENGTH + 1  # value longer than the limit
        end = soh3
    else:
        end = soh3 + 1
    value = buf[value_at:soh3]
    if value.isdigit() and len(value) <= 3:
        if int(value) == _byte_sum(buf[pos:body_end]) & 0xFF:
            return FRAMED, end, body_end, None
        return (
            BAD_FRAME,
            end,
            0,
            ChecksumIncorrect(texts.CHECKSUM_INCORRECT, tag=10, rule="AD-06", data=value),
        )
    if len(value) > 3 and not value.isdigit():
        # seed 003 "Standard Trailer" (D-137), decision AD-06
        return (
            BAD_FRAME,
            end,
            0,
            ChecksumGarbled(texts.CHECKSUM_GARBLED, tag=10, rule="D-137", data=value),
        )
    # seed 003 "Messaging Integrity and Validation" (D-062), decision AD-06
    return (
        BAD_FRAME,
        end,
        0,
        ChecksumIncorrect(texts.CHECKSUM_INCORRECT, tag=10, rule="D-062", data=value),
    )


def _decode_any(raw: bytes, *, strict: bool = True) -> Message:
    """General decode of exactly one message; raises the precise :class:`FixError`."""
    if not raw.startswith(b"8=FIX"):
        raise GarbageData(texts.BEGIN_STRING_MISSING, tag=8, data=raw[:64])
    status, a, b, err = _scan_frame(raw, 0, len(raw) + 8)
    if status == NEED_MORE:
        raise TruncatedMessage(texts.TRUNCATED, data=raw[:64])
    if err is not None:
        raise err
    if a != len(raw):
        raise DecodeError(
            "Invalid FIX message. Unexpected bytes after the checksum.", data=raw[a : a + 64]
        )
    msg = _parse(raw, b, strict)
    if msg.begin_string != BEGIN_STRING:
        raise BeginStringIncorrect(texts.BEGIN_STRING_INCORRECT, tag=8, data=msg.begin_string)
    return msg


# "ddd" -> what (sum of all bytes, trailer included) & 0xFF must be for 10=ddd to be right.
_TRAILER_CHECK: Final = {
    b"%03d" % cs: (_TRAILER_SUM + sum(b"%03d" % cs) + cs) & 0xFF for cs in range(256)
}
# Tag layouts seen before: b"8=9=35=..." (tag texts joined with "=") -> validated int tags.
# Messages of one type mostly share a layout, so the per-tag conversion is skipped.
_LAYOUT_CACHE_LIMIT: Final = 4096
_LAYOUT_MAX_FIELDS: Final = 128  # bounds the cache's memory (keys of at most ~1 KiB)
_LAYOUTS: dict[bytes, tuple[int, ...]] = {}


def _decode_framed(raw: bytes, body_end: int, strict: bool) -> Message | None:
    """Fast path for a candidate frame ``raw`` (starting ``8=FIX.4.2`` SOH ``9=``) whose 9
    puts ``10=`` at ``body_end``: the message, or None when the frame needs the general
    checks (which then find the precise error)."""
    n = body_end + 7
    if len(raw) != n or not raw.startswith(b"\x0110=", body_end - 1) or raw[-1] != 1:
        return None
    if b"\x01212=" in raw:  # a 35=n: its data field makes the whole-message checks below moot
        if _TRAILER_CHECK.get(raw[-4:-1]) != _byte_sum(raw) & 0xFF:
            return None
        msg = _decode_data_last(raw, body_end)
        return msg if msg is not None else _parse_general(raw, body_end, strict)
    skeleton = raw.translate(None, _PRINTABLE_NOT_EQ)
    simple = skeleton == _EQ_SOH[: len(skeleton)]  # one "=" per field, printable ASCII
    if n <= 256 or (simple and n <= 515):
        total = zlib.adler32(raw, 0) & 0xFF
    else:
        total = _byte_sum(raw) & 0xFF
    if _TRAILER_CHECK.get(raw[-4:-1]) != total:
        return None
    if simple:
        flat = raw.replace(b"=", SOH).split(SOH)
        tag_texts = flat[0:-1:2]
        layout = b"=".join(tag_texts)
        tags = _LAYOUTS.get(layout)
        if tags is None:
            try:
                tags = tuple(map(_TAG_GET, tag_texts))
            except KeyError:
                return _parse_general(raw, body_end, strict)
            if len(_LAYOUTS) < _LAYOUT_CACHE_LIMIT and len(tags) <= _LAYOUT_MAX_FIELDS:
                _LAYOUTS[layout] = tags
        return Message(raw, tags, flat[1::2])
    return _parse_general(raw, body_end, strict)


def _decode_data_last(raw: bytes, body_end: int) -> Message | None:
    """Fast path for the Drop Copy 35=n shape (wire notes §2.1: 212/213 are the only body fields
    after the header): ordinary printable fields, then 212=<n> and a 213 of n bytes that ends the
    body. The first ``SOH 212=`` is the real tag (an ordinary value cannot hold SOH, and the data
    comes after it). Anything else returns None for the general parser."""
    i = raw.find(b"\x01212=", 0, body_end)
    if i < 0:
        return None
    j = raw.find(SOH, i + 5, i + 6 + MAX_BODY_LENGTH_DIGITS)
    if j < 0:
        return None
    length_text = raw[i + 5 : j]
    if not length_text.isdigit() or not raw.startswith(b"213=", j + 1):
        return None
    start = j + 5
    end = start + int(length_text)
    if end + 1 != body_end or raw[end] != 1:
        return None
    head = raw[: i + 1]
    skeleton = head.translate(None, _PRINTABLE_NOT_EQ)
    if skeleton != _EQ_SOH[: len(skeleton)]:
        return None
    flat = head.replace(b"=", SOH).split(SOH)
    tag_texts = flat[0:-1:2]
    layout = b"=".join(tag_texts) + b"=212=213"
    tags = _LAYOUTS.get(layout)
    if tags is None:
        try:
            tags = (*map(_TAG_GET, tag_texts), 212, 213, 10)
        except KeyError:
            return None
        if len(_LAYOUTS) < _LAYOUT_CACHE_LIMIT and len(tags) <= _LAYOUT_MAX_FIELDS:
            _LAYOUTS[layout] = tags
    values = flat[1::2]
    values += (length_text, raw[start:end], raw[body_end + 3 : -1])
    return Message(raw, tags, values)


def decode(raw: bytes, *, strict: bool = True) -> Message:
    """Decode exactly one complete FIX 4.2 message.

    Checks 8 (``FIX.4.2``), 9 and 10 and parses every field. With ``strict`` (the default)
    normal field values must be printable ASCII (Drop Copy 4.0 Message Specification); data
    fields may hold any byte. Raises a :class:`~dropcopy.fix.errors.FixError` subclass
    (framing errors, :class:`~dropcopy.fix.errors.DecodeError`) on bad input -- never another
    exception for ``bytes`` input.
    """
    if raw.startswith(_HEAD):
        soh = raw.find(SOH, 12, 12 + MAX_BODY_LENGTH_DIGITS + 1)
        if soh > 12:
            length_text = raw[12:soh]
            if length_text.isdigit():
                msg = _decode_framed(raw, soh + 1 + int(length_text), strict)
                if msg is not None:
                    return msg
    return _decode_any(raw, strict=strict)


# --------------------------------------------------------------------------- encoding


# tag -> SOH + b"<tag>=", for the tags seen so far (data tags are never cached).
_PREFIX: Final[dict[int, bytes]] = {}


def _new_prefix(tag: int) -> bytes | None:
    """Validate ``tag`` and cache its prefix; ``None`` for a data tag."""
    if not isinstance(tag, int) or isinstance(tag, bool) or tag <= 0:
        raise FixEncodeError(f"invalid tag {tag!r}")
    if tag in _RESERVED_TAGS:
        raise FixEncodeError(f"tag {tag} is computed by the encoder")
    if tag in DATA_LENGTH_TAG:
        return None
    prefix = b"\x01%d=" % tag
    _PREFIX[int(tag)] = prefix
    return prefix


def field_value_bytes(value: FieldValue) -> bytes:
    """The wire bytes of a value (see :data:`FieldValue`)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return value.encode("ascii")
        except UnicodeEncodeError:
            raise FixEncodeError(f"value {value!r} is not ASCII") from None
    if isinstance(value, bool):
        return b"Y" if value else b"N"
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise FixEncodeError(f"value {value!r} is not finite")
        return format(value, "f").encode("ascii")
    raise FixEncodeError(f"cannot encode {value!r} ({type(value).__name__})")


def encode(
    msg_type: str | bytes,
    fields: Iterable[tuple[int, FieldValue]],
    *,
    begin_string: bytes = BEGIN_STRING,
) -> bytes:
    """Encode a message: ``8``, ``9``, ``35=msg_type``, ``fields`` in the given order, ``10``.

    ``fields`` hold everything after 35 (header fields included, in the caller's order);
    8, 9, 10 and 35 are computed and may not appear in it. Normal values must be printable
    ASCII (no SOH). A data field (213, 355, 96, 1402, 91, 89) may hold any bytes: pass it with
    its length tag just before it (the length must be right) or alone (the length tag is
    inserted). Raises :class:`~dropcopy.fix.errors.FixEncodeError` on misuse.
    """
    mt = field_value_bytes(msg_type)
    parts: list[bytes] = [b"35=", mt]
    append = parts.append
    prefix_of = _PREFIX.get
    data_at: list[int] | None = None
    for tag, value in fields:
        cls = value.__class__
        if cls is not bytes:
            # non-ASCII str becomes UTF-8 and fails the printable check below
            if cls is str:
                value = value.encode()  # type: ignore[union-attr]
            elif cls is int:
                value = b"%d" % value  # type: ignore[str-format]
            else:
                value = field_value_bytes(value)
        prefix = prefix_of(tag)
        if prefix is None:
            prefix = _new_prefix(tag)
            if prefix is None:
                if data_at is None:
                    data_at = []
                data_at.append(_append_data_field(parts, tag, value))  # type: ignore[arg-type]
                continue
        append(prefix)
        append(value)  # type: ignore[arg-type]
    append(SOH)
    body = b"".join(parts)
    count = (len(parts) - 1) >> 1
    if data_at is None:
        checked = body
    else:  # data values may hold anything: check the rest with them blanked out
        blanked = parts[:]
        for i in data_at:
            blanked[i] = b""
        checked = b"".join(blanked)
    if count > _MAX_FAST_FIELDS or checked.translate(None, _PRINTABLE) != _SOHS[:count]:
        _check_values(parts, data_at or ())
    if not mt:
        raise FixEncodeError("empty MsgType")
    if not begin_string or begin_string.translate(None, _PRINTABLE_NOT_EQ):
        raise FixEncodeError(f"invalid BeginString {begin_string!r}")
    return _frame(begin_string, body)


def _frame(begin_string: bytes, body: bytes) -> bytes:
    """``body`` (from ``35=`` through its last SOH) with 8, 9 before it and 10 after it."""
    head = b"8=%s\x019=%d\x01" % (begin_string, len(body))
    return b"%s%s10=%03d\x01" % (head, body, (_byte_sum(head) + _byte_sum(body)) & 0xFF)


def encode_body(body: bytes) -> bytes:
    """The FIX.4.2 message of ``body``: 8 and 9 before it, 10 after it. ``body`` runs from
    ``35=`` through the SOH after its last field, as :func:`encode` builds it, its values
    already known to be valid (for hot paths that render a message's fields themselves)."""
    return _frame(BEGIN_STRING, body)


def encode_data_last(
    msg_type: str | bytes,
    fields: Iterable[tuple[int, FieldValue]],
    data_tag: int,
    data: bytes,
) -> bytes:
    """``encode(msg_type, [*fields, (length tag, len(data)), (data_tag, data)])``, the same
    bytes, faster: a message whose last field is a data field, such as a Drop Copy 35=n
    (212/213 after the header), is checked and framed without another pass over the data."""
    length_tag = DATA_LENGTH_TAG.get(data_tag)
    if length_tag is None:
        raise FixEncodeError(f"tag {data_tag} is not a data tag")
    ascii_str = isinstance(msg_type, str) and msg_type.isascii()
    mt = msg_type.encode() if ascii_str else field_value_bytes(msg_type)  # type: ignore[union-attr]
    parts: list[bytes] = [b"35=", mt]
    append = parts.append
    prefix_of = _PREFIX.get
    items = fields if isinstance(fields, list) else list(fields)
    for tag, value in items:
        cls = value.__class__
        if cls is not bytes:
            if cls is str:
                value = value.encode()  # type: ignore[union-attr]
            elif cls is int:
                value = b"%d" % value  # type: ignore[str-format]
            else:
                value = field_value_bytes(value)
        prefix = prefix_of(tag)
        if prefix is None:
            prefix = _new_prefix(tag)
        if prefix is None or tag == length_tag:  # a data field (or its length) among them
            return encode(msg_type, [*items, (length_tag, len(data)), (data_tag, data)])
        append(prefix)
        append(value)  # type: ignore[arg-type]
    head = b"".join(parts)
    count = (len(parts) - 2) >> 1
    if not mt or count > _MAX_FAST_FIELDS or head.translate(None, _PRINTABLE) != _SOHS[:count]:
        return encode(msg_type, [*items, (length_tag, len(data)), (data_tag, data)])
    body = b"%s\x01%d=%d\x01%d=%s\x01" % (head, length_tag, len(data), data_tag, data)
    return _frame(BEGIN_STRING, body)


def _append_data_field(parts: list[bytes], tag: int, value: bytes) -> int:
    """Append a data field (and its length field unless just given); return its index."""
    length_tag = DATA_LENGTH_TAG[tag]
    length_prefix = _PREFIX.get(length_tag)
    if length_prefix is None:
        length_prefix = _new_prefix(length_tag)
        assert length_prefix is not None  # length tags are never data tags
    if len(parts) >= 4 and parts[-2] is length_prefix:
        if parts[-1] != b"%d" % len(value):
            raise FixEncodeError(
                f"length tag {length_tag}={parts[-1]!r} does not match data tag {tag} "
                f"({len(value)} bytes)"
            )
    else:
        parts.append(length_prefix)
        parts.append(b"%d" % len(value))
    parts.append(b"\x01%d=" % tag)
    parts.append(value)
    return len(parts) - 1


def _check_values(parts: Sequence[bytes], data_at: Collection[int]) -> None:
    for i in range(1, len(parts) - 1, 2):
        value = parts[i]
        if i in data_at:
            continue
        if value.translate(None, _PRINTABLE):
            tag = parts[i - 1][1:-1].decode() if i > 1 else "35"
            raise FixEncodeError(f"tag {tag}: value {value!r} is not printable ASCII")


# --------------------------------------------------------------------------- helpers


def is_printable(value: bytes) -> bool:
    """True if ``value`` is printable ASCII (0x20-0x7E) only."""
    return not value.translate(None, _PRINTABLE)


__all__ += ["is_printable"]
