"""NetworkPrinter against the virtual printer over real TCP: Chinese text arrives as
meant, the printed QR code scans, and every fault is named and prints nothing."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from pospay.errors import PrinterFault
from pospay.printer import NetworkPrinter, VirtualPrinter
from pospay.receipts import PAPER_58MM, PAPER_80MM, Paper, ReceiptCopy, render_escpos
from pospay.receipts.columns import printer_width
from pospay.receipts.compose import PrintLine, compose
from pospay.receipts.escpos import escpos_job
from pospay.receipts.layout import Style
from receipts.samples import receipt_for, sale_with

PAPERS = [pytest.param(PAPER_58MM, id="58mm"), pytest.param(PAPER_80MM, id="80mm")]
FAULTS = ["paper_out", "cover_open", "jam", "offline"]
CUT = b"\x1dV\x00"


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[VirtualPrinter]:
    with VirtualPrinter(tmp_path / "paper", dots=384) as virtual:
        yield virtual


def network(virtual: VirtualPrinter, timeout: float = 5.0) -> NetworkPrinter:
    return NetworkPrinter("127.0.0.1", virtual.port, timeout=timeout)


def intended(lines: tuple[PrintLine, ...] | list[PrintLine]) -> str:
    return "".join(line.text + "\n" for line in lines)


@pytest.mark.parametrize("paper", PAPERS)
def test_chinese_merchant_yuan_amounts_and_full_width_punctuation_arrive_as_meant(
    tmp_path: Path, paper: Paper
) -> None:
    sale = sale_with(merchant_name="收银小票（示范店）：甲，乙。")
    receipt = receipt_for(ReceiptCopy.MERCHANT, sale)
    slip = [
        PrintLine("收银小票 ¥12.50", Style.LARGE),
        PrintLine("，。：（）", Style.BOLD),
        PrintLine("合计 TOTAL ¥1,012.50（含税）。"),
    ]
    dots = 384 if paper is PAPER_58MM else 576
    with VirtualPrinter(tmp_path / "paper", dots=dots) as virtual:
        network(virtual).print_job("sale", render_escpos(receipt, paper), "")
        network(virtual).print_job("slip", escpos_job(slip), "")
        sale_job, slip_job = virtual.printed
    assert sale_job.job.text == intended(compose(receipt, paper, printer_width))
    assert "收银小票（示范店）：甲，乙。" in sale_job.job.text
    assert slip_job.job.text == intended(slip)
    for printed in (sale_job, slip_job):
        assert printed.text_path.read_text(encoding="utf-8").startswith(printed.job.text)
        with Image.open(printed.png_path) as image:
            assert image.width == dots


def test_the_qr_code_on_a_printed_receipt_scans_to_its_payload(
    printer: VirtualPrinter,
) -> None:
    from escpos.printer import Dummy

    payload = "pospay:receipt:v1:31500422:000123:3f9a0c1e"
    receipt = render_escpos(receipt_for(ReceiptCopy.CUSTOMER), PAPER_58MM)
    qr = Dummy()
    qr.qr(payload, native=True, size=4)
    assert receipt.endswith(CUT)
    network(printer).print_job("qr", receipt[: -len(CUT)] + qr.output + CUT, "")
    (printed,) = printer.printed
    assert printed.job.qr_payloads == [payload.encode()]
    with Image.open(printed.png_path) as image:
        found = zxingcpp.read_barcodes(image)
    assert [barcode.text for barcode in found] == [payload]
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_named_and_nothing_prints(printer: VirtualPrinter, fault: str) -> None:
    printer.set_fault(fault)
    job = render_escpos(receipt_for(ReceiptCopy.CUSTOMER), PAPER_58MM)
    with pytest.raises(PrinterFault) as raised:
        network(printer).print_job("x", job, "")
    assert raised.value.reason == fault
    assert printer.printed == []
    printer.clear_fault(fault)
    network(printer).print_job("x", job, "")
    assert len(printer.printed) == 1


def test_a_printer_that_does_not_ask_status_still_gets_nothing_printed_when_faulted(
    printer: VirtualPrinter,
) -> None:
    printer.set_fault("paper_out")
    blind = NetworkPrinter("127.0.0.1", printer.port, timeout=5, status=False)
    blind.print_job("x", escpos_job([PrintLine("无纸")]), "")
    # Nothing tells a blind sender when the printer took the job: wait until it has.
    for _ in range(500):
        if printer.refused:
            break
        time.sleep(0.01)
    printer.clear_fault()
    network(printer).print_job("y", escpos_job([PrintLine("有纸")]), "")
    assert (printer.refused, [job.text for job in printer.jobs]) == (1, ["有纸\n"])


def test_paper_near_end_still_prints(printer: VirtualPrinter) -> None:
    printer.set_fault("near_end")
    network(printer).print_job("x", escpos_job([PrintLine("纸将尽")]), "")
    assert [job.text for job in printer.jobs] == ["纸将尽\n"]


def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PrinterFault) as raised:
        NetworkPrinter("127.0.0.1", port, timeout=2).print_job("x", b"\x1b@", "")
    assert raised.value.reason == "unreachable"


def test_a_printer_slower_than_the_timeout_times_out(printer: VirtualPrinter) -> None:
    printer.set_delay(3.0)
    with pytest.raises(PrinterFault) as raised:
        network(printer, timeout=0.3).print_job("x", escpos_job([PrintLine("慢")]), "")
    assert raised.value.reason == "timeout"


def test_a_slow_printer_within_the_timeout_prints(printer: VirtualPrinter) -> None:
    printer.set_delay(0.05)
    network(printer, timeout=10).print_job("x", escpos_job([PrintLine("慢慢来")]), "")
    assert [job.text for job in printer.jobs] == ["慢慢来\n"]


def test_python_escpos_reads_the_status_bytes_as_the_reference_means(
    printer: VirtualPrinter,
) -> None:
    from escpos.printer import Network

    def ask() -> tuple[bool, int]:
        client = Network("127.0.0.1", printer.port, timeout=5)
        client.open()
        try:
            return client.is_online(), client.paper_status()
        finally:
            client.close()

    assert ask() == (True, 2)
    printer.set_fault("near_end")
    assert ask() == (True, 1)
    printer.set_fault("paper_out")
    assert ask() == (False, 0)
    printer.clear_fault()
    printer.set_fault("cover_open")
    assert ask() == (False, 2)


def test_jobs_are_numbered_on_from_what_the_folder_holds(tmp_path: Path) -> None:
    folder = tmp_path / "paper"
    for _ in range(2):
        with VirtualPrinter(folder) as virtual:
            network(virtual).print_job("x", escpos_job([PrintLine("一")]), "")
    assert sorted(path.name for path in folder.iterdir()) == [
        "0001.png",
        "0001.txt",
        "0002.png",
        "0002.txt",
    ]


def test_garbage_on_the_wire_does_not_stop_the_printer(printer: VirtualPrinter) -> None:
    garbage = bytes(range(256)) * 3 + b"\x1d(k\xff\xff" + b"\x1b"
    with socket.create_connection(("127.0.0.1", printer.port), timeout=5) as connection:
        connection.sendall(garbage)
    network(printer).print_job("after", escpos_job([PrintLine("照常打印")]), "")
    assert printer.jobs[-1].text == "照常打印\n"


@pytest.mark.parametrize(("port", "timeout"), [(0, 5.0), (70000, 5.0), (9100, 0.0)])
def test_a_printer_address_or_timeout_out_of_range_is_refused(port: int, timeout: float) -> None:
    with pytest.raises(ValueError, match="printer"):
        NetworkPrinter("127.0.0.1", port, timeout=timeout)
