"""The people who use a terminal: cashiers, supervisors and admins, and who may do what.

Passwords are kept only as argon2 hashes (argon2-cffi's `PasswordHasher`, salt inside
the PHC string); a password is never stored, logged or put in an error message, and
`Credentials` hides it from `repr`. Hashing is slow on purpose, so it runs in a worker
thread, off the event loop.

Who may do what is data: `SupervisorPolicy` names the transaction kinds that need a
supervisor's id and password (by default void, refund and settlement; a terminal
changes it in `TerminalConfig.supervisor_kinds`), and whether a reprint needs one (by
default it does; `TerminalConfig.reprint_needs_supervisor`). `Operators.require` checks
one kind against it (`require_reprint` a reprint) before anything is recorded or sent,
and answers the id of the authorising supervisor, which the caller records. An admin
may stand in for a supervisor.

Managing operators: the first operator of a terminal must be an admin and is added
without authorisation (the terminal's installation); every later one is added by an
admin. An operator changes their own password with the current one; an admin may set
anyone's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from pospay.clock import Clock
from pospay.errors import BadInput, NotAuthorised
from pospay.storage import Committer
from pospay.terminal.config import DEFAULT_SUPERVISOR_KINDS
from pospay.terminal.tables import terminal_operator
from pospay.transaction import Kind

log = logging.getLogger(__name__)


class Role(StrEnum):
    CASHIER = "cashier"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# A role may do whatever the roles below it may.
_RANK = {Role.CASHIER: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}

_MAX_ID = 16


def acts_as(role: Role, needed: Role) -> bool:
    """Whether an operator of `role` may do what `needed` may.

    >>> acts_as(Role.ADMIN, Role.SUPERVISOR), acts_as(Role.CASHIER, Role.SUPERVISOR)
    (True, False)
    """
    return _RANK[role] >= _RANK[needed]


@dataclass(frozen=True, slots=True)
class SupervisorPolicy:
    """Which transaction kinds, and whether reprints, need a supervisor's authorisation."""

    kinds: frozenset[Kind] = DEFAULT_SUPERVISOR_KINDS
    reprint: bool = True

    def role_needed(self, kind: Kind) -> Role | None:
        """The role that must authorise `kind`, or None when the cashier alone may."""
        return Role.SUPERVISOR if kind in self.kinds else None

    def reprint_role(self) -> Role | None:
        """The role that must authorise a reprint, or None when the cashier alone may."""
        return Role.SUPERVISOR if self.reprint else None


