"""Keys out of step: the host changed the terminal's keys behind its back (a duplicated or
late sign-in). The terminal must notice the refused MAC, sign in again, and finish what
the refusal left open — without using up its reversal's tries."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from databases import Database
from host_messages import SIGN_IN
from nodes import RecordingPrinter, host_node, terminal_node
from pospay.audit import check_agreement
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.terminal.card_read import CardRead
from pospay.terminal.tables import terminal_reversal
from pospay.transaction import Method, State

READ = CardRead.for_test_card(TEST_CARDS[0], Method.CARD_CONTACTLESS)


async def test_a_refused_mac_makes_the_terminal_sign_in_again(
    database: Database, tmp_path: Path
) -> None:
    printer = RecordingPrinter()
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, printer) as terminal:
            assert await terminal.sign_in() == "00"
            # A second sign-in the terminal never hears of: the host has new keys.
            changed = await host.service.handle(SIGN_IN | {"11": "999999"})
            assert changed is not None and changed["39"] == "00"

            refused = await terminal.sale(READ, Money(1500, "CNY"))
            assert refused.state is State.REVERSAL_PENDING  # the answer failed its MAC
            with host.host_engine.connect() as connection:
                tries = connection.execute(select(terminal_reversal.c.tries)).scalar_one()
            assert tries == 0  # refused for its MAC too: that is no try

            approved = await terminal.sale(READ, Money(800, "CNY"))
            assert approved.state is State.APPROVED  # signed in again first
            with host.host_engine.connect() as connection:
                reversal = connection.execute(select(terminal_reversal)).one()
            # The refused sale changed nothing on the host: its reversal finds the key
            # unseen (25) and leaves a tombstone.
            assert (reversal.state, reversal.response_code) == ("confirmed", "25")
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings
