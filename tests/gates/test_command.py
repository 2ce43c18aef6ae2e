"""`triagebot gate` in-process and as a subprocess: exit codes, messages, progress and JUnit XML."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.gates.helpers import coupon_spec, flaky_spec, order_ui_spec
from triagebot.cli import main
from triagebot.demo.sampleapp import SampleApp
from triagebot.spec import Spec, dump_spec

REPO = Path(__file__).resolve().parents[2]


def write_specs(folder: Path, *specs: Spec) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        (folder / f"{spec.id}.yml").write_text(dump_spec(spec), encoding="utf-8")
    return folder


def test_refused_host_exits_2(
    gate_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("TRIAGEBOT_PREVIEW_HOSTS", "*.vercel.app")
    write_specs(gate_env / ".triagebot/tests", coupon_spec())

    code = main(["gate", "--base-url", "http://127.0.0.1:9/"])

    assert code == 2
    err = capsys.readouterr().err
    assert "host '127.0.0.1' is not an allowed preview host" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("file:///etc/passwd", "must be an http(s) URL with a host"),
        ("javascript:alert(1)", "must be an http(s) URL with a host"),
        ("http://user:pw@127.0.0.1/", "must not carry credentials"),
        ("http://127.0.0.1/app?x=1", "must be an origin"),
    ],
)
def test_bad_base_url_exits_2(
    gate_env: Path, capsys: pytest.CaptureFixture[str], base_url: str, message: str
):
    write_specs(gate_env / ".triagebot/tests", coupon_spec())

    assert main(["gate", "--base-url", base_url]) == 2
    assert message in capsys.readouterr().err


def test_host_defaults_to_the_base_urls_own(gate_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With TRIAGEBOT_PREVIEW_HOSTS unset the base URL's host is allowed; no specs means a pass."""
    (gate_env / ".triagebot/tests").mkdir(parents=True)

    assert main(["gate", "--base-url", "http://preview.internal:8080"]) == 0
    assert "Gate PASSED: 0 specs" in capsys.readouterr().out


def test_malformed_spec_exits_2_naming_file_and_field(
    gate_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_specs(gate_env / "specs", coupon_spec())
    bad = folder / "broken.yml"
    bad.write_text(dump_spec(order_ui_spec()).replace("start: /cart", "start: https://evil.example/"))

    code = main(["gate", "--base-url", "http://127.0.0.1:9", "--specs", str(folder)])

    assert code == 2
    err = capsys.readouterr().err
    assert f"{bad}: start:" in err and "Traceback" not in err


def test_missing_spec_folder_exits_2(gate_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "--base-url", "http://127.0.0.1:9", "--specs", "nope"]) == 2
    assert "spec folder nope does not exist" in capsys.readouterr().err


def test_missing_base_url_is_usage_error(gate_env: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["gate"])
    assert exit_info.value.code == 2


@pytest.mark.browser
def test_buggy_build_fails_with_selection_and_junit(
    gate_env: Path, buggy_app: SampleApp, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_specs(gate_env / "specs", coupon_spec(), order_ui_spec(), flaky_spec())
    junit = gate_env / "out/junit.xml"

    code = main(
        [
            "gate",
            "--base-url",
            buggy_app.url,
            "--specs",
            str(folder),
            "--changed-file",
            "triagebot/demo/sampleapp/app.js",
            "--junit",
            str(junit),
            "--concurrency",
            "2",
        ]
    )

    assert code == 1
    out = capsys.readouterr().out
    assert "1 of 3 specs match 1 changed file or always run" in out
    assert "coupon: covers triagebot/demo/sampleapp/app.js (triagebot/demo/sampleapp/app.js)" in out
    assert "not selected: flaky, order-ui" in out
    assert "FAIL   coupon (SHOP-COUPON)" in out and "screenshot: " in out
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "1" and suite.get("failures") == "1"
    (case,) = suite.findall("testcase")
    assert case.get("name") == "coupon (SHOP-COUPON)"
    failure = case.find("failure")
    assert failure is not None
    assert (
        failure.get("message")
        == "page error TypeError: Cannot read properties of undefined (reading 'discount')"
    )
    assert "[[ATTACHMENT|" in (failure.text or "")


@pytest.mark.browser
def test_fixed_build_passes_as_a_subprocess(tmp_path: Path, fixed_app: SampleApp) -> None:
    folder = write_specs(tmp_path / ".triagebot/tests", coupon_spec(), order_ui_spec())
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGEBOT_")}
    env["TRIAGEBOT_DATA_DIR"] = str(tmp_path / "data")

    done = subprocess.run(
        [sys.executable, "-m", "triagebot", "gate", "--base-url", fixed_app.url, "--junit", "junit.xml"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Gate PASSED: 2 specs: 2 passed" in done.stdout
    assert "PASS   coupon (SHOP-COUPON)" in done.stdout
    cases = ET.parse(tmp_path / "junit.xml").getroot().findall("testcase")
    assert sorted(case.get("name") or "" for case in cases) == [
        "coupon (SHOP-COUPON)",
        "order-ui (SHOP-ORDER-UI)",
    ]
    assert all(case.find("failure") is None for case in cases)
    assert folder.is_dir()
