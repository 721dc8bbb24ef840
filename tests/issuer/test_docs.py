"""docs/test-cards.md says exactly what the simulator's data says and does, and its example
runs.

Each table of the page is compared row by row, in order, with rows rendered from
`pospay.issuer.test_cards`; a card, magic amount or limit that is missing, extra or
different in the page fails here. The order in which the simulator decides ("How a
request is decided") is sent to it rule by rule, each request breaking its rule and
later ones, and must be answered with the rule's code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from pospay.channels import CardAuthorisation
from pospay.emv import SimulatedCard, TerminalData
from pospay.iso8583.response_codes import RESPONSE_CODES
from pospay.issuer import (
    MAGIC_AMOUNTS,
    SINGLE_SALE_LIMIT,
    TEST_CARDS,
    UNKNOWN_CARD_PAN,
    IssuerSimulator,
    TestCard,
)
from pospay.money import Money
from pospay.security.pin import encrypt_pin_block
from pospay.security.test_keys import TEST_IMK_AC, TEST_PIN_VERIFICATION_KEY, TEST_ZONE_PIN_KEY
from pospay.transaction import Kind, Method

from .support import CLOCK_TODAY, EXPIRED, LOW, RESTRICTED, RICH, running_issuer, sale

PAGE = Path(__file__).resolve().parents[2] / "docs" / "test-cards.md"


def sections(markdown: str) -> dict[str, str]:
    """The text under each ``## `` heading, by heading."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def table(section: str) -> list[list[str]]:
    """The body rows of the first table in `section`, cells stripped of spaces and backticks."""
    rows = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows]
    return [row for row in cells[1:] if not all(set(cell) <= {"-"} for cell in row)]


def shown(amount: Money) -> str:
    return f"{amount.currency} {amount.as_decimal():,}"


@pytest.fixture(scope="module")
def page() -> dict[str, str]:
    return sections(PAGE.read_text(encoding="utf-8"))


def test_every_test_card_is_documented_as_it_is(page: dict[str, str]) -> None:
    expected = [
        [
            *(c.pan, c.psn, c.brand.value, c.expiry, c.pin),
            *(shown(c.opening_balance), c.holder, c.behaviour),
        ]
        for c in TEST_CARDS
    ]
    assert table(page["Test cards"]) == expected


def test_the_test_keys_are_documented_as_they_are(page: dict[str, str]) -> None:
    rows = {row[0]: row[1] for row in table(page["Test keys"])}
    assert rows["IMK-AC"] == TEST_IMK_AC.hex().upper()
    assert rows["PIN verification key"] == TEST_PIN_VERIFICATION_KEY.hex().upper()


def test_the_unknown_card_is_documented(page: dict[str, str]) -> None:
    assert [row[0] for row in table(page["Unknown card"])] == [UNKNOWN_CARD_PAN]
    assert "14" in table(page["Unknown card"])[0][1]


def test_every_magic_amount_is_documented_with_its_meaning(page: dict[str, str]) -> None:
    expected = [
        [str(Money(minor, "CNY").as_decimal()), str(minor), code, RESPONSE_CODES[code].meaning]
        for minor, code in MAGIC_AMOUNTS.items()
    ]
    assert table(page["Magic amounts"]) == expected


def test_the_single_sale_limit_is_documented(page: dict[str, str]) -> None:
    limit = shown(Money(SINGLE_SALE_LIMIT, "CNY"))
    assert table(page["Limits"]) == [["Single sale", limit, "61", RESPONSE_CODES["61"].meaning]]


