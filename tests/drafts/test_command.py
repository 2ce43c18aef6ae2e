"""`triagebot draft`: files laid out as in the app repo, and exit 2 with a message for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from triagebot.cli import main
from triagebot.spec import load_spec

from .helpers import fixture_path


def test_draft_writes_spec_and_typescript_test(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event = fixture_path("event_alert.triggered.javascript_vue.json")
    assert main(["draft", str(event), "--out", str(tmp_path)]) == 0
    spec_file = tmp_path / ".triagebot/tests/sentry-4214010673.yml"
    test_file = tmp_path / "e2e/regressions/sentry-4214010673.spec.ts"
    assert capsys.readouterr().out.splitlines() == [f"wrote {spec_file}", f"wrote {test_file}"]
    spec = load_spec(spec_file)  # validates, as the gate will
    assert spec.issue.id == "4214010673" and spec.start == "/"
    assert test_file.read_text().startswith("// Regression test drafted by triagebot")


def test_config_chooses_python_and_folder(tmp_path: Path) -> None:
    (tmp_path / ".triagebot").mkdir()
    (tmp_path / ".triagebot/config.yml").write_text("drafts:\n  format: python\n  dir: tests/e2e\n")
    assert main(["draft", str(fixture_path("error.created.json")), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "tests/e2e/test_sentry_1170820242.py").exists()
    assert (
        main(["draft", str(fixture_path("error.created.json")), "--out", str(tmp_path), "--format", "ts"])
        == 0
    )
    assert (tmp_path / "tests/e2e/sentry-1170820242.spec.ts").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot be read"),
        ("{not json", "not JSON"),
        ('{"hello": "world"}', "not a Sentry event"),
        ('{"action": "created", "data": {"issue": {"id": "1"}}}', "data.event"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    event = tmp_path / "event.json"
    if content is not None:
        event.write_text(content)
    assert main(["draft", str(event), "--out", str(tmp_path / "repo")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("triagebot draft: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "repo").exists()


def test_event_with_nothing_to_replay_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["draft", str(fixture_path("legacy_plugin.python.json")), "--out", str(tmp_path)]) == 2
    assert "nothing to replay" in capsys.readouterr().err


def test_bad_config_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".triagebot").mkdir()
    (tmp_path / ".triagebot/config.yml").write_text("drafts:\n  dir: ../outside\n")
    assert main(["draft", str(fixture_path("error.created.json")), "--out", str(tmp_path)]) == 2
    assert "drafts.dir" in capsys.readouterr().err
