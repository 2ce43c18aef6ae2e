"""The block `serve` prints at start: what is connected, what is not, and half-configured pairs."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from triagebot.settings import Settings, secret


def summary(settings: Settings, *, listening: str) -> str:
    """Describe each connection in one line, then warn about settings that only work together."""
    links = "" if settings.public_url == listening else f"; links use {settings.public_url}"
    rows = [
        ("Listening", listening + links),
        ("Database", _database(settings.database_url)),
        ("Sentry webhooks", _sentry_webhooks(settings)),
        ("Sentry API", _sentry_api(settings)),
        ("Slack", _slack(settings)),
        ("GitHub", _github(settings)),
        ("Gate API", "bearer token set" if secret(settings.gate_token) else "off (set TRIAGEBOT_GATE_TOKEN)"),
        ("Preview hosts", ", ".join(settings.preview_hosts) or "none: the service gates no preview"),
        ("Dashboard", _dashboard(settings)),
    ]
    width = max(len(label) for label, _ in rows)
    lines = ["triagebot: what is connected"]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    found = warnings(settings)
    if settings.mode == "production" and settings.public_url == listening:
        found.append("TRIAGEBOT_PUBLIC_URL is not set: links in Slack and on pull requests point here")
    lines += [f"  warning: {warning}" for warning in found]
    return "\n".join(lines)


def warnings(settings: Settings) -> list[str]:
    """Name settings that were given without the partner they need."""
    found: list[str] = []
    has = {name: bool(secret(getattr(settings, name))) for name in _SECRETS}
    repos = bool(settings.github_repo or any(route.repo for route in settings.routes.values()))
    channels = bool(settings.slack_channel or any(route.channel for route in settings.routes.values()))
    if has["slack_bot_token"] and not has["slack_signing_secret"]:
        found.append(
            "TRIAGEBOT_SLACK_BOT_TOKEN is set without TRIAGEBOT_SLACK_SIGNING_SECRET: "
            "Slack's buttons and /triage will be refused"
        )
    if has["slack_signing_secret"] and not has["slack_bot_token"]:
        found.append("TRIAGEBOT_SLACK_SIGNING_SECRET is set without TRIAGEBOT_SLACK_BOT_TOKEN: Slack is off")
    if has["slack_bot_token"] and not channels:
        found.append(
            "TRIAGEBOT_SLACK_BOT_TOKEN is set without TRIAGEBOT_SLACK_CHANNEL (or a route's channel): "
            "threads are kept on the dashboard"
        )
    if (has["github_token"] or settings.github_app_id) and not repos:
        found.append(
            "a GitHub token or App is set without TRIAGEBOT_GITHUB_REPO (or a route's repo): "
            "regression tests have no repository to go to"
        )
    if settings.github_app_id and not has["github_app_private_key"]:
        found.append("TRIAGEBOT_GITHUB_APP_ID is set without TRIAGEBOT_GITHUB_APP_PRIVATE_KEY")
    if has["github_app_private_key"] and not settings.github_app_id:
        found.append("TRIAGEBOT_GITHUB_APP_PRIVATE_KEY is set without TRIAGEBOT_GITHUB_APP_ID")
    if (has["github_token"] or settings.github_app_id) and not has["github_webhook_secret"]:
        found.append(
            "GitHub is set without TRIAGEBOT_GITHUB_WEBHOOK_SECRET: merged test PRs and previews "
            "are not seen (GitHub webhooks are refused)"
        )
    if has["sentry_api_token"] != bool(settings.sentry_org):
        found.append("TRIAGEBOT_SENTRY_API_TOKEN and TRIAGEBOT_SENTRY_ORG work together; one is missing")
    if has["gate_token"] and not settings.preview_hosts:
        found.append("TRIAGEBOT_GATE_TOKEN is set without TRIAGEBOT_PREVIEW_HOSTS: every gate is refused")
    return found


_SECRETS = (
    "slack_bot_token",
    "slack_signing_secret",
    "github_token",
    "github_app_private_key",
    "github_webhook_secret",
    "sentry_api_token",
    "gate_token",
)


def _dashboard(settings: Settings) -> str:
    if secret(settings.dashboard_token):
        return f"{settings.public_url.rstrip('/')}/ (TRIAGEBOT_DASHBOARD_TOKEN set)"
    if settings.mode == "development":
        return "a login link for this run is logged below (set TRIAGEBOT_DASHBOARD_TOKEN to keep one)"
    return "off (set TRIAGEBOT_DASHBOARD_TOKEN)"


def _database(url: str) -> str:
    return make_url(url.replace("postgres://", "postgresql://", 1)).render_as_string(hide_password=True)


def _sentry_webhooks(settings: Settings) -> str:
    if secret(settings.sentry_client_secret):
        return "signatures checked (POST /webhooks/sentry)"
    return "off: POST /webhooks/sentry answers 503 (set TRIAGEBOT_SENTRY_CLIENT_SECRET)"


def _sentry_api(settings: Settings) -> str:
    if secret(settings.sentry_api_token) and settings.sentry_org:
        return f"organization {settings.sentry_org} at {settings.sentry_base}"
    return "off: no latest events, assign or resolve (TRIAGEBOT_SENTRY_API_TOKEN, TRIAGEBOT_SENTRY_ORG)"


def _slack(settings: Settings) -> str:
    if not secret(settings.slack_bot_token):
        return "off: threads and their buttons are kept on the dashboard"
    channel = settings.slack_channel or "no default channel"
    signed = "requests verified" if secret(settings.slack_signing_secret) else "no signing secret"
    return f"bot token set, {channel}, {signed}"


def _github(settings: Settings) -> str:
    repo = settings.github_repo or "no default repo"
    if settings.github_app_id and secret(settings.github_app_private_key):
        return f"App {settings.github_app_id}, {repo}"
    if secret(settings.github_token):
        return f"token set, {repo}"
    if settings.local_repo_path is not None:
        return f"off; pull requests go to the local repository {settings.local_repo_path}"
    return "off: no pull requests (TRIAGEBOT_GITHUB_TOKEN and TRIAGEBOT_GITHUB_REPO, or a GitHub App)"
