"""Alembic revisions of the prepaid programme (branch ``prepaid``); see `pospay.storage.migrate`."""
