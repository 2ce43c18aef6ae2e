"""build_services(settings, ...): the one place real adapters are built and wired."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Engine, func, select

from triagebot.backfill import service as backfill_service
from triagebot.backfill.delivery import BackfillDelivery
from triagebot.db import SessionFactory, make_engine, reading, session_factory, utcnow
from triagebot.gates.delivery import GateDelivery
from triagebot.integrations.github import AppAuth, GitHubClient, TokenAuth
from triagebot.integrations.localchat import LOCAL_CHANNEL, LocalChat
from triagebot.integrations.localrepo import LocalRepoHost
from triagebot.integrations.ports import BrowserLauncher, Chat, CodeHost, SentryApi
from triagebot.integrations.sentry.api import SentryClient
from triagebot.integrations.slack import SlackChat
from triagebot.integrations.slack_response import RESPOND, ResponseDelivery
from triagebot.listener_threads import ListenerThreads
from triagebot.metrics import Metrics
from triagebot.outbox.channel_posts import register_channel_posts
from triagebot.outbox.models import PENDING, OutboxMessage
from triagebot.outbox.worker import Outbox
from triagebot.settings import Settings, secret
from triagebot.triage.delivery import ThreadDelivery
from triagebot.triage.models import Issue


@dataclass(eq=False)  # one object per service: compared and hashed by identity
class Services:
    """Everything the edges and jobs need, built once from settings."""

    settings: Settings
    engine: Engine
    sessions: SessionFactory
    chat: Chat
    sentry: SentryApi | None
    outbox: Outbox
    metrics: Metrics
    threads: ThreadDelivery
    code_host: CodeHost | None = None  # GitHub, or a local git repository; None when neither is set up
    backfill: BackfillDelivery | None = None
    listeners: ListenerThreads = field(default_factory=ListenerThreads)  # Slack's, after their ack

    @property
    def sentry_web(self) -> str | None:
        """The organisation's page on Sentry, for building issue links."""
        org = self.settings.sentry_org
        return f"{self.settings.sentry_base}/organizations/{org}" if org else None

    @property
    def chat_is_local(self) -> bool:
        """Say whether threads live on the dashboard instead of Slack."""
        return isinstance(self.chat, LocalChat)


def build_chat(settings: Settings, sessions: SessionFactory) -> Chat:
    """Use Slack when a bot token is set, else the local stand-in shown on the dashboard."""
    token = secret(settings.slack_bot_token)
    if token:
        return SlackChat(token, settings.slack_api_url)
    return LocalChat(sessions)


def build_sentry(settings: Settings) -> SentryApi | None:
    """Build the Sentry API client when a token and an organisation are configured."""
    token = secret(settings.sentry_api_token)
    if token and settings.sentry_org:
        return SentryClient(settings.sentry_base, token, settings.sentry_org)
    return None


def build_code_host(settings: Settings, sessions: SessionFactory) -> CodeHost | None:
    """Use GitHub (an App if configured, since only Apps may create check runs; else a token), else a
    local git repository, else nothing."""
    app_key = secret(settings.github_app_private_key)
    token = secret(settings.github_token)
    if settings.github_app_id and app_key:
        auth: AppAuth | TokenAuth = AppAuth(
            settings.github_app_id, app_key, installation_id=settings.github_app_installation_id
        )
        return GitHubClient(settings.github_api_url, auth)
    if token:
        return GitHubClient(settings.github_api_url, TokenAuth(token))
    if settings.local_repo_path is not None:
        return LocalRepoHost(settings.local_repo_path, sessions, web_base=settings.public_url)
    return None


def build_backfill(
    settings: Settings,
    sessions: SessionFactory,
    chat: Chat,
    sentry: SentryApi | None,
    host: CodeHost | None,
    launcher: BrowserLauncher | None = None,
) -> BackfillDelivery:
    """Wire the backfill flow: which repo an issue's tests go to, and how its thread is linked."""

    def repo_for(issue: Issue) -> str | None:
        repo = settings.route_for(issue.project_slug or issue.project_id).repo
        if repo is None and isinstance(host, LocalRepoHost):
            return host.name
        return repo

    def thread_url(issue: Issue) -> str | None:
        if isinstance(chat, LocalChat) or not (issue.channel and issue.thread_ts):
            return settings.public_url.rstrip("/") + "/"
        # Slack redirects /archives links to the reader's own workspace.
        return f"https://slack.com/archives/{issue.channel}/p{issue.thread_ts.replace('.', '')}"

    return BackfillDelivery(
        sessions=sessions,
        chat=chat,
        code_host=host,
        sentry=sentry,
        repo_for=repo_for,
        thread_url=thread_url,
        settings=settings,
        launcher=launcher,  # drafts are verified in the same browser as gates
    )


_BUILD = object()  # "build it from settings", as opposed to an explicit None


def build_services(
    settings: Settings,
    *,
    engine: Engine | None = None,
    chat: Chat | None = None,
    sentry: SentryApi | object | None = _BUILD,
    code_host: CodeHost | None = None,
    gate_launcher: BrowserLauncher | None = None,
) -> Services:
    """Wire the service from settings; tests pass the edges they replace (chat=..., sentry=None, ...)."""
    engine = engine or make_engine(settings.database_url)
    sessions = session_factory(engine)
    chat = chat or build_chat(settings, sessions)
    sentry = build_sentry(settings) if sentry is _BUILD else cast("SentryApi | None", sentry)
    metrics = Metrics()
    outbox = Outbox(
        sessions,
        lane_intervals={"slack": settings.slack_interval_seconds},
        on_settled=metrics.delivery,
    )
    # Without Slack, threads open in the local chat shown on the dashboard, whatever the routes say.
    local = LOCAL_CHANNEL if isinstance(chat, LocalChat) else None
    threads = ThreadDelivery(sessions=sessions, chat=chat, sentry=sentry, fallback_channel=local)
    threads.register(outbox)
    code_host = code_host or build_code_host(settings, sessions)
    backfill = build_backfill(settings, sessions, chat, sentry, code_host, gate_launcher)
    backfill.register(outbox)
    threads.decorators.append(backfill_service.test_line)
    outbox.register(RESPOND, ResponseDelivery(settings))
    register_channel_posts(outbox, chat)
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        chat=chat,
        sentry=sentry,
        outbox=outbox,
        metrics=metrics,
        threads=threads,
        code_host=code_host,
        backfill=backfill,
    )
    wire_gates(services, launcher=gate_launcher)
    metrics.watch_outbox(lambda: outbox_depth(services))
    return services


def wire_gates(services: Services, *, launcher: BrowserLauncher | None = None) -> None:
    """Register the gate flow's outbox handlers and the flag notice on issue threads."""
    from triagebot.flags.notice import flag_notice

    def code_host() -> CodeHost | None:
        # Read at delivery time, so a code host set on the services later is the one used.
        return services.code_host

    gates = GateDelivery(
        sessions=services.sessions,
        settings=services.settings,
        code_host=code_host,
        launcher=launcher,
        on_finished=services.metrics.gate,
    )
    gates.register(services.outbox)
    services.threads.decorators.append(flag_notice)


def outbox_depth(services: Services) -> tuple[int, float]:
    """Return how many rows wait for delivery and how old the oldest is, in seconds."""
    with reading(services.sessions) as session:
        count, oldest = session.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.status == PENDING)  # type: ignore[arg-type]
        ).one()
    return int(count), (utcnow() - oldest).total_seconds() if oldest else 0.0
