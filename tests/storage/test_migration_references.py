"""A revision that leaves a reference dangling is refused, and the database stays as
it was: on SQLite, where revisions run with foreign keys off so that tables can be
rebuilt, the check before each commit refuses it; on PostgreSQL the constraint does."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from databases import Database
from pospay.storage import migrate
from pospay.storage.migrate import alembic_config
from pospay.terminal.tables import terminal_receipt_document

# A revision on the terminal's branch that stores a signed document of a receipt that
# does not exist: a reference no database should accept.
_DANGLING = """
from alembic import op

revision = "terminal_dangling"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO terminal_receipt_document (receipt_id, terminal_id, counter,"
        " previous_hash, hash, document, signature, created_at)"
        " VALUES (424242, '30000001', 1, 'genesis', 'hash', '{{}}', '', '2026-12-01')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM terminal_receipt_document WHERE receipt_id = 424242")
"""


def test_a_revision_that_breaks_a_reference_is_refused(database: Database, tmp_path: Path) -> None:
    engine = database.engine()
    migrate(engine, "terminal")
    config = alembic_config(engine)
    head = ScriptDirectory.from_config(config).get_revision("terminal@head")
    assert head is not None
    (tmp_path / "terminal_dangling.py").write_text(_DANGLING.format(head=head.revision))
    locations = config.get_main_option("version_locations")
    config.set_main_option("version_locations", f"{locations} {tmp_path}")

    with pytest.raises((RuntimeError, IntegrityError), match=r"terminal_dangling|(?i:foreign key)"):
        command.upgrade(config, "terminal@head")

    with engine.connect() as connection:
        count = select(func.count()).select_from(terminal_receipt_document)
        assert connection.execute(count).scalar_one() == 0  # the revision was rolled back
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        assert head.revision in {row[0] for row in version}
        if connection.dialect.name == "sqlite":  # enforcement is back on afterwards
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()
