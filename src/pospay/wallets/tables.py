"""The wallet channel simulator's tables: payers, orders, refunds, used codes, notifications.

One database serves every wallet style (Alipay-like, WeChat-Pay-like): each row names its
`wallet`. An order is keyed by the merchant's order number (`out_trade_no`) within its
wallet and merchant, so a repeated request is the same order. A customer's payment code
is a bearer token: only its SHA-256 digest is kept, to refuse a second use.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pospay.storage.types import UtcDateTime

metadata = MetaData()

wallet_payer = Table(
    "wallet_payer",
    metadata,
    Column("payer_id", String(24), primary_key=True),
    Column("wallet", String(16), nullable=False),
    # What the wallet shows the merchant of its customer (Alipay's buyer_logon_id, a
    # masked WeChat openid): never more.
    Column("payer_masked", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("opening_minor", BigInteger, nullable=False),
    Column("balance_minor", BigInteger, nullable=False),
    CheckConstraint("balance_minor >= 0", name="ck_wallet_payer_balance_not_negative"),
)

wallet_order = Table(
    "wallet_order",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("wallet", String(16), nullable=False),
    Column("merchant_id", String(32), nullable=False),
    Column("order_no", String(64), nullable=False),
    # code: the customer showed a payment code; qr: the merchant showed a QR code.
    Column("scene", String(8), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("payer_id", String(24), ForeignKey("wallet_payer.payer_id"), nullable=True),
    # The wallet's own number of the trade (Alipay trade_no, WeChat transaction_id).
    Column("trade_no", String(64), nullable=True, unique=True),
    # Why a payment did not go through: insufficient | invalid_code | code_used | refused.
    Column("failure", String(24), nullable=True),
    Column("reason", Text, nullable=False, server_default=""),
    Column("notify_url", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # An unpaid order closes at the wallet from this instant on.
    Column("expires_at", UtcDateTime(), nullable=True),
    # A payer asked for the password confirms at this instant (None: never).
    Column("confirm_at", UtcDateTime(), nullable=True),
    Column("paid_at", UtcDateTime(), nullable=True),
    Column("refunded_minor", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("wallet", "merchant_id", "order_no", name="uq_wallet_order_number"),
    # Orders still waiting or paying, which the clock moves on (`advance_due`).
    Index("ix_wallet_order_status", "status"),
    # 0 only for an order number cancelled before any order came (a tombstone).
    CheckConstraint("amount_minor >= 0", name="ck_wallet_order_amount"),
    CheckConstraint(
        "refunded_minor >= 0 AND refunded_minor <= amount_minor", name="ck_wallet_order_refunded"
    ),
)

wallet_refund = Table(
    "wallet_refund",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("wallet", String(16), nullable=False),
    Column("merchant_id", String(32), nullable=False),
    # The merchant's refund request number (Alipay out_request_no, WeChat out_refund_no).
    Column("refund_no", String(64), nullable=False),
    # NULL for a refund number cancelled before any refund arrived (a tombstone).
    Column("order_id", Integer, ForeignKey("wallet_order.id"), nullable=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # done | refused | cancelled
    Column("reason", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("wallet", "merchant_id", "refund_no", name="uq_wallet_refund_number"),
    Index("ix_wallet_refund_order", "order_id"),
)

# One row per customer payment code ever presented: a code pays once.
wallet_code = Table(
    "wallet_code",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("order_id", Integer, ForeignKey("wallet_order.id"), nullable=False),
)

# The asynchronous notifications of paid orders, delivered until the merchant answers.
wallet_notification = Table(
    "wallet_notification",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("wallet_order.id"), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # How many copies each delivery sends (2: the payer's behaviour duplicates them).
    Column("copies", Integer, nullable=False, server_default="1"),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_wallet_notification_due", "delivered_at", "due_at"),
)
