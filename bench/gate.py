"""`python -m bench.gate`: the gate beside Playwright Test on the same drafted specs, same build, same run.

Twenty specs are drafted (by `triagebot.drafts`) from six Sentry browser events about the pages of
tests/gates/late_app.py, whose buggy build throws late: after a slow response, in a timer, in a
rejected promise, after a 500. Each round runs, in alternating order, `triagebot gate` on the
spec files and `npx playwright test` on the same specs rendered as TypeScript (workers = cores,
fullyParallel, the same Chromium through launchOptions.executablePath), against the buggy build and
then the fixed one, and records wall time, CPU time (the process tree's, from getrusage) and how
many tests failed. Each tool runs with its own defaults otherwise: the gate retries a failure once,
Playwright Test does not retry. `@playwright/test` is installed by npm, at the version of the Python
package's driver, into ~/.cache/triagebot-bench (outside the repo).

`--spread` measures the older table instead: a 20-spec gate against the local sample app, parallel
vs one at a time. Every spec opens the cart, applies a coupon and calls `/api/slow?ms=N`, with N
varied so specs take different times. Each round measures, in the same run: each spec's own duration
when run alone (concurrency 1, the same browser), their sum and the longest, then the whole gate at
the default concurrency (settings), at the automatic one and at any `--concurrency` given. It prints
the load average too: on a shared machine the figures mean little without it. Each gate also reports
the CPU time the whole machine spent while it ran (from /proc/stat, so Chromium's many processes
count): divided by the cores, that is the shortest wall time the machine could have given it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree import ElementTree

from tests.gates.late_app import ERRORS, serve_late_app
from triagebot.demo.sampleapp import serve_sample_app
from triagebot.drafts.derive import derive_spec
from triagebot.drafts.render import render_test
from triagebot.gates.models import GateResult
from triagebot.gates.runner import GateOptions, auto_concurrency, run_gate, usable_cores
from triagebot.integrations.chromium import LAUNCH_ARGS, find_chromium
from triagebot.integrations.sentry.event import normalize_event
from triagebot.settings import Settings
from triagebot.spec import Spec, dump_spec, parse_spec

SPECS = 20
DELAYS_MS = [0, 150, 300, 600, 900, 1200, 1500, 2000, 2500, 3000]


def bench_spec(index: int) -> Spec:
    """A browser spec with its own server-side delay."""
    delay = DELAYS_MS[index % len(DELAYS_MS)]
    return parse_spec(
        {
            "version": 1,
            "id": f"bench-{index:02d}",
            "issue": {"id": str(1000 + index), "short_id": f"SHOP-{1000 + index}"},
            "start": "/cart",
            "steps": [
                {
                    "action": "fill",
                    "locator": {"strategy": "testid", "value": "coupon-code"},
                    "value": "SAVE10",
                },
                {"action": "click", "locator": {"strategy": "testid", "value": "apply-coupon"}},
                {"action": "request", "path": f"/api/slow?ms={delay}"},
            ],
            "assertions": {"text_absent": ["Unknown coupon"]},
        }
    )


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, every process)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _gate(
    specs: list[Spec], url: str, settings: Settings, concurrency: int | None
) -> tuple[GateResult, float, float]:
    """Run one gate; return its result, its wall time and the machine's busy CPU seconds meanwhile."""
    options = replace(GateOptions.from_settings(settings, retries=0), concurrency=concurrency)
    busy, clock = busy_cpu_seconds(), time.perf_counter()
    result = run_gate(specs, base_url=url, settings=settings, options=options)
    elapsed, busy = time.perf_counter() - clock, busy_cpu_seconds() - busy
    if result.verdict != "passed":
        raise SystemExit(f"bench gate did not pass: {[r.failure for r in result.results if r.failure]}")
    return result, elapsed, busy


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def measure(url: str, settings: Settings, extra: list[int]) -> None:
    """One round: every spec alone (one at a time, one browser), then the whole gate at each setting."""
    specs = [bench_spec(i) for i in range(SPECS)]
    load_before = _load()
    alone, sequential_wall, sequential_cpu = _gate(specs, url, settings, 1)
    durations = [r.duration_ms / 1000 for r in alone.results]
    default = settings.gate_concurrency
    rows = [(f"gate, default concurrency ({default or 'auto'})", *_gate(specs, url, settings, default)[1:])]
    if default is not None:
        rows.append(
            (f"gate, auto concurrency ({auto_concurrency(SPECS)})", *_gate(specs, url, settings, None)[1:])
        )
    rows += [(f"gate, concurrency {n}", *_gate(specs, url, settings, n)[1:]) for n in extra]
    longest, total = max(durations), sum(durations)
    cores = os.cpu_count() or 1
    print(f"load average (1/5/15 min) before {load_before}, after {_load()}; {cores} cores")
    print(f"spec durations alone {min(durations):.2f}s to {longest:.2f}s\n")
    print(f"{'measure':<34}{'seconds':>9}{'x longest':>11}{'x sum':>8}{'CPU s':>8}{'CPU floor s':>13}")
    for name, seconds in (("longest single spec", longest), ("sum of single specs", total)):
        print(f"{name:<34}{seconds:>9.2f}{seconds / longest:>11.2f}{seconds / total:>8.2f}")
    for name, seconds, cpu in (("gate, concurrency 1", sequential_wall, sequential_cpu), *rows):
        print(
            f"{name:<34}{seconds:>9.2f}{seconds / longest:>11.2f}{seconds / total:>8.2f}"
            f"{cpu:>8.1f}{cpu / cores:>13.2f}"
        )
    print()


