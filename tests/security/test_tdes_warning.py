"""psec's and pyemv's TDES deprecation warning is silenced, and nothing else is.

pytest runs each test with warnings as errors, on a fresh copy of the filter list, so
these tests see what a process that treats warnings as errors sees.
"""

from __future__ import annotations

import warnings

import pytest
from cryptography.utils import CryptographyDeprecationWarning

from pospay.security import _psec
from pospay.security._tdes_warning import quiet

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
