"""The deterministic chaos simulation (`pospay chaos`).

Terminals, host and issuer run unchanged on one seeded event loop on virtual time
(`loop`), with the simulation's storage (`disk`: crash before or after a commit),
network (`network`, `channel`: drop, duplicate, delay, reorder, partition) and
printers (`printer`: paper out, jam, offline); `faults` decides what strikes where,
`workload` what the cashiers do, `world` puts it together, `shards` runs several
independent worlds at once (one per core) and `report` is what the auditor found. One
seed, one history, one report.
"""

from pospay.simulation.loop import run_virtual
from pospay.simulation.report import ChaosReport, build_report, merge_reports
from pospay.simulation.shards import run_chaos, run_shard
from pospay.simulation.world import ChaosConfig, World

__all__ = [
    "ChaosConfig",
    "ChaosReport",
    "World",
    "build_report",
    "merge_reports",
    "run_chaos",
    "run_shard",
    "run_virtual",
]
