"""The prepaid programme's settings: which card numbers are its own, and the card rules.

The host is the issuer of its prepaid stored-value cards. A programme owns one or more
BIN ranges (card number prefixes); the host routes every request whose card number
starts with one of them to the prepaid ledger, and a card can only be issued with a
number from them. Each card gets the programme's limits when it is issued (its own
maximum balance and daily spending limit, kept on its account) and an expiry no later
than `validity_months` after the month of issue.

>>> TEST_PROGRAMME.owns("8891000000000013")
True
>>> TEST_PROGRAMME.owns("6212345600000012")
False
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pospay.money import Money

# The documented test programme's BIN: eight digits outside every card brand's range,
# so no test card of the issuer simulator can ever be routed to the prepaid ledger.
TEST_PREPAID_BIN = "88910000"


@dataclass(frozen=True, slots=True)
class Programme:
    """A prepaid programme. Money amounts are in the programme's one currency."""

    bins: tuple[str, ...] = (TEST_PREPAID_BIN,)
    currency: str = "CNY"
    pan_length: int = 16
    validity_months: int = 36
    # 5,000.00 per card by default, and 2,000.00 of payments per card per day.
    max_balance: Money = field(default_factory=lambda: Money(500_000, "CNY"))
    daily_spend: Money = field(default_factory=lambda: Money(200_000, "CNY"))

    def __post_init__(self) -> None:
        if not self.bins or not all(b.isdigit() and 6 <= len(b) <= 11 for b in self.bins):
            raise ValueError("a programme's BINs are 6 to 11 digits each")
        if not 13 <= self.pan_length <= 19 or any(len(b) >= self.pan_length for b in self.bins):
            raise ValueError("the card number must be 13 to 19 digits and longer than its BIN")
        for limit in (self.max_balance, self.daily_spend):
            if limit.currency != self.currency or limit.minor <= 0:
                raise ValueError(f"a limit is a positive amount in {self.currency}, not {limit}")
        if self.validity_months < 1:
            raise ValueError("cards are valid for at least one month")

    def owns(self, pan: str) -> bool:
        """Whether `pan` is a card number of this programme (by its BIN, not its check digit)."""
        return any(pan.startswith(prefix) for prefix in self.bins)


TEST_PROGRAMME = Programme()
