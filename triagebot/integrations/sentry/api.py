"""Sentry web API client (httpx): latest event, issue search, issue updates; errors mapped for the outbox."""

from __future__ import annotations

from typing import Any

import httpx

from triagebot.errors import PermanentFailure, RetryLater


class SentryClient:
    """Calls `/api/0/organizations/{org}/...` with a bearer token."""

    def __init__(
        self, base_url: str, token: str, org: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.org = org
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/0/",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "triagebot"},
            timeout=10.0,
            transport=transport,
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RetryLater(f"sentry {method} {path}: {exc}") from None
        if response.status_code == 429:
            after = response.headers.get("Retry-After")
            raise RetryLater(f"sentry {path}: rate limited", after=float(after) if after else 30.0)
        if response.status_code >= 500:
            raise RetryLater(f"sentry {method} {path}: {response.status_code}")
        if response.status_code >= 400:
            raise PermanentFailure(f"sentry {method} {path}: {response.status_code} {response.text[:200]}")
        return response

    def latest_event(self, issue_id: str) -> dict[str, Any]:
        """Return the issue's latest event (API shape: camelCase with `entries[]`)."""
        data = self._request("GET", f"organizations/{self.org}/issues/{issue_id}/events/latest/").json()
        return data if isinstance(data, dict) else {}

    def list_issues(self, *, query: str, stats_period: str, max_pages: int = 5) -> list[dict[str, Any]]:
        """Return matching issues, following the `Link: rel="next"; results="true"` cursor."""
        issues: list[dict[str, Any]] = []
        params: dict[str, str] = {"query": query, "statsPeriod": stats_period, "limit": "100"}
        for _ in range(max_pages):
            response = self._request("GET", f"organizations/{self.org}/issues/", params=params)
            page = response.json()
            issues.extend(item for item in page if isinstance(item, dict))
            nxt = response.links.get("next", {})
            if nxt.get("results") != "true" or not nxt.get("cursor"):
                break
            params["cursor"] = nxt["cursor"]
        return issues

    def update_issue(self, issue_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """PUT status/assignee changes to an issue."""
        data = self._request("PUT", f"organizations/{self.org}/issues/{issue_id}/", json=changes).json()
        return data if isinstance(data, dict) else {}
