"""Durable storage: engines with the right durability settings, group commit, migrations.

SQLite (WAL, synchronous=FULL) is the embedded default; PostgreSQL is used by URL.
Every component (host, issuer, terminal) owns its tables and its Alembic branch, so
components can share one database or each have their own.
"""

from pospay.storage.committer import Committer
from pospay.storage.database import open_engine
from pospay.storage.group_commit import GroupCommitter
from pospay.storage.migrate import migrate

__all__ = ["Committer", "GroupCommitter", "migrate", "open_engine"]
