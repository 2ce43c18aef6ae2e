"""Spec files for gate service tests, committed to the fake GitHub at a commit."""

from __future__ import annotations

from typing import Any

import yaml

from tests.gates.helpers import coupon_spec
from tests.support.fake_github import FakeGitHub
from triagebot.spec import FlagRef, dump_spec

SHA_A = "a" * 40
SHA_B = "b" * 40
COUPON_ISSUE = "4504"
COUPON_SHORT = "SHOP-123"


def coupon_yaml(*, flags: list[str] | None = None) -> str:
    """The coupon regression spec (fails on the buggy build), linked to Sentry issue 4504."""
    spec = coupon_spec()
    issue = spec.issue.model_copy(update={"id": COUPON_ISSUE, "short_id": COUPON_SHORT})
    flag_refs = [FlagRef(key=key, value=True) for key in flags or []]
    return dump_spec(spec.model_copy(update={"issue": issue, "flags": flag_refs}))


def http_spec_yaml(spec_id: str, *, path: str = "/", flags: list[str] | None = None, **extra: Any) -> str:
    """A spec that makes one request to the preview."""
    data: dict[str, Any] = {
        "version": 1,
        "id": spec_id,
        "kind": "http",
        "issue": {"id": f"77{len(spec_id)}", "short_id": f"SHOP-{spec_id.upper()}"},
        "flags": [{"key": key} for key in flags or []],
        "steps": [{"action": "request", "path": path}],
        **extra,
    }
    return yaml.safe_dump(data, sort_keys=False)


def commit_specs(github: FakeGitHub, repo: str, sha: str, specs: dict[str, str]) -> None:
    """Commit spec files (`name -> yaml`) under .triagebot/tests at `sha`."""
    github.add_files(repo, sha, {f".triagebot/tests/{name}": text for name, text in specs.items()})
