"""What an attempt is (its transaction type) and how the customer pays (its method)."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """Transaction types of SPEC.md. Only sale and balance inquiry are wired so far."""

    SALE = "sale"
    BALANCE_INQUIRY = "balance_inquiry"
    VOID = "void"
    REFUND = "refund"
    PREAUTH = "preauth"
    PREAUTH_COMPLETION = "preauth_completion"
    PREAUTH_CANCEL = "preauth_cancel"
    TRANSFER = "transfer"
    REVERSAL = "reversal"
    SIGN_IN = "sign_in"
    SETTLEMENT = "settlement"
    BATCH_UPLOAD = "batch_upload"
    # Asks the host for the outcome of an earlier attempt (0600); moves nothing.
    STATUS_QUERY = "status_query"
    # The prepaid programme's card operations (`pospay.prepaid`); a prepaid card pays,
    # is refunded and is asked for its balance by SALE, REFUND and BALANCE_INQUIRY.
    PREPAID_ISSUE = "prepaid_issue"
    PREPAID_ACTIVATE = "prepaid_activate"
    PREPAID_TOP_UP = "prepaid_top_up"  # paid in cash at the till
    PREPAID_CARD_TOP_UP = "prepaid_card_top_up"  # paid by a card sale the request names
    PREPAID_FREEZE = "prepaid_freeze"
    PREPAID_UNFREEZE = "prepaid_unfreeze"

    @property
    def moves_money(self) -> bool:
        """Whether an approval of this kind debits or credits an account."""
        return self not in _NO_MONEY


_NO_MONEY = frozenset(
    {
        Kind.BALANCE_INQUIRY,
        Kind.SIGN_IN,
        Kind.SETTLEMENT,
        Kind.BATCH_UPLOAD,
        Kind.STATUS_QUERY,
        Kind.PREPAID_ISSUE,
        Kind.PREPAID_ACTIVATE,
        Kind.PREPAID_FREEZE,
        Kind.PREPAID_UNFREEZE,
    }
)


class Method(StrEnum):
    """How the customer pays. Card entry modes are methods of their own."""

    CARD_MAGSTRIPE = "card_magstripe"
    CARD_CHIP = "card_chip"
    CARD_CONTACTLESS = "card_contactless"
    CARD_MANUAL = "card_manual"
    QR_CUSTOMER = "qr_customer"
    QR_MERCHANT = "qr_merchant"
    PREPAID = "prepaid"
