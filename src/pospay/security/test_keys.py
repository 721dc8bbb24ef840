"""TEST-ONLY keys of the simulated key hierarchy. Never use them for real cards.

Real terminals receive their terminal master key (TMK) in a key-loading ceremony and
the host keeps it in an HSM; the issuer's zone PIN key and PIN verification key live in
the issuer's HSM. pospay's host, terminal and issuer simulator are a test bench, so
they share these published values. ``docs/iso8583.md`` prints the TMK, so that a
terminal written from the documentation alone can unwrap its working keys.
"""

from __future__ import annotations

# Terminal master key of every pospay test terminal: double-length TDES, odd parity.
TEST_TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")

# Zone PIN key shared by the host and the issuer simulator (the PIN block is translated
# from the terminal's PIN key to this one on its way to the issuer).
TEST_ZONE_PIN_KEY = bytes.fromhex("2315208C9110AD402315208C9110AD40")

# The issuer simulator's PIN verification key (IBM 3624 offsets) and decimalisation table.
TEST_PIN_VERIFICATION_KEY = bytes.fromhex("1C1C1C1C1C1C1C1C0E0E0E0E0E0E0E0E")
TEST_DECIMALISATION_TABLE = "0123456789012345"


def terminal_master_key(terminal_id: str) -> bytes:
    """The TMK of `terminal_id`: the one test TMK, for every terminal."""
    return TEST_TMK


# The issuer's master key for application cryptograms (IMK-AC) of every test card: each
# card's ICC master key is derived from it, PAN and PAN sequence number (EMV option A).
# The simulated chip cards (`pospay.emv.card`) and the issuer simulator share it.
TEST_IMK_AC = bytes.fromhex("89ABCDEF0123456776543210FEDCBA98")
