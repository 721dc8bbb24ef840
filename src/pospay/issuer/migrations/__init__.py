"""Alembic revisions of the issuer simulator (branch ``issuer``); see `pospay.storage.migrate`."""
