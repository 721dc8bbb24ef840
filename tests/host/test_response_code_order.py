"""Every order of response codes docs/iso8583.md documents, sent to the host.

Section 4 says, for each message a request can break in several ways at once, which
reason the host and then the issuer (or the prepaid programme) check first: a numbered
list ("Why a sale declines ...") or, for the programme, a table. `ORDERS` holds the
same lists, each rule with words its item must contain and requests that break it *and*
rules after it. The test reads the list from the document and checks it against the
rules (same codes, same order), then sends each request to a `HostService` behind the
issuer simulator and the prepaid programme and expects the rule's code. A document
reordered, or a check moved in the code, fails here; so does a code the message's
"Response codes" line leaves out.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from databases import Database
from host_messages import MERCHANT, SIGN_IN, TERMINAL
from nodes import host_node
from pospay.cards import with_check_digit
from pospay.clock import SystemClock
from pospay.emv import SimulatedCard, TerminalData
from pospay.iso8583 import Message
from pospay.iso8583.fields import amount_field
from pospay.iso8583.messages import AMOUNTLESS, PROCESSING_CODES, REQUEST_MTI
from pospay.issuer.test_cards import UNKNOWN_CARD_PAN, TestCard, find_card
from pospay.prepaid import TEST_PREPAID_BIN, expiry_after
from pospay.runtime import HostNode
from pospay.security.keys import decrypt_under, read_working_keys_field
from pospay.security.pin import PIN_SECURITY_CONTROL, encrypt_pin_block
from pospay.security.test_keys import TEST_TMK
from pospay.transaction import Kind

DOC = (Path(__file__).resolve().parents[2] / "docs" / "iso8583.md").read_text(encoding="utf-8")


def documented(pan: str) -> TestCard:
    card = find_card(pan)
    assert card is not None, f"{pan} is not a test card of docs/test-cards.md"
    return card


# The test cards of docs/test-cards.md this file uses, by what they do.
GOOD = documented("6212345600000012")
REPLACED = documented("6225880000000027")  # PSN 02
LOW = documented("6212345600000095")  # 10.00
EXPIRED = documented("6212345600000178")
RESTRICTED = documented("6212345600000251")
OTHER_TERMINAL = "20000002"
NEVER_SIGNED_IN = "29999999"
USD = "840"


def bad_luhn(pan: str) -> str:
    return pan[:-1] + str((int(pan[-1]) + 1) % 10)


@dataclass
class Till:
    """The test terminal (and two others) at a running host: builds requests with fresh
    STANs as section 4 describes them, and sends them to `HostService.handle`."""

    node: HostNode
    pin_key: bytes
    stans: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    prepaid_numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def header(self, kind: Kind, minor: int, terminal: str, batch: str, currency: str) -> Message:
        return {
            "t": REQUEST_MTI[kind],
            "3": PROCESSING_CODES[kind],
            "4": amount_field(minor),
            "7": "1126100000",
            "11": f"{next(self.stans):06d}",
            "12": "100000",
            "13": "1126",
            "25": "00",
            "41": terminal,
            "42": MERCHANT,
            "49": currency,
            "60": batch,
        }

    def card(
        self,
        kind: Kind,
        pan: str,
        expiry: str,
        minor: int = 0,
        *,
        pin: str | None = None,
        chip_psn: str | None = None,
        terminal: str = TERMINAL,
        currency: str = "156",
        target: str | None = None,
        funding_rrn: str | None = None,
    ) -> Message:
        """A card request keyed in, or read from the chip with `chip_psn` as its PSN (field
        23 and the key of its ARQC alike)."""
        message = self.header(kind, minor, terminal, "000001", currency)
        message |= {"2": pan, "14": expiry, "22": "011"}
        if kind in AMOUNTLESS:
            del message["4"]
        if chip_psn is not None:
            data = TerminalData(minor, "156", "156", datetime(2026, 11, 26), bytes(4))
            icc = SimulatedCard(pan, chip_psn).generate_ac(data)
            message |= {"22": "051", "23": f"0{chip_psn}", "55": icc.field_55().hex().upper()}
        if pin is not None:
            message |= {"52": encrypt_pin_block(pin, pan, self.pin_key), "53": PIN_SECURITY_CONTROL}
        if target is not None:
            message["103"] = target
        if funding_rrn is not None:
            message["37"] = funding_rrn
        return message

    def follow_up(
        self, kind: Kind, rrn: str, minor: int, *, terminal: str = TERMINAL, batch: str = "000001"
    ) -> Message:
        return self.header(kind, minor, terminal, batch, "156") | {"37": rrn}

    async def send(self, message: Message) -> Message:
        response = await self.node.service.handle(message)
        assert response is not None
        return response

    async def approved(self, message: Message) -> str:
        """Send `message`, which must be approved; its RRN."""
        response = await self.send(message)
        assert response["39"] == "00", response
        return response["37"]

    # Originals for the follow-ups.

    async def sale(self, minor: int, terminal: str = TERMINAL) -> str:
        return await self.approved(
            self.card(Kind.SALE, GOOD.pan, GOOD.expiry, minor, terminal=terminal)
        )

    async def preauth(self, minor: int, card: TestCard = GOOD) -> str:
        return await self.approved(self.card(Kind.PREAUTH, card.pan, card.expiry, minor))

    # Prepaid cards of the test programme (docs/iso8583.md section 4.14).

    def blank(self) -> tuple[str, str]:
        body = f"{TEST_PREPAID_BIN}{next(self.prepaid_numbers):07d}"
        return with_check_digit(body), expiry_after(SystemClock().now(), 12)

    async def prepaid(
        self, *, activate: bool = True, balance: int = 0, pin: str | None = None
    ) -> tuple[str, str]:
        """A prepaid card issued (with `pin`), activated and topped up in cash to `balance`."""
        pan, expiry = self.blank()
        await self.approved(self.card(Kind.PREPAID_ISSUE, pan, expiry, pin=pin))
        if activate:
            await self.approved(self.card(Kind.PREPAID_ACTIVATE, pan, expiry))
        if balance:
            await self.approved(self.card(Kind.PREPAID_TOP_UP, pan, expiry, balance))
        return pan, expiry

    async def frozen(self, balance: int = 0) -> tuple[str, str]:
        pan, expiry = await self.prepaid(balance=balance)
        await self.approved(self.card(Kind.PREPAID_FREEZE, pan, expiry))
        return pan, expiry


Case = Callable[[Till], Awaitable[Message]]


@dataclass(frozen=True)
class Rule:
    """One item of a documented order: its code, words of its item, requests breaking it."""

    code: str
    says: str
    cases: tuple[Case, ...] = ()
    untested: str = ""  # why no request can break this rule through the host

    def __post_init__(self) -> None:
        assert self.cases or self.untested, f"rule {self.code} {self.says!r}: no case"


def items(heading: str, introduction: str) -> list[str]:
    """The numbered items that follow the line starting `introduction` in the section."""
    start = DOC.index(heading + "\n")
    text = DOC[start : DOC.index("\n### ", start + 1)]
    lines = text[text.index("\n" + introduction) :].splitlines()
    lines = list(itertools.dropwhile(lambda line: not re.match(r"\d+\. ", line), lines))
    found: list[str] = []
    for line in lines:
        if re.match(r"\d+\. ", line):
            found.append(line)
        elif line.startswith("   ") and found:
            found[-1] += " " + line.strip()
        else:
            break
    return found


def prepaid_rows() -> list[str]:
    """The rows of the programme's table of declines in section 4.14."""
    start = DOC.index("The declines of the programme, in the order it checks them:")
    lines = DOC[start:].splitlines()[4:]
    return list(itertools.takewhile(lambda line: line.startswith("|"), lines))


