"""The virtual printer's ESC/POS decoder: our receipts read back as the lines we meant,
in any chunking; QR payloads kept; other commands skipped by length; never a crash."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pospay.printer.escpos_decode import EscposDecoder, Event, JobDone, StatusRequest
from pospay.printer.job import Align, DecodedJob, QrCode
from pospay.receipts import PAPER_58MM, PAPER_80MM, Paper, ReceiptCopy, render_escpos
from pospay.receipts.columns import printer_width
from pospay.receipts.compose import compose
from pospay.receipts.escpos import escpos_job
from pospay.receipts.layout import Style
from receipts.samples import receipt_for

PAPERS = [pytest.param(PAPER_58MM, id="58mm"), pytest.param(PAPER_80MM, id="80mm")]
COPIES = [pytest.param(copy, id=copy.value) for copy in ReceiptCopy]


def jobs_of(events: list[Event]) -> list[DecodedJob]:
    return [event.job for event in events if isinstance(event, JobDone)]


def decode(data: bytes, *, chunk: int | None = None) -> list[Event]:
    decoder = EscposDecoder()
    events: list[Event] = []
    step = chunk or max(len(data), 1)
    for start in range(0, len(data), step):
        events += decoder.feed(data[start : start + step])
    return events + decoder.close()


def qr_bytes(payload: str, size: int = 4) -> bytes:
    from escpos.printer import Dummy

    printer = Dummy()
    printer.qr(payload, native=True, size=size)
    output: bytes = printer.output
    return output


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("copy", COPIES)
def test_a_receipt_reads_back_as_its_lines_and_styles(paper: Paper, copy: ReceiptCopy) -> None:
    receipt = receipt_for(copy)
    intended = compose(receipt, paper, printer_width)
    (job,) = jobs_of(decode(render_escpos(receipt, paper)))
    assert job.cut
    assert job.notes == []
    assert job.text == "".join(line.text + "\n" for line in intended)
    for line, meant in zip(job.lines, intended, strict=True):
        for run in line.runs:
            if not run.text.strip():
                continue
            assert run.bold == (meant.style is not Style.NORMAL), line.text
            assert run.height == (2 if meant.style is Style.LARGE else 1), line.text
            assert run.width == 1


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_any_chunking_decodes_to_the_same_job(chunk: int) -> None:
    data = render_escpos(receipt_for(ReceiptCopy.MERCHANT), PAPER_58MM)
    (whole,) = jobs_of(decode(data))
    (pieces,) = jobs_of(decode(data, chunk=chunk))
    assert pieces == whole


def test_chinese_mode_switches_how_text_bytes_are_read() -> None:
    text = "收银小票 ¥12.50，。：（）"
    data = b"\x1b@\x1c&" + text.encode("gb18030") + b"\n\x1c." + b"ABC \x9c\n\x1dV\x00"
    (job,) = jobs_of(decode(data))
    assert [line.text for line in job.lines] == [text, "ABC £"]  # 0x9c is £ in code page 437
    assert [run.chinese for line in job.lines for run in line.runs] == [True, False]


def test_qr_payload_size_and_alignment_are_kept() -> None:
    payload = "pospay-receipt:31500422:000123:凭证"
    data = b"\x1b@\x1ba\x01" + qr_bytes(payload, size=5) + b"\x1dV\x00"
    (job,) = jobs_of(decode(data))
    assert job.qr_payloads == [payload.encode("utf-8")]
    (qr,) = job.blocks
    assert isinstance(qr, QrCode)
    assert (qr.module, qr.align) == (5, Align.CENTRE)
    assert f"] {payload}" in job.transcript()


def test_status_requests_come_in_stream_order_with_the_jobs() -> None:
    job_bytes = b"\x1b@A\n\x1dV\x00"
    events = decode(b"\x10\x04\x01" + job_bytes + b"\x10\x04\x04")
    assert events[0] == StatusRequest(1)
    assert isinstance(events[1], JobDone) and events[1].job.text == "A\n"
    assert events[2] == StatusRequest(4)
    assert len(events) == 3


def test_commands_not_rendered_are_skipped_by_their_length() -> None:
    # A 2 x 3 raster image whose data holds LF, ESC and GS bytes, a barcode, a drawer
    # kick and a command no printer knows: the text around them is intact.
    raster = b"\x1dv0\x00\x02\x00\x03\x00" + b"\x0a\x1b\x1d\x0a\x1b\x1d"
    barcode = b"\x1dkA\x0512345"
    data = (
        b"\x1b@before\n" + raster + barcode + b"\x1bp\x00\x19\xfa" + b"\x1b\x7fafter\n\x1dV\x42\x00"
    )
    (job,) = jobs_of(decode(data))
    assert job.text == "before\nafter\n"
    assert any("raster" in note for note in job.notes)
    assert any("'12345'" in note for note in job.notes)
    assert any("unknown command ESC 0x7f" in note for note in job.notes)


def test_a_job_without_a_cut_ends_with_the_stream() -> None:
    (job,) = jobs_of(decode(b"\x1b@\x1c&" + "未切纸".encode("gb18030") + b"\n"))
    assert not job.cut
    assert job.text == "未切纸\n"
    assert "no cut" in job.transcript()


def test_a_slip_of_styled_lines_reads_back() -> None:
    from pospay.receipts.compose import PrintLine

    lines = [
        PrintLine("收银小票 ¥12.50", Style.LARGE),
        PrintLine("，。：（）", Style.BOLD),
        PrintLine("TOTAL ¥12.50"),
    ]
    (job,) = jobs_of(decode(escpos_job(lines)))
    assert job.text == "收银小票 ¥12.50\n，。：（）\nTOTAL ¥12.50\n"
    assert [line.runs[0].height for line in job.lines] == [2, 1, 1]
    assert [line.runs[0].bold for line in job.lines] == [True, True, False]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_arbitrary_bytes_never_crash_the_decoder(data: bytes, cuts: list[int]) -> None:
    decoder = EscposDecoder()
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    for start, end in itertools.pairwise(bounds):
        for event in decoder.feed(data[start:end]):
            assert isinstance(event, StatusRequest | JobDone)
    for event in decoder.close():
        assert isinstance(event, JobDone)
        event.job.transcript()


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(max_size=60))
def test_garbage_after_a_cut_leaves_the_receipt_intact(garbage: bytes) -> None:
    data = render_escpos(receipt_for(ReceiptCopy.CUSTOMER), PAPER_58MM)
    events = decode(data + garbage)
    first = jobs_of(events)[0]
    assert first.text == "".join(
        line.text + "\n"
        for line in compose(receipt_for(ReceiptCopy.CUSTOMER), PAPER_58MM, printer_width)
    )
