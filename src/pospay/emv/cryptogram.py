"""The application cryptograms of a pospay chip transaction: Visa CVN 10.

CVN 10, as both the simulated card and the issuer compute it (EMV Book 2, Visa VIS):

- ICC master key for AC: EMV option A from the IMK-AC, the PAN and the PAN sequence
  number (the rightmost 16 digits of PAN || PSN, TDES-encrypted, and again XOR FF..FF);
- no session key: the ICC master key computes the cryptogram;
- ARQC: ISO/IEC 9797-1 MAC algorithm 3 (retail MAC), zero padding, over
  9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36 and the 4-byte CVR (bytes 4..7 of 9F10);
- ARPC: method 1, TDES(ICC MK, ARQC XOR (ARC || 00..00)); tag 91 = ARPC || ARC, where
  the ARC is the ASCII of the response code ("00" -> 3030).
"""

from __future__ import annotations

import hmac

from pospay.security import _pyemv

# Issuer application data of a CVN 10 card: length 06, DKI 01, CVN 0A, CVR 03A00000.
CVN10_IAD = bytes.fromhex("06010A03A00000")


def _cvr(tags: dict[str, bytes]) -> bytes:
    return tags["9F10"][3:7]


def arqc(imk_ac: bytes, pan: str, psn: str, tags: dict[str, bytes]) -> bytes:
    """The 8-byte ARQC of the card `pan`/`psn` over `tags` (see the module docstring)."""
    return _pyemv.cvn10_arqc(_pyemv.visa_cvn10(imk_ac, pan, psn), tags, _cvr(tags))


def arqc_valid(imk_ac: bytes, pan: str, psn: str, tags: dict[str, bytes]) -> bool:
    """Whether tag 9F26 is the card's ARQC over the other tags; False if any is missing."""
    try:
        expected = arqc(imk_ac, pan, psn, tags)
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, tags.get("9F26", b""))


def arpc(imk_ac: bytes, pan: str, psn: str, cryptogram: bytes, arc: bytes) -> bytes:
    """The 8-byte ARPC (method 1) answering `cryptogram` with the 2-byte `arc`."""
    return _pyemv.cvn10_arpc(_pyemv.visa_cvn10(imk_ac, pan, psn), cryptogram, arc)


def issuer_authentication_data(
    imk_ac: bytes, pan: str, psn: str, cryptogram: bytes, response_code: str
) -> bytes:
    """Tag 91 of the answer: ARPC || ARC, the ARC being the response code in ASCII."""
    arc = response_code.encode("ascii")
    return arpc(imk_ac, pan, psn, cryptogram, arc) + arc
