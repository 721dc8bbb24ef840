"""The terminal's working keys: kept in its journal database under its master key (TMK),
in clear only in memory, for the life of the process.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from pospay.security.keys import WorkingKeys, decrypt_under
from pospay.terminal.tables import terminal_key


def store_working_keys(
    connection: Connection,
    terminal_id: str,
    pin_key_under_tmk: bytes,
    mac_key_under_tmk: bytes,
    now: datetime,
) -> None:
    """Replace the terminal's working keys (each still encrypted under the TMK)."""
    connection.execute(delete(terminal_key).where(terminal_key.c.terminal_id == terminal_id))
    connection.execute(
        insert(terminal_key).values(
            terminal_id=terminal_id,
            pin_key_under_tmk=pin_key_under_tmk,
            mac_key_under_tmk=mac_key_under_tmk,
            created_at=now,
        )
    )


def working_keys(connection: Connection, terminal_id: str, tmk: bytes) -> WorkingKeys | None:
    """The keys of the last sign-in, decrypted with the TMK; None before any sign-in."""
    row = connection.execute(
        select(terminal_key.c.pin_key_under_tmk, terminal_key.c.mac_key_under_tmk).where(
            terminal_key.c.terminal_id == terminal_id
        )
    ).first()
    if row is None:
        return None
    return WorkingKeys(
        decrypt_under(tmk, row.pin_key_under_tmk), decrypt_under(tmk, row.mac_key_under_tmk)
    )
