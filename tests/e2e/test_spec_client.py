"""Acceptance: a separate client built only from `pospay.iso8583.SPEC` and docs/iso8583.md
signs in to `pospay serve`, unwraps its working keys, and completes a sale (with and
without online PIN), a balance inquiry and every other message of the link — void, refund,
pre-authorisation with completion and cancel, transfer, reversal, settlement and batch
upload — every financial message MAC'd, the money checked by balance inquiries.

The client below uses pyiso8583, `SPEC`, asyncio streams, the DES primitive of
`cryptography` and what the document says — nothing else from pospay (a test at the end
holds this file to that). The host is a real `pospay serve` process on 127.0.0.1, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import re
import signal
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import iso8583
from databases import Database
from pospay.iso8583 import SPEC

Document = dict[str, str]

POSPAY = Path(sys.executable).with_name("pospay")
LISTENING = re.compile(r"pospay host listening on (?P<host>[\d.]+):(?P<port>\d+)")
START_TIMEOUT = 30.0
ANSWER_TIMEOUT = 15.0  # longer than the host's 10 s wait for the issuer (docs section 8)
STOP_TIMEOUT = 10.0

# From the document: section 9 (test cards, magic amounts) and section 4 (field values).
CARD_PAN, CARD_EXPIRY, CARD_OPENING_BALANCE = "4000200000000016", "2811", 2_000_000
CNY = "156"
SALE, BALANCE_INQUIRY = "000000", "310000"
# Section 3, field 3, and the message table of section 4.
PRE_AUTHORISATION, VOID, TRANSFER = "030000", "200000", "400000"
COMPLETION, REFUND, PRE_AUTHORISATION_CANCEL = SALE, VOID, VOID
SETTLE, SETTLE_AFTER_UPLOAD = "920000", "960000"
# Section 9: a second test card (keyed in: its chip keys are not needed) and one the issuer
# does not know.
OTHER_PAN, OTHER_EXPIRY, OTHER_OPENING_BALANCE = "6212345600000012", "3012", 5_000_000
UNKNOWN_PAN = "6212345600000335"
KEY_ENTRY = "011"
# Section 4.8: the issuer's default completion tolerance.
COMPLETION_TOLERANCE_PERCENT = 15
CHIP, CONTACTLESS = "051", "071"
MERCHANT = "898310048160002"
CARD_PIN = "1234"
# Section 2.1: the test terminal master key of every test terminal.
TEST_TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
# Section 2.2: the test issuer master key for application cryptograms, and the card's PSN.
TEST_IMK_AC = bytes.fromhex("89ABCDEF0123456776543210FEDCBA98")
CARD_PSN = "01"


# The cryptography of section 2.1, from the DES block cipher alone.


def tdes(key: bytes, data: bytes, *, decrypt: bool = False) -> bytes:
    """TDES-ECB with a double-length key (K1 K2 K1); a single-DES key for K1 = K2."""
    cipher = Cipher(TripleDES(key + key[:8]), modes.ECB())  # noqa: S305 - keys and PIN blocks are single ECB blocks by definition
    worker = cipher.decryptor() if decrypt else cipher.encryptor()
    return worker.update(data) + worker.finalize()


def retail_mac(key: bytes, data: bytes, *, padding: int = 2) -> bytes:
    """ISO 9797-1 MAC algorithm 3, padding method 2 (or 1: zeros, as few as needed)."""
    if padding == 2:
        data += b"\x80" + bytes(-(len(data) + 1) % 8)
    else:
        data += bytes(-len(data) % 8)
    left, right = key[:8] * 2, key[8:] * 2
    state = bytes(8)
    for start in range(0, len(data), 8):
        state = tdes(
            left, bytes(a ^ b for a, b in zip(state, data[start : start + 8], strict=True))
        )
    return tdes(left, tdes(right, state, decrypt=True))


def unwrap_working_keys(field_62: str) -> tuple[bytes, bytes]:
    """Field 62: TPK under TMK, its KCV, TAK under TMK, its KCV (16 + 3 + 16 + 3 bytes)."""
    raw = bytes.fromhex(field_62)
    assert len(raw) == 38
    keys = []
    for start in (0, 19):
        key = tdes(TEST_TMK, raw[start : start + 16], decrypt=True)
        assert tdes(key, bytes(8))[:3] == raw[start + 16 : start + 19], "key check value"
        keys.append(key)
    return keys[0], keys[1]


def pin_block(pin: str, pan: str, pin_key: bytes) -> str:
    """Field 52: ISO 9564 format 0 under the PIN key."""
    pin_field = bytes.fromhex(f"0{len(pin):X}{pin}".ljust(16, "F"))
    pan_field = bytes.fromhex("0000" + pan[-13:-1])
    clear = bytes(a ^ b for a, b in zip(pin_field, pan_field, strict=True))
    return tdes(pin_key, clear).hex().upper()


# The chip of section 2.2: Visa CVN 10 from the DES block cipher alone.


def icc_master_key(pan: str, psn: str) -> bytes:
    """EMV option A: the rightmost 16 digits of PAN || PSN, encrypted, and again inverted."""
    y = bytes.fromhex((pan + psn)[-16:])
    return tdes(TEST_IMK_AC, y) + tdes(TEST_IMK_AC, bytes(b ^ 0xFF for b in y))


def ber_tlv(tags: dict[str, bytes]) -> bytes:
    """Field 55: tag, one length byte (every value here is shorter than 128 bytes), value."""
    return b"".join(bytes.fromhex(tag) + bytes([len(value)]) + value for tag, value in tags.items())


def read_ber_tlv(data: bytes) -> dict[str, bytes]:
    tags, position = {}, 0
    while position < len(data):
        tag_length = 2 if data[position] & 0x1F == 0x1F else 1
        tag = data[position : position + tag_length].hex().upper()
        length = data[position + tag_length]
        start = position + tag_length + 1
        tags[tag] = data[start : start + length]
        position = start + length
    return tags


def icc_data(amount_minor: int, transaction_type: str, atc: int) -> tuple[str, bytes]:
    """Field 55 of a chip request (hex) and its ARQC, as the test card's chip makes it."""
    tags = {
        "9F02": bytes.fromhex(f"{amount_minor:012d}"),
        "9F03": bytes(6),
        "9F1A": bytes.fromhex("0" + CNY),
        "95": bytes.fromhex("0000008000"),
        "5F2A": bytes.fromhex("0" + CNY),
        "9A": bytes.fromhex(datetime.now(UTC).strftime("%y%m%d")),
        "9C": bytes.fromhex(transaction_type),
        "9F37": bytes.fromhex("1A2B3C4D"),
        "82": bytes.fromhex("1800"),
        "9F36": atc.to_bytes(2, "big"),
    }
    cvr = bytes.fromhex("03A00000")
    arqc = retail_mac(icc_master_key(CARD_PAN, CARD_PSN), b"".join(tags.values()) + cvr, padding=1)
    tags |= {"9F10": bytes.fromhex("06010A") + cvr, "9F27": b"\x80", "9F26": arqc}
    return ber_tlv(tags).hex().upper(), arqc


