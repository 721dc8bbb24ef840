"""The host's tables. The host journal holds one row per request the host accepted;
`host_reversal` one row per reversal (0400) received, under its own duplicate key;
`host_refusal` one row per request refused before it was authenticated.

No full PAN is stored: `pan_masked` (first 6 / last 4) and `pan_ref` (a keyed
one-way reference) are enough to answer, settle and reconcile.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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
    # A void, refund, completion or cancel: the journal row of the attempt it acts on.
    Column(
        "original_id",
        Integer,
        ForeignKey("host_journal.id", name="fk_host_journal_original"),
        nullable=True,
    ),
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
    # Field 22 (POS entry mode) and field 23 (card sequence number) as received.
    Column("pos_entry_mode", String(3), nullable=True),
    Column("card_sequence", String(3), nullable=True),
    # Tag 91 of the answer (ARPC || ARC, hex), so a replayed 0210 carries it too. It is
    # the issuer's cryptogram, not cardholder data; track 2 and field 55 are never kept.
    Column("issuer_auth_data", String(20), nullable=True),
    # Duplicate transmissions: each is answered from this row, and counted here.
    Column("replays", Integer, nullable=False, server_default="0"),
    Column("last_replay_at", UtcDateTime(), nullable=True),
    Column("last_replay_code", String(2), nullable=True),
    # NULL for a request the host received. Otherwise the row is a tombstone: the host
    # never saw this request key, and recorded it, final, when a status query ("status_query")
    # or a reversal ("reversal") named it, so that the request, arriving late, is refused by
    # the duplicate key and never forwarded (`host.tombstones`).
    Column("tombstone", String(12), nullable=True),
    # A QR wallet payment: the wallet, the host's order (or refund) number there, the
    # wallet's trade number and the payer as the wallet masked it; NULL for cards.
    Column("wallet", String(16), nullable=True),
    Column("wallet_order", String(64), nullable=True),
    Column("wallet_trade_no", String(64), nullable=True),
    Column("payer_masked", String(32), nullable=True),
    UniqueConstraint("terminal_id", "stan", "transmission_at", name="uq_host_journal_request"),
    CheckConstraint("amount_minor >= 0", name="ck_host_journal_amount"),
    Index("ix_host_journal_original", "original_id"),
    Index("ix_host_journal_wallet_order", "wallet_order", unique=True),
    # The recovery job's question "which attempts are not final yet" (`host.recovery`).
    Index("ix_host_journal_state", "state", "updated_at"),
)

host_terminal = Table(
    "host_terminal",
    metadata,
    Column("terminal_id", String(8), primary_key=True),
    Column("merchant_id", String(15), nullable=False),
    Column("batch", String(6), nullable=False),
    Column("signed_in_at", UtcDateTime(), nullable=False),
    Column("sign_ins", Integer, nullable=False),
    # The last batch the host settled for the terminal: requests still carrying it are
    # refused 77 (the terminal missed its 0510 and must settle again).
    Column("settled_batch", String(6), nullable=True),
)

# A terminal's working keys from its last sign-in, each wrapped under the host's
# key-encryption key (AES key wrap): never a key in clear. Replaced at every sign-in.
host_terminal_key = Table(
    "host_terminal_key",
    metadata,
    Column("terminal_id", String(8), primary_key=True),
    Column("pin_key_wrapped", LargeBinary, nullable=False),
    Column("mac_key_wrapped", LargeBinary, nullable=False),
    # Key check values, for operators comparing with the terminal's (not secret).
    Column("pin_key_kcv", String(6), nullable=False),
    Column("mac_key_kcv", String(6), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
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
    Index("ix_host_reversal_original", "original_id"),
)

host_settlement = Table(
    "host_settlement",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # One settlement per terminal and batch; a repeated 0500 updates or replays it.
    Column("terminal_id", String(8), nullable=False),
    Column("batch", String(6), nullable=False),
    Column("merchant_id", String(15), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(16), nullable=False),  # unbalanced | settled
    # Field 63 as the terminal sent it, and as the host counted its own journal.
    Column("terminal_totals", String(36), nullable=False),
    Column("host_totals", String(36), nullable=False),
    Column("response_code", String(2), nullable=False),
    Column("after_upload", Boolean, nullable=False),
    # What the batch upload showed that the journal does not agree with, one per line;
    # listed for reconciliation, never acted on (settlement moves no money).
    Column("differences", Text, nullable=False, server_default=""),
    Column("settled_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("terminal_id", "batch", name="uq_host_settlement_batch"),
)

host_batch_upload = Table(
    "host_batch_upload",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("terminal_id", String(8), nullable=False),
    Column("batch", String(6), nullable=False),
    # The 0320's own STAN and transmission time.
    Column("stan", String(6), nullable=False),
    Column("transmission_at", String(10), nullable=False),
    # Field 90: the attempt reported, by its request key.
    Column("original_mti", String(4), nullable=False),
    Column("original_stan", String(6), nullable=False),
    Column("original_transmission_at", String(10), nullable=False),
    Column("processing_code", String(6), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("rrn", String(12), nullable=True),
    # The host journal row of the same request key; NULL when the host never saw it.
    Column("journal_id", Integer, ForeignKey("host_journal.id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint(
        "terminal_id",
        "batch",
        "original_stan",
        "original_transmission_at",
        name="uq_host_batch_upload_attempt",
    ),
)

# Requests refused before they were authenticated (`host.refusals`): a terminal with no
# working keys (58) or a missing or wrong MAC (A0). Such a request changes nothing, so it
# is kept here, not in the journal; never with card data (no PAN, track, PIN block).
host_refusal = Table(
    "host_refusal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("refused_at", UtcDateTime(), nullable=False),
    # The request's key, MTI and processing code as given (NULL: the field was absent).
    Column("terminal_id", String(8), nullable=True),
    Column("stan", String(6), nullable=True),
    Column("transmission_at", String(10), nullable=True),
    Column("mti", String(4), nullable=False),
    Column("processing_code", String(6), nullable=True),
    Column("response_code", String(2), nullable=False),
    Column("reason", Text, nullable=False),
    # host:port of the TCP peer; NULL where the host does not know it.
    Column("remote_address", String(64), nullable=True),
    Index("ix_host_refusal_request", "terminal_id", "stan", "transmission_at"),
)
