"""Track 2 equivalent data: built from the card, read back, malformed data refused."""

from __future__ import annotations

import pytest

from pospay.cards.track2 import read_track2, track2_equivalent
from pospay.errors import MessageFormatError


def test_track_2_round_trips() -> None:
    value = track2_equivalent("6212345600000012", "3012")
    assert value == "6212345600000012=301220100000"
    track = read_track2(value)
    assert (track.pan, track.expiry, track.service_code) == ("6212345600000012", "3012", "201")
    assert "6212345600000012" not in repr(track)


@pytest.mark.parametrize(
    "value",
    ["6212345600000012", "6212345600000012=30", "62123456000000X2=301220100000", "=3012201"],
)
def test_what_is_not_track_2_is_a_format_error(value: str) -> None:
    with pytest.raises(MessageFormatError) as raised:
        read_track2(value)
    assert raised.value.field == "35"