# --- The rules, message by message, in the documents' order. ---------------------------


def unknown_sale(till: Till, minor: int, **options: Any) -> Message:
    return till.card(Kind.SALE, UNKNOWN_CARD_PAN, "3012", minor, **options)


SALE = [
    Rule(
        "58",
        "has not signed in",
        (lambda t: t.send(unknown_sale(t, 66605, terminal=NEVER_SIGNED_IN)),),
    ),
    Rule(
        "14",
        "Luhn",
        (lambda t: t.send(t.card(Kind.SALE, bad_luhn(GOOD.pan), GOOD.expiry, 0)),),
    ),
    Rule("13", "amount is zero", (lambda t: t.send(unknown_sale(t, 0)),)),
    Rule("14", "not on the issuer's file", (lambda t: t.send(unknown_sale(t, 66654)),)),
    Rule(
        "05",
        "ARQC",
        (
            # A chip read under another PSN than the card's, its ARQC made under that PSN.
            lambda t: t.send(
                t.card(Kind.SALE, RESTRICTED.pan, "2001", 1250, chip_psn="02", pin="000000")
            ),
            lambda t: t.send(t.card(Kind.SALE, REPLACED.pan, REPLACED.expiry, 1250, chip_psn="01")),
        ),
    ),
    Rule(
        "55",
        "PIN",
        (lambda t: t.send(t.card(Kind.SALE, RESTRICTED.pan, "2001", 66605, pin="000000")),),
    ),
    Rule(
        "62",
        "restricted",
        (
            lambda t: t.send(
                t.card(Kind.SALE, RESTRICTED.pan, "2001", 66605, currency=USD, chip_psn="01")
            ),
        ),
    ),
    Rule(
        "54",
        "expired",
        (lambda t: t.send(t.card(Kind.SALE, EXPIRED.pan, EXPIRED.expiry, 66605, currency=USD)),),
    ),
    Rule(
        "13",
        "currency",
        (lambda t: t.send(t.card(Kind.SALE, GOOD.pan, GOOD.expiry, 66605, currency=USD)),),
    ),
    Rule(
        "05",
        "magic amount",
        (lambda t: t.send(t.card(Kind.SALE, LOW.pan, LOW.expiry, 66605)),),
    ),
    Rule(
        "61",
        "100,000.00",
        (lambda t: t.send(t.card(Kind.SALE, LOW.pan, LOW.expiry, 10_000_001)),),
    ),
    Rule(
        "51",
        "available balance",
        (lambda t: t.send(t.card(Kind.SALE, LOW.pan, LOW.expiry, 2_000)),),
    ),
]


