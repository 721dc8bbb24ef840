"""The host's store of each terminal's working keys, wrapped under its key-encryption key.

Functions take a SQLAlchemy connection and run inside the caller's unit of work; the
clear keys exist only in memory, in `WorkingKeys`.
"""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from sqlalchemy import Connection, bindparam, delete, insert, select, update

from pospay.host.tables import host_terminal_key
from pospay.security.keys import (
    WorkingKeys,
    key_check_value,
    unwrap_from_storage,
    wrap_for_storage,
)


def store_working_keys(
    connection: Connection, terminal_id: str, keys: WorkingKeys, kek: bytes, now: datetime
) -> None:
    """Replace the terminal's working keys with `keys`."""
    connection.execute(
        delete(host_terminal_key).where(host_terminal_key.c.terminal_id == terminal_id)
    )
    connection.execute(
        insert(host_terminal_key).values(
            terminal_id=terminal_id,
            pin_key_wrapped=wrap_for_storage(kek, keys.pin_key),
            mac_key_wrapped=wrap_for_storage(kek, keys.mac_key),
            pin_key_kcv=key_check_value(keys.pin_key).hex().upper(),
            mac_key_kcv=key_check_value(keys.mac_key).hex().upper(),
            created_at=now,
        )
    )


# Read for the MAC of every request: built once.
_WORKING_KEYS = select(
    host_terminal_key.c.pin_key_wrapped, host_terminal_key.c.mac_key_wrapped
).where(host_terminal_key.c.terminal_id == bindparam("terminal_id"))


def working_keys(connection: Connection, terminal_id: str, kek: bytes) -> WorkingKeys | None:
    """The terminal's working keys from its last sign-in, or None if it never signed in."""
    row = connection.execute(_WORKING_KEYS, {"terminal_id": terminal_id}).first()
    if row is None:
        return None
    return WorkingKeys(
        unwrap_from_storage(kek, row.pin_key_wrapped), unwrap_from_storage(kek, row.mac_key_wrapped)
    )


def rewrap_working_keys(
    connection: Connection, kek: bytes, previous_kek: bytes | None = None
) -> list[str]:
    """Bring every stored working key under `kek`: a pair still wrapped under
    `previous_kek` (the key-encryption key being rotated out) is wrapped again under
    `kek`. Returns the terminals whose keys are under neither key, changing nothing for
    them: a host must not run with keys it cannot read (the caller refuses to start)."""
    lost = []
    for row in connection.execute(select(host_terminal_key)):
        wrapped = (row.pin_key_wrapped, row.mac_key_wrapped)
        if _unwraps(kek, *wrapped):
            continue
        if previous_kek is None or not _unwraps(previous_kek, *wrapped):
            lost.append(row.terminal_id)
            continue
        clear = [unwrap_from_storage(previous_kek, key) for key in wrapped]
        connection.execute(
            update(host_terminal_key)
            .where(host_terminal_key.c.terminal_id == row.terminal_id)
            .values(
                pin_key_wrapped=wrap_for_storage(kek, clear[0]),
                mac_key_wrapped=wrap_for_storage(kek, clear[1]),
            )
        )
    return lost


def _unwraps(kek: bytes, *wrapped: bytes) -> bool:
    try:
        for key in wrapped:
            unwrap_from_storage(kek, key)
    except InvalidUnwrap:
        return False
    return True
