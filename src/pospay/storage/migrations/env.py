"""Alembic environment: runs revisions on the engine that `pospay.storage.migrate` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