def unknown_inquiry(till: Till, **options: Any) -> Message:
    return till.card(Kind.BALANCE_INQUIRY, UNKNOWN_CARD_PAN, "3012", **options)


BALANCE_INQUIRY = [
    Rule(
        "58", "has not signed in", (lambda t: t.send(unknown_inquiry(t, terminal=NEVER_SIGNED_IN)),)
    ),
    Rule(
        "14",
        "Luhn",
        (lambda t: t.send(t.card(Kind.BALANCE_INQUIRY, bad_luhn(GOOD.pan), GOOD.expiry)),),
    ),
    Rule("14", "not on the issuer's file", (lambda t: t.send(unknown_inquiry(t, currency=USD)),)),
    Rule(
        "05",
        "ARQC",
        (
            lambda t: t.send(
                t.card(Kind.BALANCE_INQUIRY, RESTRICTED.pan, "2001", chip_psn="02", pin="000000")
            ),
        ),
    ),
    Rule(
        "55",
        "PIN",
        (lambda t: t.send(t.card(Kind.BALANCE_INQUIRY, RESTRICTED.pan, "2001", pin="000000")),),
    ),
    Rule(
        "62",
        "restricted",
        (lambda t: t.send(t.card(Kind.BALANCE_INQUIRY, RESTRICTED.pan, "2001", currency=USD)),),
    ),
    Rule(
        "54",
        "expired",
        (
            lambda t: t.send(
                t.card(Kind.BALANCE_INQUIRY, EXPIRED.pan, EXPIRED.expiry, currency=USD)
            ),
        ),
    ),
    Rule(
        "13",
        "currency",
        (lambda t: t.send(t.card(Kind.BALANCE_INQUIRY, GOOD.pan, GOOD.expiry, currency=USD)),),
    ),
]


async def partly_refunded(till: Till, minor: int) -> str:
    rrn = await till.sale(minor)
    await till.approved(till.follow_up(Kind.REFUND, rrn, 100))
    return rrn


async def voided(till: Till, minor: int) -> str:
    rrn = await till.sale(minor)
    await till.approved(till.follow_up(Kind.VOID, rrn, minor))
    return rrn


async def void_wrong_amount(till: Till, original: Awaitable[str], **options: str) -> Message:
    return await till.send(till.follow_up(Kind.VOID, await original, 999, **options))