def test_the_usage_example_runs_and_declines_as_it_says(
    page: dict[str, str], tmp_path: Path
) -> None:
    example = re.search(r"```python\n(.*?)```", page["Using the cards"], flags=re.DOTALL)
    assert example is not None
    run = subprocess.run(  # noqa: S603 (the code is this repository's own documentation)
        [sys.executable, "-c", example.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.startswith("51 magic amount")


# "How a request is decided": each rule of the page's list, and requests that break it
# and rules after it, sent straight to the simulator. A request is built from the card it
# is made on; `Ask` turns a reference into the request (follow-ups first make their
# original).

Ask = Callable[[IssuerSimulator, str], Awaitable[CardAuthorisation]]


def ask(card: TestCard | None, minor: int, **changes: Any) -> Ask:
    """A request on `card` (None: the unknown card) of `minor`, with `changes` made."""
    pan, expiry = (UNKNOWN_CARD_PAN, "3012") if card is None else (card.pan, card.expiry)
    psn = changes.pop("chip_psn", None)
    pin = changes.pop("pin", None)
    currency = changes.pop("currency", "CNY")

    async def request(issuer: IssuerSimulator, reference: str) -> CardAuthorisation:
        made = sale(pan, expiry, minor, reference=reference, currency=currency)
        made = replace(made, **changes)
        if psn is not None:
            data = TerminalData(minor, "156", "156", CLOCK_TODAY, bytes(4))
            icc = SimulatedCard(pan, psn).generate_ac(data).field_55()
            made = replace(made, method=Method.CARD_CHIP, card_sequence=f"0{psn}", icc_data=icc)
        if pin is not None:
            made = replace(
                made, pin_block=bytes.fromhex(encrypt_pin_block(pin, pan, TEST_ZONE_PIN_KEY))
            )
        return made

    return request


CNY_MAGIC = 66605  # 666.05: 05
REPLACED = next(card for card in TEST_CARDS if card.psn != "01")
RULES: list[tuple[str, list[tuple[str, Ask]]]] = [
    ("not on file", [("14", ask(None, CNY_MAGIC, chip_psn="01", pin="0000", currency="USD"))]),
    (
        "ARQC",
        [
            ("05", ask(RESTRICTED, 100, chip_psn="02", pin="0000", expiry="2001")),
            ("05", ask(REPLACED, 100, chip_psn="01")),
        ],
    ),
    ("PIN", [("55", ask(RESTRICTED, CNY_MAGIC, pin="0000", expiry="2001", currency="USD"))]),
    ("restricted", [("62", ask(RESTRICTED, CNY_MAGIC, expiry="2001", kind=Kind.SETTLEMENT))]),
    ("expired", [("54", ask(EXPIRED, CNY_MAGIC, kind=Kind.SETTLEMENT, currency="USD"))]),
    ("not a sale", [("12", ask(RICH, 0, kind=Kind.SETTLEMENT, currency="USD"))]),
    (
        "another currency",
        [("13", ask(RICH, CNY_MAGIC, currency="USD")), ("13", ask(LOW, 0))],
    ),
    ("magic amount", [("05", ask(LOW, CNY_MAGIC))]),
    ("single-sale limit", [("61", ask(LOW, SINGLE_SALE_LIMIT + 1, kind=Kind.TRANSFER))]),
    (
        "target card",
        [
            ("14", ask(LOW, 2_000, kind=Kind.TRANSFER, target_pan=UNKNOWN_CARD_PAN)),
            ("12", ask(LOW, 2_000, kind=Kind.TRANSFER, target_pan=LOW.pan)),
            ("62", ask(LOW, 2_000, kind=Kind.TRANSFER, target_pan=RESTRICTED.pan)),
        ],
    ),
    ("available balance", [("51", ask(LOW, 2_000)), ("00", ask(LOW, 100))]),
]


def follow_up(kind: Kind, minor: int, original: Ask | None) -> Ask:
    """A `kind` of `minor` naming the approval `original` makes (None: a reference never
    used)."""

    async def request(issuer: IssuerSimulator, reference: str) -> CardAuthorisation:
        named = "never-used"
        if original is not None:
            named = (await original(issuer, f"{reference}-original")).reference
        made = replace(sale("", "", minor, reference=reference), kind=kind)
        return replace(made, original_reference=named)

    return request


def approved(kind: Kind, minor: int, card: TestCard = RICH, *after: tuple[Kind, int]) -> Ask:
    """An approval of `kind` on `card`, then each follow-up of `after` approved on it."""

    async def original(issuer: IssuerSimulator, reference: str) -> CardAuthorisation:
        request = await ask(card, minor, kind=kind)(issuer, reference)
        assert (await issuer.authorise(request)).response_code == "00"
        for number, (follow, amount) in enumerate(after):
            done = await follow_up(follow, amount, None)(issuer, f"{reference}-{number}")
            done = replace(done, original_reference=reference)
            assert (await issuer.authorise(done)).response_code == "00"
        return request

    return original


# The card holding 10.00 is left 9.00 by the rules above, then 5.00 are held on it (4.00
# left), then 3.50 more (0.50 left): 4.02 completes 3.50 within the tolerance, but the
# 0.52 above the hold is more than the card has.
FOLLOW_UPS: list[tuple[str, list[tuple[str, Ask]]]] = [
    ("no approval", [("25", follow_up(Kind.VOID, 1, None))]),
    (
        "no longer approved",
        [
            (
                "12",
                follow_up(
                    Kind.PREAUTH_COMPLETION,
                    0,
                    approved(Kind.PREAUTH, 1000, RICH, (Kind.PREAUTH_COMPLETION, 1000)),
                ),
            ),
            (
                "12",
                follow_up(
                    Kind.PREAUTH_CANCEL,
                    1,
                    approved(Kind.PREAUTH, 1000, RICH, (Kind.PREAUTH_COMPLETION, 1000)),
                ),
            ),
            ("12", follow_up(Kind.VOID, 1, approved(Kind.SALE, 1000, RICH, (Kind.REFUND, 100)))),
        ],
    ),
    (
        "another amount",
        [
            ("13", follow_up(Kind.PREAUTH_CANCEL, 999, approved(Kind.PREAUTH, 1000))),
            ("13", follow_up(Kind.REFUND, 1, approved(Kind.SALE, 1000, RICH, (Kind.VOID, 1000)))),
            ("13", follow_up(Kind.PREAUTH_COMPLETION, 0, approved(Kind.PREAUTH, 1000))),
        ],
    ),
    (
        "tolerance",
        [("61", follow_up(Kind.PREAUTH_COMPLETION, 2_000, approved(Kind.PREAUTH, 500, LOW)))],
    ),
    (
        "cannot pay",
        [("51", follow_up(Kind.PREAUTH_COMPLETION, 402, approved(Kind.PREAUTH, 350, LOW)))],
    ),
]


def bold_codes(text: str) -> list[str]:
    return re.findall(r"\*\*([0-9A-Z]{2})\*\*", text)


def test_the_order_of_the_rules_is_the_page_s(page: dict[str, str]) -> None:
    text = page["How a request is decided"]
    items = re.findall(r"^\d+\. (.*(?:\n {3,}.*)*)", text, flags=re.MULTILINE)
    assert len(items) == len(RULES), items
    for item, (says, cases) in zip(items, RULES, strict=True):
        assert says in " ".join(item.split()), (says, item)
        codes = {code for code, _ in cases} - {"00"}
        assert codes <= set(bold_codes(item)) or "**its code**" in item, item
    follow_ups = next(p for p in text.split("\n\n") if p.startswith("Voids, refunds"))
    parts = re.split(r"(?=\*\*[0-9]{2}\*\*)", follow_ups)[1:]
    assert len(parts) == len(FOLLOW_UPS)
    for part, (says, cases) in zip(parts, FOLLOW_UPS, strict=True):
        assert says in " ".join(part.split()), (says, part)
        assert {code for code, _ in cases} == set(bold_codes(part)), part


async def test_the_simulator_answers_each_rule_of_the_page(issuer_engine: Engine) -> None:
    wrong = []
    async with running_issuer(issuer_engine) as issuer:
        for says, cases in [*RULES, *FOLLOW_UPS]:
            for number, (code, request) in enumerate(cases):
                reference = f"{says[:8]}-{number}"
                answer = await issuer.authorise(await request(issuer, reference))
                if answer.response_code != code:
                    wrong.append(f"{code} {says!r} case {number}: {answer.response_code}")
    assert not wrong, "\n".join(wrong)
