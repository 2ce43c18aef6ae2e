"""Verification against the sample app's buggy and fixed builds, each verdict checked against the gate.

"Reproduced" must mean the gate fails on that build with the issue's error; "not reproduced" on a
build without the bug must mean the gate passes there. Each test runs the spec the verification kept
through the gate runner afterwards to hold the verdict to that.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from triagebot.demo.sampleapp import SampleApp
from triagebot.gates.runner import run_gate
from triagebot.integrations.sentry.event import SentryEvent
from triagebot.settings import Settings
from triagebot.spec import Click, Fill, Locator, Spec, load_spec
from triagebot.verify.run import verify_draft

from .conftest import SAMPLE_EVENT

pytestmark = pytest.mark.browser


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gate(spec: Spec, url: str, settings: Settings) -> str:
    return run_gate([spec], base_url=url, settings=settings).verdict


def _replace_step(spec: Spec, index: int, step: Click | Fill) -> Spec:
    steps = list(spec.steps)
    steps[index] = step
    return spec.model_copy(update={"steps": steps})


def test_buggy_build_reproduces_and_the_gate_fails_there(
    spec: Spec, event: SentryEvent, settings: Settings, buggy_app: SampleApp
) -> None:
    outcome = verify_draft(spec, base_url=buggy_app.url, settings=settings, event=event)

    assert outcome.verdict.result == "reproduced"
    verification = outcome.spec.verification
    assert verification is not None and verification.result == "reproduced"
    assert verification.base_url == buggy_app.url
    assert verification.detail.startswith("step 5 (click testid=apply-coupon): TypeError: ")
    assert "reading 'discount'" in verification.detail
    assert outcome.tried == [] and outcome.kept is None
    assert outcome.verdict.screenshot and Path(outcome.verdict.screenshot).is_file()
    assert _gate(outcome.spec, buggy_app.url, settings) == "failed"


def test_fixed_build_does_not_reproduce_and_the_gate_passes_there(
    spec: Spec, event: SentryEvent, settings: Settings, fixed_app: SampleApp
) -> None:
    outcome = verify_draft(spec, base_url=fixed_app.url, settings=settings, event=event, budget_seconds=8)

    assert outcome.verdict.result == "not_reproduced"
    assert outcome.verification.detail == "the test passed: no uncaught TypeError was thrown"
    assert outcome.tried, "the alternatives were tried and listed"
    assert any(note.startswith("Verification also tried: ") for note in outcome.spec.notes)
    assert _gate(outcome.spec, fixed_app.url, settings) == "passed"


def test_closed_port_is_an_error_and_nothing_else_is_tried(
    spec: Spec, event: SentryEvent, settings: Settings
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    outcome = verify_draft(spec, base_url=url, settings=settings, event=event)

    assert outcome.verdict.result == "error"
    assert "unreachable" in outcome.verification.detail and "refused" in outcome.verification.detail.lower()
    assert outcome.tried == []


def test_a_host_not_allowed_is_an_error_before_any_browsing(spec: Spec, settings: Settings) -> None:
    outcome = verify_draft(spec, base_url="https://shop.example.com", settings=settings)

    assert outcome.verdict.result == "error"
    assert "not an allowed preview host" in outcome.verification.detail


def test_missing_locator_is_not_reproduced_naming_the_step(
    spec: Spec, settings: Settings, buggy_app: SampleApp
) -> None:
    missing = Click(locator=Locator(strategy="testid", value="checkout-button", attribute="data-testid"))
    draft = _replace_step(spec, 4, missing)

    outcome = verify_draft(draft, base_url=buggy_app.url, settings=settings, budget_seconds=0)

    assert outcome.verdict.result == "not_reproduced"
    assert outcome.verification.detail.startswith("step 5 (click testid=checkout-button): ")
    assert "TypeError" not in outcome.verification.detail


def test_another_locator_for_the_same_element_reproduces_where_the_first_does_not(
    spec: Spec, event: SentryEvent, settings: Settings, buggy_app: SampleApp
) -> None:
    apply = spec.steps[4]
    assert isinstance(apply, Click) and apply.locator.source
    # The ranked-first locator no longer exists on the page; the breadcrumb's own attributes still do.
    renamed = apply.locator.model_copy(update={"value": "apply-coupon-old"})
    draft = _replace_step(spec, 4, Click(locator=renamed))

    outcome = verify_draft(draft, base_url=buggy_app.url, settings=settings, event=event)

    assert outcome.verdict.result == "reproduced"
    kept = outcome.spec.steps[4]
    assert isinstance(kept, Click) and kept.locator.value != "apply-coupon-old"
    assert outcome.kept and outcome.kept.startswith("step 5 finds its element by ")
    assert any(note.startswith("Verification kept an alternative: step 5") for note in outcome.spec.notes)
    assert _gate(outcome.spec, buggy_app.url, settings) == "failed"


def test_another_synthetic_value_reproduces_where_the_first_does_not(
    spec: Spec, event: SentryEvent, settings: Settings, buggy_app: SampleApp
) -> None:
    typed = spec.steps[3]
    assert isinstance(typed, Fill)
    draft = _replace_step(spec, 3, typed.model_copy(update={"value": "SAVE10"}))  # a real coupon: no bug

    outcome = verify_draft(draft, base_url=buggy_app.url, settings=settings, event=event)

    assert outcome.verdict.result == "reproduced"
    kept = outcome.spec.steps[3]
    assert isinstance(kept, Fill) and kept.value != "SAVE10"
    assert outcome.kept == f"step 4 types {kept.value!r} instead of 'SAVE10'"
    assert _gate(outcome.spec, buggy_app.url, settings) == "failed"


def _draft_cli(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "TRIAGEBOT_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "triagebot",
            "draft",
            str(SAMPLE_EVENT),
            "--out",
            str(tmp_path),
            "--verify",
            url,
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


def _written_spec(tmp_path: Path) -> Spec:
    (path,) = (tmp_path / ".triagebot" / "tests").glob("*.yml")
    return load_spec(path)


def test_cli_records_the_verdict_and_prints_it_last(tmp_path: Path, buggy_app: SampleApp) -> None:
    done = _draft_cli(tmp_path, buggy_app.url)

    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(f"reproduced ({buggy_app.url}): step 5 (click testid=apply-coupon): TypeError")
    spec = _written_spec(tmp_path)
    assert spec.verification is not None and spec.verification.result == "reproduced"
    raw = yaml.safe_load(next((tmp_path / ".triagebot" / "tests").glob("*.yml")).read_text())
    assert set(raw["verification"]) == {"result", "base_url", "at", "detail"}


def test_cli_not_reproduced_exits_0(tmp_path: Path, fixed_app: SampleApp) -> None:
    done = _draft_cli(tmp_path, fixed_app.url, "--verify-budget", "0")

    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip().splitlines()[-1].startswith(f"not_reproduced ({fixed_app.url}): the test passed")
    )
    spec = _written_spec(tmp_path)
    assert spec.verification is not None and spec.verification.result == "not_reproduced"


def test_cli_unreachable_exits_3_with_result_error(tmp_path: Path) -> None:
    done = _draft_cli(tmp_path, f"http://127.0.0.1:{_closed_port()}")

    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("error (http://127.0.0.1:")
    spec = _written_spec(tmp_path)
    assert spec.verification is not None and spec.verification.result == "error"


def test_cli_bad_url_exits_2_naming_it(tmp_path: Path) -> None:
    done = _draft_cli(tmp_path, "ftp://127.0.0.1/x")

    assert done.returncode == 2
    assert "ftp://127.0.0.1/x" in done.stderr and "http(s)" in done.stderr
    assert not (tmp_path / ".triagebot").exists()
