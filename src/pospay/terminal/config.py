"""A terminal's settings: who it is, and how it behaves."""

from __future__ import annotations

from dataclasses import dataclass, field

from pospay.cards import brand_of
from pospay.prepaid.programme import TEST_PREPAID_BIN
from pospay.security.test_keys import TEST_TMK
from pospay.transaction import Kind

# What the journal and the receipts call a card of a prepaid programme.
PREPAID_BRAND = "Prepaid"

# The kinds a supervisor must authorise with id and password (see `terminal.operators`).
DEFAULT_SUPERVISOR_KINDS = frozenset({Kind.VOID, Kind.REFUND, Kind.SETTLEMENT})


@dataclass(frozen=True, slots=True)
class TerminalConfig:
    terminal_id: str
    merchant_id: str
    merchant_name: str
    currency: str = "CNY"
    country: str = "156"  # ISO 3166 numeric, the terminal country code of chip data (9F1A)
    operator: str = "01"
    response_timeout: float = 30.0
    # How long a status query (0600) waits for its answer before the attempt is reversed.
    status_query_timeout: float = 5.0
    paper_mm: int = 58
    no_signature_limit_minor: int = 100_000
    # Reversal store-and-forward: how often a reversal is sent before it is given up
    # (kept for reconciliation), and the pause before the n-th retry within one
    # flush, reversal_backoff * 2**n seconds.
    reversal_retries: int = 3
    reversal_backoff: float = 0.2
    # The terminal master key (double-length TDES) that the working keys of each
    # sign-in arrive under. The default is the documented TEST TMK of every test terminal.
    master_key: bytes = field(default=TEST_TMK, repr=False)
    # Transaction kinds that need a supervisor's id and password before they start.
    supervisor_kinds: frozenset[Kind] = DEFAULT_SUPERVISOR_KINDS
    # Whether a reprint (receipt or settlement slip) needs a supervisor's id and password.
    reprint_needs_supervisor: bool = True
    # The card range table of the prepaid programmes the terminal takes: card numbers
    # with these prefixes are prepaid cards (brand `PREPAID_BRAND`, receipts with balance).
    prepaid_bins: tuple[str, ...] = (TEST_PREPAID_BIN,)

    def card_brand(self, pan: str) -> str:
        """The brand the terminal records for `pan`: its prepaid programme, or its scheme."""
        if any(pan.startswith(prefix) for prefix in self.prepaid_bins):
            return PREPAID_BRAND
        return brand_of(pan).value

    # QR payments: how long the terminal polls a customer's code that waits for the
    # payer's password before it cancels, and how long its own QR stays payable.
    qr_poll_window: float = 45.0
    qr_expiry: float = 120.0
    # What the merchant-presented QR says of the shop (EMVCo tags 52, 58, 59, 60);
    # an empty name: the ASCII part of `merchant_name`.
    merchant_category: str = "5411"
    country_code: str = "CN"
    merchant_city: str = "SHANGHAI"
    qr_merchant_name: str = ""
