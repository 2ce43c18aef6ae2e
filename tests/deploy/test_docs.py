"""docs/configuration.md lists every setting with its real default; the docs link to files that exist."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.conftest import ROOT
from tests.deploy.test_deploy_files import env_names, secret_fields
from triagebot.settings import Settings

ROW = re.compile(r"^\| `([A-Z0-9_]+)` \| (.+?) \| (.+) \|$", re.MULTILINE)
DOCS = ROOT / "docs"


def rendered_default(field: str) -> str:
    """Write a field's default the way the table does."""
    info = Settings.model_fields[field]
    value: Any = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list) and not value:
        return "empty"
    if isinstance(value, dict) and not value:
        return "`{}`"
    return f"`{value}`"


def table() -> dict[str, tuple[str, str]]:
    rows = ROW.findall((DOCS / "configuration.md").read_text())
    names = [name for name, _, _ in rows]
    assert len(names) == len(set(names)), "a variable is listed twice"
    return {name: (default, meaning) for name, default, meaning in rows}


def test_configuration_lists_every_setting_and_nothing_else() -> None:
    assert set(table()) == set(env_names())


@pytest.mark.parametrize("name", sorted(env_names()))
def test_configuration_shows_the_real_default(name: str) -> None:
    default, meaning = table()[name]
    assert default == rendered_default(env_names()[name])
    assert len(meaning) > 20


def test_configuration_marks_exactly_the_secret_fields() -> None:
    marked = {name for name, (_, meaning) in table().items() if meaning.startswith("**secret.**")}
    fields = secret_fields()
    assert marked == {name for name, field in env_names().items() if field in fields}


@pytest.mark.parametrize("page", sorted(path.name for path in DOCS.glob("*.md")))
def test_relative_links_resolve(page: str) -> None:
    text = (DOCS / page).read_text()
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (DOCS / target).exists(), f"{page} links to missing {target}"


def test_connect_pages_name_real_routes_and_settings() -> None:
    names = set(env_names())
    for page in ("connect-sentry.md", "connect-slack.md", "connect-github.md", "deploy.md"):
        text = (DOCS / page).read_text()
        for name in re.findall(r"\b(TRIAGEBOT_[A-Z0-9_]+)", text):
            assert name in names, f"{page} mentions unknown setting {name}"
    sentry = (DOCS / "connect-sentry.md").read_text()
    assert "https://HOST/webhooks/sentry" in sentry
    assert "https://HOST/webhooks/sentry/legacy/<TRIAGEBOT_SENTRY_LEGACY_TOKEN>" in sentry
    assert "https://HOST/webhooks/github" in (DOCS / "connect-github.md").read_text()


def test_connect_pages_routes_are_served(app_serves: Callable[[str, str], bool]) -> None:
    assert app_serves("POST", "/webhooks/sentry")
    assert app_serves("POST", "/webhooks/sentry/legacy/some-token")
    assert app_serves("POST", "/webhooks/github")
    assert app_serves("POST", "/slack/events")
    assert app_serves("GET", "/metrics")


def test_deploy_page_names_the_database_variable_and_scaling() -> None:
    text = (DOCS / "deploy.md").read_text()
    assert "--variable-name TRIAGEBOT_DATABASE_URL" in text
    assert "fly scale count 2" in text
