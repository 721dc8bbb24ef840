"""Draw a few golden receipts as the virtual printer prints them, into docs/receipts/.

The pictures are drawn from the golden ESC/POS jobs under tests/receipts/golden/ (the
bytes the golden tests check), read back by the virtual printer's decoder and drawn
by its renderer, so they show exactly what a thermal printer is sent:

    .venv/bin/python scripts/render_receipt_docs.py

Needs the CJK font package the README installs (``noto-cjk-sans-otc``). Look at every
picture before committing it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pospay.printer.escpos_decode import EscposDecoder, JobDone
from pospay.printer.render import render_png
from pospay.receipts import PAPERS

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "receipts" / "golden"
OUT = ROOT / "docs" / "receipts"

# golden job -> picture, in the order docs/receipts/README.md lists them
PICTURES = {
    "sale-chip-58mm-customer": "sale-chip-58mm-customer.png",
    "sale-contactless-80mm-merchant": "sale-contactless-80mm-merchant.png",
    "refund-by-reference-58mm-merchant": "refund-58mm-merchant.png",
    "prepaid-sale-magstripe-58mm-customer": "prepaid-sale-58mm-customer.png",
    "settlement-80mm": "settlement-80mm.png",
    "reversal-failure-58mm": "reversal-failure-58mm.png",
}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for golden, picture in PICTURES.items():
        paper = PAPERS[next(name for name in PAPERS if f"-{name}" in golden)]
        decoder = EscposDecoder()
        events = decoder.feed((GOLDEN / f"{golden}.bin").read_bytes()) + decoder.close()
        (job,) = [event.job for event in events if isinstance(event, JobDone)]
        if job.notes:
            print(f"{golden}: {job.notes}", file=sys.stderr)
            return 1
        render_png(job, paper.printable_dots, OUT / picture)
        print(f"docs/receipts/{picture}  <- tests/receipts/golden/{golden}.bin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
