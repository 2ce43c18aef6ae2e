"""Webhook intake: signed Sentry webhooks per second and latency, triagebot beside two baselines.

Run: `python -m bench.intake [--database sqlite|postgres] [--rounds 3] [--requests 3000] [--rate 200]`.
All servers run as uvicorn subprocesses on this machine in the same run, so their ratios are what
count on a shared, noisy machine. The baselines (bench/bare_app.py): a bare endpoint that does nothing,
and the minimal durable one, which checks the signature, parses the JSON and commits one row to the
same store before it answers (SQLite in WAL with synchronous=NORMAL, or PostgreSQL). Two measurements
per server:
- closed loop: `--concurrency` clients send `--requests` webhooks as fast as answers come (throughput);
- paced: `--rate` requests a second for `--seconds` (the latency a steady Sentry sees: p50, p99).
triagebot runs as in production: its outbox worker delivers to a local Slack stand-in meanwhile.
Each server's CPU time per closed-loop request (its process and workers, read from /proc) is printed
too: it moves far less with the machine's load than the rates do. The servers take turns, round after
round (`--rounds`), so a slow spell of the machine falls on all of them; the table gives the medians.
Each triagebot has a database of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from copy import deepcopy
from pathlib import Path

import httpx  # only to wait for the servers to start
import psycopg

from bench.bare_app import create_table
from tests.support.signing import SENTRY_SECRET, compact, sentry_headers
from triagebot.db import migrate

FIXTURE = Path(__file__).parents[1] / "tests" / "fixtures" / "sentry" / "error.created.json"


def free_port() -> int:
    """Pick a free local port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bodies(count: int, issues: int = 50) -> list[bytes]:
    """Make `count` signed-ready error.created bodies spread over `issues` issues, all distinct events."""
    base = json.loads(FIXTURE.read_text())
    out = []
    for n in range(count):
        payload = deepcopy(base)
        payload["data"]["error"]["issue_id"] = str(700000 + n % issues)
        payload["data"]["error"]["event_id"] = f"{n:032x}"
        out.append(compact(payload))
    return out


def start(
    args: list[str], env: dict[str, str], port: int, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server and wait until it answers."""
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server on port {port} did not start")


class Connection:
    """One keep-alive HTTP/1.1 connection speaking raw bytes: a load generator light enough to leave
    the CPU to the server under test (an HTTP client library costs more per request than a tuned server)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, request: bytes) -> int:
        """Send one prepared request; return the status code."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status


def prepared(port: int, bodies: list[bytes]) -> list[bytes]:
    """Turn signed bodies into complete HTTP requests, signed as Sentry signs them."""
    out = []
    for body in bodies:
        headers = sentry_headers("error", body)
        lines = ["POST /webhooks/sentry HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return out


async def closed_loop(port: int, requests: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    """Send all requests over `concurrency` connections as fast as answers come; return req/s, latencies."""
    queue = list(reversed(requests))
    latencies: list[float] = []

    async def worker() -> None:
        connection = Connection(port)
        while queue:
            request = queue.pop()
            began = time.perf_counter()
            status = await connection.post(request)
            latencies.append(time.perf_counter() - began)
            if status not in (200, 202):
                raise SystemExit(f"port {port}: HTTP {status}")

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(requests) / (time.perf_counter() - began), latencies


async def paced(port: int, requests: list[bytes], rate: float) -> list[float]:
    """Send requests at a fixed rate, each on time whatever earlier answers do; return latencies.

    Latency counts from the moment a request was due, so a stalled server cannot hide its backlog.
    """
    latencies: list[float] = []
    idle: list[Connection] = []

    async def one(request: bytes, due: float) -> None:
        connection = idle.pop() if idle else Connection(port)
        try:
            ok = await connection.post(request) in (200, 202)
            idle.append(connection)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            ok = False
        # A failed request counts as the slowest possible answer: Sentry would call it a timeout.
        latencies.append(time.perf_counter() - due if ok else 30.0)

    tasks = []
    start_at = time.perf_counter()
    for n, request in enumerate(requests):
        due = start_at + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    return latencies


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children (uvicorn's workers)."""
    total, todo = 0.0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def pct(values: list[float], q: float) -> float:
    """Return the q-quantile in milliseconds."""
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1] * 1000


