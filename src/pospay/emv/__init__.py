"""EMV chip data: the ICC data of field 55, the cryptograms both ends compute, and the
test-only simulated chip card.

One cryptogram version throughout: **Visa CVN 10** (see `emv.cryptogram`). The card
(`SimulatedCard`) answers the terminal's GENERATE AC with an ARQC; the issuer simulator
recomputes it from its IMK-AC and answers with an ARPC, which the card checks.
"""

from pospay.emv.card import SimulatedCard
from pospay.emv.cryptogram import arpc, arqc, arqc_valid, issuer_authentication_data
from pospay.emv.icc_data import (
    CHIP_METHODS,
    IccData,
    TerminalData,
    decode_icc_data,
    encode_icc_data,
)

__all__ = [
    "CHIP_METHODS",
    "IccData",
    "SimulatedCard",
    "TerminalData",
    "arpc",
    "arqc",
    "arqc_valid",
    "decode_icc_data",
    "encode_icc_data",
    "issuer_authentication_data",
]
