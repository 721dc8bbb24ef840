"""psec's and pyemv's TDES deprecation warning is silenced, and nothing else is.

pytest runs each test with warnings as errors, on a fresh copy of the filter list, so
these tests see what a process that treats warnings as errors sees.
"""

from __future__ import annotations

import sys
import warnings
from types import ModuleType

import pytest
from cryptography.hazmat.primitives.ciphers import algorithms as _algorithms
from cryptography.utils import CryptographyDeprecationWarning

from pospay.security import _psec, _pyemv
from pospay.security._tdes import quiet, reach_tripledes
from pospay.security.test_keys import TEST_IMK_AC

KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def test_a_mac_under_warnings_as_errors_computes() -> None:
    # psec touches cryptography's deprecated TripleDES location on every call; with
    # warnings as errors that would raise, were the filter not in front.
    assert len(_psec.retail_mac(KEY, b"pospay")) == 8
    assert len(_psec.retail_mac(KEY, b"pospay again")) == 8


def test_the_filter_comes_back_after_the_list_is_replaced() -> None:
    _psec.retail_mac(KEY, b"first")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # someone puts "error" in front of everything
        assert len(_psec.retail_mac(KEY, b"second")) == 8


def test_the_same_warning_from_elsewhere_still_raises() -> None:
    _psec.retail_mac(KEY, b"filter in place")

    def warn_from_here() -> None:
        warnings.warn("not psec's", CryptographyDeprecationWarning, stacklevel=1)

    with pytest.raises(CryptographyDeprecationWarning, match="not psec's"):
        quiet(warn_from_here)


def test_other_warnings_from_a_quiet_call_still_raise() -> None:
    def deprecated() -> None:
        warnings.warn("something else", DeprecationWarning, stacklevel=1)

    with pytest.raises(DeprecationWarning, match="something else"):
        quiet(deprecated)


def _without_tripledes(real: ModuleType) -> ModuleType:
    """cryptography's algorithms module as a release without the old location has it."""
    stand_in = ModuleType(real.__name__)

    def attribute(name: str) -> object:
        if name == "TripleDES":
            raise AttributeError(name)
        return getattr(real, name)

    stand_in.__getattr__ = attribute  # type: ignore[method-assign]
    return stand_in


def test_without_the_old_location_psec_and_pyemv_still_compute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The day cryptography drops ``algorithms.TripleDES``, MAC, key check values and
    ARQCs come out as before once `reach_tripledes` has run."""
    expected = (
        _psec.retail_mac(KEY, b"pospay"),
        _psec.key_check_value(KEY),
        _psec.encrypt_ecb(KEY, bytes(8)),
        _pyemv_arqc(),
    )
    holders = [
        module
        for name, module in sys.modules.items()
        if name.split(".")[0] in ("psec", "pyemv")
        and getattr(module, "_algorithms", None) is _algorithms
    ]
    assert holders, "psec and pyemv hold cryptography's algorithms module as _algorithms"
    stand_in = _without_tripledes(_algorithms)
    for module in holders:
        monkeypatch.setattr(module, "_algorithms", stand_in)
    with pytest.raises(AttributeError):
        _psec.retail_mac(KEY, b"pospay")  # what every MAC would do without the fallback

    reach_tripledes(stand_in)

    assert (
        _psec.retail_mac(KEY, b"pospay"),
        _psec.key_check_value(KEY),
        _psec.encrypt_ecb(KEY, bytes(8)),
        _pyemv_arqc(),
    ) == expected


def test_with_the_old_location_present_nothing_is_replaced() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        before = _algorithms.TripleDES
    reach_tripledes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        assert _algorithms.TripleDES is before


def _pyemv_arqc() -> bytes:
    """The known-answer ARQC of docs/iso8583.md section 2.2, through pyemv."""
    keys = _pyemv.visa_cvn10(TEST_IMK_AC, "4000200000000016", "01")
    tags = {
        "9F02": bytes.fromhex("000000001250"),
        "9F03": bytes(6),
        "9F1A": bytes.fromhex("0156"),
        "95": bytes.fromhex("0000008000"),
        "5F2A": bytes.fromhex("0156"),
        "9A": bytes.fromhex("261126"),
        "9C": bytes.fromhex("00"),
        "9F37": bytes.fromhex("1A2B3C4D"),
        "82": bytes.fromhex("1800"),
        "9F36": bytes.fromhex("0001"),
    }
    arqc = _pyemv.cvn10_arqc(keys, tags, bytes.fromhex("03A00000"))
    assert arqc.hex().upper() == "33E05D52C35DCC76"
    return arqc
