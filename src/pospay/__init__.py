"""pospay: a payment point-of-sale platform.

Terminal engine, ISO 8583 acquiring host, card issuer simulator, receipts and the
auditor that proves the terminal journal, the host journal and the issuer ledger
agree on every payment attempt. See ARCHITECTURE.md for the map of the package.
"""

from pospay import logs

__version__ = "0.1.0"

# On by default: no log record of a process that imports pospay carries a card number.
logs.install()
