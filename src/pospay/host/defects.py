"""Deliberate bugs, for proving that the auditor catches what it claims to catch.

Each `Defect` switches one of the host's safety rules off. Nothing in production sets
them: `pospay serve` has no option for them. The chaos simulation takes them
(`pospay chaos --defect NAME`), and the tests run it with each one switched on and
assert that the auditor reports the damage — an auditor that stays silent then is an
auditor that proves nothing.
"""

from __future__ import annotations

from enum import StrEnum


class Defect(StrEnum):
    # A repeated request (same terminal, STAN and transmission time) is authorised
    # again under a fresh reference instead of being answered from the journal.
    SKIP_DUPLICATE_CHECK = "skip_duplicate_check"
    # The issuer's answer goes back to the terminal before it is recorded; the record
    # is written afterwards, and a crash in between loses it.
    REPLY_BEFORE_COMMIT = "reply_before_commit"
    # A reversal is recorded and answered 00 but never sent to the issuer: the money
    # stays where the original put it.
    FORGET_PENDING_REVERSAL = "forget_pending_reversal"
