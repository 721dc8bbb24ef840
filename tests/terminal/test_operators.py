"""Operators: argon2-hashed passwords, roles, management, and the supervisor policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, String, Text, inspect, select

from databases import Database
from pospay.clock import SystemClock
from pospay.errors import BadInput, NotAuthorised
from pospay.storage import GroupCommitter, migrate
from pospay.terminal.operators import Credentials, Operators, Role, SupervisorPolicy
from pospay.terminal.tables import metadata, terminal_operator
from pospay.transaction import Kind

# Cheap parameters for tests; production uses argon2-cffi's defaults.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ADMIN = Credentials("A1", "admin-secret-1")
SUPERVISOR = Credentials("S1", "supervisor-secret-1")
CASHIER = Credentials("C1", "cashier-secret-1")
PASSWORDS = (ADMIN.password, SUPERVISOR.password, CASHIER.password)


@asynccontextmanager
async def staffed(
    database: Database, policy: SupervisorPolicy | None = None, hasher: PasswordHasher = FAST
) -> AsyncIterator[tuple[Operators, Engine]]:
    engine = database.engine()
    migrate(engine, "terminal")
    committer = GroupCommitter(engine)
    committer.start()
    operators = Operators(
        committer, "20000001", SystemClock(), policy or SupervisorPolicy(), hasher
    )
    try:
        await operators.add(ADMIN.operator_id, "Ada Admin", Role.ADMIN, ADMIN.password)
        await operators.add("S1", "Sam Supervisor", Role.SUPERVISOR, SUPERVISOR.password, by=ADMIN)
        await operators.add("C1", "Cai Cashier", Role.CASHIER, CASHIER.password, by=ADMIN)
        yield operators, engine
    finally:
        await committer.stop()
        engine.dispose()


def text_in_terminal_tables(engine: Engine) -> str:
    """Every text value of every terminal table, for scanning."""
    found: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            for row in connection.execute(select(*columns)) if columns else []:
                found.extend(str(value) for value in row if value is not None)
    return "\n".join(found)


async def test_passwords_are_argon2_hashes_and_never_stored(database: Database) -> None:
    async with staffed(database, hasher=PasswordHasher()) as (operators, engine):
        assert [(o.operator_id, o.role) for o in await operators.list()] == [
            ("A1", Role.ADMIN),
            ("C1", Role.CASHIER),
            ("S1", Role.SUPERVISOR),
        ]
        with engine.connect() as connection:
            hashes = connection.execute(select(terminal_operator.c.password_hash)).scalars().all()
        assert len(hashes) == 3 and all(h.startswith("$argon2id$") for h in hashes)
        assert len(set(hashes)) == 3  # salted
        scanned = text_in_terminal_tables(engine)
        assert not any(password in scanned for password in PASSWORDS)
        assert "terminal_operator" in inspect(engine).get_table_names()
        assert "secret" not in repr(ADMIN)


async def test_only_an_admin_adds_operators(database: Database) -> None:
    async with staffed(database) as (operators, _):
        with pytest.raises(NotAuthorised) as caught:
            await operators.add("C2", "Other", Role.CASHIER, "password-2", by=SUPERVISOR)
        assert caught.value.role == "admin"
        with pytest.raises(NotAuthorised):
            await operators.add("C2", "Other", Role.CASHIER, "password-2")
        with pytest.raises(NotAuthorised):
            await operators.add(
                "C2", "Other", Role.CASHIER, "password-2", by=Credentials("A1", "x")
            )
        with pytest.raises(BadInput, match="exists"):
            await operators.add("C1", "Again", Role.CASHIER, "password-2", by=ADMIN)
        with pytest.raises(BadInput, match="at least 6"):
            await operators.add("C2", "Other", Role.CASHIER, "short", by=ADMIN)
        assert len(await operators.list()) == 3


async def test_the_first_operator_must_be_an_admin(database: Database) -> None:
    engine = database.engine()
    migrate(engine, "terminal")
    async with GroupCommitter(engine) as committer:
        operators = Operators(committer, "20000009", SystemClock(), SupervisorPolicy(), FAST)
        with pytest.raises(NotAuthorised, match="first operator must be an admin"):
            await operators.add("C1", "Cashier", Role.CASHIER, "password-1")
        await operators.add("A1", "Admin", Role.ADMIN, "password-1")
    engine.dispose()


async def test_changing_a_password(database: Database) -> None:
    async with staffed(database) as (operators, _):
        await operators.change_password("C1", "new-cashier-1", by=CASHIER)
        with pytest.raises(NotAuthorised):
            await operators.log_in(CASHIER)
        assert (await operators.log_in(Credentials("C1", "new-cashier-1"))).role is Role.CASHIER
        with pytest.raises(NotAuthorised):  # a cashier cannot set another's password
            await operators.change_password(
                "S1", "taken-over", by=Credentials("C1", "new-cashier-1")
            )
        await operators.change_password("C1", "reset-by-admin", by=ADMIN)
        await operators.log_in(Credentials("C1", "reset-by-admin"))


async def test_supervisor_policy(database: Database) -> None:
    async with staffed(database) as (operators, _):
        assert await operators.require(Kind.SALE, None) is None
        for kind in (Kind.VOID, Kind.REFUND, Kind.SETTLEMENT):
            with pytest.raises(NotAuthorised) as caught:
                await operators.require(kind, None)
            assert (caught.value.kind, caught.value.role) == (kind.value, "supervisor")
            with pytest.raises(NotAuthorised, match="C1 is a cashier"):
                await operators.require(kind, CASHIER)
            with pytest.raises(NotAuthorised, match="wrong operator id or password"):
                await operators.require(kind, Credentials("S1", "guess"))
            with pytest.raises(NotAuthorised, match="wrong operator id or password"):
                await operators.require(kind, Credentials("nobody", SUPERVISOR.password))
            assert await operators.require(kind, SUPERVISOR) == "S1"
            assert await operators.require(kind, ADMIN) == "A1"


async def test_the_policy_is_configurable_per_kind(database: Database) -> None:
    policy = SupervisorPolicy(frozenset({Kind.SALE}))
    async with staffed(database, policy) as (operators, _):
        assert await operators.require(Kind.SETTLEMENT, None) is None
        with pytest.raises(NotAuthorised):
            await operators.require(Kind.SALE, CASHIER)