VOID = [
    Rule(
        "58",
        "has not signed in",
        (lambda t: t.send(t.follow_up(Kind.VOID, "999999999999", 1, terminal=NEVER_SIGNED_IN)),),
    ),
    Rule("25", "no sale", (lambda t: t.send(t.follow_up(Kind.VOID, "999999999999", 0)),)),
    Rule(
        "12",
        "partly refunded",
        (
            lambda t: void_wrong_amount(t, t.sale(1000, OTHER_TERMINAL)),
            lambda t: void_wrong_amount(t, t.sale(1000), batch="000002"),
            lambda t: void_wrong_amount(t, voided(t, 1000)),
            lambda t: void_wrong_amount(t, partly_refunded(t, 1000)),
        ),
    ),
    Rule("13", "is not the sale's amount", (lambda t: void_wrong_amount(t, t.sale(1000)),)),
]


async def refund(till: Till, original: Awaitable[str], minor: int) -> Message:
    return await till.send(till.follow_up(Kind.REFUND, await original, minor))


async def funded_top_up(till: Till) -> str:
    """A card sale that paid for a prepaid top-up, which stands."""
    rrn = await till.sale(5_000)
    pan, expiry = await till.prepaid()
    await till.approved(till.card(Kind.PREPAID_CARD_TOP_UP, pan, expiry, 5_000, funding_rrn=rrn))
    return rrn


REFUND = [
    Rule(
        "58",
        "has not signed in",
        (lambda t: t.send(t.follow_up(Kind.REFUND, "999999999999", 1, terminal=NEVER_SIGNED_IN)),),
    ),
    Rule("25", "no sale", (lambda t: t.send(t.follow_up(Kind.REFUND, "999999999999", 0)),)),
    Rule(
        "12",
        "not approved or settled",
        (
            lambda t: refund(t, voided(t, 1000), 5000),
            lambda t: refund(t, funded_top_up(t), 0),
        ),
    ),
    Rule(
        "13",
        "is zero",
        (lambda t: refund(t, t.sale(1000), 0), lambda t: refund(t, partly_refunded(t, 1000), 901)),
    ),
]


async def completed(till: Till, minor: int) -> str:
    rrn = await till.preauth(minor)
    await till.approved(till.follow_up(Kind.PREAUTH_COMPLETION, rrn, minor))
    return rrn


async def cancelled(till: Till, minor: int) -> str:
    rrn = await till.preauth(minor)
    await till.approved(till.follow_up(Kind.PREAUTH_CANCEL, rrn, minor))
    return rrn


async def complete(till: Till, original: Awaitable[str], minor: int) -> Message:
    return await till.send(till.follow_up(Kind.PREAUTH_COMPLETION, await original, minor))


async def cancel(till: Till, original: Awaitable[str], minor: int) -> Message:
    return await till.send(till.follow_up(Kind.PREAUTH_CANCEL, await original, minor))


async def low_preauth(till: Till, minor: int) -> str:
    """A hold on the card with 10.00."""
    return await till.preauth(minor, LOW)


COMPLETION = [
    Rule(
        "58",
        "has not signed in",
        (
            lambda t: t.send(
                t.follow_up(Kind.PREAUTH_COMPLETION, "999999999999", 0, terminal=NEVER_SIGNED_IN)
            ),
        ),
    ),
    Rule(
        "25",
        "no pre-authorisation",
        (
            lambda t: t.send(t.follow_up(Kind.PREAUTH_COMPLETION, "999999999999", 0)),
            lambda t: complete(t, t.sale(1000), 0),
        ),
    ),
    Rule(
        "12",
        "already has a completion or a cancel",
        (
            lambda t: complete(t, completed(t, 1000), 0),
            lambda t: complete(t, cancelled(t, 1000), 0),
        ),
    ),
    Rule("13", "is zero", (lambda t: complete(t, t.preauth(1000), 0),)),
    # 5.00 held, 5.00 left: 20.00 is above 5.75 and beyond what the card can pay.
    Rule("61", "tolerance", (lambda t: complete(t, low_preauth(t, 500), 2_000),)),
    # Another 4.50 held, 0.50 left: 5.17 is within the tolerance, its excess is not.
    Rule("51", "cannot pay", (lambda t: complete(t, low_preauth(t, 450), 517),)),
]

