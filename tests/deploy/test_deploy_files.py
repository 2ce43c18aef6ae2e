"""The Dockerfile, fly.toml, the Slack manifest and the CI example agree with the code they deploy."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import create_pg_database
from tests.deploy.conftest import ROOT
from triagebot.cli import build_parser, main
from triagebot.settings import Settings

SECRET_NAMES_IN_COMMENTS = re.compile(r"^#\s+((?:TRIAGEBOT_[A-Z0-9_]+)|SENTRY_DSN)\s", re.MULTILINE)


def env_names() -> dict[str, str]:
    """Map each setting's environment variable to its Settings field."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = {}
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        names[alias if isinstance(alias, str) else f"{prefix}{field}".upper()] = field
    return names


def secret_fields() -> set[str]:
    """The Settings fields holding secrets."""
    return {name for name, info in Settings.model_fields.items() if "SecretStr" in str(info.annotation)}


def dockerfile(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """Parse a Dockerfile into (INSTRUCTION, arguments), joining continuation lines, dropping comments."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def only(instructions: list[tuple[str, str]], keyword: str) -> str:
    """The arguments of the last instruction of one kind (the one that takes effect)."""
    found = [rest for name, rest in instructions if name == keyword]
    assert found, f"no {keyword} in the Dockerfile"
    return found[-1]


def docker_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    """The ENV values the image sets."""
    values: dict[str, str] = {}
    for name, rest in instructions:
        if name == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                values[key] = value
    return values


def fly() -> dict[str, Any]:
    return tomllib.loads((ROOT / "fly.toml").read_text())


def serve_port() -> int:
    """The port the image's CMD serves on, parsed by the real CLI."""
    command = json.loads(only(dockerfile(), "CMD"))
    assert command[0] == "triagebot"
    args = build_parser().parse_args(command[1:])
    assert args.command == "serve"
    assert args.host == "0.0.0.0"
    assert not args.no_migrate  # migrations run before it listens
    return int(args.port)


def test_image_runs_as_an_unprivileged_user() -> None:
    instructions = dockerfile()
    user = only(instructions, "USER")
    assert user not in {"root", "0", "0:0"}
    # USER comes after every RUN, so nothing afterwards runs as root, and the user is created.
    last_user = max(i for i, (name, _) in enumerate(instructions) if name == "USER")
    assert all(name != "RUN" for name, _ in instructions[last_user:])
    assert any(name == "RUN" and "useradd" in rest and user in rest for name, rest in instructions)


def test_image_carries_chromium_and_points_gates_at_it() -> None:
    instructions = dockerfile()
    assert only(instructions, "FROM").startswith("python:3.11-slim")
    installs = " ".join(rest for name, rest in instructions if name == "RUN" and "apt-get install" in rest)
    assert "chromium" in installs.split()
    assert docker_env(instructions)["TRIAGEBOT_CHROMIUM_PATH"] == "/usr/bin/chromium"
    # An editable install keeps the package beside /app/templates, where it reads them from.
    assert any(name == "RUN" and "pip install" in rest and "-e ." in rest for name, rest in instructions)


def test_exposed_port_is_the_served_port_and_flys_internal_port() -> None:
    port = serve_port()
    assert only(dockerfile(), "EXPOSE") == str(port)
    assert fly()["http_service"]["internal_port"] == port


def test_image_healthcheck_calls_the_apps_health_route(app_serves: Callable[[str, str], bool]) -> None:
    check = only(dockerfile(), "HEALTHCHECK")
    found = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", check)
    assert found is not None
    assert int(found.group(1)) == serve_port()
    assert app_serves("GET", found.group(2))
    assert found.group(2) == "/healthz"


def test_evidence_lives_on_the_volume() -> None:
    instructions = dockerfile()
    data_dir = docker_env(instructions)["TRIAGEBOT_DATA_DIR"]
    assert json.loads(only(instructions, "VOLUME")) == [data_dir]
    config = fly()
    assert config["mounts"]["destination"] == data_dir == config["env"]["TRIAGEBOT_DATA_DIR"]


def test_fly_health_checks_hit_real_get_routes(app_serves: Callable[[str, str], bool]) -> None:
    checks = fly()["http_service"]["checks"]
    assert [check["path"] for check in checks] == ["/healthz"]
    for check in checks:
        assert check["method"] == "GET"
        assert app_serves("GET", check["path"])


def test_fly_release_command_is_the_migrate_subcommand() -> None:
    config = fly()
    assert config["build"]["dockerfile"] == "Dockerfile"
    command = shlex.split(config["deploy"]["release_command"])
    assert command[0] == "triagebot"
    assert build_parser().parse_args(command[1:]).command == "migrate"


def test_fly_lists_every_secret_by_name_and_only_real_settings() -> None:
    text = (ROOT / "fly.toml").read_text()
    listed = set(SECRET_NAMES_IN_COMMENTS.findall(text))
    names = env_names()
    assert listed - names.keys() == set(), "fly.toml names settings that do not exist"
    assert {names[name] for name in listed} >= secret_fields() | {"database_url"}
    assert "=" not in "".join(line for line in text.splitlines() if SECRET_NAMES_IN_COMMENTS.match(line))


def test_fly_env_holds_real_settings_and_no_secrets() -> None:
    env = fly()["env"]
    names = env_names()
    assert set(env) <= names.keys()
    assert not {names[name] for name in env} & secret_fields()
    Settings(_env_file=None, **{names[key]: value for key, value in env.items()})  # type: ignore[arg-type]


def test_fly_keeps_machines_running_for_the_worker_and_scheduler() -> None:
    service = fly()["http_service"]
    assert service["auto_stop_machines"] in ("off", False)
    assert service["min_machines_running"] >= 1


def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "slack-manifest.yml").read_text())


