"""`python -m bench.coverage`: the `/triage coverage` query over 100,000 issues and 10,000 tests.

Seeds both backends with bulk inserts (issues seen over the last 60 days, heavy-tailed event counts, ten
projects, 2% marked won't test; tests spread over five states), then times, median of several runs:
the coverage query for all projects and for one project, and as a same-run baseline a plain
`SELECT count(*) FROM issues`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlmodel import Session

from triagebot.backfill.models import RegressionTest
from triagebot.coverage import queries
from triagebot.db import make_engine, utcnow
from triagebot.tables import create_schema
from triagebot.triage.models import Issue

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
STATES = ["active"] * 5 + ["pr_open"] * 2 + ["pr_closed", "drafting", "failed"]


def issue_rows(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Issues seen over the last 60 days; events follow a heavy tail, as real error counts do."""
    now = utcnow()
    for n in range(count):
        last_seen = now - timedelta(seconds=rng.uniform(0, 60 * 86400))
        events = int(rng.paretovariate(1.2) * 3)
        yield {
            "id": str(1_000_000 + n),
            "short_id": f"WEB-{n:X}",
            "title": f"TypeError: cannot read property {n} of undefined",
            "status": "unresolved",
            "project_slug": f"project-{n % 10}",
            "event_count": events,
            "user_count": max(1, events // rng.randint(1, 20)),
            "first_seen": last_seen - timedelta(days=rng.uniform(0, 30)),
            "last_seen": last_seen,
            "web_url": f"https://sentry.io/organizations/acme/issues/{1_000_000 + n}/",
            "channel": "C0TRIAGE",
            "thread_ts": f"1700000000.{n:06d}",
            "flags": [],
            "wont_test_reason": "vendor code" if rng.random() < 0.02 else None,
            "root_version": 0,
            "created_at": now,
            "updated_at": now,
        }


def test_rows(count: int, issues: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Regression tests for distinct random issues."""
    now = utcnow()
    for n, index in enumerate(rng.sample(range(issues), count)):
        state = STATES[n % len(STATES)]
        yield {
            "issue_id": str(1_000_000 + index),
            "spec_id": f"spec-{index}",
            "state": state,
            # Most merged tests were seen to reproduce their issue; the rest are shown apart.
            "verdict": ("reproduced" if n % 4 else "not_reproduced") if state == "active" else None,
            "attempt": 1,
            "pr_url": f"https://github.com/acme/shop/pull/{n}" if state != "drafting" else None,
            "created_at": now,
            "updated_at": now,
        }


def bulk(engine: Engine, model: Any, rows: Iterator[dict[str, Any]], chunk: int = 5000) -> None:
    """Insert rows in executemany batches."""
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in rows:
            batch.append(row)
            if len(batch) == chunk:
                conn.execute(insert(model), batch)
                batch = []
        if batch:
            conn.execute(insert(model), batch)


def seed(url: str, issues: int, tests: int) -> float:
    """Create the schema and fill it; return the seconds it took."""
    started = time.perf_counter()
    create_schema(url)
    engine = make_engine(url)
    rng = random.Random(7)
    bulk(engine, Issue, issue_rows(issues, rng))
    bulk(engine, RegressionTest, test_rows(tests, issues, rng))
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def median_ms(run: Callable[[], object], repeats: int) -> float:
    """Run once to warm caches, then return the median wall time of `repeats` runs, in ms."""
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(url: str, repeats: int) -> dict[str, Any]:
    """Time the coverage query and the baseline on a seeded database."""
    engine = make_engine(url)
    figures: dict[str, Any] = {}
    with Session(engine) as session:
        report = queries.coverage(session, limit=20)
        figures["in window"] = report.totals.issues
        figures["coverage"] = report.totals.coverage
        figures["count(*)"] = median_ms(
            lambda: session.execute(text("SELECT count(*) FROM issues")).scalar(), repeats
        )
        figures["coverage query"] = median_ms(lambda: queries.coverage(session, limit=20), repeats)
        figures["one project"] = median_ms(
            lambda: queries.coverage(session, project="project-3", limit=20), repeats
        )
        figures["--days 60"] = median_ms(lambda: queries.coverage(session, days=60, limit=20), repeats)
        session.rollback()
    engine.dispose()
    return figures


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A throwaway SQLite file."""
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database on the local server."""
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    """Seed, measure and print a table."""
    parser = argparse.ArgumentParser(prog="python -m bench.coverage", description=__doc__)
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args(argv)
    backends = {"sqlite": sqlite_database, "postgres": postgres_database}
    chosen = list(backends) if args.backend == "both" else [args.backend]
    rows = []
    for name in chosen:
        with backends[name]() as url:
            seconds = seed(url, args.issues, args.tests)
            rows.append((name, seconds, measure(url, args.repeats)))
    print(f"{args.issues:,} issues, {args.tests:,} tests; median of {args.repeats} runs (ms)\n")
    columns = ("seed s", "in window", "count(*)", "coverage", "1 project", "60 days")
    header = f"{'backend':<10} " + " ".join(f"{name:>10}" for name in columns)
    print(header)
    print("-" * len(header))
    for name, seconds, f in rows:
        cells = [f"{seconds:.1f}", f"{f['in window']:,}"]
        cells += [f"{f[key]:.1f}" for key in ("count(*)", "coverage query", "one project", "--days 60")]
        print(f"{name:<10} " + " ".join(f"{cell:>10}" for cell in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