CANCEL = [
    Rule(
        "58",
        "not signed in",
        (
            lambda t: t.send(
                t.follow_up(Kind.PREAUTH_CANCEL, "999999999999", 1, terminal=NEVER_SIGNED_IN)
            ),
        ),
    ),
    Rule(
        "25",
        "no pre-authorisation",
        (lambda t: t.send(t.follow_up(Kind.PREAUTH_CANCEL, "999999999999", 1)),),
    ),
    Rule(
        "12",
        "already has a completion or a cancel",
        (
            lambda t: cancel(t, completed(t, 1000), 999),
            lambda t: cancel(t, cancelled(t, 1000), 999),
        ),
    ),
    Rule(
        "13", "is not the pre-authorisation's amount", (lambda t: cancel(t, t.preauth(1000), 999),)
    ),
]


def transfer(till: Till, pan: str, expiry: str, minor: int, target: str, **options: Any) -> Message:
    return till.card(Kind.TRANSFER, pan, expiry, minor, target=target, **options)


TRANSFER = [
    Rule(
        "58",
        "has not signed in",
        (
            lambda t: t.send(
                transfer(t, GOOD.pan, GOOD.expiry, 100, UNKNOWN_CARD_PAN, terminal=NEVER_SIGNED_IN)
            ),
        ),
    ),
    Rule(
        "14",
        "field 2 is not",
        (lambda t: t.send(transfer(t, bad_luhn(GOOD.pan), GOOD.expiry, 0, bad_luhn(LOW.pan))),),
    ),
    Rule(
        "13",
        "amount is zero",
        (lambda t: t.send(transfer(t, GOOD.pan, GOOD.expiry, 0, bad_luhn(LOW.pan))),),
    ),
    Rule(
        "14",
        "field 103 is not",
        (lambda t: t.send(transfer(t, RESTRICTED.pan, "2001", 100, bad_luhn(LOW.pan))),),
    ),
    Rule(
        "12",
        "the card of field 2",
        (lambda t: t.send(transfer(t, UNKNOWN_CARD_PAN, "3012", 100, UNKNOWN_CARD_PAN)),),
    ),
    Rule(
        "14",
        "source card is not on",
        (lambda t: t.send(transfer(t, UNKNOWN_CARD_PAN, "3012", 100, RESTRICTED.pan)),),
    ),
    Rule(
        "05",
        "ARQC",
        (
            lambda t: t.send(
                transfer(t, RESTRICTED.pan, "2001", 100, UNKNOWN_CARD_PAN, chip_psn="02")
            ),
        ),
    ),
    Rule(
        "55",
        "PIN",
        (
            lambda t: t.send(
                transfer(t, RESTRICTED.pan, "2001", 100, UNKNOWN_CARD_PAN, pin="000000")
            ),
        ),
    ),
    Rule(
        "62",
        "source card is restricted",
        (lambda t: t.send(transfer(t, RESTRICTED.pan, "2001", 100, UNKNOWN_CARD_PAN)),),
    ),
    Rule(
        "54",
        "expired",
        (lambda t: t.send(transfer(t, EXPIRED.pan, EXPIRED.expiry, 100, UNKNOWN_CARD_PAN)),),
    ),
    Rule(
        "13",
        "currency",
        (
            lambda t: t.send(
                transfer(t, GOOD.pan, GOOD.expiry, 100, UNKNOWN_CARD_PAN, currency=USD)
            ),
        ),
    ),
    Rule(
        "61",
        "100,000.00",
        (lambda t: t.send(transfer(t, LOW.pan, LOW.expiry, 10_000_001, UNKNOWN_CARD_PAN)),),
    ),
    Rule(
        "14",
        "target card is not on",
        (lambda t: t.send(transfer(t, LOW.pan, LOW.expiry, 2_000, UNKNOWN_CARD_PAN)),),
    ),
    Rule(
        "62",
        "target card is restricted",
        (lambda t: t.send(transfer(t, LOW.pan, LOW.expiry, 2_000, RESTRICTED.pan)),),
    ),
    Rule("13", "target card holds", untested="every test card holds CNY"),
    Rule(
        "51",
        "available balance",
        (lambda t: t.send(transfer(t, LOW.pan, LOW.expiry, 2_000, GOOD.pan)),),
    ),
]


async def top_up_by(till: Till, sale: Awaitable[str], minor: int, **options: Any) -> Message:
    pan, expiry = await till.prepaid()
    rrn = await sale
    return await till.send(
        till.card(Kind.PREPAID_CARD_TOP_UP, pan, expiry, minor, funding_rrn=rrn, **options)
    )


