"""The documented test cards and magic amounts of the card issuer simulator.

This table is the single source for the simulator's accounts, for the demo's
trading day and for ``docs/test-cards.md``. Every PAN is Luhn-valid and lies in
its brand's range; none is a real card. PINs are for the simulator only.

Magic amounts: a sale of 666.xx in any currency with two minor digits (666xx minor
units) is declined with response code ``xx`` when ``xx`` is in `MAGIC_AMOUNTS`, on
any card that passes the card checks (on file, active, unexpired); every other amount
is decided by the card and its balance. 666.91 is the exception: decided like any
amount, its answer is lost (`issuer.decision.ANSWER_LOST`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pospay.cards import Brand
from pospay.money import Money


@dataclass(frozen=True, slots=True)
class TestCard:
    pan: str
    brand: Brand
    expiry: str  # YYMM
    pin: str
    opening_balance: Money
    holder: str
    behaviour: str  # what the card does, in one line, for the docs
    status: str = "active"  # active | restricted
    # PAN sequence number (EMV 5F34): with the PAN, selects the card's ICC master key.
    psn: str = "01"

    __test__ = False  # not a pytest test class, despite the name


# One card per two lines reads as the table it is.
# fmt: off
TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("6212345600000012", Brand.UNIONPAY, "3012", "123456", Money(5_000_000, "CNY"),
             "ZHANG SAN", "approves; 50,000.00 available"),
    TestCard("6225880000000027", Brand.UNIONPAY, "2912", "654321", Money(1_000_000, "CNY"),
             "LI SI", "approves; 10,000.00 available; a replacement card (PSN 02)", psn="02"),
    TestCard("4000200000000016", Brand.VISA, "2811", "1234", Money(2_000_000, "CNY"),
             "WANG WU", "approves; 20,000.00 available"),
    TestCard("5413330000000001", Brand.MASTERCARD, "2906", "4321", Money(2_000_000, "CNY"),
             "ZHAO LIU", "approves; 20,000.00 available"),
    TestCard("2223000000000007", Brand.MASTERCARD, "3103", "0000", Money(800_000, "CNY"),
             "SUN QI", "approves; 8,000.00 available (2-series BIN)"),
    TestCard("6212345600000095", Brand.UNIONPAY, "3012", "111111", Money(1_000, "CNY"),
             "ZHOU BA", "low balance: 10.00 available, larger sales decline 51"),
    TestCard("6212345600000178", Brand.UNIONPAY, "2012", "222222", Money(1_000_000, "CNY"),
             "WU JIU", "expired (12/2020): every request declines 54"),
    TestCard("6212345600000251", Brand.UNIONPAY, "3012", "333333", Money(1_000_000, "CNY"),
             "ZHENG SHI", "restricted: every request declines 62", status="restricted"),
)
# fmt: on

# Luhn-valid, in range, but not on the issuer's file: declines 14.
UNKNOWN_CARD_PAN = "6212345600000335"

# 666.xx -> response code xx
MAGIC_AMOUNTS: dict[int, str] = {
    66605: "05",
    66651: "51",
    66654: "54",
    66661: "61",
    66691: "91",
    66696: "96",
}

# A single sale above this many minor units declines 61 (exceeds amount limit).
SINGLE_SALE_LIMIT = 10_000_000


def find_card(pan: str) -> TestCard | None:
    """The test card with this PAN, if any."""
    return next((card for card in TEST_CARDS if card.pan == pan), None)
