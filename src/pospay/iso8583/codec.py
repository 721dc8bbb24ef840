"""Packing and unpacking messages with `SPEC`, strictly.

`encode` packs with pyiso8583 after checking content. `decode` unpacks with pyiso8583
too, then accepts only what `encode` would have written — pyiso8583 reads what it can
make sense of (a length prefix is read by Python's `int`), so these checks are ours:

- the MTI is four ASCII digits; a bitmap bit names a field of the layout; the secondary
  bitmap is there only when a field from 65 to 128 is (never all zero);
- a length prefix is ASCII digits, nothing else (no sign, space, underscore or control
  byte, all of which Python's `int` would take);
- a numeric field holds digits, field 35 track 2 characters, every other text field
  printable ASCII (0x20 to 0x7E); binary fields are raw bytes;
- and, as a safety net, packing what was decoded gives back exactly the bytes received.

Every fault is a `MessageFormatError` naming the field and the byte offset. A field
whose length prefix or extent is wrong stops the reading (what follows cannot be
located); a field whose content is wrong is skipped over, so that an error answer can
still echo the good fields after it (`MessageFormatError.partial`): pyiso8583 reads text
fields as Latin-1 for that, so that any byte decodes and the content check names it.

`Received` keeps a decoded request together with the bytes it arrived as, and where
each field lay in them: the MAC is checked over those bytes (`pospay.security.mac`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import iso8583
from pospay.errors import MessageFormatError
from pospay.iso8583.spec import SPEC

Message = dict[str, str]
# Where a field lies in a packed message: [start, end) byte offsets, length prefix included.
Span = tuple[int, int]

# Fields whose content must be decimal digits.
NUMERIC_FIELDS = frozenset(
    {"2", "3", "4", "7", "11", "12", "13", "14", "15", "22", "23", "25", "32", "49", "70", "90"}
    | {"103"}
)
TRACK2_FIELD = "35"
_DIGITS = frozenset("0123456789")
_TRACK2_CHARS = frozenset("0123456789=D")
_PRINTABLE = frozenset(map(chr, range(0x20, 0x7F)))
_MTI_LENGTH = 4
_BITMAP_LENGTH = 8
_LAST_PRIMARY_FIELD = 64
_HEAD = ("t", "p", "1")  # the MTI and the bitmaps: not fields of a value

assert SPEC["h"]["max_len"] == 0, "the link has no message header"
assert SPEC["p"]["data_enc"] == SPEC["1"]["data_enc"] == "b", "bitmaps are binary"


@dataclass(frozen=True, slots=True)
class Received:
    """A message as it arrived: its bytes, what they decode to, and each field's span.

    Build it with `Received.from_wire`, which decodes strictly (see the module).
    """

    wire: bytes
    message: Message
    spans: Mapping[str, Span]

    @classmethod
    def from_wire(cls, data: bytes) -> Received:
        """Decode `data`; raise `MessageFormatError` as `decode` does."""
        wire = bytes(data)
        message, spans = _read(wire)
        return cls(wire, message, spans)

    def without(self, field: str) -> bytes:
        """The received bytes without primary field `field` (2 to 64) and with its bitmap
        bit clear: what a MAC in field 64 covers, taken from the wire, never re-packed.
        The bytes as received if the field is absent."""
        number = int(field)
        if not 2 <= number <= _LAST_PRIMARY_FIELD:
            raise ValueError(f"field {field} is not a primary data field")
        span = self.spans.get(field)
        if span is None:
            return self.wire
        bitmap = bytearray(self.wire[_MTI_LENGTH : _MTI_LENGTH + _BITMAP_LENGTH])
        bitmap[(number - 1) // 8] &= ~(0x80 >> ((number - 1) % 8))
        start, end = span
        head = self.wire[:_MTI_LENGTH] + bytes(bitmap)
        return head + self.wire[_MTI_LENGTH + _BITMAP_LENGTH : start] + self.wire[end:]


def encode(message: Mapping[str, str]) -> bytes:
    """Pack `message` (field number -> value, "t" for the MTI) into bytes."""
    document = {key: value for key, value in message.items() if key not in ("p", "1")}
    for field in document:
        if field not in SPEC:
            raise MessageFormatError(f"field {field} is not in the layout", field=field)
    for field in ("t", *document):
        fault = _content_fault(field, document.get(field, ""))
        if fault is not None:
            raise MessageFormatError(fault, field=field, partial=_safe(document))
    try:
        packed, _ = iso8583.encode(document, SPEC)
    except iso8583.EncodeError as error:
        raise MessageFormatError(str(error), field=error.field) from None
    return bytes(packed)


def decode(data: bytes) -> Message:
    """Unpack `data`; raise `MessageFormatError` (with `.field`, `.pos`, `.partial`) if unusable."""
    message, _ = _read(bytes(data))
    return message


# The layout as `decode` hands it to pyiso8583: text fields read as Latin-1, in which
# every byte decodes, so that a bad byte is the content check's to name and not a stop.
_READING_SPEC = {
    key: {**field, "data_enc": "latin-1"} if field["data_enc"] == "ascii" else field
    for key, field in SPEC.items()
}


def _read(data: bytes) -> tuple[Message, dict[str, Span]]:
    mti = data[:_MTI_LENGTH].decode("latin-1")
    if len(mti) != _MTI_LENGTH or not set(mti) <= _DIGITS:
        raise MessageFormatError(f"MTI {mti!r} is not four digits", field="t", pos=0)
    message: Message = {"t": mti}
    spans: dict[str, Span] = {"t": (0, _MTI_LENGTH)}
    pos = _check_bitmaps(data, message, spans)
    try:
        decoded, encoded = iso8583.decode(bytearray(data), _READING_SPEC)
    except iso8583.DecodeError as error:
        read = {key: value for key, value in error.doc_dec.items() if isinstance(value, str)}
        # A field read before the fault may still hold bad content: echo only good ones.
        good = {key: value for key, value in read.items() if _content_fault(key, value) is None}
        prefix = error.doc_enc.get(error.field, {}).get("len", b"")
        prefix_fault = _prefix_fault(error.field, prefix)
        if prefix_fault is not None:  # where the field starts: after the ones read whole
            fields = (parts for key, parts in error.doc_enc.items() if key not in _HEAD)
            pos += sum(len(parts["len"]) + len(parts["data"]) for parts in fields) - len(prefix)
        raise MessageFormatError(
            prefix_fault or error.msg,
            field=error.field,
            pos=pos if prefix_fault is not None else error.pos,
            partial=_safe(good),
        ) from None
    # The first content fault, raised once the structure has been checked to the end (or
    # to the first structural fault, whichever comes first in the bytes).
    first: MessageFormatError | None = None
    for field, parts in encoded.items():
        if field in _HEAD:
            continue
        prefix, raw = parts["len"], parts["data"]
        prefix_fault = _prefix_fault(field, prefix)
        if prefix_fault is not None:
            fault = MessageFormatError(prefix_fault, field=field, pos=pos)
            raise _with_partial(first or fault, message)
        end = pos + len(prefix) + len(raw)
        spans[field] = (pos, end)
        value = decoded[field]
        message[field] = value
        fault_text = _content_fault(field, value)
        if fault_text is not None and first is None:
            first = MessageFormatError(fault_text, field=field, pos=pos + len(prefix))
        pos = end
    if first is not None:
        raise _with_partial(first, message)
    _check_canonical(data, message, spans)
    return message, spans


def _prefix_fault(field: str, prefix: bytes) -> str | None:
    """Why `prefix`, as read for `field`, is not a length prefix, or None if it is one (or
    the field has none). pyiso8583 reads a prefix with `int`, which takes a sign, spaces
    and underscores; on this link a prefix is ASCII digits and nothing else."""
    length = SPEC[field]["len_type"] if field in SPEC else 0
    if not length or (len(prefix) == length and prefix.isdigit()):
        return None
    if len(prefix) < length:
        return f"field {field}: the message ends inside its length prefix"
    return f"field {field}: length prefix {prefix!r} is not {length} ASCII digits"


def _check_bitmaps(data: bytes, message: Message, spans: dict[str, Span]) -> int:
    """Check what the bitmaps announce before pyiso8583 reads them (it would take bit 65
    for a third bitmap); return where the first field starts."""
    pos = _MTI_LENGTH
    for key, offset in (("p", 0), ("1", 64)):
        if key == "1" and not data[_MTI_LENGTH] & 0x80:
            break
        bitmap = data[pos : pos + _BITMAP_LENGTH]
        if len(bitmap) != _BITMAP_LENGTH:
            raise MessageFormatError(
                f"bitmap {key} is cut off: {len(bitmap)} of 8 bytes",
                field=key,
                pos=pos,
                partial=_safe(message),
            )
        value = int.from_bytes(bitmap, "big")
        announced = [str(offset + bit) for bit in range(1, 65) if value & (1 << (64 - bit))]
        for field in announced:
            if field not in SPEC:
                # Not a field of this link: the rest cannot be read, nor answered (docs §7).
                raise MessageFormatError(
                    f"field {field} is not in the layout", field=field, pos=pos
                )
        if key == "1" and not announced:
            raise MessageFormatError(
                "bit 1 announces a secondary bitmap, but it names no field from 65 to 128",
                field=key,
                pos=pos,
                partial=_safe(message),
            )
        spans[key] = (pos, pos + _BITMAP_LENGTH)
        pos += _BITMAP_LENGTH
    return pos


def _content_fault(field: str, value: str) -> str | None:
    """Why `value` cannot be the content of `field`, or None if it can."""
    if field == "t":
        if len(value) != _MTI_LENGTH or not set(value) <= _DIGITS:
            return f"MTI {value!r} is not four digits"
        return None
    if SPEC[field]["data_enc"] == "b":
        return None  # raw bytes; pyiso8583 checks the hex of an encoded value
    if field in NUMERIC_FIELDS:
        return None if value and set(value) <= _DIGITS else f"field {field} must be digits"
    if field == TRACK2_FIELD:
        if set(value) <= _TRACK2_CHARS:
            return None
        return f"field {field} holds characters outside track 2"
    if set(value) <= _PRINTABLE:
        return None
    return f"field {field} must be printable ASCII (0x20 to 0x7E)"


def _check_canonical(data: bytes, message: Message, spans: Mapping[str, Span]) -> None:
    """Packing `message` again must give `data` byte for byte; else name the first
    field that differs. The checks above should make this unreachable."""
    try:
        packed = encode(message)
    except MessageFormatError as fault:
        raise _with_partial(fault, message) from None
    if packed == data:
        return
    at = next(
        (i for i, (a, b) in enumerate(zip(packed, data, strict=False)) if a != b),
        min(len(packed), len(data)),
    )
    field = next((key for key, (start, end) in spans.items() if start <= at < end), "t")
    raise MessageFormatError(
        f"not in canonical form: field {field} packs to different bytes (offset {at})",
        field=field,
        pos=at,
        partial=_safe(message),
    )


def _with_partial(fault: MessageFormatError, message: Message) -> MessageFormatError:
    return MessageFormatError(str(fault), field=fault.field, pos=fault.pos, partial=_safe(message))


_ECHOABLE = ("t", "3", "4", "7", "11", "41", "42", "49")


def _safe(message: Mapping[str, str]) -> dict[str, str]:
    """The fields an error response may echo: never card data, and only values that
    pass their own checks, so that the echo itself can be packed."""
    echoable = (key for key in _ECHOABLE if key in message and _echoable(key, message[key]))
    return {key: message[key] for key in echoable}


def _echoable(field: str, value: str) -> bool:
    if SPEC[field]["len_type"] == 0 and len(value) != SPEC[field]["max_len"]:
        return False
    return _content_fault(field, value) is None
