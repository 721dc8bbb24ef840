"""What the auditor reports: one disagreement, under the invariant it breaks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    invariant: str  # final | outcome | once | receipt | settlement | ledger
    attempt: str  # terminal id / STAN / transmission time, an issuer reference, or a batch
    detail: str
