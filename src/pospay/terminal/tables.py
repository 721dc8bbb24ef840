"""The terminal's own durable journal: counters, attempts, receipts, the reversal queue,
operators (argon2 hashes, never passwords), settlements and signed receipt documents.

The terminal never stores a full PAN: the journal keeps the first 6 / last 4 form.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pospay.storage.types import UtcDateTime

metadata = MetaData()

terminal_state = Table(
    "terminal_state",
    metadata,
    Column("terminal_id", String(8), primary_key=True),
    Column("merchant_id", String(15), nullable=False),
    # Last numbers used; the next attempt takes the next one. They survive restarts.
    Column("stan", Integer, nullable=False),
    Column("voucher", Integer, nullable=False),
    Column("batch", Integer, nullable=False),
    Column("signed_in_at", UtcDateTime(), nullable=True),
)

# The working keys of the last sign-in, as they came in field 62: each encrypted under
# the terminal master key, never in clear. Replaced at every sign-in.
terminal_key = Table(
    "terminal_key",
    metadata,
    Column("terminal_id", String(8), primary_key=True),
    Column("pin_key_under_tmk", LargeBinary, nullable=False),
    Column("mac_key_under_tmk", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

terminal_journal = Table(
    "terminal_journal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("terminal_id", String(8), nullable=False),
    Column("local_ref", String(32), nullable=False, unique=True),
    Column("stan", String(6), nullable=False),
    Column("voucher", String(6), nullable=False),
    Column("batch", String(6), nullable=False),
    Column("transmission_at", String(10), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("method", String(24), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("pan_masked", String(19), nullable=False),
    Column("brand", String(16), nullable=False),
    Column("operator", String(16), nullable=False),
    # A void, refund, completion or cancel: the attempt it acts on.
    Column(
        "original_id",
        Integer,
        ForeignKey("terminal_journal.id", name="fk_terminal_journal_original"),
        nullable=True,
    ),
    # The supervisor who authorised the attempt, for kinds the policy reserves to one.
    Column("supervisor", String(16), nullable=True),
    Column("state", String(24), nullable=False),
    Column("response_code", String(2), nullable=True),
    Column("auth_code", String(6), nullable=True),
    Column("rrn", String(12), nullable=True),
    Column("balance_minor", BigInteger, nullable=True),
    Column("reason", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # Fields 22 and 23 as sent (a follow-up: its original's).
    Column("pos_entry_mode", String(3), nullable=True),
    Column("card_sequence", String(3), nullable=True),
    # The chip's answer, for receipts: application id and label, TVR, TSI, ATC and the
    # ARQC (hex). Not cardholder data; track 2 and the full field 55 are never kept.
    Column("emv_aid", String(32), nullable=True),
    Column("emv_label", String(16), nullable=True),
    Column("emv_tvr", String(10), nullable=True),
    Column("emv_tsi", String(4), nullable=True),
    Column("emv_atc", Integer, nullable=True),
    Column("emv_arqc", String(16), nullable=True),
    # A QR wallet payment: the wallet, the host's order number there (a merchant QR's
    # order reference), the wallet's trade number and the payer as the wallet masked it.
    Column("wallet", String(16), nullable=True),
    Column("wallet_order", String(64), nullable=True),
    Column("wallet_trade_no", String(64), nullable=True),
    Column("payer_masked", String(32), nullable=True),
    UniqueConstraint("terminal_id", "stan", "transmission_at", name="uq_terminal_journal_request"),
    # A follow-up finds its original by voucher, and an original its follow-ups.
    Index("ix_terminal_journal_voucher", "terminal_id", "voucher"),
    Index("ix_terminal_journal_original", "original_id"),
    # At every start the terminal looks for its attempts still in flight (`sent`, `unknown`).
    Index("ix_terminal_journal_state", "terminal_id", "state"),
    Index("ix_terminal_journal_wallet_order", "wallet_order"),
)

terminal_receipt = Table(
    "terminal_receipt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("journal_id", Integer, ForeignKey("terminal_journal.id"), nullable=False),
    # The attempt's terminal, kept here too so that the print queue finds a terminal's
    # unprinted receipts by index without visiting every attempt the terminal made.
    Column("terminal_id", String(8), nullable=False),
    Column("copy", String(16), nullable=False),
    # 0 is the original; a reprint gets the next number. One original per copy, by constraint.
    Column("reprint_number", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("escpos", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("printed_at", UtcDateTime(), nullable=True),
    # Set just before the printer is given the job; set without `printed_at` it means the
    # print was cut off (the queue then prints a marked copy, never a second original).
    Column("print_started_at", UtcDateTime(), nullable=True),
    Column("print_interruptions", Integer, nullable=False, server_default="0"),
    UniqueConstraint("journal_id", "copy", "reprint_number", name="uq_terminal_receipt_copy"),
)

# The print queue's question "what is left to print" stays cheap however long the journal.
Index(
    "ix_terminal_receipt_unprinted",
    terminal_receipt.c.terminal_id,
    sqlite_where=terminal_receipt.c.printed_at.is_(None),
    postgresql_where=terminal_receipt.c.printed_at.is_(None),
)

terminal_reversal = Table(
    "terminal_reversal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # One reversal per attempt, however often it is sent.
    Column("journal_id", Integer, ForeignKey("terminal_journal.id"), nullable=False, unique=True),
    Column("terminal_id", String(8), nullable=False),
    Column("reason_code", String(2), nullable=False),
    # The reversal's own STAN and transmission time, chosen once and sent on every try,
    # so that the host recognises a retry as the same reversal.
    Column("stan", String(6), nullable=False),
    Column("transmission_at", String(10), nullable=False),
    Column("tries", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # pending | confirmed | failed
    Column("response_code", String(2), nullable=True),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The queue sent before every transaction: a terminal's pending reversals.
    Index("ix_terminal_reversal_state", "terminal_id", "state"),
)

terminal_operator = Table(
    "terminal_operator",
    metadata,
    Column("terminal_id", String(8), primary_key=True),
    Column("operator_id", String(16), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),  # cashier | supervisor | admin
    # An argon2 hash (PHC string, salt included); the password itself is never stored.
    Column("password_hash", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

terminal_settlement = Table(
    "terminal_settlement",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # One settlement per batch, however often it is tried.
    Column("terminal_id", String(8), nullable=False),
    Column("batch", String(6), nullable=False),
    Column("state", String(16), nullable=False),  # open | uploading | settled
    Column("operator", String(16), nullable=False),
    Column("supervisor", String(16), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("debit_count", Integer, nullable=False),
    Column("debit_minor", BigInteger, nullable=False),
    Column("credit_count", Integer, nullable=False),
    Column("credit_minor", BigInteger, nullable=False),
    # The host's totals as its last 0510 stated them.
    Column("host_totals", String(36), nullable=True),
    Column("response_code", String(2), nullable=True),
    Column("after_upload", Boolean, nullable=False),
    Column("uploaded", Integer, nullable=False),
    Column("slip_text", Text, nullable=True),
    Column("slip_escpos", LargeBinary, nullable=True),
    Column("printed_at", UtcDateTime(), nullable=True),
    Column("settled_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("print_started_at", UtcDateTime(), nullable=True),  # as on terminal_receipt
    Column("print_interruptions", Integer, nullable=False, server_default="0"),
    UniqueConstraint("terminal_id", "batch", name="uq_terminal_settlement_batch"),
)

# Terminal-side documents that are not receipts of a transaction (the auditor counts
# only `terminal_receipt` originals): the reversal-failure slip, one per failed
# reversal, and marked copies of a settlement slip (`terminal.reprints`). Stored before
# it is printed; `printed_at` NULL is a job of the print queue.
terminal_slip = Table(
    "terminal_slip",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("terminal_id", String(8), nullable=False),
    Column("kind", String(24), nullable=False),  # reversal_failed | settlement_reprint
    Column("reversal_id", Integer, ForeignKey("terminal_reversal.id"), nullable=True, unique=True),
    # The voucher of the attempt the slip is about.
    Column("voucher", String(6), nullable=True),
    Column("text", Text, nullable=False),
    Column("escpos", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("printed_at", UtcDateTime(), nullable=True),
    Column("print_started_at", UtcDateTime(), nullable=True),  # as on terminal_receipt
    Column("print_interruptions", Integer, nullable=False, server_default="0"),
)

# The signed document of each stored receipt (`receipts/signing.py`): the terminal's
# chain. `counter` runs 1, 2, 3, ... per terminal (unique, so no two documents take the
# same place); `previous_hash` is the hash of the document at `counter - 1`. Written in
# the unit that stores the receipt; never the private key, never more than the masked PAN.
terminal_receipt_document = Table(
    "terminal_receipt_document",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("receipt_id", Integer, ForeignKey("terminal_receipt.id"), nullable=False, unique=True),
    Column("terminal_id", String(8), nullable=False),
    Column("counter", Integer, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("document", Text, nullable=False),  # the canonical form, UTF-8 JSON
    Column("signature", LargeBinary, nullable=False),  # Ed25519, 64 bytes
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("terminal_id", "counter", name="uq_terminal_receipt_document_counter"),
)

# One row per reprint request, granted or refused (`terminal.reprints`): who asked
# (operator), when, for what (`target` last | voucher | settlement, `reference` as asked:
# a voucher number or RRN), what it resolved to (the attempt, or the settlement batch),
# who authorised it, and the outcome. A granted request names the copies it stored
# (`copies`, e.g. "customer:1,merchant:1": copy and reprint number) or its slip; a
# refused one keeps its reason. Refused requests are committed although nothing prints.
terminal_reprint_audit = Table(
    "terminal_reprint_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("terminal_id", String(8), nullable=False),
    Column("operator", String(16), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("target", String(16), nullable=False),  # last | voucher | settlement
    Column("reference", String(12), nullable=True),
    Column("journal_id", Integer, ForeignKey("terminal_journal.id"), nullable=True),
    Column("batch", String(6), nullable=True),
    Column("copies", String(64), nullable=True),
    Column("slip_id", Integer, ForeignKey("terminal_slip.id"), nullable=True),
    Column("supervisor", String(16), nullable=True),
    Column("outcome", String(8), nullable=False),  # granted | refused
    Column("reason", Text, nullable=False, server_default=""),
)