def arpc_ok(arqc: bytes, field_55: str, response_code: str) -> bool:
    """Tag 91 of an answer: ARPC (method 1) || ARC, the ARC the response code in ASCII."""
    issuer_data = read_ber_tlv(bytes.fromhex(field_55)).get("91", b"")
    arc = response_code.encode()
    block = bytes(a ^ b for a, b in zip(arqc, arc + bytes(6), strict=True))
    return issuer_data == tdes(icc_master_key(CARD_PAN, CARD_PSN), block) + arc


# The client: framing (docs section 1) and encoding (section 2) with pyiso8583 and SPEC.


class SpecClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, port: int) -> SpecClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    @staticmethod
    def pack(document: Document) -> bytes:
        packed, _ = iso8583.encode(dict(document), SPEC)
        return bytes(packed)

    async def send_frame(self, body: bytes) -> None:
        await self.send_raw(struct.pack(">H", len(body)) + body)

    async def send_raw(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def receive(self) -> Document:
        async with asyncio.timeout(ANSWER_TIMEOUT):
            (length,) = struct.unpack(">H", await self._reader.readexactly(2))
            body = await self._reader.readexactly(length)
        document, _ = iso8583.decode(bytearray(body), SPEC)
        return {key: value for key, value in document.items() if key not in ("p", "1")}

    async def exchange(self, document: Document) -> Document:
        await self.send_frame(self.pack(document))
        return await self.receive()

    async def balance(
        self, terminal: Terminal, card: tuple[str, str] = (CARD_PAN, CARD_EXPIRY)
    ) -> int:
        """The card's available balance, by a balance inquiry (section 4.3)."""
        entry_mode = CHIP if card[0] == CARD_PAN else KEY_ENTRY
        answer = await self.exchange(
            terminal.card_request(BALANCE_INQUIRY, entry_mode=entry_mode, card=card)
        )
        assert answer["39"] == "00" and terminal.mac_ok(answer), answer
        return available_balance(answer["54"])

    async def closed_by_host(self) -> bool:
        """Whether the host hangs up without sending anything more."""
        async with asyncio.timeout(ANSWER_TIMEOUT):
            return await self._reader.read() == b""

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):  # the host may have reset it
            await self._writer.wait_closed()


@dataclass
class Terminal:
    """Field values a terminal chooses: its id, a STAN counter and the clock (docs §3)."""

    terminal_id: str
    stan: int = 0
    pin_key: bytes | None = None
    mac_key: bytes | None = None
    batch: str = "000001"  # field 60
    atc: int = 0  # the chip's transaction counter
    arqcs: dict[str, bytes] = field(default_factory=dict)  # by STAN
    # The approved attempts of the current batch that settlement counts (section 4.11),
    # with their answers: what the terminal totals and uploads.
    counted: list[tuple[Document, Document]] = field(default_factory=list)

    def arpc_ok(self, request: Document, answer: Document) -> bool:
        return arpc_ok(self.arqcs[request["11"]], answer.get("55", ""), answer["39"])

    def signed_in(self, answer: Document) -> Document:
        """Take the working keys of an 0810."""
        self.pin_key, self.mac_key = unwrap_working_keys(answer["62"])
        return answer

    def mac(self, document: Document) -> Document:
        """The document with field 64: the MAC of it packed without field 64."""
        assert self.mac_key is not None
        unsigned = {key: value for key, value in document.items() if key != "64"}
        packed, _ = iso8583.encode(dict(unsigned), SPEC)
        return unsigned | {"64": retail_mac(self.mac_key, bytes(packed)).hex().upper()}

    def mac_ok(self, answer: Document) -> bool:
        return "64" in answer and self.mac(answer)["64"] == answer["64"]

    def next_key(self) -> tuple[str, str]:
        self.stan += 1
        return f"{self.stan:06d}", datetime.now(UTC).strftime("%m%d%H%M%S")

    def sign_in(self) -> Document:
        stan, transmitted = self.next_key()
        return {
            "t": "0800",
            "7": transmitted,
            "11": stan,
            "41": self.terminal_id,
            "42": MERCHANT,
            "60": self.batch,
            "70": "001",
        }

    def card_request(
        self,
        processing_code: str,
        amount_minor: int | None = None,
        entry_mode: str = CHIP,
        pin: str | None = None,
        *,
        mti: str = "0200",
        card: tuple[str, str] = (CARD_PAN, CARD_EXPIRY),
        target_pan: str | None = None,
    ) -> Document:
        """A request that reads a card (sections 4.2, 4.3, 4.7, 4.10)."""
        pan, expiry = card
        stan, transmitted = self.next_key()
        now = datetime.now()  # fields 12 and 13: local time
        request = {
            "t": mti,
            "2": pan,
            "3": processing_code,
            "7": transmitted,
            "11": stan,
            "12": now.strftime("%H%M%S"),
            "13": now.strftime("%m%d"),
            "14": expiry,
            "22": entry_mode,
            "25": "00",
            "41": self.terminal_id,
            "42": MERCHANT,
            "49": CNY,
            "60": self.batch,
        }
        if amount_minor is not None:
            request["4"] = f"{amount_minor:012d}"
        if entry_mode in (CHIP, CONTACTLESS):
            assert pan == CARD_PAN, "the client only has this card's chip"
            self.atc += 1
            request["23"] = "0" + CARD_PSN
            request["55"], self.arqcs[stan] = icc_data(
                amount_minor or 0, processing_code[:2], self.atc
            )
        if pin is not None:
            assert self.pin_key is not None
            request["52"] = pin_block(pin, pan, self.pin_key)
            request["53"] = "0002000000000000"
        if target_pan is not None:
            request["103"] = target_pan
        return self.mac(request) if self.mac_key is not None else request

    def referring_request(
        self, mti: str, processing_code: str, amount_minor: int, original: Document
    ) -> Document:
        """A void, refund, completion or cancel (sections 4.5 to 4.9): no card data, the
        original named by its RRN (field 37), its approval code repeated (field 38)."""
        stan, transmitted = self.next_key()
        now = datetime.now()
        return self.mac(
            {
                "t": mti,
                "3": processing_code,
                "4": f"{amount_minor:012d}",
                "7": transmitted,
                "11": stan,
                "12": now.strftime("%H%M%S"),
                "13": now.strftime("%m%d"),
                "25": "00",
                "37": original["37"],
                "38": original["38"],
                "41": self.terminal_id,
                "42": MERCHANT,
                "49": CNY,
                "60": self.batch,
            }
        )

    def reversal(self, original: Document, reason: str = "98") -> Document:
        """Section 4.4: the original's MTI, STAN and time in field 90, its 3, 4 and 49."""
        stan, transmitted = self.next_key()
        return self.mac(
            {
                "t": "0400",
                "3": original["3"],
                "4": original["4"],
                "7": transmitted,
                "11": stan,
                "39": reason,
                "41": self.terminal_id,
                "42": MERCHANT,
                "49": original["49"],
                "60": self.batch,
                "90": original_data(original),
            }
        )

    def keep(self, request: Document, answer: Document) -> Document:
        """Record an answer in the batch as section 4.11 counts: approved sales, completions
        and refunds; a void or reversal takes its original out again."""
        counted_kinds = {("0200", SALE), ("0220", COMPLETION), ("0220", REFUND)}
        if answer["39"] != "00":
            return answer
        if (request["t"], request["3"]) in counted_kinds:
            self.counted.append((request, answer))
        elif (request["t"], request["3"]) == ("0200", VOID):
            self.counted = [(r, a) for r, a in self.counted if a["37"] != request["37"]]
        elif request["t"] == "0400":
            self.counted = [(r, a) for r, a in self.counted if original_data(r) != request["90"]]
        return answer

    def totals(self) -> str:
        """Field 63: debit count n6, debit amount n12, credit count n6, credit amount n12."""
        debits = [int(r["4"]) for r, _ in self.counted if (r["t"], r["3"]) != ("0220", REFUND)]
        credits = [int(r["4"]) for r, _ in self.counted if (r["t"], r["3"]) == ("0220", REFUND)]
        return f"{len(debits):06d}{sum(debits):012d}{len(credits):06d}{sum(credits):012d}"

    def settlement(self, processing_code: str, totals: str) -> Document:
        stan, transmitted = self.next_key()
        return self.mac(
            {
                "t": "0500",
                "3": processing_code,
                "7": transmitted,
                "11": stan,
                "41": self.terminal_id,
                "42": MERCHANT,
                "49": CNY,
                "60": self.batch,
                "63": totals,
            }
        )

    def batch_upload(self) -> list[Document]:
        """Section 4.12: one 0320 per counted attempt of the batch."""
        uploads = []
        for request, answer in self.counted:
            stan, transmitted = self.next_key()
            uploads.append(
                self.mac(
                    {
                        "t": "0320",
                        "3": request["3"],
                        "4": request["4"],
                        "7": transmitted,
                        "11": stan,
                        "37": answer["37"],
                        "41": self.terminal_id,
                        "42": MERCHANT,
                        "49": CNY,
                        "60": self.batch,
                        "90": original_data(request),
                    }
                )
            )
        return uploads


