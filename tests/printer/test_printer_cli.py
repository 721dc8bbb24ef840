"""`pospay printer serve` as a process: it says where it listens, prints what it is
sent, takes faults on its control port, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pospay.errors import PrinterFault
from pospay.printer import NetworkPrinter
from pospay.receipts.compose import PrintLine
from pospay.receipts.escpos import escpos_job

LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+) .*control on 127\.0\.0\.1:(\d+)")

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    command = [sys.executable, "-m", "pospay", "printer", "serve", "--port", "0"]
    command += ["--out", str(tmp_path / "paper"), "--paper", "58", "--fault", "paper_out"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, stderr=subprocess.PIPE, text=True, encoding="utf-8"
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            match = LISTENING.search(line)
            if match:
                yield process, int(match.group(1)), int(match.group(2))
                break
        else:
            pytest.fail(f"pospay printer serve ended without listening: {process.wait()}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def control(port: int, command: str) -> dict[str, object]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(command.encode() + b"\n")
        reply = connection.makefile("rb").readline()
    answer: dict[str, object] = json.loads(reply)
    return answer


def test_serve_prints_takes_faults_and_stops_on_sigterm(
    served: tuple[subprocess.Popen[str], int, int], tmp_path: Path
) -> None:
    process, port, control_port = served
    printer = NetworkPrinter("127.0.0.1", port, timeout=10)
    job = escpos_job([PrintLine("收银小票 ¥12.50"), PrintLine("，。：（）")])

    with pytest.raises(PrinterFault) as raised:  # started with --fault paper_out
        printer.print_job("first", job, "")
    assert raised.value.reason == "paper_out"
    assert control(control_port, "status")["faults"] == ["paper_out"]

    assert control(control_port, "clear")["faults"] == []
    printer.print_job("first", job, "")
    assert control(control_port, "fault cover_open")["ok"] is True
    with pytest.raises(PrinterFault) as raised:
        printer.print_job("second", job, "")
    assert raised.value.reason == "cover_open"
    refused = control(control_port, "fault smoke")
    assert refused["ok"] is False and "smoke" in str(refused["error"])
    for bad in ("delay abc", "delay -1", "delay nan", "feed paper"):
        refused = control(control_port, bad)
        assert refused["ok"] is False, bad
        assert bad in str(refused["error"]), refused
        assert "could not convert" not in str(refused["error"]), refused
    assert control(control_port, "delay 0.5")["delay"] == 0.5
    assert control(control_port, "delay 0")["delay"] == 0.0

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert process.stderr is not None
    assert "pospay printer stopping" in process.stderr.read()
    paper = tmp_path / "paper"
    assert sorted(path.name for path in paper.iterdir()) == ["0001.png", "0001.txt"]
    assert (
        (paper / "0001.txt").read_text(encoding="utf-8").startswith("收银小票 ¥12.50\n，。：（）\n")
    )


def test_serve_refuses_a_paper_width_it_does_not_have(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pospay", "printer", "serve", "--port", "0"]
    command += ["--out", str(tmp_path), "--paper", "70"]
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        command, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "--paper 70: 58 or 80" in result.stderr