def slack_stand_in() -> tuple[subprocess.Popen[bytes], str]:
    """Serve the Slack stand-in from a process of its own; return it and its API URL.

    The servers' outbox workers post to it all through the run: served from this process, its threads
    would take turns on the GIL with the load generator and add their time to the latencies measured.
    """
    code = "import time\nfrom tests.support.fake_slack import FakeSlack\n"
    code += "print(FakeSlack().base_url, flush=True)\ntime.sleep(10**6)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=Path(__file__).parents[1], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().decode().strip()


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def database(kind: str, workdir: Path, name: str) -> str:
    """Create an empty, migrated triagebot database of its own for one server."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'{name}.db'}"
    else:
        database = f"bench_{os.getpid()}_{name}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
            conn.execute(f'CREATE DATABASE "{database}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    migrate(url)
    return url


def drop_databases() -> None:
    """Drop the PostgreSQL databases this run created (SQLite's live in its temporary folder)."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"bench_{os.getpid()}_%",)
        )
        for (name,) in rows.fetchall():
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def main() -> None:
    """Run the servers, measure them in interleaved rounds, print a table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the table gives medians")
    parser.add_argument("--workers", type=int, default=1, help="triagebot worker processes (PostgreSQL)")
    parser.add_argument(
        "--also", metavar="CHECKOUT", help="also serve the triagebot of another checkout, in the same run"
    )
    args = parser.parse_args()
    if args.workers > 1 and args.database == "sqlite":
        parser.error("--workers needs --database postgres (SQLite has one writer)")

    slack, slack_url = slack_stand_in()
    workdir = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    env = {
        **os.environ,
        "TRIAGEBOT_SENTRY_CLIENT_SECRET": SENTRY_SECRET,
        "TRIAGEBOT_SLACK_BOT_TOKEN": "xoxb-bench",
        "TRIAGEBOT_SLACK_API_URL": slack_url,
        "TRIAGEBOT_SLACK_CHANNEL": "CBENCH",
        "TRIAGEBOT_SCHEDULER_ENABLED": "false",
    }
    durable_url = database(args.database, workdir, "durable")
    create_table(durable_url)
    workers = ["--workers", str(args.workers)] if args.workers > 1 else []
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "--no-access-log",
        "--log-level",
        "warning",
        "--host",
        "127.0.0.1",
    ]
    triagebot = [sys.executable, "-m", "triagebot", "serve", "--no-migrate"]
    bare_port, durable_port, bot_port = free_port(), free_port(), free_port()
    servers = {
        "bare FastAPI": (
            start([*uvicorn, *workers, "--port", str(bare_port), "bench.bare_app:app"], env, bare_port),
            bare_port,
        ),
        "minimal durable": (
            start(
                [*uvicorn, *workers, "--port", str(durable_port), "bench.bare_app:durable"],
                {**env, "BENCH_DURABLE_URL": durable_url},
                durable_port,
            ),
            durable_port,
        ),
        # Each triagebot gets a database of its own: sharing one would make the second see duplicates.
        "triagebot": (
            start(
                [*triagebot, *workers, "--port", str(bot_port)],
                {**env, "TRIAGEBOT_DATABASE_URL": database(args.database, workdir, "triagebot")},
                bot_port,
            ),
            bot_port,
        ),
    }
    if args.also:
        also_port = free_port()
        checkout = Path(args.also).resolve()
        also_env = {
            **env,
            "TRIAGEBOT_DATABASE_URL": database(args.database, workdir, "also"),
            "PYTHONPATH": os.pathsep.join([str(checkout), env.get("PYTHONPATH", "")]),
        }
        # `python -m` puts the working directory first on the path: serve from the other checkout.
        servers[f"triagebot@{checkout.name}"[:17]] = (
            start([*triagebot, *workers, "--port", str(also_port)], also_env, also_port, cwd=checkout),
            also_port,
        )
    load = os.getloadavg()
    per_round = 200 + args.requests + int(args.rate * args.seconds)
    payloads = bodies(per_round * args.rounds)
    results: dict[str, list[tuple[float, list[float], list[float], float]]] = {name: [] for name in servers}
    try:
        for turn in range(args.rounds):
            # Every server gets the same webhooks, new in each round (an old one would be a duplicate).
            chunk = payloads[turn * per_round : (turn + 1) * per_round]
            for name, (proc, port) in servers.items():
                requests = prepared(port, chunk)
                asyncio.run(closed_loop(port, requests[:200], args.concurrency))  # warm-up
                cpu_before = cpu_seconds(proc.pid)
                rps, closed = asyncio.run(
                    closed_loop(port, requests[200 : 200 + args.requests], args.concurrency)
                )
                cpu = (cpu_seconds(proc.pid) - cpu_before) / args.requests * 1000
                steady = asyncio.run(paced(port, requests[200 + args.requests :], args.rate))
                results[name].append((rps, closed, steady, cpu))
                print(
                    f"round {turn + 1}: {name:<17} {rps:>7.0f} req/s, paced p99 {pct(steady, 0.99):.1f} ms",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        for proc, _port in servers.values():
            proc.terminate()
            proc.wait(timeout=20)
        slack.kill()
        if args.database == "postgres":
            drop_databases()
    print(f"\nwebhook intake on {args.database}: {args.rounds} rounds, each {args.requests} requests")
    print(
        f"closed-loop (x{args.concurrency}) then {args.rate:.0f} req/s for {args.seconds:.0f}s paced; ",
        end="",
    )
    print(f"machine: {os.cpu_count()} cores\n")
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    header = f"{'server':<17}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'paced p50':>11}{'paced p99':>11}"
    print(header + f"{'CPU ms/req':>12}")
    medians = {}
    for name, runs in results.items():
        rps = medians[name] = statistics.median(run[0] for run in runs)
        closed = [value for run in runs for value in run[1]]
        steady = [value for run in runs for value in run[2]]
        cpu = statistics.median(run[3] for run in runs)
        print(
            f"{name:<17}{rps:>9.0f}{pct(closed, 0.5):>9.1f}{pct(closed, 0.99):>9.1f}"
            f"{pct(steady, 0.5):>11.1f}{pct(steady, 0.99):>11.1f}{cpu:>12.2f}"
        )
    pairs = zip(results["triagebot"], results["minimal durable"], strict=True)
    ratios = ", ".join(f"{bot[0] / durable[0]:.2f}" for bot, durable in pairs)
    ratio = medians["triagebot"] / medians["minimal durable"]
    print(f"\ntriagebot throughput = {ratio:.2f} x the minimal durable endpoint's (target >= 0.7)")
    print(f"                       per round: {ratios}")
    print(
        f"                     = {medians['triagebot'] / medians['bare FastAPI']:.2f} x the bare endpoint's"
    )
    steady = [value for run in results["triagebot"] for value in run[2]]
    print(f"triagebot paced p99 = {pct(steady, 0.99):.1f} ms at {args.rate:.0f} req/s (target < 50)")


if __name__ == "__main__":
    main()
