"""The mark on a job printed again because its first print was cut off.

When a crash comes between the printer taking a job and the job being marked
printed, nobody knows whether the paper came out. The print queue then prints the
stored job again with this banner on top, so the customer has a receipt and no one
has two originals.

>>> text, _ = interrupted_copy("SALE 消费\\n", b"\\x1b@\\x1c&SALE\\n", 1)
>>> text.splitlines()[0]
'重打印 REPRINT 1 · 打印中断 PRINT INTERRUPTED'
"""

from __future__ import annotations

from pospay.receipts.escpos import CHINESE_MODE_ON, ENCODING, INITIALISE


def banner(number: int) -> str:
    return f"重打印 REPRINT {number} · 打印中断 PRINT INTERRUPTED"


def interrupted_copy(text: str, escpos: bytes, number: int) -> tuple[str, bytes]:
    """The text and ESC/POS of copy `number` of a stored job, the banner first."""
    line = banner(number)
    prefix = INITIALISE + CHINESE_MODE_ON
    body = escpos[len(prefix) :] if escpos.startswith(prefix) else escpos
    return f"{line}\n{text}", prefix + line.encode(ENCODING) + b"\n" + body
