"""Card authentication at the issuer: the ARQC of a chip or contactless request.

A chip or contactless request must carry field 55 with an ARQC that the issuer, from
its IMK-AC and the card's PAN and sequence number, computes to the same value, over
the same amount it is asked to authorise. The sequence number is the one on the card
file: a request whose field 23 names another (a replaced card's old PSN, say) declines
even if its ARQC was made under the PSN it names. Anything else declines 05 "ARQC
verification failed" before the PIN or the money is looked at. A verified request's answer, approval
or decline, carries tag 91 (ARPC || ARC, `emv.cryptogram`) for the card to check.
"""

from __future__ import annotations

from pospay.channels import CardAuthorisation
from pospay.emv import CHIP_METHODS, arqc_valid, decode_icc_data, issuer_authentication_data
from pospay.errors import MessageFormatError
from pospay.issuer.decision import Refusal

ARQC_FAILED = "ARQC verification failed"


def _psn(request: CardAuthorisation) -> str:
    return request.card_sequence[-2:] if request.card_sequence else "00"


def needs_arqc(request: CardAuthorisation) -> bool:
    return request.method in CHIP_METHODS


def verify_arqc(
    request: CardAuthorisation, imk_ac: bytes, card_sequence: str | None
) -> Refusal | None:
    """None if the request's ARQC is the card's, whose PSN on file is `card_sequence`
    (None: not on file, field 23 is taken as it is); else the 05 refusal saying why."""
    if card_sequence is not None and _psn(request) != card_sequence:
        return Refusal("05", f"{ARQC_FAILED}: field 23 is not the card's PAN sequence number")
    if request.icc_data is None:
        return Refusal("05", f"{ARQC_FAILED}: a chip request without ICC data (field 55)")
    try:
        tags = decode_icc_data(request.icc_data)
    except MessageFormatError:
        return Refusal("05", f"{ARQC_FAILED}: field 55 is not BER-TLV")
    if not arqc_valid(imk_ac, request.pan, _psn(request), tags):
        return Refusal("05", ARQC_FAILED)
    signed = tags["9F02"].hex()
    if not signed.isdigit() or int(signed) != request.amount.minor:
        return Refusal("05", f"{ARQC_FAILED}: the card signed another amount")
    return None


def authentication_data(request: CardAuthorisation, imk_ac: bytes, response_code: str) -> bytes:
    """Tag 91 answering the (verified) ARQC of `request` with `response_code`."""
    assert request.icc_data is not None
    arqc = decode_icc_data(request.icc_data)["9F26"]
    return issuer_authentication_data(imk_ac, request.pan, _psn(request), arqc, response_code)