# The peer comparison -------------------------------------------------------------------------------

CACHE = Path.home() / ".cache" / "triagebot-bench"
EVENTS = 6
PEER_SPECS = 20


def late_event(kind: str, number: int) -> dict[str, object]:
    """A Sentry browser event (protocol format) for a late error on `kind`'s page: load it, click Go."""
    error_type, message = ERRORS[kind]
    page = f"/late/{kind}"
    return {
        "event_id": f"{number:032x}",
        "platform": "javascript",
        "timestamp": 1767225600.0 + number,
        "sdk": {"name": "sentry.javascript.browser", "version": "8.0.0"},
        "exception": {
            "values": [
                {"type": error_type, "value": message, "mechanism": {"type": "generic", "handled": False}}
            ]
        },
        "breadcrumbs": {
            "values": [
                {"timestamp": 1767225590.0, "category": "navigation", "data": {"from": page, "to": page}},
                {
                    "timestamp": 1767225591.0,
                    "category": "ui.click",
                    "message": 'body > button[data-testid="go"]',
                },
            ]
        },
        "request": {"url": f"https://shop.example.com{page}", "headers": {"User-Agent": "Mozilla/5.0"}},
    }


def peer_specs() -> list[Spec]:
    """PEER_SPECS specs drafted from EVENTS events, copies of each (the copies differ only by id)."""
    drafted = [derive_spec(normalize_event(late_event(kind, n))) for n, kind in enumerate(ERRORS, 1)]
    assert len(drafted) == EVENTS
    return [
        drafted[i % EVENTS].model_copy(update={"id": f"{drafted[i % EVENTS].id[:80]}-copy-{i:02d}"})
        for i in range(PEER_SPECS)
    ]


def driver_version() -> str:
    """The Playwright version the Python package drives (its bundled driver's, not the wheel's)."""
    import playwright

    package = Path(playwright.__file__).parent / "driver" / "package" / "package.json"
    return str(json.loads(package.read_text())["version"])


def ensure_playwright_test(version: str) -> None:
    """Install `@playwright/test@version` with npm into CACHE, unless that version is there already."""
    installed = CACHE / "node_modules" / "@playwright" / "test" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == version:
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    if not (CACHE / "package.json").exists():
        (CACHE / "package.json").write_text('{"private": true}\n')
    env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    command = ["npm", "install", "--no-audit", "--no-fund", f"@playwright/test@{version}"]
    subprocess.run(command, cwd=CACHE, env=env, check=True, stdout=subprocess.DEVNULL)


PLAYWRIGHT_CONFIG = """import {{ defineConfig }} from "@playwright/test";

export default defineConfig({{
  testDir: "./tests",
  fullyParallel: true,
  workers: {workers},
  reporter: [["json", {{ outputFile: "results.json" }}]],
  use: {{
    baseURL: process.env.BASE_URL,
    trace: "on-first-retry",
    launchOptions: {{ executablePath: {chromium}, args: {args} }},
  }},
}});
"""


@dataclass
class Run:
    """One tool's run on one build."""

    tool: str
    build: str
    wall: float
    cpu: float
    failed: int
    total: int


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Run a command; return its wall time, its process tree's CPU seconds and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock = time.perf_counter()
    code = subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ).returncode
    wall = time.perf_counter() - clock
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), code


