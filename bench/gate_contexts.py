"""`python -m bench.gate_contexts`: CPU and wall time of 20 short specs, a fresh context each vs one reused.

Each round opens the late app's quick page, clicks Go and waits 100 ms, 20 times, one at a time in
one Chromium: once with a new context (and so a new renderer) per run, once in one context whose
page goes back to about:blank in between. CPU is the whole Playwright process tree's (the driver
and every Chromium process), read from /proc while they run.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from playwright.async_api import Browser, async_playwright

from tests.gates.late_app import serve_late_app
from triagebot.integrations.chromium import LAUNCH_ARGS, find_chromium

RUNS = 20


def tree_cpu_seconds() -> float:
    """CPU seconds used so far by every live descendant of this process."""
    parents: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    total, stack = 0, [pid for pid, (parent, _) in parents.items() if parent == os.getpid()]
    while stack:
        pid = stack.pop()
        total += parents[pid][1]
        stack += [child for child, (parent, _) in parents.items() if parent == pid]
    return total / os.sysconf("SC_CLK_TCK")


async def one_round(browser: Browser, url: str, reuse: bool) -> tuple[float, float]:
    """Run RUNS short specs; return the wall and CPU seconds they took."""
    cpu, clock = tree_cpu_seconds(), time.perf_counter()
    context = await browser.new_context()
    page = await context.new_page()
    for _ in range(RUNS):
        if not reuse:
            await context.close()
            context = await browser.new_context()
            page = await context.new_page()
        await page.goto(f"{url}/late/quick-fetch")
        await page.get_by_test_id("go").click()
        await page.wait_for_timeout(100)
        if reuse:
            await page.goto("about:blank")
    await context.close()
    return time.perf_counter() - clock, tree_cpu_seconds() - cpu


async def main() -> int:
    """Alternate the two ways twice and print each round."""
    with serve_late_app("fixed") as app:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=find_chromium(None), args=LAUNCH_ARGS)
            print(f"load average before {'/'.join(f'{v:.1f}' for v in os.getloadavg())}")
            for reuse in (False, True, False, True):
                wall, cpu = await one_round(browser, app.url, reuse)
                name = "one context reused" if reuse else "a fresh context each"
                print(f"{name:<22} wall {wall:6.2f}s  CPU {cpu:6.2f}s", flush=True)
            await browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
