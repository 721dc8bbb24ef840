"""The auditor: checks SPEC.md's invariants by comparing what each party recorded.

Nothing here trusts a party's own summary: it reads the terminal journal, the host
journal and the issuer ledger, and reports each disagreement with the attempt it
concerns.
"""

from pospay.audit.agreement import AgreementReport, check_agreement
from pospay.audit.findings import Finding

__all__ = ["AgreementReport", "Finding", "check_agreement"]
