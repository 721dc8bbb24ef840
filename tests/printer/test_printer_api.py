"""The printer package's public face, and the named error when the CJK font is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import pospay.printer
from pospay.errors import FontMissing, PospayError
from pospay.printer import render
from pospay.printer.job import DecodedJob, Line, Run


def test_the_exported_names_are_exactly_the_intended_ones() -> None:
    assert sorted(pospay.printer.__all__) == [
        "DirectoryPrinter",
        "NetworkPrinter",
        "PrinterServer",
        "ReceiptPrinter",
        "VirtualPrinter",
    ]


def test_a_missing_font_package_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    render._font.cache_clear()
    monkeypatch.setitem(sys.modules, "noto_cjk_sans_otc", None)  # as if not installed
    try:
        with pytest.raises(FontMissing) as raised:
            render.font_path()
        assert raised.value.package == "noto-cjk-sans-otc"
        assert "pip install noto-cjk-sans-otc" in str(raised.value)
        assert isinstance(raised.value, PospayError)
        job = DecodedJob([Line((Run("字", chinese=True),))], cut=True)
        with pytest.raises(FontMissing):
            render.render_png(job, 384, tmp_path / "job.png")
        assert not (tmp_path / "job.png").exists()
    finally:
        render._font.cache_clear()
