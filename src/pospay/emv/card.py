"""A TEST-ONLY simulated chip card: it holds its ICC master key (derived at
personalisation from the test IMK-AC, PAN and PSN), counts its transactions and
answers GENERATE AC with an ARQC, and checks the issuer's ARPC (EXTERNAL AUTHENTICATE).

It stands where a real card's chip would: the terminal asks it, never computes for it.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field

from pospay.cards import Brand, brand_of
from pospay.emv import cryptogram
from pospay.emv.icc_data import IccData, TerminalData
from pospay.security.test_keys import TEST_IMK_AC

# Application id and label each brand's test card selects.
APPLICATIONS: dict[Brand, tuple[str, str]] = {
    Brand.UNIONPAY: ("A000000333010101", "UnionPay Debit"),
    Brand.VISA: ("A0000000031010", "VISA CREDIT"),
    Brand.MASTERCARD: ("A0000000041010", "Mastercard"),
}
AIP = bytes.fromhex("1800")  # cardholder verification and terminal risk management supported
TSI = bytes.fromhex("E800")  # offline data auth, CVM, card and terminal risk management done


@dataclass(slots=True)
class SimulatedCard:
    pan: str = field(repr=False)
    psn: str = "01"  # PAN sequence number, 2 digits
    imk_ac: bytes = field(default=TEST_IMK_AC, repr=False)
    atc: int = 0  # the last ATC used; the next GENERATE AC takes the next
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.psn) != 2 or not self.psn.isdigit():
            raise ValueError("a PAN sequence number is 2 digits")

    @property
    def application(self) -> tuple[str, str]:
        return APPLICATIONS.get(brand_of(self.pan), APPLICATIONS[Brand.VISA])

    def generate_ac(self, terminal: TerminalData) -> IccData:
        """First GENERATE AC asking for an ARQC: the card's data and its cryptogram."""
        with self._lock:
            self.atc = self.atc % 0xFFFF + 1
            atc = self.atc
        aid, label = self.application
        tags = terminal.tags() | {
            "82": AIP,
            "9F36": atc.to_bytes(2, "big"),
            "9F10": cryptogram.CVN10_IAD,
            "9F27": b"\x80",
            "84": bytes.fromhex(aid),
        }
        tags["9F26"] = cryptogram.arqc(self.imk_ac, self.pan, self.psn, tags)
        return IccData(tags, label, TSI)

    def external_authenticate(self, arqc: bytes, issuer_authentication_data: bytes) -> bool:
        """Whether tag 91 (ARPC || ARC) is the issuer's answer to `arqc` from this card."""
        if len(issuer_authentication_data) != 10:
            return False
        arpc, arc = issuer_authentication_data[:8], issuer_authentication_data[8:]
        expected = cryptogram.arpc(self.imk_ac, self.pan, self.psn, arqc, arc)
        return hmac.compare_digest(expected, arpc)
