"""The terminal's chain of signed receipt documents, in its database.

`sign_and_store` runs inside the unit that stores a receipt: it takes the terminal's
chain head from the database, not from memory, so the counter and the previous hash
are right when several units of one terminal share a group-commit transaction (they
run one after another and each sees the rows of the ones before), when a unit is
rolled back to its savepoint (its document goes with it), and when processes share
PostgreSQL: the terminal's `terminal_state` row is locked (SELECT ... FOR UPDATE)
before the head is read, and `(terminal_id, counter)` is unique in any case.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, bindparam, insert, select

from pospay.receipts.model import Receipt
from pospay.receipts.signing import GENESIS, SignedDocument, sign_receipt
from pospay.terminal.tables import terminal_receipt_document, terminal_state


@functools.cache
def process_receipt_key() -> Ed25519PrivateKey:
    """A signing key made once per process: for terminals built without one (tests).
    Receipts it signs verify only with its public key, which dies with the process."""
    return Ed25519PrivateKey.generate()


# Every receipt takes these: built once.
_HEAD = (
    select(terminal_receipt_document.c.counter, terminal_receipt_document.c.hash)
    .where(terminal_receipt_document.c.terminal_id == bindparam("terminal_id"))
    .order_by(terminal_receipt_document.c.counter.desc())
    .limit(1)
)
_LOCK_SIGNER = (
    select(terminal_state.c.terminal_id)
    .where(terminal_state.c.terminal_id == bindparam("terminal_id"))
    .with_for_update()
)
_INSERT_DOCUMENT = insert(terminal_receipt_document)


def chain_head(connection: Connection, terminal_id: str) -> tuple[int, str]:
    """(counter, hash) of the terminal's last signed document; (0, GENESIS) before any."""
    last = connection.execute(_HEAD, {"terminal_id": terminal_id}).first()
    return (0, GENESIS) if last is None else (int(last.counter), str(last.hash))


def sign_next(connection: Connection, receipt: Receipt, key: Ed25519PrivateKey) -> SignedDocument:
    """Sign `receipt` as the next document of its terminal's chain (not yet stored)."""
    return sign_chain(connection, (receipt,), key)[0]


def sign_chain(
    connection: Connection, receipts: Sequence[Receipt], key: Ed25519PrivateKey
) -> list[SignedDocument]:
    """Sign `receipts` (one terminal's) as the next documents of its chain, in order,
    each linked to the one before (not yet stored): the head is read once."""
    terminal_id = receipts[0].terminal_id
    # Serialises the terminal's signers across processes on PostgreSQL. SQLite has no
    # row locks (SQLAlchemy leaves FOR UPDATE out, so the statement would only read)
    # and needs none: one writer at a time holds the database.
    if connection.dialect.name != "sqlite":
        connection.execute(_LOCK_SIGNER, {"terminal_id": terminal_id})
    counter, previous = chain_head(connection, terminal_id)
    signed: list[SignedDocument] = []
    for receipt in receipts:
        if receipt.terminal_id != terminal_id:
            raise ValueError("one terminal's chain: receipts of two terminals given")
        counter += 1
        signed.append(sign_receipt(receipt, counter, previous, key))
        previous = signed[-1].hash
    return signed


def store_document(
    connection: Connection, receipt_id: int, signed: SignedDocument, now: datetime
) -> None:
    connection.execute(
        _INSERT_DOCUMENT,
        {
            "receipt_id": receipt_id,
            "terminal_id": signed.terminal,
            "counter": signed.counter,
            "previous_hash": signed.document["previous"],
            "hash": signed.hash,
            "document": signed.canonical.decode("utf-8"),
            "signature": signed.signature,
            "created_at": now,
        },
    )


def stored_chain(connection: Connection, terminal_id: str) -> list[SignedDocument]:
    """The terminal's signed documents in counter order, as stored."""
    d = terminal_receipt_document.c
    rows = connection.execute(
        select(d.document, d.hash, d.signature)
        .where(d.terminal_id == terminal_id)
        .order_by(d.counter)
    )
    return [
        SignedDocument(json.loads(row.document), row.hash, bytes(row.signature)) for row in rows
    ]


def chained_terminals(connection: Connection) -> list[str]:
    """The terminals with at least one signed document."""
    d = terminal_receipt_document.c
    return list(
        connection.execute(select(d.terminal_id).distinct().order_by(d.terminal_id)).scalars()
    )
