"""A local server speaking the parts of GitHub's REST API triagebot calls, with an in-memory git store.

Answers are shaped like GitHub's own examples (tests/fixtures/github/rest.*.json, copied and filled
in), errors like GitHub's (`{"message", "errors", "documentation_url"}`), and it can be told to fail
the next calls with a 5xx or a rate limit. Every request is recorded with its path and JSON body.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt

from tests.support.httpserver import LocalServer, Reply

FIXTURES = Path(__file__).parents[1] / "fixtures" / "github"
DOCS = "https://docs.github.com/rest"


@dataclass
class Call:
    """One request the fake received."""

    verb: str
    path: str
    body: Any
    query: dict[str, str]
    auth: str | None


@dataclass
class Repo:
    """One repository: git objects, refs and pull requests."""

    full_name: str
    default_branch: str = "main"
    blobs: dict[str, str] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # tree sha -> {path: blob sha}
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "heads/main" -> commit sha
    pulls: list[dict[str, Any]] = field(default_factory=list)
    pull_files: dict[int, list[str]] = field(default_factory=dict)  # PR number -> changed paths


def _sha(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _error(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> Reply:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
    if errors:
        body["errors"] = errors
    return status, {}, body


class FakeGitHub:
    """GitHub's REST API on an ephemeral port; tokens, a GitHub App and failures are scriptable."""

    def __init__(self, *, tokens: tuple[str, ...] = ("ghp_test",)) -> None:
        self.calls: list[Call] = []
        self.tokens = set(tokens)
        self.repos: dict[str, Repo] = {}
        self.failures: list[tuple[str | None, Reply]] = []
        self.hooks: list[tuple[str, Callable[[], None]]] = []
        self.app_id: str | None = None
        self.app_public_key: Any = None
        self.installation_id = 4242
        self.issued: list[str] = []
        self.statuses: list[dict[str, Any]] = []  # each with "repo" and "sha" added
        self.check_runs: dict[int, dict[str, Any]] = {}  # id -> the run as last written, with its "updates"
        self.numbers = itertools.count(1347)
        self.lock = threading.Lock()
        self.server = LocalServer(self._route)
        self.url = self.server.url
        self.add_repo("acme/shop", {"README.md": "# Shop\n"})

    # Set-up ------------------------------------------------------------------------------------

    def add_repo(self, full_name: str, files: dict[str, str], default_branch: str = "main") -> Repo:
        """Create a repository whose default branch has one commit holding `files`."""
        repo = Repo(full_name, default_branch)
        self.repos[full_name.lower()] = repo
        tree = self._write_tree(repo, {path: self._write_blob(repo, text) for path, text in files.items()})
        repo.refs[f"heads/{default_branch}"] = self._write_commit(repo, tree, [], "Initial commit")
        return repo

    def add_files(self, full_name: str, sha: str, files: dict[str, str]) -> None:
        """Make commit `sha` (any 40-hex name) hold the default branch's files plus `files`."""
        repo = self.repos.get(full_name.lower()) or self.add_repo(full_name, {})
        base = repo.refs[f"heads/{repo.default_branch}"]
        entries = {**repo.trees[repo.commits[base]["tree"]]}
        entries.update({path: self._write_blob(repo, text) for path, text in files.items()})
        repo.commits[sha] = {"tree": self._write_tree(repo, entries), "parents": [base], "message": "Test"}

    def statuses_for(self, sha: str) -> list[tuple[str, str, str]]:
        """Return (state, context, description) of each status posted on `sha`, oldest first."""
        return [(s["state"], s["context"], s["description"]) for s in self.statuses if s["sha"] == sha]

    def enable_app(self, app_id: str, public_key: Any) -> None:
        """Accept JWTs of a GitHub App (verified with its public key) at the installation-token endpoint."""
        self.app_id, self.app_public_key = app_id, public_key

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        message: str = "Server Error",
    ) -> None:
        """Fail the next `times` requests (whose path contains `path`, if given) with `status`."""
        reply: Reply = (status, dict(headers or {}), {"message": message, "documentation_url": DOCS})
        with self.lock:
            self.failures.extend([(path, reply)] * times)

    def before(self, path: str, hook: Callable[[], None]) -> None:
        """Run `hook` once, just before handling the next request whose path contains `path` (races)."""
        with self.lock:
            self.hooks.append((path, hook))

    def rate_limit(self, *, times: int = 1, reset_in: int = 120) -> None:
        """Answer like an exhausted primary rate limit: 403 with x-ratelimit-remaining 0."""
        headers = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": str(int(time.time()) + reset_in),
            "x-ratelimit-resource": "core",
        }
        self.fail(403, times=times, headers=headers, message="API rate limit exceeded for user ID 1.")

    # Inspection --------------------------------------------------------------------------------

    def of(self, verb: str, suffix: str = "") -> list[Call]:
        """Return the recorded calls with this verb whose path ends with `suffix`."""
        return [call for call in self.calls if call.verb == verb and call.path.endswith(suffix)]

    def files_at(self, full_name: str, ref: str) -> dict[str, str]:
        """Return {path: text} of a branch (or commit) of a repository."""
        repo = self.repos[full_name.lower()]
        sha = repo.refs.get(f"heads/{ref}", ref)
        tree = repo.trees[repo.commits[sha]["tree"]]
        return {path: repo.blobs[blob] for path, blob in tree.items()}

    def merge(self, full_name: str, number: int) -> dict[str, Any]:
        """Merge a pull request by hand (fast-forward), as a reviewer would on github.com."""
        repo = self.repos[full_name.lower()]
        pull = next(p for p in repo.pulls if p["number"] == number)
        repo.refs[f"heads/{pull['base']['ref']}"] = pull["head"]["sha"]
        pull.update(state="closed", merged=True, merged_at="2026-01-01T00:00:00Z")
        return pull

    # Git objects -------------------------------------------------------------------------------

    def _write_blob(self, repo: Repo, text: str) -> str:
        sha = _sha("blob", text)
        repo.blobs[sha] = text
        return sha

    def _write_tree(self, repo: Repo, entries: dict[str, str]) -> str:
        sha = _sha("tree", sorted(entries.items()))
        repo.trees[sha] = dict(entries)
        return sha

    def _write_commit(self, repo: Repo, tree: str, parents: list[str], message: str) -> str:
        sha = _sha("commit", tree, parents, message)
        repo.commits[sha] = {"tree": tree, "parents": parents, "message": message}
        return sha

    # Routing -----------------------------------------------------------------------------------

    def _route(self, verb: str, path: str, body: Any, headers: dict[str, str]) -> Reply:
        query = {key: values[0] for key, values in parse_qs(headers.get("query", "")).items()}
        auth = headers.get("authorization")
        with self.lock:
            self.calls.append(Call(verb, unquote(path), body, query, auth))
            for index, (match, hook) in enumerate(self.hooks):
                if match in path:
                    del self.hooks[index]
                    hook()
                    break
            for index, (match, reply) in enumerate(self.failures):
                if match is None or match in path:
                    del self.failures[index]
                    return reply[0], dict(reply[1]), reply[2]
            if headers.get("x-github-api-version") != "2022-11-28":
                return _error(400, "missing or unsupported X-GitHub-Api-Version")
            if path.startswith("/app/installations/"):
                return self._installation_token(path, auth)
            token = (auth or "").removeprefix("Bearer ")
            if path.endswith("/installation") and self._jwt_ok(token):
                return 200, {}, {"id": self.installation_id, "app_id": int(self.app_id or 0)}
            if token not in self.tokens:
                return _error(401, "Bad credentials")
            return self._repo_route(verb, unquote(path), body if isinstance(body, dict) else {}, query)

    def _jwt_ok(self, token: str) -> bool:
        if self.app_public_key is None:
            return False
        try:
            claims = jwt.decode(token, self.app_public_key, algorithms=["RS256"], leeway=5)
        except jwt.PyJWTError:
            return False
        # GitHub refuses JWTs meant to live over ten minutes.
        return str(claims.get("iss")) == self.app_id and claims["exp"] - claims["iat"] <= 660

    def _installation_token(self, path: str, auth: str | None) -> Reply:
        if not self._jwt_ok((auth or "").removeprefix("Bearer ")):
            return _error(401, "A JSON web token could not be decoded")
        if path != f"/app/installations/{self.installation_id}/access_tokens":
            return _error(404, "Not Found")
        token = f"ghs_{len(self.issued) + 1:036d}"
        self.issued.append(token)
        self.tokens.add(token)
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            201,
            {},
            {
                "token": token,
                "expires_at": expires,
                "permissions": {"contents": "write", "pull_requests": "write", "checks": "write"},
                "repository_selection": "selected",
            },
        )

    def _repo_route(self, verb: str, path: str, body: dict[str, Any], query: dict[str, str]) -> Reply:
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "repos":
            return _error(404, "Not Found")
        repo = self.repos.get(f"{parts[1]}/{parts[2]}".lower())
        if repo is None:
            return _error(404, "Not Found")
        rest = parts[3:]
        api = f"https://api.github.com/repos/{repo.full_name}"
        if not rest and verb == "GET":
            return (
                200,
                {},
                {"id": 1296269, "full_name": repo.full_name, "default_branch": repo.default_branch},
            )
        if rest[:2] == ["git", "ref"] and verb == "GET":
            name = "/".join(rest[2:])
            if name not in repo.refs:
                return _error(404, "Not Found")
            return 200, {}, self._ref_json(api, name, repo.refs[name])
        if rest[:2] == ["git", "commits"] and verb == "GET" and len(rest) == 3:
            commit = repo.commits.get(rest[2])
            if commit is None:
                return _error(404, "Not Found")
            return 200, {}, self._commit_json(api, rest[2], commit)
        if rest == ["git", "blobs"] and verb == "POST":
            sha = self._write_blob(repo, str(body["content"]))
            return 201, {}, {"url": f"{api}/git/blobs/{sha}", "sha": sha}
        if rest == ["git", "trees"] and verb == "POST":
            entries = dict(repo.trees[body["base_tree"]]) if body.get("base_tree") else {}
            for entry in body["tree"]:
                if entry.get("sha") not in repo.blobs:
                    return _error(422, "Invalid tree info", [{"message": f"sha {entry.get('sha')} unknown"}])
                entries[entry["path"]] = entry["sha"]
            sha = self._write_tree(repo, entries)
            listing = [
                {"path": p, "mode": "100644", "type": "blob", "sha": s} for p, s in sorted(entries.items())
            ]
            return 201, {}, {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": listing, "truncated": False}
        if rest == ["git", "commits"] and verb == "POST":
            if body["tree"] not in repo.trees or any(p not in repo.commits for p in body["parents"]):
                return _error(422, "Tree SHA does not exist")
            sha = self._write_commit(repo, body["tree"], list(body["parents"]), body["message"])
            return 201, {}, self._commit_json(api, sha, repo.commits[sha])
        if rest == ["git", "refs"] and verb == "POST":
            name = str(body["ref"]).removeprefix("refs/")
            if name in repo.refs:
                return _error(422, "Reference already exists")
            if body["sha"] not in repo.commits:
                return _error(422, "Object does not exist")
            repo.refs[name] = body["sha"]
            return 201, {}, self._ref_json(api, name, body["sha"])
        if rest == ["pulls"] and verb == "GET":
            return 200, {}, self._list_pulls(repo, query)
        if rest == ["pulls"] and verb == "POST":
            return self._create_pull(repo, body)
        if rest[:1] == ["pulls"] and len(rest) == 3 and rest[2] == "files" and verb == "GET":
            page, size = int(query.get("page", "1")), int(query.get("per_page", "30"))
            changed = repo.pull_files.get(int(rest[1]), [])
            listing = [{"filename": name, "status": "modified"} for name in changed]
            return 200, {}, listing[(page - 1) * size : page * size]
        if rest[:1] == ["pulls"] and len(rest) == 2 and verb == "PATCH":
            found = [p for p in repo.pulls if str(p["number"]) == rest[1]]
            if not found:
                return _error(404, "Not Found")
            found[0].update({key: body[key] for key in ("title", "body") if key in body})
            return 200, {}, found[0]
        if rest[:1] == ["pulls"] and len(rest) == 2 and verb == "GET":
            found = [p for p in repo.pulls if str(p["number"]) == rest[1]]
            return (200, {}, found[0]) if found else _error(404, "Not Found")
        if rest[:1] == ["contents"] and verb == "GET":
            return self._contents(repo, "/".join(rest[1:]), query.get("ref", repo.default_branch))
        if rest[:1] == ["statuses"] and verb == "POST":
            self.statuses.append({**body, "repo": repo.full_name, "sha": rest[1]})
            return 201, {}, json.loads((FIXTURES / "rest.deployments.create_status.json").read_text()) | body
        if rest == ["check-runs"] and verb == "POST":
            run_id = next(self.numbers)
            self.check_runs[run_id] = {**body, "repo": repo.full_name, "updates": []}
            return 201, {}, {"id": run_id, "head_sha": body.get("head_sha"), **body}
        if rest[:1] == ["check-runs"] and verb == "PATCH":
            run = self.check_runs[int(rest[1])]
            run["updates"].append(body)
            run.update(body)
            return 200, {}, {"id": int(rest[1]), **body}
        return _error(404, "Not Found")

    @staticmethod
    def _ref_json(api: str, name: str, sha: str) -> dict[str, Any]:
        data = json.loads((FIXTURES / "rest.git.create_ref.json").read_text())
        data.update(ref=f"refs/{name}", url=f"{api}/git/refs/{name}")
        data["object"].update(sha=sha, url=f"{api}/git/commits/{sha}")
        return data

    @staticmethod
    def _commit_json(api: str, sha: str, commit: dict[str, Any]) -> dict[str, Any]:
        return {
            "sha": sha,
            "url": f"{api}/git/commits/{sha}",
            "message": commit["message"],
            "tree": {"sha": commit["tree"], "url": f"{api}/git/trees/{commit['tree']}"},
            "parents": [{"sha": p, "url": f"{api}/git/commits/{p}"} for p in commit["parents"]],
        }

    def _list_pulls(self, repo: Repo, query: dict[str, str]) -> list[dict[str, Any]]:
        owner, _, branch = query.get("head", ":").partition(":")
        state = query.get("state", "open")
        found = [
            pull
            for pull in repo.pulls
            if (
                not branch
                or (pull["head"]["ref"] == branch and owner.lower() == repo.full_name.split("/")[0])
            )
            and (state == "all" or pull["state"] == state)
        ]
        listed = []
        for pull in sorted(found, key=lambda p: p["number"], reverse=True):
            item = copy.deepcopy(pull)
            del item["merged"]  # list answers carry merged_at, not merged
            listed.append(item)
        return listed

    def _create_pull(self, repo: Repo, body: dict[str, Any]) -> Reply:
        head, base = str(body["head"]), str(body["base"])
        if f"heads/{head}" not in repo.refs:
            return _error(
                422, "Validation Failed", [{"resource": "PullRequest", "field": "head", "code": "invalid"}]
            )
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in repo.pulls):
            owner = repo.full_name.split("/")[0]
            message = f"A pull request already exists for {owner}:{head}."
            return _error(
                422, "Validation Failed", [{"resource": "PullRequest", "code": "custom", "message": message}]
            )
        number = next(self.numbers)
        pull = json.loads((FIXTURES / "rest.pulls.create.2022-11-28.json").read_text())
        html = f"https://github.com/{repo.full_name}/pull/{number}"
        pull.update(
            number=number,
            html_url=html,
            url=f"https://api.github.com/repos/{repo.full_name}/pulls/{number}",
            title=body["title"],
            body=body.get("body"),
            state="open",
            merged=False,
            merged_at=None,
            closed_at=None,
            merged_by=None,
            draft=bool(body.get("draft", False)),
        )
        pull["head"].update(
            ref=head, sha=repo.refs[f"heads/{head}"], label=f"{repo.full_name.split('/')[0]}:{head}"
        )
        pull["base"].update(ref=base, sha=repo.refs[f"heads/{base}"])
        repo.pulls.append(pull)
        return 201, {}, pull

    def _contents(self, repo: Repo, path: str, ref: str) -> Reply:
        sha = repo.refs.get(f"heads/{ref}", ref)
        if sha not in repo.commits:
            return _error(404, f"No commit found for the ref {ref}")
        tree = repo.trees[repo.commits[sha]["tree"]]
        if path in tree:
            text = repo.blobs[tree[path]]
            encoded = base64.encodebytes(text.encode()).decode()  # GitHub wraps base64 at 60 columns
            name = path.rsplit("/", 1)[-1]
            return (
                200,
                {},
                {
                    "type": "file",
                    "encoding": "base64",
                    "size": len(text),
                    "name": name,
                    "path": path,
                    "content": encoded,
                    "sha": tree[path],
                },
            )
        prefix = path.rstrip("/") + "/"
        inside = sorted({p[len(prefix) :].split("/", 1)[0] for p in tree if p.startswith(prefix)})
        if not inside:
            return _error(404, "Not Found")
        return (
            200,
            {},
            [
                {
                    "type": "file" if f"{prefix}{name}" in tree else "dir",
                    "name": name,
                    "path": f"{prefix}{name}",
                }
                for name in inside
            ],
        )

    def stop(self) -> None:
        """Stop the server."""
        self.server.stop()
