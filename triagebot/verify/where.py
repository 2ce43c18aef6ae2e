"""Where drafts are verified: the default branch's newest preview, else the repo's config, else a setting.

A preview of the default branch has the bug the Sentry issue was raised from (production runs that
code), and it is a preview, not production: verification browses only hosts listed in
TRIAGEBOT_PREVIEW_HOSTS, like any gate.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from triagebot.backfill.models import DefaultPreview
from triagebot.db import insert_ignore, utcnow
from triagebot.errors import BadInput
from triagebot.origin import origin_of, preview_origin
from triagebot.settings import Settings

NONE_CONFIGURED = (
    "no build to verify against: no preview of the default branch has been seen, and neither "
    "verify.base_url in .triagebot/config.yml nor TRIAGEBOT_VERIFY_URL is set"
)


@dataclass(frozen=True)
class Target:
    """A URL to verify against and where it came from, in words."""

    url: str
    source: str


def record_default_preview(session: Session, *, repo: str, url: str, sha: str | None) -> bool:
    """Remember a successful deployment of the default branch; False when the URL is not http(s)."""
    origin = origin_of(url.strip())
    if origin is None:
        return False
    now = utcnow()
    values = {"repo": repo[:300], "url": origin, "sha": (sha or "")[:64] or None, "seen_at": now}
    if not insert_ignore(session, DefaultPreview, values, ["repo"]):
        row = session.execute(
            select(DefaultPreview).where(col(DefaultPreview.repo) == repo[:300])
        ).scalar_one()
        row.url, row.sha, row.seen_at = origin, values["sha"], now
        session.add(row)
    return True


def verify_target(
    session: Session, *, repo: str | None, configured: str | None, settings: Settings
) -> Target | None:
    """Choose where to verify: the first allowed candidate, else the first one (refused later, said so)."""
    candidates: list[Target] = []
    if repo:
        row = session.execute(
            select(DefaultPreview).where(col(DefaultPreview.repo) == repo[:300])
        ).scalar_one_or_none()
        if row is not None:
            candidates.append(Target(row.url, "the newest preview of the default branch"))
    if configured:
        candidates.append(Target(configured, "verify.base_url in .triagebot/config.yml"))
    if settings.verify_url:
        candidates.append(Target(settings.verify_url.strip(), "TRIAGEBOT_VERIFY_URL"))
    for candidate in candidates:
        try:
            preview_origin(candidate.url, settings)
        except BadInput:
            continue
        return candidate
    return candidates[0] if candidates else None