async def top_up_frozen(till: Till, sale: Awaitable[str], minor: int) -> Message:
    pan, expiry = await till.frozen()
    rrn = await sale
    return await till.send(till.card(Kind.PREPAID_CARD_TOP_UP, pan, expiry, minor, funding_rrn=rrn))


async def prepaid_payment(till: Till) -> str:
    pan, expiry = await till.prepaid(balance=10_000)
    return await till.approved(till.card(Kind.SALE, pan, expiry, 5_000))


CARD_TOP_UP = [
    Rule(
        "58",
        "has not signed in",
        (lambda t: t.send(bad_luhn_top_up(t, terminal=NEVER_SIGNED_IN)),),
    ),
    Rule("14", "Luhn", (lambda t: t.send(bad_luhn_top_up(t)),)),
    Rule("13", "amount is zero", (lambda t: top_up_by(t, given("999999999999"), 0),)),
    Rule("25", "no card sale", (lambda t: top_up_by(t, given("999999999999"), 1),)),
    Rule(
        "12",
        "paid for a top-up already",
        (
            lambda t: top_up_by(t, t.sale(5_000, OTHER_TERMINAL), 1),
            lambda t: top_up_by(t, voided(t, 5_000), 1),
            lambda t: top_up_frozen(t, funded_top_up(t), 1),
        ),
    ),
    Rule("13", "differs", (lambda t: top_up_frozen(t, t.sale(5_000), 1),)),
    Rule("12", "prepaid payment", (lambda t: top_up_frozen(t, prepaid_payment(t), 5_000),)),
]


async def given(rrn: str) -> str:
    return rrn


def bad_luhn_top_up(till: Till, terminal: str = TERMINAL) -> Message:
    pan, expiry = till.blank()
    return till.card(
        Kind.PREPAID_CARD_TOP_UP,
        bad_luhn(pan),
        expiry,
        0,
        funding_rrn="999999999999",
        terminal=terminal,
    )


def unknown_prepaid(till: Till, kind: Kind, minor: int = 0, **options: Any) -> Message:
    pan, expiry = till.blank()
    return till.card(kind, pan, expiry, minor, **options)


async def prepaid_request(
    till: Till, card: Awaitable[tuple[str, str]], kind: Kind, minor: int = 0, **options: Any
) -> Message:
    pan, expiry = await card
    expiry = options.pop("expiry", expiry)
    return await till.send(till.card(kind, pan, expiry, minor, **options))


PREPAID = [
    Rule(
        "12",
        "chip read",
        (
            lambda t: t.send(unknown_prepaid(t, Kind.PREAUTH, 100)),
            lambda t: t.send(unknown_prepaid(t, Kind.SALE, 100, chip_psn="00")),
        ),
    ),
    Rule(
        "14",
        "not one the programme issued",
        (lambda t: t.send(unknown_prepaid(t, Kind.PREPAID_FREEZE, currency=USD)),),
    ),
    Rule(
        "54",
        "expired",
        (lambda t: prepaid_request(t, t.frozen(), Kind.SALE, 100, expiry="3912", currency=USD),),
    ),
    Rule(
        "12",
        "status does not allow",
        (
            lambda t: prepaid_request(t, t.prepaid(), Kind.PREPAID_ACTIVATE, pin="1234"),
            lambda t: prepaid_request(t, t.prepaid(), Kind.PREPAID_ISSUE, currency=USD),
        ),
    ),
    Rule(
        "57",
        "not activated",
        (lambda t: prepaid_request(t, t.prepaid(activate=False), Kind.SALE, 100, currency=USD),),
    ),
    Rule(
        "62",
        "frozen",
        (lambda t: prepaid_request(t, t.frozen(), Kind.PREPAID_TOP_UP, 100, currency=USD),),
    ),
    Rule(
        "13",
        "another currency",
        (lambda t: prepaid_request(t, t.prepaid(pin="1234"), Kind.SALE, 100, currency=USD),),
    ),
    Rule(
        "55",
        "wrong PIN",
        (
            lambda t: prepaid_request(
                t, t.prepaid(pin="1234"), Kind.PREPAID_TOP_UP, 600_000, pin="4321"
            ),
            lambda t: prepaid_request(t, t.prepaid(pin="1234", balance=500), Kind.SALE, 300_000),
        ),
    ),
    Rule(
        "61",
        "maximum balance",
        (
            lambda t: prepaid_request(t, t.prepaid(balance=1_000), Kind.PREPAID_TOP_UP, 499_001),
            lambda t: prepaid_request(t, t.prepaid(balance=1_000), Kind.SALE, 200_001),
        ),
    ),
    Rule(
        "51",
        "balance",
        (lambda t: prepaid_request(t, t.prepaid(balance=1_000), Kind.SALE, 1_001),),
    ),
]