def test_slack_manifest_points_every_url_at_the_slack_route(app_serves: Callable[[str, str], bool]) -> None:
    data = manifest()
    [command] = data["features"]["slash_commands"]
    assert command["command"] == "/triage"
    assert command["usage_hint"]
    urls = [command["url"], data["settings"]["interactivity"]["request_url"]]
    for url in urls:
        assert url.startswith("https://YOUR-HOST/")
        path = "/" + url.removeprefix("https://YOUR-HOST/")
        assert path == "/slack/events"
        assert app_serves("POST", path)
    assert data["settings"]["interactivity"]["is_enabled"] is True


def test_slack_manifest_asks_for_the_scopes_the_code_uses_and_no_events() -> None:
    data = manifest()
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "users:read", "users:read.email"} <= scopes
    assert not {scope for scope in scopes if scope.endswith(":history")}
    settings = data["settings"]
    assert "event_subscriptions" not in settings
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    assert data["features"]["bot_user"]["display_name"]


def test_slash_command_matches_the_bolt_listener() -> None:
    source = (ROOT / "triagebot" / "slackbot" / "commands.py").read_text()
    [command] = manifest()["features"]["slash_commands"]
    assert f'@app.command("{command["command"]}")' in source


def workflow_gate_command() -> list[str]:
    data = yaml.safe_load((ROOT / "docs" / "examples" / "github-actions-gate.yml").read_text())
    assert data[True] == {"deployment_status": None}  # YAML 1.1 reads the key `on` as true
    job = data["jobs"]["gate"]
    assert "success" in job["if"]
    runs = [step["run"] for step in job["steps"] if "triagebot gate" in step.get("run", "")]
    assert len(runs) == 1
    step = next(step for step in job["steps"] if step.get("run") == runs[0])
    assert "deployment_status.environment_url" in step["env"]["PREVIEW_URL"]
    command = runs[0].replace("$PREVIEW_URL", "https://pr-7.preview.example")
    return shlex.split(command)


def test_ci_example_gate_invocation_parses_with_the_real_cli() -> None:
    argv = workflow_gate_command()
    assert argv[:2] == ["triagebot", "gate"]
    args = build_parser().parse_args(argv[1:])
    assert args.base_url == "https://pr-7.preview.example"
    assert args.junit == Path("results.xml")


def test_ci_example_installs_chromium_and_uploads_the_junit_report() -> None:
    data = yaml.safe_load((ROOT / "docs" / "examples" / "github-actions-gate.yml").read_text())
    steps = data["jobs"]["gate"]["steps"]
    install = " ".join(step.get("run", "") for step in steps)
    assert "playwright install --with-deps chromium" in install
    assert "git+https://github.com/" in install
    upload = next(step for step in steps if str(step.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert "results.xml" in upload["with"]["path"].split()


def test_image_build_context_keeps_what_the_service_reads() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not ignored & {"templates", "triagebot", "pyproject.toml", "constraints.txt", "README.md"}


def test_route_probe_tells_served_from_unserved(app_serves: Callable[[str, str], bool]) -> None:
    assert app_serves("POST", "/slack/events")
    assert not app_serves("GET", "/slack/events")
    assert not app_serves("GET", "/health")


@pytest.mark.postgres
def test_release_command_migrates_a_database_given_in_flys_url_scheme(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, drop = create_pg_database()
    try:
        # `fly postgres attach` hands out postgres:// URLs; the release command takes them as they are.
        monkeypatch.setenv("TRIAGEBOT_DATABASE_URL", url.replace("postgresql://", "postgres://", 1))
        command = shlex.split(fly()["deploy"]["release_command"])
        assert main(command[1:]) == 0
        assert "up to date" in capsys.readouterr().out
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone() is not None
    finally:
        drop()


def pins() -> dict[str, str]:
    """The exact versions constraints.txt holds, by normalised package name."""
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            found[canonicalize_name(name)] = version.strip()
    return found


def test_every_dependency_is_pinned_inside_the_range_pyproject_allows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pinned = pins()
    for text in wanted:
        requirement = Requirement(text)
        version = pinned.get(canonicalize_name(requirement.name))
        assert version, f"{requirement.name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{requirement.name}=={version} vs {text}"
        )


def test_image_and_make_install_with_the_pinned_versions() -> None:
    copies = [rest for name, rest in dockerfile() if name == "COPY"]
    assert any("constraints.txt" in rest.split() for rest in copies)
    installs = [rest for name, rest in dockerfile() if name == "RUN" and "/tmp/requirements.txt" in rest]
    assert installs and all("pip install -c constraints.txt -r" in rest for rest in installs)
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
