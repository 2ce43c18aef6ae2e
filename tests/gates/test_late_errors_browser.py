"""Errors that arrive late are never missed: many copies, default concurrency, the CPU kept busy.

Each page throws only after the click's work is over (a slow response, a timer, a rejected promise),
so a gate that judges on a fixed clock misses some of them once the machine is loaded. The verdict
is the assertion: every copy fails on the buggy build and passes on the fixed one.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gates.helpers import make_spec
from tests.gates.late_app import ERRORS, Build, serve_late_app
from triagebot.gates.runner import GateOptions, auto_concurrency, run_gate, usable_cores
from triagebot.settings import Settings
from triagebot.spec import Spec

pytestmark = pytest.mark.browser

COPIES = 4  # of each of the six pages: 24 specs, more than a busy PR's gate


def late_specs() -> list[Spec]:
    """COPIES specs per late-throwing page, each asserting the page's error is not thrown."""
    specs = []
    for kind, (error_type, message) in ERRORS.items():
        for copy in range(COPIES):
            specs.append(
                make_spec(
                    f"{kind}-{copy}",
                    start=f"/late/{kind}",
                    steps=[{"action": "click", "locator": {"strategy": "testid", "value": "go"}}],
                    assertions={"page_error": {"type": error_type, "message": message}},
                )
            )
    return specs


@pytest.fixture
def cpu_hog() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Keep every core busy with a spinning process of our own while the test runs."""
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
        for _ in range(usable_cores())
    ]
    try:
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def _gate(build: Build, tmp_path: Path) -> dict[str, str]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        preview_hosts=["127.0.0.1"],
        data_dir=tmp_path / build,
        gate_concurrency=None,  # the default: what the machine carries
    )
    # No retry: a copy that slipped through once must show, not hide behind a second attempt.
    options = GateOptions.from_settings(settings, retries=0)
    assert options.concurrency is None
    with serve_late_app(build) as app:
        gate = run_gate(late_specs(), base_url=app.url, settings=settings, options=options)
    return {result.spec_id: result.status for result in gate.results}


def test_every_copy_of_a_late_error_fails_on_buggy_and_passes_on_fixed(
    cpu_hog: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    specs = late_specs()
    assert auto_concurrency(len(specs)) > 1  # the copies really share the machine

    buggy = _gate("buggy", tmp_path)
    fixed = _gate("fixed", tmp_path)

    assert buggy == {spec.id: "failed" for spec in specs}
    assert fixed == {spec.id: "passed" for spec in specs}
    assert all(hog.poll() is None for hog in cpu_hog)  # the CPU stayed busy throughout
