"""docs/test-cards.md says exactly what the simulator's data says, and its example runs.

Each table of the page is compared row by row, in order, with rows rendered from
`pospay.issuer.test_cards`; a card, magic amount or limit that is missing, extra or
different in the page fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pospay.iso8583.response_codes import RESPONSE_CODES
from pospay.issuer import MAGIC_AMOUNTS, SINGLE_SALE_LIMIT, TEST_CARDS, UNKNOWN_CARD_PAN
from pospay.money import Money
from pospay.security.test_keys import TEST_IMK_AC, TEST_PIN_VERIFICATION_KEY

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
