"""A terminal's chain of signed receipts: the export format and its verification.

Pure: JSON-shaped objects and keys in, faults out; reading and writing files is the
CLI's job. An exported chain is one JSON document:

    {"format": "pospay-receipt-chain/1",
     "terminal": "10000001",
     "public_key": "<64 hex digits: the raw Ed25519 public key>",
     "head": {"format": "pospay-chain-head/1", "terminal": ..., "counter": N,
              "hash": "<hash of receipt N>", "key": "<key id>", "exported_at": ...},
     "head_signature": "<128 hex digits: Ed25519 over the head's canonical form>",
     "receipts": [{"document": {...}, "hash": "<hex>", "signature": "<hex>"}, ...]}

One receipt on its own is one element of "receipts", optionally with "public_key".
The signed head closes the chain: without it, dropping the last receipts would leave
a chain that still links. Faults are named (`FaultKind`), each with the counter of
the receipt it is about:

- altered: a document's content does not give its recorded hash (a field was changed);
- bad_signature: content and hash agree but the signature does not verify;
- wrong_key: the document names another signing key than the one verifying it;
- gap: counters missing (inside the chain, or after its end, as the head says);
- reorder: a receipt comes after one with a higher or equal counter;
- broken_link: a document's `previous` is not the hash of the document before it
  (or the head's hash is not the last document's);
- foreign: a receipt of another terminal in this terminal's chain, or one beyond the
  signed head (added after the export);
- malformed: not a receipt document at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pospay.receipts.signing import (
    FORMAT,
    GENESIS,
    Seal,
    SignedDocument,
    canonical_bytes,
    document_hash,
    key_id,
    load_public_key,
    public_key_hex,
    sign_document,
)

CHAIN_FORMAT = "pospay-receipt-chain/1"
HEAD_FORMAT = "pospay-chain-head/1"


class FaultKind(StrEnum):
    MALFORMED = "malformed"
    ALTERED = "altered"
    BAD_SIGNATURE = "bad_signature"
    WRONG_KEY = "wrong_key"
    GAP = "gap"
    REORDER = "reorder"
    BROKEN_LINK = "broken_link"
    FOREIGN = "foreign"


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    counter: int | None  # the receipt it is about; None for the chain as a whole
    detail: str

    def __str__(self) -> str:
        where = "chain" if self.counter is None else f"receipt {self.counter}"
        return f"{self.kind.value}: {where}: {self.detail}"


class MalformedError(ValueError):
    """Input that is not a receipt document or chain; the message says where."""


@dataclass(frozen=True, slots=True)
class Chain:
    terminal: str
    public_key: Ed25519PublicKey
    head: Mapping[str, Any]
    head_signature: bytes
    receipts: tuple[SignedDocument, ...]


def record_json(signed: SignedDocument) -> dict[str, Any]:
    return {
        "document": dict(signed.document),
        "hash": signed.hash,
        "signature": signed.signature.hex(),
    }


def export_chain(
    terminal: str,
    receipts: Sequence[SignedDocument],
    key: Ed25519PrivateKey,
    exported_at: str,
) -> dict[str, Any]:
    """The export of `terminal`'s chain `receipts` (counter order), its head signed by `key`."""
    last = receipts[-1] if receipts else None
    head = {
        "format": HEAD_FORMAT,
        "terminal": terminal,
        "counter": 0 if last is None else last.counter,
        "hash": GENESIS if last is None else last.hash,
        "key": key_id(key.public_key()),
        "exported_at": exported_at,
    }
    return {
        "format": CHAIN_FORMAT,
        "terminal": terminal,
        "public_key": public_key_hex(key.public_key()),
        "head": head,
        "head_signature": sign_document(head, key).signature.hex(),
        "receipts": [record_json(signed) for signed in receipts],
    }


def parse_record(data: Any, where: str = "receipt") -> SignedDocument:
    """A stored or exported receipt record; `MalformedError` saying what is missing."""
    if not isinstance(data, Mapping):
        raise MalformedError(f"{where} is not a JSON object")
    document, digest, signature = data.get("document"), data.get("hash"), data.get("signature")
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise MalformedError(f"{where} has no {FORMAT} document")
    counter = document.get("counter")
    if isinstance(counter, bool) or not isinstance(counter, int):
        raise MalformedError(f"{where} has no integer counter")
    if not isinstance(document.get("terminal"), str):
        raise MalformedError(f"{where} names no terminal")
    if not isinstance(digest, str) or not isinstance(signature, str):
        raise MalformedError(f"{where} has no hash or signature")
    try:
        canonical_bytes(document)
        raw_signature = bytes.fromhex(signature)
    except ValueError as error:
        raise MalformedError(f"{where}: {error}") from None
    return SignedDocument(dict(document), digest, raw_signature)


def parse_chain(data: Any) -> Chain:
    """An exported chain; `MalformedError` saying what is wrong."""
    if not isinstance(data, Mapping) or data.get("format") != CHAIN_FORMAT:
        raise MalformedError(f"not a {CHAIN_FORMAT} document")
    head, receipts = data.get("head"), data.get("receipts")
    if not isinstance(head, Mapping) or head.get("format") != HEAD_FORMAT:
        raise MalformedError("the chain has no head")
    if not isinstance(receipts, list):
        raise MalformedError("the chain has no receipts list")
    terminal = data.get("terminal")
    if not isinstance(terminal, str):
        raise MalformedError("the chain names no terminal")
    try:
        public_key = load_public_key(str(data.get("public_key", "")))
        head_signature = bytes.fromhex(str(data.get("head_signature", "")))
        canonical_bytes(head)
    except ValueError as error:
        raise MalformedError(f"chain: {error}") from None
    records = tuple(
        parse_record(record, f"receipt at position {index + 1}")
        for index, record in enumerate(receipts)
    )
    return Chain(terminal, public_key, dict(head), head_signature, records)


