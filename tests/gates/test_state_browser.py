"""Bugs that need state, end to end: unedited drafts from Sentry events, gated by `triagebot gate`.

Each case derives its spec from an event (tests/fixtures/sentry/state/), writes it beside a
`.triagebot/config.yml`, and runs the CLI gate against the sample app: red on the buggy build, green
on the fixed one. The events' shapes (breadcrumb categories, `user`, `contexts.flags`, query
strings) drive the drafts; nothing here names the sample app's elements.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drafts.helpers import load_fixture
from triagebot.demo.sampleapp import SampleApp, serve_sample_app
from triagebot.drafts.config import parse_preview_config
from triagebot.drafts.derive import derive_spec
from triagebot.gate_command import main
from triagebot.integrations.sentry.event import normalize_event
from triagebot.spec import Spec, dump_spec

pytestmark = pytest.mark.browser

USER, PASSWORD = "e2e@example.com", "correct horse battery staple"
BYPASS = "bypass-9f8e7d6c5b4a"
FORM_LOGIN = """
preview:
  login:
    url: /login
    fields:
      "#email": E2E_USER
      "#password": E2E_PASSWORD
    submit: "button[type=submit]"
    success_url: /account
  flags:
    cookie: "flag_{name}"
  headers:
    x-preview-bypass: PREVIEW_BYPASS
"""
CASES = ["account.signed_in.json", "basket.flag.json", "search.enter.json", "shipping.select.json"]


@pytest.fixture
def env(gate_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The gate's environment: sign-in values and a bypass header, all allowed by the operator."""
    monkeypatch.setenv("E2E_USER", USER)
    monkeypatch.setenv("E2E_PASSWORD", PASSWORD)
    monkeypatch.setenv("PREVIEW_BYPASS", BYPASS)
    monkeypatch.setenv("TRIAGEBOT_PREVIEW_SECRETS", "E2E_USER,E2E_PASSWORD,PREVIEW_BYPASS")
    monkeypatch.setenv("TRIAGEBOT_GATE_STEP_TIMEOUT_MS", "4000")
    return gate_env


@pytest.fixture(params=["buggy", "fixed"])
def app(request: pytest.FixtureRequest) -> Iterator[SampleApp]:
    with serve_sample_app(request.param, login=(USER, PASSWORD)) as served:
        yield served


def draft(case: str, config: str = FORM_LOGIN) -> Spec:
    """Derive the unedited draft from a state event, as `triagebot draft` would."""
    return derive_spec(normalize_event(load_fixture(f"state/{case}")), preview=parse_preview_config(config))


def write_repo(root: Path, specs: list[Spec], config: str = FORM_LOGIN) -> Path:
    """Lay specs and config out as an app repository does; return the spec folder."""
    folder = root / ".triagebot" / "tests"
    folder.mkdir(parents=True, exist_ok=True)
    (root / ".triagebot" / "config.yml").write_text(config, encoding="utf-8")
    for spec in specs:
        (folder / f"{spec.id}.yml").write_text(dump_spec(spec), encoding="utf-8")
    return folder


def gate(app: SampleApp, folder: Path) -> int:
    return main(["--base-url", app.url, "--specs", str(folder), "--retries", "0"])