@dataclass(frozen=True, slots=True)
class Credentials:
    """An operator id and password as typed; the password never appears in a repr."""

    operator_id: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator as anyone may see them: never the hash."""

    operator_id: str
    name: str
    role: Role


class Operators:
    """The operators of one terminal. Storage, clock and hasher are injected."""

    def __init__(
        self,
        committer: Committer,
        terminal_id: str,
        clock: Clock,
        policy: SupervisorPolicy,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._committer = committer
        self._terminal_id = terminal_id
        self._clock = clock
        self.policy = policy
        self._hasher = hasher or PasswordHasher()

    async def add(
        self,
        operator_id: str,
        name: str,
        role: Role,
        password: str,
        *,
        by: Credentials | None = None,
    ) -> Operator:
        """Add an operator. `by` is an admin's credentials; only the terminal's first
        operator, who must be an admin, is added without them."""
        _check_id(operator_id)
        if not name.strip() or len(name) > 64:
            raise BadInput("an operator's name must be 1 to 64 characters")
        _check_password(password)
        role = Role(role)
        terminal_id = self._terminal_id
        count = await self._committer.read(lambda connection: _count(connection, terminal_id))
        if count == 0:
            if role is not Role.ADMIN or by is not None:
                raise NotAuthorised("add_operator", "admin", "the first operator must be an admin")
        else:
            await self._verify(by, Role.ADMIN, "add_operator")
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        now = self._clock.now()
        values = {
            "terminal_id": terminal_id,
            "operator_id": operator_id,
            "name": name,
            "role": role.value,
            "password_hash": password_hash,
            "created_at": now,
            "updated_at": now,
        }

        def add_it(connection: Connection) -> None:
            if count == 0 and _count(connection, terminal_id):
                raise NotAuthorised("add_operator", "admin", "the terminal has operators now")
            connection.execute(insert(terminal_operator).values(**values))

        try:
            await self._committer.run(add_it)
        except IntegrityError:
            raise BadInput(f"operator {operator_id} exists already") from None
        log.info("operator %s added as %s", operator_id, role.value)
        return Operator(operator_id, name, role)

    async def change_password(
        self, operator_id: str, new_password: str, *, by: Credentials
    ) -> None:
        """Set `operator_id`'s password: `by` is that operator (current password) or an admin."""
        _check_password(new_password)
        needed = Role.CASHIER if by.operator_id == operator_id else Role.ADMIN
        await self._verify(by, needed, "change_password")
        if await self._find(operator_id) is None:
            raise BadInput(f"no operator {operator_id}")
        password_hash = await asyncio.to_thread(self._hasher.hash, new_password)
        await self._committer.run(self._store_hash(operator_id, password_hash))
        log.info("password of operator %s changed by %s", operator_id, by.operator_id)

    async def list(self) -> list[Operator]:
        """Every operator of the terminal, by id."""
        terminal_id = self._terminal_id
        rows = await self._committer.read(
            lambda connection: list(
                connection.execute(
                    select(terminal_operator)
                    .where(terminal_operator.c.terminal_id == terminal_id)
                    .order_by(terminal_operator.c.operator_id)
                )
            )
        )
        return [_operator(row) for row in rows]

    async def log_in(self, credentials: Credentials) -> Operator:
        """The operator these credentials belong to; `NotAuthorised` if they do not fit."""
        return await self._verify(credentials, Role.CASHIER, "log_in")

    async def require(self, kind: Kind, supervisor: Credentials | None) -> str | None:
        """Check the policy for `kind`: None when no supervisor is needed, else the id of
        the supervisor whose password was checked. Raises `NotAuthorised` otherwise."""
        needed = self.policy.role_needed(kind)
        if needed is None:
            return None
        operator = await self._verify(supervisor, needed, kind.value)
        log.info("%s authorised by %s %s", kind.value, operator.role.value, operator.operator_id)
        return operator.operator_id

    async def require_reprint(self, supervisor: Credentials | None) -> str | None:
        """Check the policy for a reprint, as `require` does for a kind."""
        needed = self.policy.reprint_role()
        if needed is None:
            return None
        operator = await self._verify(supervisor, needed, "reprint")
        log.info("reprint authorised by %s %s", operator.role.value, operator.operator_id)
        return operator.operator_id

    async def _verify(self, credentials: Credentials | None, needed: Role, what: str) -> Operator:
        if credentials is None:
            raise NotAuthorised(
                what, needed.value, f"a {needed.value}'s id and password are needed"
            )
        row = await self._find(credentials.operator_id)
        # The same answer for an unknown id and a wrong password: neither is revealed.
        if row is None or not await self._matches(row, credentials.password):
            raise NotAuthorised(what, needed.value, "wrong operator id or password")
        operator = _operator(row)
        if not acts_as(operator.role, needed):
            raise NotAuthorised(
                what, needed.value, f"operator {operator.operator_id} is a {operator.role.value}"
            )
        return operator

    async def _matches(self, row: Row[Any], password: str) -> bool:
        try:
            await asyncio.to_thread(self._hasher.verify, row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if self._hasher.check_needs_rehash(row.password_hash):
            fresh = await asyncio.to_thread(self._hasher.hash, password)
            await self._committer.run(self._store_hash(row.operator_id, fresh))
        return True

    async def _find(self, operator_id: str) -> Row[Any] | None:
        terminal_id = self._terminal_id
        return await self._committer.read(
            lambda connection: connection.execute(
                select(terminal_operator).where(
                    terminal_operator.c.terminal_id == terminal_id,
                    terminal_operator.c.operator_id == operator_id,
                )
            ).first()
        )

    def _store_hash(self, operator_id: str, password_hash: str) -> Any:
        terminal_id, now = self._terminal_id, self._clock.now()

        def store(connection: Connection) -> None:
            connection.execute(
                update(terminal_operator)
                .where(
                    terminal_operator.c.terminal_id == terminal_id,
                    terminal_operator.c.operator_id == operator_id,
                )
                .values(password_hash=password_hash, updated_at=now)
            )

        return store


def _count(connection: Connection, terminal_id: str) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(terminal_operator)
            .where(terminal_operator.c.terminal_id == terminal_id)
        ).scalar_one()
    )


def _operator(row: Row[Any]) -> Operator:
    return Operator(row.operator_id, row.name, Role(row.role))


def _check_id(operator_id: str) -> None:
    if not (1 <= len(operator_id) <= _MAX_ID and operator_id.isascii() and operator_id.isalnum()):
        raise BadInput(f"an operator id is 1 to {_MAX_ID} letters and digits")


def _check_password(password: str) -> None:
    # The message never repeats the password.
    if len(password) < 6:
        raise BadInput("a password must be at least 6 characters")
