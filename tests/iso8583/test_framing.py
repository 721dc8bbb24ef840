"""Frames on the link: a 2-byte big-endian length, then the message."""

from __future__ import annotations

import asyncio
import socket

import pytest

from pospay.errors import MessageFormatError
from pospay.iso8583 import MAX_FRAME, frame, read_frame, write_frame


def reader_of(data: bytes, *, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


def test_frame_prefixes_the_big_endian_length() -> None:
    assert frame(b"0800") == b"\x00\x040800"
    assert frame(b"x" * 300)[:2] == b"\x01\x2c"
    assert frame(b"x" * MAX_FRAME)[:2] == MAX_FRAME.to_bytes(2, "big")


@pytest.mark.parametrize("size", [0, MAX_FRAME + 1])
def test_frame_refuses_an_empty_or_oversize_message(size: int) -> None:
    with pytest.raises(MessageFormatError) as caught:
        frame(b"x" * size)
    assert caught.value.field == "frame"


async def test_frames_are_read_one_after_another() -> None:
    reader = reader_of(frame(b"first") + frame(b"second"))
    assert await read_frame(reader) == b"first"
    assert await read_frame(reader) == b"second"
    assert await read_frame(reader) is None


async def test_a_frame_split_across_reads_is_reassembled() -> None:
    reader = asyncio.StreamReader()
    framed = frame(b"0800" + bytes(8))

    async def trickle() -> None:
        for byte in framed:
            reader.feed_data(bytes([byte]))
            await asyncio.sleep(0)
        reader.feed_eof()

    feeding = asyncio.create_task(trickle())
    assert await read_frame(reader) == b"0800" + bytes(8)
    await feeding


async def test_clean_close_between_frames_is_not_an_error() -> None:
    assert await read_frame(reader_of(b"")) is None


async def test_zero_length_frame_is_a_framing_error() -> None:
    with pytest.raises(MessageFormatError, match="outside") as caught:
        await read_frame(reader_of(b"\x00\x00" + frame(b"0800")))
    assert caught.value.field == "frame"
    assert caught.value.pos == 0


async def test_oversize_frame_is_refused_before_its_body_is_read() -> None:
    # The header promises more than MAX_FRAME; no body follows and the stream stays
    # open, so a reader that waited for the body would hang here.
    header = (MAX_FRAME + 1).to_bytes(2, "big")
    with pytest.raises(MessageFormatError) as caught:
        await asyncio.wait_for(read_frame(reader_of(header, eof=False)), timeout=1)
    assert caught.value.field == "frame"


async def test_largest_frame_is_accepted() -> None:
    body = b"y" * MAX_FRAME
    assert await read_frame(reader_of(MAX_FRAME.to_bytes(2, "big") + body)) == body


@pytest.mark.parametrize(
    "data",
    [b"\x00", b"\x00\x10" + b"short", frame(b"complete")[:-1]],
    ids=["half-header", "short-body", "one-byte-missing"],
)
async def test_close_inside_a_frame_is_an_incomplete_read(data: bytes) -> None:
    with pytest.raises(asyncio.IncompleteReadError):
        await read_frame(reader_of(data))


async def connected_pair() -> tuple[
    tuple[asyncio.StreamReader, asyncio.StreamWriter],
    tuple[asyncio.StreamReader, asyncio.StreamWriter],
]:
    left, right = socket.socketpair()
    return await asyncio.open_connection(sock=left), await asyncio.open_connection(sock=right)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()


async def test_write_frame_sends_one_frame_over_a_socket() -> None:
    (reader, receiving_end), (_, writer) = await connected_pair()
    await write_frame(writer, b"0810")
    await write_frame(writer, b"0210")
    await close(writer)
    assert await read_frame(reader) == b"0810"
    assert await read_frame(reader) == b"0210"
    assert await read_frame(reader) is None
    await close(receiving_end)


async def test_write_frame_refuses_an_oversize_message_and_writes_nothing() -> None:
    (reader, receiving_end), (_, writer) = await connected_pair()
    with pytest.raises(MessageFormatError):
        await write_frame(writer, b"z" * (MAX_FRAME + 1))
    await close(writer)
    assert await reader.read() == b""
    await close(receiving_end)
