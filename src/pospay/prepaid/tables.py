"""The prepaid programme's tables, in the host's database: books and the answers given.

`prepaid_account` holds every account of the programme's double entry (`pospay.ledger`):
a card (the money held for its holder: a liability, credit-normal), what the
programme owes each merchant for prepaid payments (credit-normal), the money each
merchant took for top-ups in cash or by card sale (owed to the programme: an asset,
debit-normal), the balances of expired cards, and what reversals could not take
back because it was spent already (the recovery account, debit-normal). No balance
may be negative: a CHECK constraint and the ledger's conditional update see to it.

A card's row also carries the card: its keyed reference and masked number (never the
PAN), expiry, status, limits and PIN offset (never the PIN). `prepaid_daily_spend` is
what each card paid each day, raised by a conditional update so that concurrent
payments cannot together pass the card's daily limit. `prepaid_operation` stores the
answer to every reference (the host's RRN), so a repeat gets the first answer.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pospay.ledger import Books, entry_table, posting_table
from pospay.storage.types import UtcDateTime

metadata = MetaData()

ACCOUNT_KINDS = ("card", "merchant", "cash", "card_sales", "expired", "recovery")
CARD_STATUSES = ("issued", "active", "frozen", "expired", "closed")
PURPOSES = ("pay", "refund", "top_up", "card_top_up", "reversal", "shortfall", "expiry")
OPERATION_STATES = ("approved", "declined", "reversed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


prepaid_account = Table(
    "prepaid_account",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("normal_side", String(6), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("balance_minor", BigInteger, nullable=False),
    # Cards only: 'issued' until activated, then 'active', 'frozen' while frozen,
    # 'expired' once the expiry job has run, 'closed' when its issue was reversed.
    Column("status", String(8), nullable=True),
    Column("pan_ref", String(32), nullable=True, unique=True),
    Column("pan_masked", String(19), nullable=True),
    Column("expiry", String(4), nullable=True),
    Column("max_balance_minor", BigInteger, nullable=True),
    Column("daily_spend_minor", BigInteger, nullable=True),
    # The IBM 3624 offset of the PIN chosen at issue, and the wrong PINs in a row.
    Column("pin_offset", String(12), nullable=True),
    Column("wrong_pin_tries", Integer, nullable=False, server_default="0"),
    Column("opened_at", UtcDateTime(), nullable=False),
    CheckConstraint(_one_of("kind", ACCOUNT_KINDS), name="ck_prepaid_account_kind"),
    CheckConstraint("normal_side IN ('debit', 'credit')", name="ck_prepaid_account_normal_side"),
    CheckConstraint("balance_minor >= 0", name="ck_prepaid_account_balance_not_negative"),
    CheckConstraint(
        f"kind <> 'card' OR (pan_ref IS NOT NULL AND {_one_of('status', CARD_STATUSES)})",
        name="ck_prepaid_account_card",
    ),
    CheckConstraint("wrong_pin_tries >= 0", name="ck_prepaid_account_pin_tries"),
)

prepaid_entry = entry_table(metadata, "prepaid", PURPOSES, timestamp=UtcDateTime())

prepaid_posting = posting_table(metadata, "prepaid")

# The programme's double entry, for `pospay.ledger`'s functions.
PREPAID_BOOKS = Books(prepaid_account, prepaid_entry, prepaid_posting)

prepaid_daily_spend = Table(
    "prepaid_daily_spend",
    metadata,
    Column(
        "account_id",
        String(64),
        ForeignKey("prepaid_account.account_id", name="fk_prepaid_daily_spend_account"),
        primary_key=True,
    ),
    Column("day", String(8), primary_key=True),  # YYYYMMDD, UTC
    Column("spent_minor", BigInteger, nullable=False),
    CheckConstraint("spent_minor >= 0", name="ck_prepaid_daily_spend_not_negative"),
)

prepaid_operation = Table(
    "prepaid_operation",
    metadata,
    # The host's reference (RRN): the idempotency key. A repeat gets this row's answer.
    Column("reference", String(64), primary_key=True),
    Column("kind", String(24), nullable=False),
    # Null only for a reversal that came before any request (a tombstone).
    Column("account_id", String(64), nullable=True),
    Column("pan_masked", String(19), nullable=True),
    Column("merchant_id", String(15), nullable=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("response_code", String(2), nullable=False),
    Column("auth_code", String(6), nullable=True),
    # The balance the answer reported, so that a repeat reports the same.
    Column("balance_minor", BigInteger, nullable=True),
    Column("reason", Text, nullable=False),
    Column("state", String(8), nullable=False),
    # A refund: the payment it gives back. A card-funded top-up: the card sale that paid it.
    Column("original_reference", String(64), nullable=True),
    # A card sale funds one top-up at most, whatever its answer.
    Column("funding_reference", String(64), nullable=True),
    # How much of a payment refunds have given back; raised by a conditional update.
    Column("undone_minor", BigInteger, nullable=False, server_default="0"),
    # The card's status before an issue, activation, freeze or unfreeze changed it.
    Column("status_before", String(8), nullable=True),
    # The day a payment counted against the daily limit (YYYYMMDD).
    Column("spend_day", String(8), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("funding_reference", name="uq_prepaid_operation_funding"),
    CheckConstraint(_one_of("state", OPERATION_STATES), name="ck_prepaid_operation_state"),
    CheckConstraint(
        "undone_minor >= 0 AND undone_minor <= amount_minor", name="ck_prepaid_operation_undone"
    ),
    CheckConstraint("amount_minor >= 0", name="ck_prepaid_operation_amount"),
)