class Peer:
    """The same specs laid out for both tools in a scratch folder under CACHE."""

    def __init__(self, specs: list[Spec], folder: Path, chromium: str) -> None:
        self.folder, self.total = folder, len(specs)
        (folder / "specs").mkdir()
        (folder / "tests").mkdir()
        for spec in specs:
            (folder / "specs" / f"{spec.id}.yml").write_text(dump_spec(spec))
            path, text = render_test(spec, "ts")
            (folder / "tests" / Path(path).name).write_text(text)
        config = PLAYWRIGHT_CONFIG.format(
            workers=usable_cores(), chromium=json.dumps(chromium), args=json.dumps(LAUNCH_ARGS)
        )
        (folder / "playwright.config.ts").write_text(config)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGEBOT_")}
        self.env.update(TRIAGEBOT_CHROMIUM_PATH=chromium, TRIAGEBOT_DATA_DIR=str(folder / "data"))

    def gate(self, url: str, build: str) -> Run:
        junit = self.folder / "junit.xml"
        command = [sys.executable, "-m", "triagebot", "gate", "--base-url", url, "--specs", "specs"]
        wall, cpu, code = _timed([*command, "--junit", str(junit)], self.folder, self.env)
        if code not in (0, 1):
            raise SystemExit(f"triagebot gate exited {code} on the {build} build")
        suite = ElementTree.parse(junit).getroot()
        return Run(
            "triagebot gate", build, wall, cpu, int(suite.get("failures", "0")), int(suite.get("tests", "0"))
        )

    def playwright_test(self, url: str, build: str) -> Run:
        env = {**self.env, "BASE_URL": url}
        wall, cpu, code = _timed(["npx", "playwright", "test"], self.folder, env)
        results = self.folder / "results.json"
        if code not in (0, 1) or not results.exists():
            raise SystemExit(f"npx playwright test exited {code} on the {build} build")
        stats = json.loads(results.read_text())["stats"]
        failed = stats["unexpected"] + stats.get("flaky", 0)
        total = failed + stats["expected"] + stats["skipped"]
        return Run("npx playwright test", build, wall, cpu, failed, total)


def compare(rounds: int) -> int:
    """Run both tools on both builds for `rounds` rounds; print every run and the medians."""
    chromium = find_chromium(None)
    if chromium is None:
        raise SystemExit("no Chromium found (make chromium)")
    version = driver_version()
    ensure_playwright_test(version)
    specs = peer_specs()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="peer-") as scratch:
        peer = Peer(specs, Path(scratch), chromium)
        cores = usable_cores()
        print(f"{len(specs)} specs drafted from {EVENTS} Sentry events; @playwright/test {version}")
        print(
            f"{cores} cores; gate concurrency {auto_concurrency(len(specs))}; Playwright Test workers {cores}"
        )
        print(f"load average before {_load()}\n")
        print(f"{'round':<7}{'tool':<22}{'build':<7}{'wall s':>8}{'CPU s':>8}{'failed':>8}")
        for number in range(1, rounds + 1):
            tools = [peer.gate, peer.playwright_test]
            for tool in tools if number % 2 else reversed(tools):
                for build in ("buggy", "fixed"):
                    with serve_late_app(build) as app:  # type: ignore[arg-type]
                        run = tool(app.url, build)
                    runs.append(run)
                    print(
                        f"{number:<7}{run.tool:<22}{run.build:<7}{run.wall:>8.2f}{run.cpu:>8.1f}"
                        f"{run.failed:>5}/{run.total}",
                        flush=True,
                    )
        print(f"\nload average after {_load()}\n")
    gate_fixed = statistics.median(r.wall for r in runs if r.tool == "triagebot gate" and r.build == "fixed")
    peer_fixed = statistics.median(r.wall for r in runs if r.tool != "triagebot gate" and r.build == "fixed")
    for tool in ("triagebot gate", "npx playwright test"):
        for build in ("buggy", "fixed"):
            mine = [r for r in runs if r.tool == tool and r.build == build]
            wall, cpu = statistics.median(r.wall for r in mine), statistics.median(r.cpu for r in mine)
            failed = sorted({r.failed for r in mine})
            print(f"median {tool:<20} {build:<6} wall {wall:6.2f}s  CPU {cpu:6.1f}s  failed {failed}")
    print(f"\ngate / Playwright Test wall time on the fixed build (medians): {gate_fixed / peer_fixed:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the peer comparison (or, with --spread, the older spread table) and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.gate", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spread", action="store_true", help="the sample-app table: singles vs parallel")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[], help="(--spread) more settings")
    args = parser.parse_args(argv)
    if not args.spread:
        return compare(args.rounds)
    with serve_sample_app("fixed") as app, tempfile.TemporaryDirectory() as data:
        settings = Settings(_env_file=None, preview_hosts=["127.0.0.1"], data_dir=Path(data))  # type: ignore[call-arg]
        _gate([bench_spec(0)], app.url, settings, 1)  # warm-up: first launch pays for disk caches
        print(f"{SPECS} specs against Tiny Shop\n")
        for number in range(1, args.rounds + 1):
            print(f"round {number}")
            measure(app.url, settings, args.concurrency)
    print("Gate wall times include launching Chromium once; a single spec's time does not.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
