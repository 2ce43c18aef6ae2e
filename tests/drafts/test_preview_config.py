"""`.triagebot/config.yml`'s `preview` section: sign-in recipes, flag carriers, headers, names only."""

from __future__ import annotations

import pytest

from triagebot.drafts.config import parse_preview_config, parse_repo_config
from triagebot.errors import BadInput
from triagebot.settings import PreviewSecretRefused, Settings

FORM = """
drafts:
  format: python
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
    x-vercel-protection-bypass: VERCEL_AUTOMATION_BYPASS_SECRET
"""


def test_form_recipe_flags_and_headers_are_read() -> None:
    preview = parse_preview_config(FORM)
    assert preview.login is not None and preview.login.url == "/login"
    assert preview.login.fields == {"#email": "E2E_USER", "#password": "E2E_PASSWORD"}
    assert preview.login.success_url == "/account"
    assert preview.flags is not None and preview.flags.carrier == ("cookie", "flag_{name}")
    assert preview.flags.name_for("new-basket") == "flag_new-basket"
    assert preview.variables == ["E2E_USER", "E2E_PASSWORD", "VERCEL_AUTOMATION_BYPASS_SECRET"]
    assert parse_repo_config(FORM).drafts.format == "python"  # the drafts section is untouched by the new one


def test_api_recipe() -> None:
    text = "preview:\n  login:\n    request: {path: /api/login, json: {email: E2E_USER, password: E2E_PW}}\n"
    login = parse_preview_config(text).login
    assert login is not None and login.request is not None
    assert (login.request.method, login.request.path) == ("POST", "/api/login")
    assert login.variables == ["E2E_USER", "E2E_PW"]


def test_no_preview_section_means_nothing_to_do() -> None:
    for text in (None, "", "drafts: {format: ts}\n"):
        preview = parse_preview_config(text)
        assert preview.login is None and preview.flags is None and preview.headers == {}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        # A value where a variable name belongs (someone pasted the secret itself).
        ("preview:\n  login:\n    url: /login\n    fields: {'#pw': 'hunter2 !'}\n", "preview.login.fields"),
        (
            "preview:\n  login:\n    url: https://evil.example/\n    fields: {'#pw': PW}\n",
            "preview.login.url",
        ),
        ("preview:\n  login:\n    url: //evil.example/x\n    fields: {'#pw': PW}\n", "preview.login.url"),
        ("preview:\n  login:\n    request: {path: /x, json: {a: '${HOME}'}}\n", "preview.login.request"),
        ("preview:\n  login:\n    submit: button\n", "preview.login"),
        ("preview:\n  flags: {cookie: flag}\n", "preview.flags"),
        ("preview:\n  flags: {cookie: 'a_{name}', query: 'b_{name}'}\n", "preview.flags"),
        ("preview:\n  headers: {Host: SOME_VAR}\n", "preview.headers"),
        ("preview:\n  headers: {'bad header': SOME_VAR}\n", "preview.headers"),
        ("preview: [1]\n", "preview"),
    ],
)
def test_bad_recipes_name_the_field(text: str, field: str) -> None:
    with pytest.raises(BadInput, match=f"config.yml: {field}") as caught:
        parse_preview_config(text)
    assert "hunter2" not in str(caught.value)  # the error never echoes a would-be secret


def test_only_allowed_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("E2E_PASSWORD", "pw-value")
    monkeypatch.setenv("TRIAGEBOT_GITHUB_TOKEN", "ghp_secret")
    monkeypatch.delenv("E2E_USER", raising=False)
    settings = Settings(preview_secrets="E2E_USER, E2E_PASSWORD")  # type: ignore[arg-type]
    assert settings.preview_secret_values(["E2E_USER", "E2E_PASSWORD"]) == {
        "E2E_USER": None,
        "E2E_PASSWORD": "pw-value",
    }
    with pytest.raises(PreviewSecretRefused, match="HOME, which is not listed in TRIAGEBOT_PREVIEW_SECRETS"):
        settings.preview_secret_values(["HOME"])
    with pytest.raises(PreviewSecretRefused, match="TRIAGEBOT_GITHUB_TOKEN, which is one of triagebot's own"):
        settings.preview_secret_values(["TRIAGEBOT_GITHUB_TOKEN"])


def test_the_operator_cannot_allow_triagebots_own_settings() -> None:
    with pytest.raises(ValueError, match="TRIAGEBOT_SLACK_BOT_TOKEN is one of triagebot's own settings"):
        Settings(preview_secrets="E2E_USER,TRIAGEBOT_SLACK_BOT_TOKEN")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("verify:\n  base_url: ' https://staging.example.com '\n", "https://staging.example.com"),
        ("verify:\n  base_url: 42\n", None),
        ("verify: https://staging.example.com\n", None),
        ("drafts:\n  format: python\n", None),
        (None, None),
    ],
)
def test_the_verify_base_url_is_read_leniently(text: str | None, expected: str | None) -> None:
    assert parse_repo_config(text).verify_base_url == expected


def test_one_read_of_the_file_names_it_when_it_is_not_yaml() -> None:
    with pytest.raises(BadInput, match=r"^repo/.triagebot/config.yml: cannot be read as YAML"):
        parse_repo_config("drafts: [\n", source="repo/.triagebot/config.yml")