@pytest.mark.parametrize("case", CASES)
def test_each_state_case_is_red_on_buggy_and_green_on_fixed(
    env: Path, app: SampleApp, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_repo(env, [draft(case)])

    code = gate(app, folder)

    out = capsys.readouterr().out
    assert code == (1 if app.state.build == "buggy" else 0), out
    # Every request to the preview carried the bypass header; no value reached the report.
    assert all(seen.get("x-preview-bypass") == BYPASS for seen in app.state.headers_seen)
    assert BYPASS not in out and PASSWORD not in out


def test_the_drafts_carry_what_each_bug_needs() -> None:
    account, basket, search, shipping = (draft(case) for case in CASES)
    assert account.sign_in and account.version == 2
    assert [(f.key, f.value) for f in basket.flags] == [("new-basket", True), ("dark-mode", False)]
    fill, press = search.steps[-2:]
    assert (fill.action, fill.value, press.action) == ("fill", "lamp", "press")  # type: ignore[union-attr]
    assert shipping.steps[0].action == "select" and shipping.steps[0].value == "NO"  # type: ignore[union-attr]
    for spec in (account, basket, search, shipping):
        assert USER not in dump_spec(spec) and PASSWORD not in dump_spec(spec)


def test_without_the_state_the_same_steps_do_not_reproduce(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: signed out, flag unset, made-up term, first option, the buggy build passes or errs."""
    search = draft("search.enter.json")
    made_up = search.model_copy(
        update={
            "steps": [
                *search.steps[:-2],
                search.steps[-2].model_copy(update={"value": "test"}),
                search.steps[-1],
            ]
        }
    )
    shipping = draft("shipping.select.json")
    first_option = shipping.model_copy(
        update={"steps": [shipping.steps[0].model_copy(update={"value": None}), *shipping.steps[1:]]}
    )
    folder = write_repo(env, [draft("basket.flag.json"), made_up, first_option], config="{}\n")
    with serve_sample_app("buggy", login=(USER, PASSWORD)) as buggy:
        assert gate(buggy, folder) == 0, capsys.readouterr().out


def test_api_sign_in(env: Path, app: SampleApp) -> None:
    config = (
        "preview:\n  login:\n    request:\n      path: /api/login\n"
        "      json: {email: E2E_USER, password: E2E_PASSWORD}\n"
    )
    folder = write_repo(env, [draft("account.signed_in.json", config)], config)
    assert gate(app, folder) == (1 if app.state.build == "buggy" else 0)
    assert ("POST", "/api/login") in app.state.requests


def test_sign_in_once_per_run_shared_by_every_spec(env: Path) -> None:
    first = draft("account.signed_in.json")
    second = first.model_copy(update={"id": "account-again"})
    folder = write_repo(env, [first, second])
    with serve_sample_app("fixed", login=(USER, PASSWORD)) as fixed:
        assert gate(fixed, folder) == 0
        assert fixed.state.requests.count(("POST", "/api/login")) == 1


def test_an_unset_sign_in_variable_is_could_not_run(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("E2E_PASSWORD")
    folder = write_repo(env, [draft("account.signed_in.json"), draft("search.enter.json")])
    with serve_sample_app("buggy", login=(USER, PASSWORD)) as buggy:
        code = gate(buggy, folder)
    out = capsys.readouterr().out
    # The search spec still fails on the buggy build: one real failure outranks one could-not-run.
    assert code == 1
    assert "ERROR" in out and "E2E_PASSWORD is not set in the gate's environment" in out


def test_only_could_not_run_exits_3(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("E2E_PASSWORD")
    folder = write_repo(env, [draft("account.signed_in.json")])
    with serve_sample_app("buggy", login=(USER, PASSWORD)) as buggy:
        assert gate(buggy, folder) == 3
    assert "could not run" in capsys.readouterr().out


def test_wrong_credentials_and_a_missing_sign_in_page_are_could_not_run(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_repo(env, [draft("account.signed_in.json")])
    with serve_sample_app("buggy", login=(USER, "another password")) as buggy:
        assert gate(buggy, folder) == 3
    assert "signing in did not reach /account" in capsys.readouterr().out
    missing = FORM_LOGIN.replace("url: /login", "url: /no-such-login")
    folder = write_repo(env / "other", [draft("account.signed_in.json")], missing)
    with serve_sample_app("buggy", login=(USER, PASSWORD)) as buggy:
        assert gate(buggy, folder) == 3
    assert "the sign-in page /no-such-login answered 404" in capsys.readouterr().out


def test_a_variable_the_operator_did_not_allow_is_refused_by_name(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGEBOT_GITHUB_TOKEN", "ghp_must_never_leave")
    config = FORM_LOGIN.replace("x-preview-bypass: PREVIEW_BYPASS", "x-token: TRIAGEBOT_GITHUB_TOKEN")
    folder = write_repo(env, [draft("account.signed_in.json")], config)
    with serve_sample_app("buggy", login=(USER, PASSWORD)) as buggy:
        assert gate(buggy, folder) == 2
        assert buggy.state.requests == []  # refused before any browsing
    err = capsys.readouterr().err
    assert "TRIAGEBOT_GITHUB_TOKEN, which is one of triagebot's own settings" in err
    assert "ghp_must_never_leave" not in err


def test_a_preview_that_refuses_connections_is_could_not_run(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_repo(env, [draft("search.enter.json")], "{}\n")
    with serve_sample_app("buggy") as gone:
        url = gone.url  # a port that was just free and now has nobody listening
    assert main(["--base-url", url, "--specs", str(folder)]) == 3
    out = capsys.readouterr().out
    assert "refused the connection" in out and "FAIL" not in out


def test_secret_values_never_reach_evidence(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_repo(env, [draft("account.signed_in.json")])
    with serve_sample_app("buggy", login=(USER, PASSWORD)) as buggy:
        # One retry: the retry's attempt is traced, and the trace records the request headers.
        assert main(["--base-url", buggy.url, "--specs", str(folder), "--retries", "1"]) == 1
    traces = list((env / "data" / "evidence").rglob("*.zip"))
    assert traces, capsys.readouterr().out
    for trace in traces:
        with zipfile.ZipFile(trace) as archive:
            everything = b"".join(archive.read(name) for name in archive.namelist())
        assert BYPASS.encode() not in everything and PASSWORD.encode() not in everything
        assert b"[redacted]" in everything  # the header was there, and was taken out
