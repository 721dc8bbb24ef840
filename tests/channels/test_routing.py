"""The host's one channel in front of two: requests go by card number, follow-ups where
their original went, and reversals leave a tombstone at the prepaid ledger whenever it
did not receive the reference, so a request of either channel still in flight is refused."""

from __future__ import annotations

from datetime import UTC, datetime

from pospay.channels import CardAuthorisation, CardResult, RoutedChannel
from pospay.money import Money
from pospay.transaction import Kind

PREPAID_PAN, CARD_PAN = "8891000012345679", "6212345600000012"


class Recorder:
    """A channel that answers "00" and writes down what it was asked."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.calls: list[tuple[str, str]] = []
        self.received: set[str] = set()
        self.tombstones: set[str] = set()

    def owns_card(self, pan: str) -> bool:
        return bool(self.prefix) and pan.startswith(self.prefix)

    async def owns(self, reference: str) -> bool:
        return reference in self.received

    async def authorise(self, request: CardAuthorisation) -> CardResult:
        self.calls.append(("authorise", request.reference))
        self.received.add(request.reference)
        return CardResult(request.reference, "00", "A1B2C3", None, "approved")

    async def reverse(self, reference: str) -> CardResult:
        self.calls.append(("reverse", reference))
        return CardResult(reference, "00", None, None, "reversed")

    async def reverse_own(self, reference: str) -> tuple[CardResult, bool]:
        self.calls.append(("reverse_own", reference))
        if reference not in self.received:
            self.tombstones.add(reference)
        return CardResult(reference, "00", None, None, "reversed"), reference in self.received

    async def query(self, reference: str) -> CardResult | None:
        self.calls.append(("query", reference))
        if reference in self.received or reference in self.tombstones:
            code = "00" if reference in self.received else "25"
            return CardResult(reference, code, None, None, "stored")
        return None


def request(
    reference: str, pan: str, kind: Kind = Kind.SALE, original: str | None = None
) -> CardAuthorisation:
    return CardAuthorisation(
        reference=reference,
        kind=kind,
        pan=pan,
        expiry="" if not pan else "2912",
        amount=Money(1_00, "CNY"),
        merchant_id="898310048160002",
        terminal_id="20000001",
        at=datetime(2026, 1, 1, tzinfo=UTC),
        original_reference=original,
    )


async def test_requests_go_by_card_number_and_follow_ups_after_their_original() -> None:
    cards, prepaid = Recorder(), Recorder(prefix="88910000")
    channel = RoutedChannel(cards, prepaid)
    await channel.authorise(request("000000000001", PREPAID_PAN))
    await channel.authorise(request("000000000002", CARD_PAN))
    await channel.authorise(request("000000000003", "", Kind.REFUND, "000000000001"))
    await channel.authorise(request("000000000004", "", Kind.REFUND, "000000000002"))
    assert prepaid.calls == [("authorise", "000000000001"), ("authorise", "000000000003")]
    assert cards.calls == [("authorise", "000000000002"), ("authorise", "000000000004")]


async def test_a_reversal_of_the_ledger_s_own_reference_goes_nowhere_else() -> None:
    cards, prepaid = Recorder(), Recorder(prefix="88910000")
    channel = RoutedChannel(cards, prepaid)
    await channel.authorise(request("000000000001", PREPAID_PAN))
    await channel.reverse("000000000001")
    assert cards.calls == [] and prepaid.tombstones == set()


async def test_a_reversal_of_any_other_reference_tombstones_it_at_the_ledger_too() -> None:
    cards, prepaid = Recorder(), Recorder(prefix="88910000")
    channel = RoutedChannel(cards, prepaid)
    await channel.authorise(request("000000000002", CARD_PAN))
    await channel.reverse("000000000002")
    await channel.reverse("000000000009")  # seen by neither: both keep a tombstone
    assert prepaid.tombstones == {"000000000002", "000000000009"}
    assert cards.calls[1:] == [("reverse", "000000000002"), ("reverse", "000000000009")]


async def test_a_status_query_prefers_the_channel_that_received_the_request() -> None:
    cards, prepaid = Recorder(), Recorder(prefix="88910000")
    channel = RoutedChannel(cards, prepaid)
    await channel.authorise(request("000000000001", PREPAID_PAN))
    await channel.authorise(request("000000000002", CARD_PAN))
    await channel.reverse("000000000009")
    own = await channel.query("000000000001")
    card = await channel.query("000000000002")
    tombstone = await channel.query("000000000009")
    assert own is not None and card is not None and tombstone is not None
    assert ("query", "000000000001") not in cards.calls
    assert (own.response_code, card.response_code, tombstone.response_code) == ("00", "00", "25")
    assert await channel.query("000000000010") is None
