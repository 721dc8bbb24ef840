"""Crash test at scale: `pospay serve` SIGKILLed at random moments under load from real
terminal engines, then the three-way auditor; results as JSON.

Runs the harness of the in-suite test (`tests/crash_harness.py`, whose docstring gives
the steps) with more kills. Without --db the host and the issuer use SQLite files in a
temporary directory; with a PostgreSQL --db the run gets a fresh schema of its own
(dropped afterwards unless --keep-schema). Exits 1 when the auditor finds anything.

    python bench/crash_test.py --kills 50
    python bench/crash_test.py --kills 200 --terminals 8 --seed 7
    python bench/crash_test.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import random
import sys
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from crash_harness import CrashPlan, CrashResult, Storage, run_crash_test

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "crash_test.json"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=60, help="SIGKILLs of the host (60)")
    parser.add_argument("--terminals", type=int, default=4, help="terminal engines (4)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--keep-schema", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    return parser.parse_args(argv)


def _schema_url(url: str, schema: str) -> str:
    with_path = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return with_path.render_as_string(hide_password=False)


def _run(plan: CrashPlan, db: str | None, keep_schema: bool) -> CrashResult:
    with tempfile.TemporaryDirectory(prefix="pospay-crash-") as scratch:
        work_dir = Path(scratch)
        if db is None:
            return asyncio.run(run_crash_test(plan, Storage.sqlite(work_dir), work_dir, "sqlite"))
        schema = f"pospay_crash_{uuid.uuid4().hex[:12]}"
        admin = create_engine(db, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            storage = Storage.postgresql(work_dir, db, _schema_url(db, schema), schema)
            return asyncio.run(run_crash_test(plan, storage, work_dir, "postgresql"))
        finally:
            if not keep_schema:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    # Each kill strands the sales in flight: the engine's warnings about them are expected.
    logging.basicConfig(level=logging.ERROR)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    plan = CrashPlan(kills=args.kills, seed=seed, terminals=args.terminals)
    print(f"crash test: {plan.kills} kills, {plan.terminals} terminals, seed {seed}", flush=True)
    result = _run(plan, args.db, args.keep_schema)
    document = {
        "benchmark": "crash_test",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "kills_planned": plan.kills,
        **result.as_json(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(result.summary())
    for violation in result.violations:
        print(f"  {violation}")
    print(f"results: {args.out}")
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
