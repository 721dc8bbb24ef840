"""What an acquiring host is configured with: keys, timeouts, and (in tests) its defects."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from pospay.host.defects import Defect
from pospay.security.keys import RandomBytes
from pospay.security.test_keys import TEST_ZONE_PIN_KEY, terminal_master_key


@dataclass(frozen=True, slots=True)
class HostSettings:
    pan_key: bytes
    channel_timeout: float = 10.0
    duplicate_wait: float = 5.0
    # Wraps the working keys the host stores (`runtime.HostNode` loads it from the data
    # directory; the random default suits a host that lives for one test).
    key_encryption_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    # Each terminal's master key, None for a terminal the host has none for (its sign-in
    # is refused). `pospay serve` takes them from its key file (`security.host_keys`);
    # the default is the documented test TMK (`security.test_keys`) for every terminal.
    master_key_of: Callable[[str], bytes | None] = terminal_master_key
    # The zone PIN key shared with the card issuer (PIN blocks are translated to it).
    zone_pin_key: bytes = field(default=TEST_ZONE_PIN_KEY, repr=False)
    random_bytes: RandomBytes = secrets.token_bytes
    # Deliberate bugs the auditor must catch (`host.defects`); empty outside tests.
    defects: frozenset[Defect] = frozenset()
