"""A local server speaking the GitHub REST calls of a gate: contents at a ref, PR files, statuses, checks."""

from __future__ import annotations

import base64
import itertools
import threading
from typing import Any

from tests.support.httpserver import LocalServer, Reply

TOKEN = "ghp-test-token"


class FakeGitHub:
    """Serves files per (repo, ref), PR file lists, and records statuses and check runs."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], dict[str, str]] = {}  # (repo, ref) -> path -> text
        self.pull_files: dict[tuple[str, int], list[str]] = {}
        self.statuses: list[dict[str, Any]] = []  # each with "repo" and "sha" added
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.failures: list[Reply] = []
        self.contents_failures = 0  # answer this many contents reads with a 502
        self._ids = itertools.count(9000)
        self.lock = threading.Lock()
        self.server = LocalServer(self._route)
        self.url = self.server.url

    def add_files(self, repo: str, ref: str, files: dict[str, str]) -> None:
        """Put files in the repository at commit `ref`."""
        self.files.setdefault((repo, ref), {}).update(files)

    def statuses_for(self, sha: str) -> list[tuple[str, str, str]]:
        """Return (state, context, description) of each status posted on `sha`, oldest first."""
        return [(s["state"], s["context"], s["description"]) for s in self.statuses if s["sha"] == sha]

    def _route(self, verb: str, path: str, body: Any, headers: dict[str, str]) -> Reply:
        with self.lock:
            self.requests.append((verb, path))
            if headers.get("authorization") != f"Bearer {TOKEN}":
                return 401, {}, {"message": "Bad credentials"}
            if self.failures:
                return self.failures.pop(0)
            parts = path.strip("/").split("/")
            if len(parts) < 4 or parts[0] != "repos":
                return 404, {}, {"message": "Not Found"}
            repo, rest = f"{parts[1]}/{parts[2]}", parts[3:]
            query = dict(pair.split("=", 1) for pair in headers["query"].split("&") if "=" in pair)
            if verb == "GET" and rest[0] == "contents" and self.contents_failures:
                self.contents_failures -= 1
                return 502, {}, {"message": "Server Error"}
            if verb == "GET" and rest[0] == "contents":
                return self._contents(repo, "/".join(rest[1:]), query.get("ref", ""))
            if verb == "GET" and rest[0] == "pulls" and rest[2:] == ["files"]:
                names = self.pull_files.get((repo, int(rest[1])), [])
                return 200, {}, [{"filename": name, "status": "modified"} for name in names]
            if verb == "POST" and rest[0] == "statuses":
                self.statuses.append({**body, "repo": repo, "sha": rest[1]})
                return 201, {}, {"id": len(self.statuses), **body}
            if verb == "POST" and rest == ["check-runs"]:
                run_id = next(self._ids)
                self.check_runs[run_id] = {**body, "repo": repo, "updates": []}
                return 201, {}, {"id": run_id, **body}
            if verb == "PATCH" and rest[0] == "check-runs":
                run = self.check_runs[int(rest[1])]
                run["updates"].append(body)
                run.update(body)
                return 200, {}, {"id": int(rest[1]), **run}
            return 404, {}, {"message": "Not Found"}

    def _contents(self, repo: str, path: str, ref: str) -> Reply:
        files = self.files.get((repo, ref), {})
        if path in files:
            encoded = base64.b64encode(files[path].encode()).decode()
            item = {"type": "file", "path": path, "name": path.rsplit("/", 1)[-1]}
            return 200, {}, {**item, "encoding": "base64", "content": encoded}
        inside = sorted(p for p in files if p.startswith(path.rstrip("/") + "/"))
        if not inside:
            return 404, {}, {"message": "Not Found"}
        prefix = path.rstrip("/") + "/"
        listing = [
            {"type": "file" if "/" not in p[len(prefix) :] else "dir", "path": p, "name": p[len(prefix) :]}
            for p in inside
        ]
        return 200, {}, listing

    def stop(self) -> None:
        """Stop the server."""
        self.server.stop()
