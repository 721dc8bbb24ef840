"""A terminal's settings: who it is, and how it behaves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TerminalConfig:
    terminal_id: str
    merchant_id: str
    merchant_name: str
    currency: str = "CNY"
    operator: str = "01"
    response_timeout: float = 30.0
    paper_mm: int = 58
    no_signature_limit_minor: int = 100_000
    # Reversal store-and-forward: how often a reversal is sent before it is given up
    # (kept for reconciliation), and the pause before the n-th retry within one
    # flush, reversal_backoff * 2**n seconds.
    reversal_retries: int = 3
    reversal_backoff: float = 0.2
