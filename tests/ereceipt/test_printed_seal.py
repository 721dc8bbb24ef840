"""The printed QR code, read back by the virtual printer's decoder: the payload that
names the receipt's signed document, centred, with nothing the printer would not know."""

from __future__ import annotations

import dataclasses

import pytest

from pospay.printer.escpos_decode import EscposDecoder, JobDone
from pospay.printer.job import Align, QrCode
from pospay.receipts import PAPERS, Paper, ReceiptCopy, render_escpos
from pospay.receipts.chain import verify_receipt
from pospay.receipts.signing import GENESIS, qr_payload, read_qr_payload, sign_receipt
from receipt_chains import KEY, receipt_for


@pytest.mark.parametrize("paper", list(PAPERS.values()), ids=list(PAPERS))
@pytest.mark.parametrize("copy", list(ReceiptCopy), ids=[c.value for c in ReceiptCopy])
def test_the_printed_code_names_the_signed_document(paper: Paper, copy: ReceiptCopy) -> None:
    receipt = receipt_for(copy)
    signed = sign_receipt(receipt, 1, GENESIS, KEY)
    sealed = dataclasses.replace(receipt, seal=qr_payload(signed))
    decoder = EscposDecoder()
    events = decoder.feed(render_escpos(sealed, paper)) + decoder.close()
    jobs = [event.job for event in events if isinstance(event, JobDone)]
    assert len(jobs) == 1 and jobs[0].cut and jobs[0].notes == []
    codes = [block for block in jobs[0].blocks if isinstance(block, QrCode)]
    assert [(code.error, code.align) for code in codes] == [("M", Align.CENTRE)]
    seal = read_qr_payload(codes[0].payload.decode("ascii"))
    assert (seal.terminal, seal.counter, seal.hash, seal.signature) == (
        receipt.terminal_id,
        1,
        signed.hash,
        signed.signature,
    )
    assert verify_receipt(signed, KEY.public_key()) == []
