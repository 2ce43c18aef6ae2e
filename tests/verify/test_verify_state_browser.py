"""`triagebot draft --verify` enters the build as the gate does: the repository's sign-in and flags apply.

A draft that needs a signed-in user or a flag reproduces on the buggy build only when verification
signs in and sets the flag from `.triagebot/config.yml`, exactly as `triagebot gate` would.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.drafts.helpers import LOCAL_FIXTURES
from triagebot.cli import main
from triagebot.demo.sampleapp import SampleApp, serve_sample_app

pytestmark = pytest.mark.browser

USER, PASSWORD = "e2e@example.com", "correct horse battery staple"
CONFIG = """
preview:
  login:
    url: /login
    fields:
      "#email": E2E_USER
      "#password": E2E_PASSWORD
    submit: "button[type=submit]"
  flags:
    cookie: "flag_{name}"
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An app repository with the sign-in and flag recipe, and a gate environment allowing its values."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRIAGEBOT_PREVIEW_HOSTS", raising=False)
    monkeypatch.setenv("TRIAGEBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIAGEBOT_GATE_STEP_TIMEOUT_MS", "4000")
    monkeypatch.setenv("E2E_USER", USER)
    monkeypatch.setenv("E2E_PASSWORD", PASSWORD)
    monkeypatch.setenv("TRIAGEBOT_PREVIEW_SECRETS", "E2E_USER,E2E_PASSWORD")
    root = tmp_path / "repo"
    (root / ".triagebot").mkdir(parents=True)
    (root / ".triagebot" / "config.yml").write_text(CONFIG, encoding="utf-8")
    return root


@pytest.fixture(params=["buggy", "fixed"])
def app(request: pytest.FixtureRequest) -> Iterator[SampleApp]:
    with serve_sample_app(request.param, login=(USER, PASSWORD)) as served:
        yield served


@pytest.mark.parametrize("case", ["account.signed_in.json", "basket.flag.json"])
def test_verdict_follows_the_build_when_the_bug_needs_state(repo: Path, app: SampleApp, case: str) -> None:
    event = repo.parent / case
    shutil.copy(LOCAL_FIXTURES / "state" / case, event)

    code = main(["draft", str(event), "--out", str(repo), "--verify", app.url, "--verify-budget", "5"])

    assert code == 0
    (spec_file,) = (repo / ".triagebot" / "tests").glob("*.yml")
    verification = yaml.safe_load(spec_file.read_text(encoding="utf-8"))["verification"]
    expected = "reproduced" if app.state.build == "buggy" else "not_reproduced"
    assert verification["result"] == expected, verification["detail"]
