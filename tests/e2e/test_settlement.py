"""End of day over ISO 8583/TCP: a terminal settles its batch with a real host.

The terminal runs on a real `TcpHostLink` wrapped in `CountingLink`, which records the
MTIs it sends and can refuse to send batch uploads (the host unreachable mid-way).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, update

from databases import Database
from nodes import CONFIG, host_node
from pospay.audit import check_agreement
from pospay.clock import SystemClock
from pospay.errors import IllegalTransition, LinkError, NotAuthorised, OutcomeUnknown
from pospay.host.settlement import settlement_row
from pospay.host.tables import host_batch_upload, host_journal
from pospay.iso8583 import Message
from pospay.issuer.ledger import approved_movements
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.printer import DirectoryPrinter
from pospay.runtime import HostNode
from pospay.settlement import BatchTotals
from pospay.storage import GroupCommitter, migrate
from pospay.terminal import journal
from pospay.terminal.card_read import CardRead
from pospay.terminal.engine import Terminal
from pospay.terminal.link import TcpHostLink
from pospay.terminal.operators import Credentials, Role
from pospay.terminal.settlement import settlements
from pospay.terminal.tables import terminal_journal, terminal_settlement, terminal_state
from pospay.transaction import Event, Kind, Method, State, apply

CARD = TEST_CARDS[0]
READ = CardRead.for_test_card(CARD, Method.CARD_CHIP)
ADMIN = Credentials("A1", "admin-secret-1")
SUPERVISOR = Credentials("S1", "supervisor-secret-1")
CASHIER = Credentials("C1", "cashier-secret-1")
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class CountingLink:
    def __init__(self, inner: TcpHostLink) -> None:
        self.inner = inner
        self.mtis: list[str] = []
        self.refuse_uploads = False
        # The answer to the next request of this MTI is lost after the host handled it.
        self.lose_answer_to: str | None = None

    async def exchange(self, request: Message, *, timeout: float) -> Message:
        if self.refuse_uploads and request["t"] == "0320":
            raise LinkError("test link: host unreachable")
        self.mtis.append(request["t"])
        response = await self.inner.exchange(request, timeout=timeout)
        if request["t"] == self.lose_answer_to:
            self.lose_answer_to = None
            raise OutcomeUnknown("test link: the answer was lost")
        return response

    async def close(self) -> None:
        await self.inner.close()


@dataclass
class Rig:
    terminal: Terminal
    link: CountingLink
    engine: Engine
    printer: DirectoryPrinter

    def batch(self) -> str:
        with self.engine.connect() as connection:
            return journal.current_batch(connection, CONFIG.terminal_id)

    def terminal_states(self, batch: str) -> list[State]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(terminal_journal.c.state)
                .where(terminal_journal.c.batch == batch)
                .order_by(terminal_journal.c.id)
            )
            return [State(state) for state in rows.scalars()]


@asynccontextmanager
async def rig(database: Database, host: HostNode, receipts: Path) -> AsyncIterator[Rig]:
    engine = database.engine()
    migrate(engine, "terminal")
    committer = GroupCommitter(engine)
    committer.start()
    link = CountingLink(TcpHostLink("127.0.0.1", host.port))
    printer = DirectoryPrinter(receipts)
    terminal = Terminal(CONFIG, committer, link, SystemClock(), printer, password_hasher=FAST)
    try:
        await terminal.open()
        yield Rig(terminal, link, engine, printer)
    finally:
        await link.close()
        await committer.stop()
        engine.dispose()


async def staff(terminal: Terminal) -> None:
    if await terminal.operators.list():
        return
    await terminal.operators.add("A1", "Admin", Role.ADMIN, ADMIN.password)
    await terminal.operators.add("S1", "Supervisor", Role.SUPERVISOR, SUPERVISOR.password, by=ADMIN)
    await terminal.operators.add("C1", "Cashier", Role.CASHIER, CASHIER.password, by=ADMIN)


async def trading_day(terminal: Terminal) -> None:
    """Three approved sales (12.50, 20.00, 5.00), a decline and a balance inquiry."""
    await terminal.log_in(CASHIER)
    for minor in (1250, 2000, 500):
        assert (await terminal.sale(READ, Money(minor, "CNY"))).approved
    assert not (await terminal.sale(READ, Money(66605, "CNY"))).approved
    assert (await terminal.balance_inquiry(READ)).approved


def host_states(host: HostNode, batch: str) -> dict[str, State]:
    with host.host_engine.connect() as connection:
        rows = connection.execute(
            select(host_journal.c.kind, host_journal.c.state).where(host_journal.c.batch == batch)
        )
        return {f"{i}-{row.kind}": State(row.state) for i, row in enumerate(rows)}


async def test_a_day_of_sales_settles_balanced(database: Database, tmp_path: Path) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        async with rig(database, host, tmp_path / "receipts") as r:
            assert await r.terminal.sign_in() == "00"
            await staff(r.terminal)
            await trading_day(r.terminal)
            sent_before = list(r.link.mtis)

            with pytest.raises(NotAuthorised) as refused:
                await r.terminal.settle()
            assert (refused.value.kind, refused.value.role) == ("settlement", "supervisor")
            with pytest.raises(NotAuthorised):
                await r.terminal.settle(CASHIER)
            assert r.link.mtis == sent_before and r.batch() == "000001"  # nothing happened

            outcome = await r.terminal.settle(SUPERVISOR)
            assert outcome.settled and outcome.balanced_first_time and outcome.response_code == "00"
            assert outcome.totals == BatchTotals(3, 3750, 0, 0) == outcome.host_totals
            assert (outcome.batch, outcome.next_batch, r.batch()) == ("000001", "000002", "000002")
            assert outcome.attempts_settled == 3 and outcome.uploaded == 0
            assert r.link.mtis[len(sent_before) :] == ["0500"]
            states = r.terminal_states("000001")
            assert states.count(State.SETTLED) == 3 and State.APPROVED in states  # the inquiry
            assert sorted(host_states(host, "000001").values()).count(State.SETTLED) == 3

            slip = (tmp_path / "receipts" / "settlement-000001.txt").read_text("utf-8")
            assert "结算单 SETTLEMENT SLIP" in slip and "对账平 BALANCED" in slip
            assert "¥37.50" in slip and "S1" in slip and "C1" in slip
            with r.engine.connect() as connection:
                (stored,) = settlements(connection, CONFIG.terminal_id)
            assert (stored.state, stored.printed_at is not None) == ("settled", True)
            assert stored.slip_text == slip and stored.supervisor == "S1"

            after = await r.terminal.sale(READ, Money(100, "CNY"))
            assert after.approved
            assert r.terminal_states("000002") == [State.APPROVED]
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings
        with host.host_engine.connect() as connection:
            recorded = settlement_row(connection, CONFIG.terminal_id, "000001")
        assert recorded is not None and recorded.state == "settled"
        assert not recorded.after_upload and recorded.differences == ""


async def test_operator_is_journaled_per_call_or_by_session(
    database: Database, tmp_path: Path
) -> None:
    async with (
        host_node(database, tmp_path / "keys") as host,
        rig(database, host, tmp_path / "receipts") as r,
    ):
        await r.terminal.sign_in()
        await staff(r.terminal)
        first = await r.terminal.sale(READ, Money(100, "CNY"))  # nobody logged in
        await r.terminal.log_in(CASHIER)
        second = await r.terminal.sale(READ, Money(100, "CNY"))
        third = await r.terminal.sale(READ, Money(100, "CNY"), operator="C9")
        with r.engine.connect() as connection:
            operators = [
                journal.attempt(connection, o.attempt_id).operator for o in (first, second, third)
            ]
        assert operators == [CONFIG.operator, "C1", "C9"]
        receipt = (tmp_path / "receipts" / f"{second.voucher}-merchant.txt").read_text("utf-8")
        assert "C1" in receipt


async def test_an_unbalanced_batch_is_uploaded_then_settles(
    database: Database, tmp_path: Path
) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        async with rig(database, host, tmp_path / "receipts") as r:
            await r.terminal.sign_in()
            await staff(r.terminal)
            await trading_day(r.terminal)
            # The host's record of the 20.00 sale is damaged: it now says 19.00.
            with host.host_engine.begin() as connection:
                damaged = connection.execute(
                    update(host_journal)
                    .where(host_journal.c.amount_minor == 2000)
                    .values(amount_minor=1900)
                    .returning(host_journal.c.stan)
                ).scalar_one()
            sent_before = len(r.link.mtis)

            outcome = await r.terminal.settle(SUPERVISOR)

            assert outcome.settled and not outcome.balanced_first_time
            assert outcome.uploaded == 3 and r.batch() == "000002"
            assert r.link.mtis[sent_before:] == ["0500", "0320", "0320", "0320", "0500"]
            assert outcome.host_totals == outcome.totals == BatchTotals(3, 3750, 0, 0)
            assert r.terminal_states("000001").count(State.SETTLED) == 3
            slip = (tmp_path / "receipts" / "settlement-000001.txt").read_text("utf-8")
            assert "对账不平 UNBALANCED" in slip and "BALANCED AFTER BATCH UPLOAD" in slip
        with host.host_engine.connect() as connection:
            recorded = settlement_row(connection, CONFIG.terminal_id, "000001")
            uploads = connection.execute(select(host_batch_upload)).all()
        assert recorded is not None and recorded.state == "settled" and recorded.after_upload
        assert recorded.differences.count("\n") == 0
        assert f"STAN {damaged}" in recorded.differences
        assert "terminal amount 2000, host amount 1900" in recorded.differences
        assert len(uploads) == 3 and all(u.journal_id is not None for u in uploads)
        # Settlement moved no money: the reported difference waits for reconciliation.
        assert sorted(host_states(host, "000001").values()).count(State.SETTLED) == 3


async def test_a_restart_between_settlement_and_upload_keeps_the_batch(
    database: Database, tmp_path: Path
) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        async with rig(database, host, tmp_path / "receipts") as r:
            await r.terminal.sign_in()
            await staff(r.terminal)
            await trading_day(r.terminal)
            with host.host_engine.begin() as connection:
                connection.execute(
                    update(host_journal)
                    .where(host_journal.c.amount_minor == 500)
                    .values(state=State.DECLINED.value)
                )
            r.link.refuse_uploads = True
            with pytest.raises(LinkError):
                await r.terminal.settle(SUPERVISOR)
            assert r.batch() == "000001"
        async with rig(database, host, tmp_path / "receipts") as r:
            assert r.batch() == "000001"
            with r.engine.connect() as connection:
                (pending,) = settlements(connection, CONFIG.terminal_id)
            assert pending.state == "uploading"
            await r.terminal.sign_in()
            outcome = await r.terminal.settle(SUPERVISOR)
            assert outcome.settled and not outcome.balanced_first_time
            assert r.link.mtis[1:] == ["0320", "0320", "0320", "0500"]  # resumed the upload
            assert (outcome.next_batch, r.batch()) == ("000002", "000002")
        with host.host_engine.connect() as connection:
            recorded = settlement_row(connection, CONFIG.terminal_id, "000001")
        assert recorded is not None
        assert "approved on the terminal, declined on the host" in recorded.differences


async def test_settling_again_after_a_lost_answer_replays_the_host_s_answer(
    database: Database, tmp_path: Path
) -> None:
    async with (
        host_node(database, tmp_path / "keys") as host,
        rig(database, host, tmp_path / "receipts") as r,
    ):
        await r.terminal.sign_in()
        await staff(r.terminal)
        await trading_day(r.terminal)
        await r.terminal.settle(SUPERVISOR)
        # The terminal forgets it settled (as if the 0510 had been lost before its commit).
        with r.engine.begin() as connection:
            connection.execute(
                update(terminal_journal)
                .where(terminal_journal.c.state == State.SETTLED.value)
                .values(state=State.APPROVED.value)
            )
            connection.execute(update(terminal_state).values(batch=1))
            connection.execute(update(terminal_settlement).values(state="open"))
        sent_before = len(r.link.mtis)
        again = await r.terminal.settle(SUPERVISOR)
        assert again.settled and again.balanced_first_time and r.batch() == "000002"
        assert r.link.mtis[sent_before:] == ["0500"]


async def test_a_terminal_that_missed_its_0510_is_refused_77_and_settles_again(
    database: Database, tmp_path: Path
) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        async with rig(database, host, tmp_path / "receipts") as r:
            await r.terminal.sign_in()
            await staff(r.terminal)
            await trading_day(r.terminal)
            r.link.lose_answer_to = "0500"
            with pytest.raises(OutcomeUnknown):
                await r.terminal.settle(SUPERVISOR)
            assert r.batch() == "000001"  # the host settled it; the terminal never heard
            with host.issuer_engine.connect() as connection:
                moved_before = approved_movements(connection)

            refused = await r.terminal.sale(READ, Money(700, "CNY"))
            assert (refused.approved, refused.response_code) == (False, "77")
            with host.host_engine.connect() as connection:
                last = connection.execute(
                    select(host_journal).order_by(host_journal.c.id.desc()).limit(1)
                ).one()
            assert (last.batch, last.state, last.response_code) == ("000001", "declined", "77")
            assert "batch 000001 is settled already" in last.reason
            with host.issuer_engine.connect() as connection:
                assert approved_movements(connection) == moved_before  # nothing was forwarded

            again = await r.terminal.settle(SUPERVISOR)
            assert again.settled and again.totals == BatchTotals(3, 3750, 0, 0)
            assert (again.next_batch, r.batch()) == ("000002", "000002")
            assert (await r.terminal.sale(READ, Money(700, "CNY"))).approved
            assert r.terminal_states("000002") == [State.APPROVED]
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings


async def test_voids_and_refunds_in_the_totals_and_no_void_after_settlement(
    database: Database, tmp_path: Path
) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        async with rig(database, host, tmp_path / "receipts") as r:
            await r.terminal.sign_in()
            await staff(r.terminal)
            await r.terminal.log_in(CASHIER)
            kept = await r.terminal.sale(READ, Money(3000, "CNY"))
            voided = await r.terminal.sale(READ, Money(700, "CNY"))
            with pytest.raises(NotAuthorised):
                await r.terminal.void(voided.voucher)
            with pytest.raises(NotAuthorised):
                await r.terminal.refund(kept.voucher, Money(1000, "CNY"), supervisor=CASHIER)
            assert (await r.terminal.void(voided.voucher, supervisor=SUPERVISOR)).approved
            refund = await r.terminal.refund(
                kept.voucher, Money(1000, "CNY"), supervisor=SUPERVISOR
            )
            assert refund.approved
            with r.engine.connect() as connection:
                assert journal.attempt(connection, refund.attempt_id).supervisor == "S1"

            outcome = await r.terminal.settle(SUPERVISOR)
            assert outcome.settled and outcome.balanced_first_time
            assert outcome.totals == BatchTotals(1, 3000, 1, 1000)

            late = await r.terminal.void(kept.voucher, supervisor=SUPERVISOR)
            assert not late.approved and late.response_code == "12"
            with r.engine.connect() as connection:
                assert journal.attempt(connection, kept.attempt_id).state == State.SETTLED.value
            slip = (tmp_path / "receipts" / "settlement-000001.txt").read_text("utf-8")
            assert "退货 REFUND" in slip and "¥20.00" in slip  # net
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings


def test_a_settled_attempt_cannot_be_voided() -> None:
    # The lifecycle has no SETTLED + VOID row: a void must come before settlement.
    with pytest.raises(IllegalTransition):
        apply(State.SETTLED, Event.VOID)
    assert apply(State.SETTLED, Event.REFUND) is State.REFUNDED
    assert Kind.VOID.value == "void"