def original_data(original: Document) -> str:
    """Field 90 (section 4.4): MTI, STAN, transmission time, then 22 zeros."""
    return original["t"] + original["11"] + original["7"] + "0" * 22


def available_balance(field_54: str) -> int:
    """Docs section 5: account type, amount type 02, currency, sign, 12 digits."""
    assert len(field_54) >= 20 and field_54[2:4] == "02" and field_54[4:7] == CNY
    amount = int(field_54[8:20])
    return amount if field_54[7] == "C" else -amount


# The host: a real `pospay serve` process.


@dataclass
class Host:
    process: subprocess.Popen[bytes]
    port: int
    journal_url: str
    log: Path

    def journal_rows(self) -> int:
        engine = create_engine(self.journal_url)
        try:
            with engine.connect() as connection:
                return int(
                    connection.execute(text("SELECT count(*) FROM host_journal")).scalar_one()
                )
        finally:
            engine.dispose()


def schema_url(url: str, schema: str) -> str:
    """`url` with libpq's search_path option: `pospay serve --db` takes one plain URL."""
    with_path = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return with_path.render_as_string(hide_password=False)


def start_host(database: Database, data_dir: Path) -> Host:
    command = [str(POSPAY), "serve", "--test-keys", "--iso-port", "0", "--data-dir", str(data_dir)]
    if database.backend == "sqlite":
        journal_url = f"sqlite:///{data_dir / 'host.db'}"  # serve's default place
    else:
        assert database.schema is not None
        journal_url = schema_url(database.url, database.schema)
        command += ["--db", journal_url]
    log = data_dir.with_name(data_dir.name + ".log")
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603 - our own pospay command
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(errors="replace"))
        if found:
            return Host(process, int(found["port"]), journal_url, log)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop_host(process)
    pytest.fail(f"pospay serve did not start:\n{log.read_text(errors='replace')}")


