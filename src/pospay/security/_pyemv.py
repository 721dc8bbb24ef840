"""The one adapter between pospay and pyemv: every pyemv call pospay makes goes through here.

pyemv 1.5 reaches ``cryptography``'s ``TripleDES`` through the deprecated location, like
psec, so each call goes through `_tdes.quiet`, which silences exactly that
warning.

Cryptogram version: Visa CVN 10 — ICC master key by EMV option A, no session key (the
ICC master key computes the cryptogram), ARQC by ISO/IEC 9797-1 MAC algorithm 3 with
zero padding over the terminal data and the CVR, ARPC by method 1.
"""

from __future__ import annotations

import pyemv.cvn

from pospay.security._tdes import quiet as _quiet


def visa_cvn10(imk_ac: bytes, pan: str, psn: str) -> pyemv.cvn.VisaCVN10:
    """The CVN 10 keys of the card `pan`/`psn` under the issuer master key `imk_ac`.

    Only the AC key matters here; the secure-messaging keys (unused) are derived from it
    too, so that no second key needs documenting."""
    return _quiet(lambda: pyemv.cvn.VisaCVN10(imk_ac, imk_ac, imk_ac, pan, psn))


def cvn10_arqc(keys: pyemv.cvn.VisaCVN10, tags: dict[str, bytes], cvr: bytes) -> bytes:
    """The 8-byte application cryptogram over the CVN 10 data of `tags` and `cvr`."""
    return _quiet(
        lambda: keys.generate_ac(
            tag_9f02=tags["9F02"],
            tag_9f03=tags["9F03"],
            tag_9f1a=tags["9F1A"],
            tag_95=tags["95"],
            tag_5f2a=tags["5F2A"],
            tag_9a=tags["9A"],
            tag_9c=tags["9C"],
            tag_9f37=tags["9F37"],
            tag_82=tags["82"],
            tag_9f36=tags["9F36"],
            cvr=cvr,
        )
    )


def cvn10_arpc(keys: pyemv.cvn.VisaCVN10, arqc: bytes, arc: bytes) -> bytes:
    """The 8-byte ARPC, method 1: the ARQC XOR the ARC, encrypted under the ICC key."""
    return _quiet(lambda: keys.generate_arpc(arqc, arc))
