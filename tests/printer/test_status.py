"""DLE EOT status bytes, checked against the values the Epson ESC/POS reference tables
give (written out here, not derived from the code under test)."""

from __future__ import annotations

import pytest

from pospay.printer.status import FAULTS, PrinterState, fault_reason, is_status_byte

# fault -> the answers to DLE EOT 1, 2, 3, 4, from the reference's bit tables.
REFERENCE = {
    None: (0x12, 0x12, 0x12, 0x12),
    "paper_out": (0x1A, 0x32, 0x12, 0x7E),
    "near_end": (0x12, 0x12, 0x12, 0x1E),
    "cover_open": (0x1A, 0x16, 0x12, 0x12),
    "jam": (0x1A, 0x52, 0x32, 0x12),
    "offline": (0x1A, 0x12, 0x12, 0x12),
}


@pytest.mark.parametrize("fault", list(REFERENCE))
def test_status_bytes_follow_the_reference(fault: str | None) -> None:
    state = PrinterState()
    if fault is not None:
        state.set(fault)
    answers = tuple(state.status_byte(n) for n in (1, 2, 3, 4))
    assert answers == REFERENCE[fault]
    assert all(is_status_byte(answer) for answer in answers)
    expected = None if fault in (None, "near_end") else fault
    assert fault_reason(*REFERENCE[fault]) == expected


def test_every_fault_a_printer_takes_has_a_reference_row() -> None:
    assert set(FAULTS) == {key for key in REFERENCE if key is not None}


def test_unknown_faults_and_status_numbers_are_refused() -> None:
    state = PrinterState()
    with pytest.raises(ValueError, match="unknown printer fault 'smoke'"):
        state.set("smoke")
    with pytest.raises(ValueError, match="n must be 1 to 4"):
        state.status_byte(5)
    assert state.faults == []


def test_a_byte_that_is_not_a_status_byte_is_told_apart() -> None:
    assert not is_status_byte(0x00)
    assert not is_status_byte(0xFF)
    assert not is_status_byte(ord("A"))
