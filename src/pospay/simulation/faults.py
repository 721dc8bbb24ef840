"""Which faults the simulation injects, where, and how often.

One fault rate P scales every site. A site is a point where the real world can fail
(a message on the terminal–host link, a call between host and issuer, a commit, a
print); each has a weight, chosen so that at P = 0.2 about ten faults strike per hundred
attempts (a partition, a crash or a broken printer then disturbs every attempt that meets
it while it lasts). Every fault kind is drawn hundreds of times per 100,000 attempts
(the rarest, a wallet crash, over 250 times), and `crash_scale` makes the crashes more
frequent still. Every draw comes from the one seeded generator, in the order the
simulated world asks, so a seed fixes the whole history of faults.
"""

from __future__ import annotations

import random
from collections import Counter
from enum import StrEnum


class Fault(StrEnum):
    # Terminal -> host and host -> terminal messages.
    REQUEST_DROP = "request_drop"
    REQUEST_DUPLICATE = "request_duplicate"
    REQUEST_DELAY = "request_delay"
    REQUEST_REORDER = "request_reorder"
    REQUEST_PARTITION = "request_partition"
    RESPONSE_DROP = "response_drop"
    RESPONSE_DUPLICATE = "response_duplicate"
    RESPONSE_DELAY = "response_delay"
    RESPONSE_PARTITION = "response_partition"
    # Host <-> issuer calls.
    CHANNEL_REQUEST_DROP = "channel_request_drop"
    CHANNEL_RESPONSE_DROP = "channel_response_drop"
    CHANNEL_DELAY = "channel_delay"
    # A process dies around a commit: before it (the unit is lost) or after it (the
    # unit is durable, and nothing after it happens).
    TERMINAL_CRASH_BEFORE_COMMIT = "terminal_crash_before_commit"
    TERMINAL_CRASH_AFTER_COMMIT = "terminal_crash_after_commit"
    HOST_CRASH_BEFORE_COMMIT = "host_crash_before_commit"
    HOST_CRASH_AFTER_COMMIT = "host_crash_after_commit"
    ISSUER_CRASH_BEFORE_COMMIT = "issuer_crash_before_commit"
    ISSUER_CRASH_AFTER_COMMIT = "issuer_crash_after_commit"
    WALLET_CRASH_BEFORE_COMMIT = "wallet_crash_before_commit"
    WALLET_CRASH_AFTER_COMMIT = "wallet_crash_after_commit"
    # The receipt printer stops: until it is fixed, every print fails.
    PRINTER_PAPER_OUT = "printer_paper_out"
    PRINTER_JAM = "printer_jam"
    PRINTER_OFFLINE = "printer_offline"


class Site(StrEnum):
    REQUEST = "request"
    RESPONSE = "response"
    CHANNEL = "channel"
    TERMINAL_COMMIT = "terminal_commit"
    HOST_COMMIT = "host_commit"
    ISSUER_COMMIT = "issuer_commit"
    WALLET_COMMIT = "wallet_commit"
    PRINT = "print"


F = Fault

# Per site: the weight multiplying the fault rate, and the faults drawn there (equally).
SITES: dict[Site, tuple[float, tuple[Fault, ...]]] = {
    Site.REQUEST: (
        0.10,
        (
            F.REQUEST_DROP,
            F.REQUEST_DUPLICATE,
            F.REQUEST_DELAY,
            F.REQUEST_REORDER,
            F.REQUEST_PARTITION,
        ),
    ),
    Site.RESPONSE: (
        0.08,
        (F.RESPONSE_DROP, F.RESPONSE_DUPLICATE, F.RESPONSE_DELAY, F.RESPONSE_PARTITION),
    ),
    Site.CHANNEL: (0.05, (F.CHANNEL_REQUEST_DROP, F.CHANNEL_RESPONSE_DROP, F.CHANNEL_DELAY)),
    Site.TERMINAL_COMMIT: (
        0.006,
        (F.TERMINAL_CRASH_BEFORE_COMMIT, F.TERMINAL_CRASH_AFTER_COMMIT),
    ),
    Site.HOST_COMMIT: (0.012, (F.HOST_CRASH_BEFORE_COMMIT, F.HOST_CRASH_AFTER_COMMIT)),
    # The issuer commits only for card payments and the wallet only for QR ones: their
    # weights are higher so that each of their crashes, too, strikes over 200 times per
    # 100,000 attempts at P = 0.2 (at 0.02 the rarest struck 130 times).
    Site.ISSUER_COMMIT: (0.04, (F.ISSUER_CRASH_BEFORE_COMMIT, F.ISSUER_CRASH_AFTER_COMMIT)),
    Site.WALLET_COMMIT: (0.04, (F.WALLET_CRASH_BEFORE_COMMIT, F.WALLET_CRASH_AFTER_COMMIT)),
    Site.PRINT: (0.05, (F.PRINTER_PAPER_OUT, F.PRINTER_JAM, F.PRINTER_OFFLINE)),
}


_COMMIT_SITES = frozenset(
    {Site.TERMINAL_COMMIT, Site.HOST_COMMIT, Site.ISSUER_COMMIT, Site.WALLET_COMMIT}
)


class FaultPlan:
    """Draws faults from one seeded generator and counts every fault it injects."""

    def __init__(self, rng: random.Random, rate: float, *, crash_scale: float = 1.0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"the fault rate must be between 0 and 1, not {rate}")
        if crash_scale < 0:
            raise ValueError(f"the crash scale must not be negative, not {crash_scale}")
        self.rng = rng
        self.rate = rate
        # Multiplies the weight of the commit sites: processes die more (or less) often.
        self.crash_scale = crash_scale
        self.counts: Counter[Fault] = Counter()
        self.enabled = True

    def draw(self, site: Site) -> Fault | None:
        """The fault striking this site now, if any (counted), else None."""
        if not self.enabled or self.rate == 0.0:
            return None
        weight, faults = SITES[site]
        if site in _COMMIT_SITES:
            weight *= self.crash_scale
        if self.rng.random() >= self.rate * weight:
            return None
        fault = faults[self.rng.randrange(len(faults))]
        self.counts[fault] += 1
        return fault

    def uniform(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)

    def report(self) -> dict[str, int]:
        """Every fault kind with its count, zeros included, in a fixed order."""
        return {fault.value: self.counts[fault] for fault in Fault}