# Each order, with where the document gives it.
ORDERS: dict[str, tuple[str, str, list[Rule]]] = {
    "sale": ("### 4.2 Sale", "Why a sale declines", SALE),
    "balance inquiry": (
        "### 4.3 Balance inquiry",
        "Why a balance inquiry declines",
        BALANCE_INQUIRY,
    ),
    "void": ("### 4.5 Void", "Why a void declines", VOID),
    "refund": ("### 4.6 Refund", "Why a refund declines", REFUND),
    "completion": ("### 4.8 Pre-authorisation completion", "Why a completion declines", COMPLETION),
    "cancel": ("### 4.9 Pre-authorisation cancel", "Why a cancel declines", CANCEL),
    "transfer": ("### 4.10 Transfer", "Why a transfer declines", TRANSFER),
    "top-up by card": (
        "### 4.20 Prepaid top-up by card",
        "Why a top-up by card declines",
        CARD_TOP_UP,
    ),
}


def heading(prefix: str) -> str:
    return next(line for line in DOC.splitlines() if line.startswith(prefix + " "))


def codes_in(text: str) -> list[str]:
    return re.findall(r"`([0-9A-Z]{2})`", text)


def listed_codes(heading_line: str) -> set[str]:
    start = DOC.index(heading_line + "\n")
    text = DOC[start : DOC.index("\n### ", start + 1)]
    line = next(line for line in text.splitlines() if line.startswith("Response codes: "))
    return set(codes_in(line))


@pytest.mark.parametrize("name", list(ORDERS))
def test_the_documented_order_is_the_rules(name: str) -> None:
    prefix, introduction, rules = ORDERS[name]
    documented = items(heading(prefix), introduction)
    assert len(documented) == len(rules), documented
    for item, rule in zip(documented, rules, strict=True):
        assert rule.code in codes_in(item) and rule.says in item, (rule, item)


def test_the_programme_s_documented_order_is_the_rules() -> None:
    rows = prepaid_rows()
    assert len(rows) == len(PREPAID), rows
    for row, rule in zip(rows, PREPAID, strict=True):
        code, when = row.strip("|").split("|")
        assert rule.code in codes_in(code) and rule.says in when, (rule, row)


async def run_rules(database: Database, key_dir: Path, rules: list[Rule]) -> list[str]:
    """Send every case of `rules`; a line for each answer that is not its rule's code."""
    wrong: list[str] = []
    async with host_node(database, key_dir, recovery_interval=None) as node:
        answer = await node.service.handle(SIGN_IN)
        assert answer is not None and answer["39"] == "00"
        pin_key = decrypt_under(TEST_TMK, read_working_keys_field(answer["62"], TEST_TMK)[0])
        other = SIGN_IN | {"41": OTHER_TERMINAL}
        assert (await node.service.handle(other) or {}).get("39") == "00"
        till = Till(node, pin_key)
        for rule in rules:
            for number, case in enumerate(rule.cases, 1):
                response = await case(till)
                if response["39"] != rule.code:
                    wrong.append(f"{rule.code} {rule.says!r} case {number}: {response['39']}")
    return wrong


@pytest.mark.parametrize("name", list(ORDERS))
async def test_the_host_answers_each_rule_with_its_code(
    database: Database, tmp_path: Path, name: str
) -> None:
    prefix, _, rules = ORDERS[name]
    assert {rule.code for rule in rules} <= listed_codes(heading(prefix))
    wrong = await run_rules(database, tmp_path, rules)
    assert not wrong, "\n".join(wrong)


async def test_the_programme_answers_each_rule_with_its_code(
    database: Database, tmp_path: Path
) -> None:
    wrong = await run_rules(database, tmp_path, PREPAID)
    assert not wrong, "\n".join(wrong)
