"""A host link that cannot be tricked (issue 21), over real TCP against a running host.

The client here signs in, unwraps its MAC key and sends frames byte by byte, so that it
can send what a pospay terminal never would: length prefixes Python's `int` would read
(" 06", "+06", "0_6", "\\x0b06"), an all-zero secondary bitmap, a control byte in a text
field, a bitmap bit for a field the layout lacks, a wrong MAC, and card requests from a
terminal that never signed in. Each is refused and changes nothing; a refusal before
authentication (58, A0) is in the refusal log, without card data, and does not spend
the request's duplicate key.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from databases import Database
from host_messages import CARD, MERCHANT, TERMINAL
from host_rig import answer, running_host
from nodes import host_node
from pospay.host.tables import host_journal, host_refusal, host_reversal
from pospay.iso8583 import Message, decode, encode
from pospay.iso8583.fields import amount_field
from pospay.iso8583.messages import original_data_field
from pospay.issuer.ledger import approved_movements
from pospay.runtime import HostNode
from pospay.security import _psec
from pospay.security.keys import decrypt_under, read_working_keys_field
from pospay.security.mac import with_mac
from pospay.security.test_keys import TEST_TMK

ANSWER_TIMEOUT = 15.0
NEVER_SIGNED_IN = "29999999"
LUHN_INVALID = CARD.pan[:-1] + str((int(CARD.pan[-1]) + 1) % 10)


def manual_sale(stan: str, minor: int, *, terminal: str = TERMINAL, pan: str = CARD.pan) -> Message:
    """A key-entered sale (entry mode 011) on the first test card."""
    return {
        "t": "0200",
        "2": pan,
        "3": "000000",
        "4": amount_field(minor),
        "7": "1126100000",
        "11": stan,
        "12": "100000",
        "13": "1126",
        "14": CARD.expiry,
        "22": "011",
        "25": "00",
        "41": terminal,
        "42": MERCHANT,
        "49": "156",
        "60": "000001",
    }


def about(original: Message, mti: str, stan: str) -> Message:
    """A reversal (0400) or status query (0600) naming `original` by field 90."""
    message = {
        "t": mti,
        **{key: original[key] for key in ("3", "4", "41", "42", "49", "60")},
        "7": "1126100100",
        "11": stan,
        "90": original_data_field(original["t"], original["11"], original["7"]),
    }
    return message | {"39": "98"} if mti == "0400" else message


def signed_bytes(body: bytes, mac_key: bytes) -> bytes:
    """`body`, packed without field 64 and holding no field above 64, with field 64 the
    MAC of exactly these bytes: what a client holding the key can send, whatever it is."""
    flagged = bytearray(body)
    flagged[11] |= 0x01  # bit 64
    return bytes(flagged) + _psec.retail_mac(mac_key, body)


def replaced(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1, f"{old!r} must occur once"
    return data.replace(old, new)


@dataclass
class Wire:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    mac_key: bytes = field(default=b"", repr=False)

    async def send(self, body: bytes) -> None:
        self.writer.write(struct.pack(">H", len(body)) + body)
        await self.writer.drain()

    async def receive(self) -> Message | None:
        """The next answer, or None when the host closed the connection instead."""
        async with asyncio.timeout(ANSWER_TIMEOUT):
            try:
                (length,) = struct.unpack(">H", await self.reader.readexactly(2))
                return decode(await self.reader.readexactly(length))
            except (asyncio.IncompleteReadError, ConnectionError):
                return None

    async def exchange(self, body: bytes) -> Message:
        await self.send(body)
        response = await self.receive()
        assert response is not None, "the host closed the connection"
        return response

    async def sign_in(self, terminal: str = TERMINAL) -> None:
        response = await self.exchange(
            encode(
                {
                    "t": "0800",
                    "7": "1126090000",
                    "11": "000001",
                    "41": terminal,
                    "42": MERCHANT,
                    "60": "000001",
                    "70": "001",
                }
            )
        )
        assert response["39"] == "00"
        _, mac_key_under_tmk = read_working_keys_field(response["62"], TEST_TMK)
        self.mac_key = decrypt_under(TEST_TMK, mac_key_under_tmk)

    def signed(self, message: Message) -> bytes:
        return encode(with_mac(message, self.mac_key))

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@asynccontextmanager
async def connected(host: HostNode) -> AsyncIterator[Wire]:
    reader, writer = await asyncio.open_connection("127.0.0.1", host.port)
    wire = Wire(reader, writer)
    try:
        yield wire
    finally:
        await wire.close()


@asynccontextmanager
async def signed_in(database: Database, tmp_path: Path) -> AsyncIterator[tuple[HostNode, Wire]]:
    async with host_node(database, tmp_path / "keys") as host, connected(host) as wire:
        await wire.sign_in()
        yield host, wire


def journal_rows(host: HostNode) -> list[Any]:
    with host.host_engine.connect() as connection:
        return list(connection.execute(select(host_journal).order_by(host_journal.c.id)))


def refusal_rows(host: HostNode) -> list[Any]:
    with host.host_engine.connect() as connection:
        return list(connection.execute(select(host_refusal).order_by(host_refusal.c.id)))


def movements(host: HostNode) -> dict[str, Any]:
    with host.issuer_engine.connect() as connection:
        return dict(approved_movements(connection))


def reversal_count(host: HostNode) -> int:
    with host.host_engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(host_reversal)).scalar_one())


def assert_nothing_changed(host: HostNode) -> None:
    assert journal_rows(host) == [] and movements(host) == {} and reversal_count(host) == 0


# Issue 21, item 1: strict decoding under a valid MAC.

FIELD_60 = b"006000001"


@pytest.mark.parametrize("prefix", [b" 06", b"+06", b"0_6", b"\x0b06"])
async def test_a_length_prefix_that_is_not_digits_is_a_format_error_under_its_mac(
    database: Database, tmp_path: Path, prefix: bytes
) -> None:
    async with signed_in(database, tmp_path) as (host, wire):
        genuine = wire.signed(manual_sale("000002", 1250))
        # The MAC still the one of the genuine bytes: the host once re-packed what it
        # decoded, got the genuine bytes back, and approved.
        rewritten = replaced(genuine, FIELD_60, prefix + FIELD_60[3:])
        response = await wire.exchange(rewritten)
        assert (response["t"], response["39"]) == ("0210", "30")
        assert response["11"] == "000002" and "64" not in response
        assert_nothing_changed(host)
        assert refusal_rows(host) == [], "a format error is not an authentication refusal"

        # Nothing was spent: the genuine request is approved under the same key.
        assert (await wire.exchange(genuine))["39"] == "00"


async def test_an_all_zero_secondary_bitmap_is_a_format_error_under_its_mac(
    database: Database, tmp_path: Path
) -> None:
    async with signed_in(database, tmp_path) as (host, wire):
        genuine = wire.signed(manual_sale("000002", 1250))
        padded = bytearray(genuine[:12]) + bytes(8) + genuine[12:]
        padded[4] |= 0x80  # bit 1: "a secondary bitmap follows", naming nothing
        response = await wire.exchange(bytes(padded))
        assert (response["t"], response["39"]) == ("0210", "30")
        assert_nothing_changed(host)
        assert (await wire.exchange(genuine))["39"] == "00"


# Issue 21, item 5: text fields are printable ASCII; unknown fields close the connection.


async def test_a_control_byte_in_a_text_field_is_a_format_error(
    database: Database, tmp_path: Path
) -> None:
    async with signed_in(database, tmp_path) as (host, wire):
        # Field 60 (ans, LLLVAR) with a BEL byte, MAC'd over exactly the bytes sent.
        body = encode(manual_sale("000002", 1250) | {"60": "000001X"})
        body = replaced(body, b"007000001X", b"007000001\x07")
        response = await wire.exchange(signed_bytes(body, wire.mac_key))
        assert (response["t"], response["39"]) == ("0210", "30")
        assert response["11"] == "000002" and response["41"] == TERMINAL
        assert_nothing_changed(host)


async def test_bit_65_closes_the_connection_and_other_connections_keep_working(
    database: Database, tmp_path: Path
) -> None:
    async with signed_in(database, tmp_path) as (host, wire), connected(host) as other:
        genuine = wire.signed(manual_sale("000002", 1250))
        # Bit 1, then a secondary bitmap with bit 65 and 8 bytes where a field 65 would be.
        extended = bytearray(genuine[:12]) + b"\x80" + bytes(7) + bytes(8) + genuine[12:]
        extended[4] |= 0x80
        await other.send(bytes(extended))
        assert await other.receive() is None, "closed without an answer"

        assert (await wire.exchange(genuine))["39"] == "00", "the host serves on"
        async with connected(host) as fresh:
            await fresh.sign_in("20000002")
        [row] = journal_rows(host)
        assert (row.stan, row.state) == ("000002", "approved")


# Issue 21, item 2: a refusal before authentication spends nothing, and is logged.


async def test_a_wrong_mac_spends_no_key_and_the_genuine_request_is_approved(
    database: Database, tmp_path: Path
) -> None:
    async with signed_in(database, tmp_path) as (host, wire):
        sale = manual_sale("000002", 1250)
        forged = await wire.exchange(encode(sale | {"64": "0000000000000000"}))
        assert (forged["39"], forged["11"]) == ("A0", "000002") and "64" not in forged
        assert_nothing_changed(host)

        genuine = await wire.exchange(wire.signed(sale))
        assert genuine["39"] == "00" and len(genuine["37"]) == 12
        [row] = journal_rows(host)
        assert (row.stan, row.state) == ("000002", "approved")
        assert len(movements(host)) == 1

        [refusal] = refusal_rows(host)
        assert (
            refusal.terminal_id,
            refusal.stan,
            refusal.transmission_at,
            refusal.mti,
            refusal.processing_code,
            refusal.response_code,
            refusal.reason,
        ) == (TERMINAL, "000002", "1126100000", "0200", "000000", "A0", "MAC verification failed")
        assert refusal.remote_address.startswith("127.0.0.1:")
        assert refusal.refused_at is not None
        # No card data at all: no column for it, and no value holding any of it.
        assert set(host_refusal.columns.keys()) == {
            "id",
            "refused_at",
            "terminal_id",
            "stan",
            "transmission_at",
            "mti",
            "processing_code",
            "response_code",
            "reason",
            "remote_address",
        }
        text = " ".join(str(value) for value in refusal)
        assert CARD.pan[-4:] not in text and CARD.pan[:6] not in text


async def test_reversal_and_status_query_with_a_wrong_mac_change_nothing(
    database: Database, tmp_path: Path
) -> None:
    async with signed_in(database, tmp_path) as (host, wire):
        approved = manual_sale("000002", 1250)
        assert (await wire.exchange(wire.signed(approved)))["39"] == "00"
        money = movements(host)

        bad_mac = {"64": "0123456789ABCDEF"}
        reversal = about(approved, "0400", "000003")
        assert (await wire.exchange(encode(reversal | bad_mac)))["39"] == "A0"
        [row] = journal_rows(host)
        assert row.state == "approved" and reversal_count(host) == 0 and movements(host) == money

        unseen = manual_sale("000004", 990)
        query = about(unseen, "0600", "000005")
        assert (await wire.exchange(encode(query | bad_mac)))["39"] == "A0"
        assert len(journal_rows(host)) == 1, "no tombstone for the key it named"
        assert (await wire.exchange(wire.signed(unseen)))["39"] == "00"

        assert (await wire.exchange(wire.signed(reversal)))["39"] == "00", "same key: processed"
        assert [r.response_code for r in refusal_rows(host)] == ["A0", "A0"]


# Issue 21, item 6 (part): a terminal that never signed in gets 58, whatever else is wrong.


@pytest.mark.parametrize(
    "request_",
    [
        manual_sale("000002", 1250, terminal=NEVER_SIGNED_IN, pan=LUHN_INVALID),
        manual_sale("000003", 0, terminal=NEVER_SIGNED_IN),
        manual_sale("000004", 1250, terminal=NEVER_SIGNED_IN) | {"3": "300000"},
        about(manual_sale("000005", 1250), "0400", "000006") | {"41": NEVER_SIGNED_IN},
    ],
    ids=["luhn-invalid", "zero-amount", "unknown-processing-code", "reversal"],
)
async def test_a_terminal_that_never_signed_in_gets_58_first_and_changes_nothing(
    database: Database, tmp_path: Path, request_: Message
) -> None:
    async with host_node(database, tmp_path / "keys") as host, connected(host) as wire:
        response = await wire.exchange(encode(request_))
        assert response["39"] == "58" and "64" not in response and "37" not in response
        assert_nothing_changed(host)
        [refusal] = refusal_rows(host)
        assert (refusal.terminal_id, refusal.stan, refusal.response_code) == (
            NEVER_SIGNED_IN,
            request_["11"],
            "58",
        )


async def test_58_wins_for_a_terminal_signed_in_under_another_merchant(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        elsewhere = {"42": "898310048169999"}
        for request in (
            manual_sale("000002", 1250, pan=LUHN_INVALID) | elsewhere,
            manual_sale("000003", 0) | elsewhere,
        ):
            assert (await answer(host, request))["39"] == "58"