def verify_receipt(signed: SignedDocument, key: Ed25519PublicKey) -> list[Fault]:
    """The faults of one receipt on its own: altered, wrong key, bad signature."""
    counter = signed.counter
    recomputed = document_hash(signed.document)
    if recomputed != signed.hash:
        return [Fault(FaultKind.ALTERED, counter, "content does not match its recorded hash")]
    expected = key_id(key)
    if signed.document.get("key") != expected:
        named = signed.document.get("key")
        detail = f"signed with key {named}, verifying with key {expected}"
        return [Fault(FaultKind.WRONG_KEY, counter, detail)]
    if not _verifies(key, signed.signature, signed.canonical):
        return [Fault(FaultKind.BAD_SIGNATURE, counter, "the signature does not verify")]
    return []


def verify_chain(chain: Chain, key: Ed25519PublicKey | None = None) -> list[Fault]:
    """Every fault of `chain`, checked with `key` (default: the key the chain carries)."""
    key = chain.public_key if key is None else key
    faults: list[Fault] = []
    good: dict[int, str] = {}  # counter -> hash, for receipts that verified on their own
    for signed in chain.receipts:
        own = verify_receipt(signed, key)
        if signed.terminal != chain.terminal:
            detail = f"belongs to terminal {signed.terminal}, not {chain.terminal}"
            own.append(Fault(FaultKind.FOREIGN, signed.counter, detail))
        faults += own
        if not own:
            good.setdefault(signed.counter, signed.hash)
    counters = [signed.counter for signed in chain.receipts]
    faults += _order_faults(counters)
    faults += _head_faults(chain, key, counters, good)
    faults += _gap_faults(counters, int(chain.head.get("counter", 0)))
    faults += _link_faults(chain.receipts, good)
    return faults


def check_seal(
    seal: Seal, receipts: Sequence[SignedDocument], key: Ed25519PublicKey
) -> list[Fault]:
    """Whether the QR code read from a paper receipt names a document of `receipts`
    that verifies: same terminal and counter, same hash, same signature."""
    found = [s for s in receipts if (s.terminal, s.counter) == (seal.terminal, seal.counter)]
    if not found:
        detail = f"the printed receipt {seal.counter} of terminal {seal.terminal} is not here"
        return [Fault(FaultKind.GAP, seal.counter, detail)]
    signed = found[0]
    if seal.hash != signed.hash:
        detail = "the printed code's hash is not that of the document"
        return [Fault(FaultKind.ALTERED, seal.counter, detail)]
    if seal.signature != signed.signature:
        detail = "the printed code's signature is not the document's"
        return [Fault(FaultKind.BAD_SIGNATURE, seal.counter, detail)]
    return verify_receipt(signed, key)


def _order_faults(counters: Sequence[int]) -> Iterable[Fault]:
    for before, after in itertools.pairwise(counters):
        if after <= before:
            detail = f"comes after receipt {before}"
            yield Fault(FaultKind.REORDER, after, detail)


def _gap_faults(counters: Sequence[int], head_counter: int) -> Iterable[Fault]:
    present = set(counters)
    top = max([head_counter, *present], default=0)
    missing = [counter for counter in range(1, top + 1) if counter not in present]
    for first, last in _ranges(missing):
        named = f"{first}" if first == last else f"{first} to {last}"
        yield Fault(FaultKind.GAP, first, f"receipt {named} missing")


def _link_faults(receipts: Sequence[SignedDocument], good: Mapping[int, str]) -> Iterable[Fault]:
    for signed in sorted(receipts, key=lambda s: s.counter):
        counter = signed.counter
        if good.get(counter) != signed.hash:
            continue  # a receipt already faulted on its own: its link says nothing more
        if counter == 1:
            previous: str | None = GENESIS
        else:
            previous = good.get(counter - 1)
        if previous is not None and signed.document.get("previous") != previous:
            detail = f"its previous hash is not that of receipt {counter - 1}"
            if counter == 1:
                detail = "the first receipt does not start from the genesis hash"
            yield Fault(FaultKind.BROKEN_LINK, counter, detail)


def _head_faults(
    chain: Chain, key: Ed25519PublicKey, counters: Sequence[int], good: Mapping[int, str]
) -> Iterable[Fault]:
    head = chain.head
    if head.get("key") != key_id(key):
        detail = f"head signed with key {head.get('key')}, verifying with key {key_id(key)}"
        yield Fault(FaultKind.WRONG_KEY, None, detail)
        return
    if not _verifies(key, chain.head_signature, canonical_bytes(head)):
        yield Fault(FaultKind.BAD_SIGNATURE, None, "the chain head's signature does not verify")
        return
    if head.get("terminal") != chain.terminal:
        yield Fault(FaultKind.FOREIGN, None, f"the head is of terminal {head.get('terminal')}")
    head_counter = head.get("counter")
    if (
        isinstance(head_counter, int)
        and head_counter in good
        and head.get("hash") != good[head_counter]
    ):
        detail = "the signed head's hash is not that of its last receipt"
        yield Fault(FaultKind.BROKEN_LINK, head_counter, detail)
    if isinstance(head_counter, int) and counters and max(counters) > head_counter:
        detail = f"beyond the signed head, which ends at {head_counter}"
        yield Fault(FaultKind.FOREIGN, max(counters), detail)


def _ranges(numbers: Sequence[int]) -> Iterable[tuple[int, int]]:
    start = previous = None
    for number in numbers:
        if start is None or previous is None or number != previous + 1:
            if start is not None and previous is not None:
                yield start, previous
            start = number
        previous = number
    if start is not None and previous is not None:
        yield start, previous


def _verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
