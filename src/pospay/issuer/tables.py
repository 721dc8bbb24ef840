"""The issuer simulator's tables: a double-entry ledger and the answers it gave.

The entries and postings tables are those of every set of books (`pospay.ledger`).

Every balance is kept on its account's normal side (a card account is a liability
of the issuer, so credit-normal; the issuer's cash is debit-normal), which is why
no balance may ever be negative: the database refuses it with a CHECK constraint.

No full PAN is stored anywhere: card accounts carry `pan_ref` (a keyed one-way
reference) and `pan_masked` (first 6 / last 4). Constraint names are explicit so
that the Alembic migration creates exactly this schema on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from pospay.ledger import Books, entry_table, posting_table

metadata = MetaData()

issuer_account = Table(
    "issuer_account",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("normal_side", String(6), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("balance_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    # Card accounts only.
    Column("pan_ref", String(32), nullable=True, unique=True),
    Column("pan_masked", String(19), nullable=True),
    Column("brand", String(16), nullable=True),
    Column("expiry", String(4), nullable=True),
    Column("holder_name", String(64), nullable=True),
    # The PAN sequence number (EMV 5F34, 2 digits): with the PAN, it selects the chip's key.
    Column("card_sequence", String(2), nullable=True),
    CheckConstraint(
        "kind IN ('card', 'settlement', 'funding', 'holds')", name="ck_issuer_account_kind"
    ),
    CheckConstraint("normal_side IN ('debit', 'credit')", name="ck_issuer_account_normal_side"),
    CheckConstraint("status IN ('active', 'restricted')", name="ck_issuer_account_status"),
    CheckConstraint("balance_minor >= 0", name="ck_issuer_account_balance_not_negative"),
    CheckConstraint("kind <> 'card' OR pan_ref IS NOT NULL", name="ck_issuer_account_card_pan_ref"),
)

# Online PIN verification: the card's IBM 3624 PIN offset (never the PIN, never a PIN
# block) and the consecutive wrong PINs entered; at `PIN_TRIES_LIMIT` the card is refused.
issuer_card_pin = Table(
    "issuer_card_pin",
    metadata,
    Column(
        "account_id",
        String(64),
        ForeignKey("issuer_account.account_id", name="fk_issuer_card_pin_account"),
        primary_key=True,
    ),
    Column("pin_offset", String(12), nullable=False),
    Column("wrong_tries", Integer, nullable=False),
    CheckConstraint("wrong_tries >= 0", name="ck_issuer_card_pin_tries"),
)

issuer_entry = entry_table(
    metadata,
    "issuer",
    (
        "funding",
        "sale",
        "reversal",
        "void",
        "refund",
        "hold",
        "release",
        "completion",
        "transfer",
    ),
)

issuer_posting = posting_table(metadata, "issuer")

# The double entry of the issuer, for `pospay.ledger`'s functions.
ISSUER_BOOKS = Books(issuer_account, issuer_entry, issuer_posting)

issuer_authorisation = Table(
    "issuer_authorisation",
    metadata,
    # The host's reference: the idempotency key. A repeated request gets this row's answer.
    Column("reference", String(64), primary_key=True),
    Column("kind", String(24), nullable=False),
    # Null only for a reversal that arrived before any authorisation (a tombstone).
    Column("pan_ref", String(32), nullable=True),
    Column("pan_masked", String(19), nullable=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("response_code", String(2), nullable=False),
    Column("auth_code", String(6), nullable=True),
    # The available balance the answer reported, so that a replay reports the same.
    Column("balance_minor", BigInteger, nullable=True),
    Column("reason", Text, nullable=False),
    Column(
        "entry_id",
        Integer,
        ForeignKey("issuer_entry.entry_id", name="fk_issuer_authorisation_entry"),
        nullable=True,
    ),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # A void, refund, completion or cancel: the reference of the attempt it acts on.
    Column("original_reference", String(64), nullable=True),
    # How much of this approval later attempts have undone (voided, refunded, released);
    # the conditional update that raises it is what keeps refunds within the original.
    Column("undone_minor", BigInteger, nullable=False, server_default="0"),
    CheckConstraint(
        "state IN ('approved', 'declined', 'reversed')", name="ck_issuer_authorisation_state"
    ),
    CheckConstraint(
        "undone_minor >= 0 AND undone_minor <= amount_minor",
        name="ck_issuer_authorisation_undone",
    ),
    CheckConstraint("amount_minor >= 0", name="ck_issuer_authorisation_amount"),
)
