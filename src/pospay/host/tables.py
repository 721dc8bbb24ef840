"""The host's tables. The host journal holds one row per request the host accepted;
`host_reversal` one row per reversal (0400) received, under its own duplicate key.

No full PAN is stored: `pan_masked` (first 6 / last 4) and `pan_ref` (a keyed
one-way reference) are enough to answer, settle and reconcile.
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

from pospay.storage.types import UtcDateTime

metadata = MetaData()

host_journal = Table(
    "host_journal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The duplicate-transmission key: the same terminal, STAN and transmission time
    # is the same request, however often it arrives.
    Column("terminal_id", String(8), nullable=False),
    Column("stan", String(6), nullable=False),
    Column("transmission_at", String(10), nullable=False),
    Column("merchant_id", String(15), nullable=False),
    Column("mti", String(4), nullable=False),
    Column("processing_code", String(6), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("method", String(24), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("pan_masked", String(19), nullable=False),
    Column("pan_ref", String(32), nullable=False),
    Column("batch", String(6), nullable=False),
    # The host's own reference: the retrieval reference number, also the issuer's
    # idempotency key for this attempt.
    Column("rrn", String(12), nullable=True, unique=True),
    Column("state", String(24), nullable=False),
    Column("response_code", String(2), nullable=True),
    Column("auth_code", String(6), nullable=True),
    Column("balance_minor", BigInteger, nullable=True),
    Column("reason", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("terminal_id", "stan", "transmission_at", name="uq_host_journal_request"),
    CheckConstraint("amount_minor >= 0", name="ck_host_journal_amount"),
)

host_terminal = Table(
    "host_terminal",
    metadata,
    Column("terminal_id", String(8), primary_key=True),
    Column("merchant_id", String(15), nullable=False),
    Column("batch", String(6), nullable=False),
    Column("signed_in_at", UtcDateTime(), nullable=False),
    Column("sign_ins", Integer, nullable=False),
)

host_reversal = Table(
    "host_reversal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The reversal's own duplicate key: a retry of the same reversal carries the same
    # terminal, STAN and transmission time and is answered from this row.
    Column("terminal_id", String(8), nullable=False),
    Column("stan", String(6), nullable=False),
    Column("transmission_at", String(10), nullable=False),
    Column("merchant_id", String(15), nullable=False),
    Column("processing_code", String(6), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("batch", String(6), nullable=False),
    # Field 90: which request is being reversed.
    Column("original_mti", String(4), nullable=False),
    Column("original_stan", String(6), nullable=False),
    Column("original_transmission_at", String(10), nullable=False),
    # The journal row reversed; NULL when the host never saw the original.
    Column("original_id", Integer, ForeignKey("host_journal.id"), nullable=True),
    Column("reason_code", String(2), nullable=False),
    # NULL until the reversal is done; then the answer every retry gets.
    Column("response_code", String(2), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("terminal_id", "stan", "transmission_at", name="uq_host_reversal_request"),
)
