"""Prepaid stored-value cards, with the host as their issuer, on a double-entry ledger.

`PrepaidLedger` is the channel the host routes the programme's card numbers to
(`Programme.bins`; `channels.routing.RoutedChannel`): it issues blank cards of the
stock (`stock.blank_cards`), activates, tops up (cash or a card sale), answers balance
inquiries, takes payments, refunds them, freezes and unfreezes, each idempotent by
the host's reference and durable in the host's database together with what it moved.
`expire_cards` is the end-of-validity job; `card_statement` and `ledger_report` are
what `pospay prepaid statement` and `pospay prepaid report` print.
"""

from pospay.prepaid.books import approved_movements, check
from pospay.prepaid.channel import PrepaidLedger
from pospay.prepaid.programme import TEST_PREPAID_BIN, TEST_PROGRAMME, Programme
from pospay.prepaid.stock import BlankCard, blank_cards, expiry_after
from pospay.prepaid.tables import metadata

__all__ = [
    "TEST_PREPAID_BIN",
    "TEST_PROGRAMME",
    "BlankCard",
    "PrepaidLedger",
    "Programme",
    "approved_movements",
    "blank_cards",
    "check",
    "expiry_after",
    "metadata",
]