def stop_host(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def host(database: Database, tmp_path: Path) -> Iterator[Host]:
    running = start_host(database, tmp_path / "serve")
    try:
        yield running
    finally:
        stop_host(running.process)


@pytest.fixture
async def client(host: Host) -> AsyncIterator[SpecClient]:
    connection = await SpecClient.connect(host.port)
    try:
        yield connection
    finally:
        await connection.close()


# The acceptance test.


async def test_sign_in_sale_and_balance_inquiry(host: Host, client: SpecClient) -> None:
    terminal = Terminal("E2E00001")

    refused = await client.exchange(terminal.card_request(SALE, 1_000))
    assert refused["39"] == "58", "a card request before sign-in is refused"

    sign_in = terminal.sign_in()
    signed_in = terminal.signed_in(await client.exchange(sign_in))
    assert signed_in["t"] == "0810" and signed_in["39"] == "00" and "64" not in signed_in
    assert {field: signed_in[field] for field in ("7", "11", "41", "42", "60", "70")} == {
        field: sign_in[field] for field in ("7", "11", "41", "42", "60", "70")
    }

    before = await client.exchange(terminal.card_request(BALANCE_INQUIRY, entry_mode=CONTACTLESS))
    assert before["t"] == "0210" and before["39"] == "00", before
    assert available_balance(before["54"]) == CARD_OPENING_BALANCE
    assert "4" not in before

    sale_request = terminal.card_request(SALE, 1_234, pin=CARD_PIN)
    sale = await client.exchange(sale_request)
    assert sale["t"] == "0210" and sale["39"] == "00", sale
    assert terminal.mac_ok(sale), "every financial answer carries a MAC under the TAK"
    assert len(sale["38"]) == 6, "an approval carries its approval code"
    assert re.fullmatch(r"\d{12}", sale["37"])
    assert terminal.arpc_ok(sale_request, sale), "the chip accepts the issuer's ARPC (tag 91)"
    for echoed in ("3", "4", "7", "11", "41", "42", "49"):
        assert sale[echoed] == sale_request[echoed], f"field {echoed} is echoed"
    assert "2" not in sale, "the card number is never echoed"
    assert available_balance(sale["54"]) == CARD_OPENING_BALANCE - 1_234

    # The same request again (a resend after a lost answer) gets the same answer and no
    # second debit (docs section 8).
    assert await client.exchange(sale_request) == sale

    after = await client.exchange(terminal.card_request(BALANCE_INQUIRY))
    assert after["39"] == "00"
    assert available_balance(after["54"]) == available_balance(before["54"]) - 1_234

    declined = await client.exchange(terminal.card_request(SALE, 66_651))  # magic amount 666.51
    assert declined["39"] == "51"
    assert "38" not in declined and "54" not in declined
    unchanged = await client.exchange(terminal.card_request(BALANCE_INQUIRY))
    assert available_balance(unchanged["54"]) == available_balance(after["54"])


async def test_bad_mac_wrong_pin_and_new_keys_at_each_sign_in(
    host: Host, client: SpecClient
) -> None:
    terminal = Terminal("E2E00008")
    first = terminal.signed_in(await client.exchange(terminal.sign_in()))
    old_mac_key = terminal.mac_key
    second = terminal.signed_in(await client.exchange(terminal.sign_in()))
    assert first["62"] != second["62"] and terminal.mac_key != old_mac_key

    # A MAC under the previous key: refused A0, without a MAC, and nothing moves.
    stale = terminal.card_request(SALE, 5_000)
    assert old_mac_key is not None
    unsigned = {key: value for key, value in stale.items() if key != "64"}
    packed, _ = iso8583.encode(dict(unsigned), SPEC)
    stale["64"] = retail_mac(old_mac_key, bytes(packed)).hex().upper()
    refused = await client.exchange(stale)
    assert refused["39"] == "A0" and "64" not in refused
    balance = await client.exchange(terminal.card_request(BALANCE_INQUIRY))
    assert terminal.mac_ok(balance)
    assert available_balance(balance["54"]) == CARD_OPENING_BALANCE

    wrong = [
        (await client.exchange(terminal.card_request(SALE, 100, pin="9999")))["39"]
        for _ in range(3)
    ]
    assert wrong == ["55", "55", "75"]


# Every other transaction type (docs sections 4.4 to 4.12), the money checked by inquiries.


async def signed_in(client: SpecClient, terminal_id: str) -> Terminal:
    terminal = Terminal(terminal_id)
    assert terminal.signed_in(await client.exchange(terminal.sign_in()))["39"] == "00"
    return terminal


async def approved(client: SpecClient, terminal: Terminal, request: Document) -> Document:
    answer = terminal.keep(request, await client.exchange(request))
    mti = request["t"]
    assert answer["t"] == f"{mti[:2]}{int(mti[2]) + 1}{mti[3]}", "section 3, field t"
    assert answer["39"] == "00", answer
    assert terminal.mac_ok(answer), answer
    for echoed in ("3", "4", "7", "11", "41", "42", "49"):
        assert answer.get(echoed) == request.get(echoed), f"field {echoed} is echoed"
    return answer


async def declined(
    client: SpecClient, terminal: Terminal, request: Document, code: str
) -> Document:
    answer = terminal.keep(request, await client.exchange(request))
    assert answer["39"] == code, answer
    assert terminal.mac_ok(answer) and "38" not in answer and "54" not in answer, answer
    return answer


async def refused_without_mac(client: SpecClient, request: Document) -> None:
    """Section 2.1: every message but 08xx needs field 64; without it, A0 and no MAC."""
    unsigned = {key: value for key, value in request.items() if key != "64"}
    refused = await client.exchange(unsigned)
    assert refused["39"] == "A0" and "64" not in refused, refused


async def test_void_of_a_sale_restores_the_balance(client: SpecClient) -> None:
    terminal = await signed_in(client, "E2E00010")
    sale = await approved(client, terminal, terminal.card_request(SALE, 4_321))
    assert await client.balance(terminal) == CARD_OPENING_BALANCE - 4_321

    void_request = terminal.referring_request("0200", VOID, 4_321, sale)
    void = await approved(client, terminal, void_request)
    assert void["4"] == "000000004321" and void["37"] != sale["37"] and len(void["38"]) == 6
    assert available_balance(void["54"]) == CARD_OPENING_BALANCE
    assert await client.balance(terminal) == CARD_OPENING_BALANCE

    await declined(client, terminal, terminal.referring_request("0200", VOID, 4_321, sale), "12")
    await refused_without_mac(client, terminal.referring_request("0200", VOID, 4_321, sale))
    assert await client.balance(terminal) == CARD_OPENING_BALANCE


async def test_partial_refund_then_one_above_what_is_left(client: SpecClient) -> None:
    terminal = await signed_in(client, "E2E00011")
    sale = await approved(client, terminal, terminal.card_request(SALE, 5_000))
    await refused_without_mac(client, terminal.referring_request("0220", REFUND, 2_000, sale))

    refund = await approved(
        client, terminal, terminal.referring_request("0220", REFUND, 2_000, sale)
    )
    assert refund["t"] == "0230" and refund["4"] == "000000002000"
    assert available_balance(refund["54"]) == CARD_OPENING_BALANCE - 3_000
    assert await client.balance(terminal) == CARD_OPENING_BALANCE - 3_000

    too_much = terminal.referring_request("0220", REFUND, 3_001, sale)  # 30.00 is left
    await declined(client, terminal, too_much, "13")
    assert await client.balance(terminal) == CARD_OPENING_BALANCE - 3_000


async def test_pre_authorisation_completion_and_cancel(client: SpecClient) -> None:
    terminal = await signed_in(client, "E2E00012")
    hold = 20_000
    await refused_without_mac(client, terminal.card_request(PRE_AUTHORISATION, hold, mti="0100"))
    pre_auth = await approved(
        client, terminal, terminal.card_request(PRE_AUTHORISATION, hold, mti="0100")
    )
    assert pre_auth["t"] == "0110" and len(pre_auth["38"]) == 6
    assert available_balance(pre_auth["54"]) == CARD_OPENING_BALANCE - hold
    assert await client.balance(terminal) == CARD_OPENING_BALANCE - hold

    most = hold * (100 + COMPLETION_TOLERANCE_PERCENT) // 100
    await refused_without_mac(
        client, terminal.referring_request("0220", COMPLETION, most, pre_auth)
    )
    await refused_without_mac(
        client, terminal.referring_request("0100", PRE_AUTHORISATION_CANCEL, hold, pre_auth)
    )
    completion = await approved(
        client, terminal, terminal.referring_request("0220", COMPLETION, most, pre_auth)
    )
    assert completion["t"] == "0230"
    charged = CARD_OPENING_BALANCE - most
    assert available_balance(completion["54"]) == charged
    assert await client.balance(terminal) == charged

    second = await approved(
        client, terminal, terminal.card_request(PRE_AUTHORISATION, 10_000, mti="0100")
    )
    assert await client.balance(terminal) == charged - 10_000
    cancel = await approved(
        client,
        terminal,
        terminal.referring_request("0100", PRE_AUTHORISATION_CANCEL, 10_000, second),
    )
    assert cancel["t"] == "0110"
    assert available_balance(cancel["54"]) == charged
    assert await client.balance(terminal) == charged

    third = await approved(
        client, terminal, terminal.card_request(PRE_AUTHORISATION, 10_000, mti="0100")
    )
    over = terminal.referring_request("0220", COMPLETION, 11_501, third)  # 115.00 allowed
    await declined(client, terminal, over, "61")
    assert await client.balance(terminal) == charged - 10_000, "the hold stays, nothing moves"


async def test_transfer_to_a_card_and_to_an_unknown_card(client: SpecClient) -> None:
    terminal = await signed_in(client, "E2E00013")
    other = (OTHER_PAN, OTHER_EXPIRY)
    assert await client.balance(terminal, other) == OTHER_OPENING_BALANCE

    transfer = await approved(
        client, terminal, terminal.card_request(TRANSFER, 1_500, target_pan=OTHER_PAN)
    )
    assert "103" not in transfer and "2" not in transfer
    assert available_balance(transfer["54"]) == CARD_OPENING_BALANCE - 1_500
    assert await client.balance(terminal) == CARD_OPENING_BALANCE - 1_500
    assert await client.balance(terminal, other) == OTHER_OPENING_BALANCE + 1_500

    await refused_without_mac(client, terminal.card_request(TRANSFER, 1_500, target_pan=OTHER_PAN))
    unknown = terminal.card_request(TRANSFER, 1_500, target_pan=UNKNOWN_PAN)
    await declined(client, terminal, unknown, "14")
    assert await client.balance(terminal) == CARD_OPENING_BALANCE - 1_500
    assert await client.balance(terminal, other) == OTHER_OPENING_BALANCE + 1_500


async def test_reversal_of_a_sale_whose_answer_was_lost(client: SpecClient) -> None:
    terminal = await signed_in(client, "E2E00014")
    sale_request = terminal.card_request(SALE, 2_500)
    await client.exchange(sale_request)  # the terminal pretends this answer never came
    assert await client.balance(terminal) == CARD_OPENING_BALANCE - 2_500

    reversal_request = terminal.reversal(sale_request)
    reversal = await client.exchange(reversal_request)
    assert reversal["t"] == "0410" and reversal["39"] == "00", reversal
    assert terminal.mac_ok(reversal)
    for echoed in ("3", "4", "7", "11", "41", "42", "49"):
        assert reversal[echoed] == reversal_request[echoed], f"field {echoed} is echoed"
    assert await client.balance(terminal) == CARD_OPENING_BALANCE

    assert await client.exchange(reversal_request) == reversal, "a repeat gets the same answer"
    assert await client.balance(terminal) == CARD_OPENING_BALANCE, "and undoes nothing twice"


async def test_settlement_balanced_then_after_batch_upload(client: SpecClient) -> None:
    terminal = await signed_in(client, "E2E00015")
    first = await approved(client, terminal, terminal.card_request(SALE, 1_234))
    await approved(client, terminal, terminal.card_request(SALE, 5_000))
    await approved(client, terminal, terminal.referring_request("0220", REFUND, 1_000, first))
    # Not counted: a decline, an inquiry, a transfer, a voided sale and a reversed one.
    await declined(client, terminal, terminal.card_request(SALE, 66_651), "51")
    await client.balance(terminal)
    await approved(client, terminal, terminal.card_request(TRANSFER, 300, target_pan=OTHER_PAN))
    voided = await approved(client, terminal, terminal.card_request(SALE, 400))
    await approved(client, terminal, terminal.referring_request("0200", VOID, 400, voided))
    lost = terminal.card_request(SALE, 500)
    terminal.keep(lost, await client.exchange(lost))
    await approved(client, terminal, terminal.reversal(lost))
    totals = terminal.totals()
    assert totals == "000002000000006234000001000000001000"

    await refused_without_mac(client, terminal.settlement(SETTLE, totals))
    settled = await approved(client, terminal, terminal.settlement(SETTLE, totals))
    assert settled["t"] == "0510" and settled["63"] == totals and settled["60"] == "000001"

    # A settled batch keeps its answer: settling it again (the 0510 lost) gets the stored one.
    again = await approved(client, terminal, terminal.settlement(SETTLE, "0" * 36))
    assert again["63"] == totals

    # The next batch: sign in with it, and settle it with a wrong total.
    terminal.batch, terminal.counted = "000002", []
    assert terminal.signed_in(await client.exchange(terminal.sign_in()))["39"] == "00"
    await approved(client, terminal, terminal.card_request(SALE, 700))
    await approved(client, terminal, terminal.card_request(SALE, 800, entry_mode=CONTACTLESS))
    totals = terminal.totals()
    assert totals == "000002000000001500000000000000000000"
    wrong = totals[:6] + f"{1_501:012d}" + totals[18:]
    unbalanced = await client.exchange(terminal.settlement(SETTLE, wrong))
    assert unbalanced["t"] == "0510" and unbalanced["39"] == "95", unbalanced
    assert terminal.mac_ok(unbalanced) and unbalanced["63"] == totals, "the host's totals"

    await refused_without_mac(client, terminal.batch_upload()[0])
    for upload in terminal.batch_upload():
        uploaded = await approved(client, terminal, upload)
        assert uploaded["t"] == "0330" and uploaded["4"] == upload["4"]
    after_upload = await approved(
        client, terminal, terminal.settlement(SETTLE_AFTER_UPLOAD, totals)
    )
    assert after_upload["t"] == "0510" and after_upload["63"] == totals

    # Batch 000002 is closed: a request still carrying it is refused 77, nothing forwarded.
    await declined(client, terminal, terminal.card_request(SALE, 900), "77")
    terminal.batch = "000003"
    assert terminal.signed_in(await client.exchange(terminal.sign_in()))["39"] == "00"
    assert await client.balance(terminal) == CARD_OPENING_BALANCE - 6_234 + 1_000 - 300 - 1_500


# Malformed input (docs section 7).


async def test_non_digit_numeric_field_is_answered_30(client: SpecClient) -> None:
    terminal = Terminal("E2E00002")
    assert terminal.signed_in(await client.exchange(terminal.sign_in()))["39"] == "00"

    request = terminal.card_request(SALE, 1_250)
    request["4"] = "00000000125X"  # pyiso8583 checks lengths, not digits: it packs this
    answer = await client.exchange(request)
    assert answer["t"] == "0210" and answer["39"] == "30"
    assert answer["11"] == request["11"] and answer["41"] == request["41"]
    assert "4" not in answer, "the faulty field is not echoed"
    assert "37" not in answer, "a format error is not journaled, so it has no RRN"

    request = terminal.card_request(SALE, 1_250)
    request["11"] = "00001X"
    answer = await client.exchange(request)
    assert answer["39"] == "30" and "11" not in answer

    # The connection is still usable.
    assert (await client.exchange(terminal.card_request(BALANCE_INQUIRY)))["39"] == "00"


async def test_a_response_mti_sent_as_a_request_is_not_answered(
    host: Host, client: SpecClient
) -> None:
    terminal = Terminal("E2E00007")
    response_as_request = terminal.card_request(SALE, 1_000)
    response_as_request["t"] = "0210"
    await client.send_frame(SpecClient.pack(response_as_request))

    # The next answer on the connection is the sign-in's: nothing was sent for the 0210.
    assert (await client.exchange(terminal.sign_in()))["t"] == "0810"
    assert " ERROR " not in host.log.read_text(errors="replace")
    assert host.journal_rows() == 0


BAD_FRAMES = {
    "zero-length frame": b"\x00\x00",
    "oversize frame": struct.pack(">H", 8193) + b"0200",
    "garbage (HTTP)": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "garbage in a frame": struct.pack(">H", 12) + b"\xde\xad\xbe\xef" * 3,
}


@pytest.mark.parametrize("data", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_bad_frames_are_disconnected_and_the_host_lives_on(host: Host, data: bytes) -> None:
    bad = await SpecClient.connect(host.port)
    await bad.send_raw(data)
    assert await bad.closed_by_host()
    await bad.close()

    fresh = await SpecClient.connect(host.port)
    assert (await fresh.exchange(Terminal("E2E00003").sign_in()))["39"] == "00"
    await fresh.close()


async def test_undefined_bitmap_field_is_disconnected(host: Host) -> None:
    bad = await SpecClient.connect(host.port)
    packed = bytearray(SpecClient.pack(Terminal("E2E00004").sign_in()))
    packed[4] |= 0x08  # primary bitmap bit 5: a field the layout does not define
    await bad.send_frame(bytes(packed))
    assert await bad.closed_by_host()
    await bad.close()

    fresh = await SpecClient.connect(host.port)
    assert (await fresh.exchange(Terminal("E2E00004").sign_in()))["39"] == "00"
    await fresh.close()


async def test_malformed_input_leaves_no_journal_row(host: Host) -> None:
    terminal = Terminal("E2E00005")
    client = await SpecClient.connect(host.port)
    assert terminal.signed_in(await client.exchange(terminal.sign_in()))["39"] == "00"

    non_digit = terminal.card_request(SALE, 1_000)
    non_digit["49"] = "CNY"
    missing = terminal.card_request(SALE, 1_000)
    del missing["14"]
    missing = terminal.mac(missing)
    unknown_entry_mode = terminal.card_request(SALE, 1_000, entry_mode="901")
    uncarried = terminal.card_request("300000", 1_000)  # not a message of the link
    for request, code in [
        (non_digit, "30"),
        (missing, "30"),
        (unknown_entry_mode, "30"),
        (uncarried, "12"),
    ]:
        assert (await client.exchange(request))["39"] == code
    await client.close()
    for data in BAD_FRAMES.values():
        bad = await SpecClient.connect(host.port)
        await bad.send_raw(data)
        assert await bad.closed_by_host()
        await bad.close()

    assert host.journal_rows() == 0

    client = await SpecClient.connect(host.port)
    assert (await client.exchange(terminal.card_request(SALE, 1_000)))["39"] == "00"
    await client.close()
    assert host.journal_rows() == 1


# Stopping.


async def test_sigterm_stops_the_host_cleanly_with_a_client_connected(host: Host) -> None:
    idle = await SpecClient.connect(host.port)
    assert (await idle.exchange(Terminal("E2E00006").sign_in()))["39"] == "00"

    host.process.send_signal(signal.SIGTERM)
    returncode = await asyncio.to_thread(host.process.wait, STOP_TIMEOUT)
    assert returncode == 0, host.log.read_text(errors="replace")
    assert await idle.closed_by_host()
    await idle.close()
    assert "pospay host stopping" in host.log.read_text(errors="replace")


def test_the_client_uses_nothing_of_pospay_but_spec() -> None:
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    imported = [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pospay")
        for alias in node.names
    ]
    plain = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("pospay")
    ]
    assert imported == [("pospay.iso8583", "SPEC")] and plain == []
