"""Online PIN verification at the issuer: the PIN block is checked against the card's
IBM 3624 offset, and consecutive wrong PINs are counted.

A wrong PIN declines 55 and counts one try; the `PIN_TRIES_LIMIT`-th wrong PIN in a row
declines 75, and so does every later request with a PIN until the count is reset (by
the issuer, outside this simulator). A right PIN resets the count. The PIN block is
used here, in memory, and never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, insert, select, update

from pospay.issuer.decision import Refusal
from pospay.issuer.tables import issuer_card_pin
from pospay.security.pin import pin_matches, pin_offset
from pospay.security.test_keys import (
    TEST_DECIMALISATION_TABLE,
    TEST_PIN_VERIFICATION_KEY,
    TEST_ZONE_PIN_KEY,
)

PIN_TRIES_LIMIT = 3
WRONG_PIN = "55"
PIN_TRIES_EXCEEDED = "75"


@dataclass(frozen=True, slots=True)
class PinKeys:
    """The issuer's keys for PIN verification (the simulator's are the test keys)."""

    zone_pin_key: bytes = field(default=TEST_ZONE_PIN_KEY, repr=False)
    verification_key: bytes = field(default=TEST_PIN_VERIFICATION_KEY, repr=False)
    decimalisation_table: str = TEST_DECIMALISATION_TABLE


def install_pin(conn: Connection, account_id: str, pin: str, pan: str, keys: PinKeys) -> None:
    """Store the offset of the card's PIN, once."""
    exists = conn.execute(
        select(issuer_card_pin.c.account_id).where(issuer_card_pin.c.account_id == account_id)
    ).first()
    if exists is None:
        offset = pin_offset(pin, pan, keys.verification_key, keys.decimalisation_table)
        conn.execute(
            insert(issuer_card_pin).values(account_id=account_id, pin_offset=offset, wrong_tries=0)
        )


def verify_pin(
    conn: Connection, account_id: str, pan: str, pin_block: bytes, keys: PinKeys
) -> Refusal | None:
    """None if the PIN in `pin_block` (under the zone PIN key) is the card's; otherwise
    the refusal, with the wrong try counted in the caller's unit."""
    row = conn.execute(
        select(issuer_card_pin.c.pin_offset, issuer_card_pin.c.wrong_tries).where(
            issuer_card_pin.c.account_id == account_id
        )
    ).first()
    if row is None:
        return Refusal(WRONG_PIN, "the card has no PIN on file to verify against")
    if row.wrong_tries >= PIN_TRIES_LIMIT:
        return Refusal(PIN_TRIES_EXCEEDED, f"{row.wrong_tries} wrong PINs: PIN tries exceeded")
    right = pin_matches(
        pin_block,
        pan,
        keys.zone_pin_key,
        row.pin_offset,
        keys.verification_key,
        keys.decimalisation_table,
    )
    tries = 0 if right else row.wrong_tries + 1
    if tries != row.wrong_tries:
        conn.execute(
            update(issuer_card_pin)
            .where(issuer_card_pin.c.account_id == account_id)
            .values(wrong_tries=tries)
        )
    if right:
        return None
    if tries >= PIN_TRIES_LIMIT:
        return Refusal(PIN_TRIES_EXCEEDED, f"wrong PIN, {tries} in a row: PIN tries exceeded")
    return Refusal(WRONG_PIN, f"wrong PIN ({tries} of {PIN_TRIES_LIMIT} tries)")
