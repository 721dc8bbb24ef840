"""Frames on the TCP link: a 2-byte big-endian length, then that many bytes of message.

A length of zero or above `MAX_FRAME` is a framing error: the peer is not speaking
this protocol, and the connection is closed rather than guessed at.
"""

from __future__ import annotations

import asyncio
import struct

from pospay.errors import MessageFormatError

MAX_FRAME = 8192
_HEADER = struct.Struct(">H")


def frame(message: bytes) -> bytes:
    """`message` with its length header."""
    if not 0 < len(message) <= MAX_FRAME:
        raise MessageFormatError(f"message of {len(message)} bytes cannot be framed", field="frame")
    return _HEADER.pack(len(message)) + message


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The next message, or None if the peer closed the connection between frames.

    Raises `MessageFormatError` for a bad length and `asyncio.IncompleteReadError`
    if the peer closed in the middle of a frame.
    """
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            return None
        raise
    (length,) = _HEADER.unpack(header)
    if not 0 < length <= MAX_FRAME:
        raise MessageFormatError(
            f"frame length {length} is outside 1..{MAX_FRAME}", field="frame", pos=0
        )
    return await reader.readexactly(length)


async def write_frame(writer: asyncio.StreamWriter, message: bytes) -> None:
    writer.write(frame(message))
    await writer.drain()
