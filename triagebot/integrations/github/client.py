"""A thin, typed httpx client over the dozen GitHub REST endpoints triagebot uses (the CodeHost port).

Why not githubkit or PyGithub: we call about a dozen endpoints, synchronously, from outbox handlers
that must turn every failure into RetryLater or PermanentFailure themselves (the outbox owns retries,
so a client that sleeps and retries on its own would fight it). PyGithub retries and throttles inside
calls and models objects lazily; githubkit is typed and async-first, but pre-1.0, pins a cache library
that breaks its import in its newest release, and its strict models reject GitHub's own example
payloads. Here each answer is read into a small pydantic model holding the fields we use, with
unknown fields ignored, and the REST version is pinned so a new calendar version cannot change them.
"""

from __future__ import annotations

import base64
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from triagebot.errors import PermanentFailure, RetryLater
from triagebot.integrations.github.auth import Auth
from triagebot.integrations.github.errors import message_of, raise_for
from triagebot.integrations.ports import PullRequest, RepoHead

API_VERSION = "2022-11-28"  # pinned: 2026-03-10 drops fields (merge_commit_sha, assignee) from pulls
FILE_MODE = "100644"

M = TypeVar("M", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Sha(_Model):
    sha: str


class _Ref(_Model):
    ref: str
    object: _Sha


class _Repository(_Model):
    default_branch: str


class _Commit(_Model):
    sha: str
    tree: _Sha


class _Branch(_Model):
    ref: str
    sha: str


class _Pull(_Model):
    number: int
    html_url: str
    state: str
    merged: bool | None = None  # absent from list answers; merged_at tells there
    merged_at: str | None = None
    head: _Branch

    def to_port(self) -> PullRequest:
        return PullRequest(
            number=self.number,
            url=self.html_url,
            state=self.state,
            merged=bool(self.merged) or self.merged_at is not None,
            branch=self.head.ref,
            head_sha=self.head.sha,
        )


class _Content(_Model):
    type: str
    path: str
    content: str | None = None
    encoding: str | None = None


class _CheckRun(_Model):
    id: int


def _parse(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PermanentFailure(f"GitHub {what}: unexpected answer: {where}: {first['msg']}") from None


class GitHubClient:
    """The CodeHost port over GitHub's REST API (or GitHub Enterprise's, via `base_url`)."""

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.auth = auth
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "triagebot",
            },
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    # Plumbing ------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        repo: str | None,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """Call the API; return the JSON answer (None for a 404 when `missing_ok`)."""
        what = f"{method} /{path}"
        token = self.auth.token(self.http, repo)
        try:
            response = self.http.request(
                method, path, json=json, params=params, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise RetryLater(f"GitHub {what}: {exc}") from None
        if missing_ok and response.status_code == 404:
            return None
        raise_for(response, what)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise RetryLater(f"GitHub {what}: answer is not JSON") from None

    @staticmethod
    def _repo_path(repo: str) -> str:
        owner, _, name = repo.partition("/")
        if not owner or not name or "/" in name:
            raise PermanentFailure(f"repository {repo!r} is not owner/name")
        return f"repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    # Branches and commits ------------------------------------------------------------------------

    def default_head(self, repo: str) -> RepoHead:
        """Return the default branch and its head commit."""
        base = self._repo_path(repo)
        branch = _parse(_Repository, self._request("GET", base, repo), "repository").default_branch
        sha = self.branch_sha(repo, branch)
        if sha is None:
            raise PermanentFailure(f"GitHub: {repo} has no commits on {branch}; push one first")
        return RepoHead(branch=branch, sha=sha)

    def branch_sha(self, repo: str, branch: str) -> str | None:
        """Return a branch's head commit, or None when the branch does not exist."""
        path = f"{self._repo_path(repo)}/git/ref/heads/{quote(branch, safe='/')}"
        data = self._request("GET", path, repo, missing_ok=True)
        # A prefix match answers a list (`heads/triagebot` matches `heads/triagebot/x`): not our branch.
        if data is None or not isinstance(data, dict):
            return None
        return _parse(_Ref, data, "ref").object.sha

    def create_branch(
        self, repo: str, *, branch: str, base_sha: str, files: dict[str, str], message: str
    ) -> str:
        """Create `branch` with one commit adding `files` (Git Data API: blobs, tree, commit, ref)."""
        existing = self.branch_sha(repo, branch)
        if existing is not None:
            return existing
        base = self._repo_path(repo)
        base_commit = _parse(_Commit, self._request("GET", f"{base}/git/commits/{base_sha}", repo), "commit")
        entries = []
        for path, text in files.items():
            blob = self._request(
                "POST", f"{base}/git/blobs", repo, json={"content": text, "encoding": "utf-8"}
            )
            entries.append(
                {"path": path, "mode": FILE_MODE, "type": "blob", "sha": _parse(_Sha, blob, "blob").sha}
            )
        # base_tree keeps every other file: without it the commit would delete the whole repository.
        tree = self._request(
            "POST", f"{base}/git/trees", repo, json={"base_tree": base_commit.tree.sha, "tree": entries}
        )
        commit = self._request(
            "POST",
            f"{base}/git/commits",
            repo,
            json={"message": message, "tree": _parse(_Sha, tree, "tree").sha, "parents": [base_sha]},
        )
        sha = _parse(_Sha, commit, "commit").sha
        try:
            self._request("POST", f"{base}/git/refs", repo, json={"ref": f"refs/heads/{branch}", "sha": sha})
        except PermanentFailure as exc:
            # 422 "Reference already exists": a concurrent or earlier try won; its commit stands.
            if "already exists" not in str(exc):
                raise
            current = self.branch_sha(repo, branch)
            if current is None:
                raise
            return current
        return sha

    # Pull requests -------------------------------------------------------------------------------

    def find_pull(self, repo: str, branch: str) -> PullRequest | None:
        """Return the newest pull request from `branch` of the same repository, open or closed."""
        owner = repo.split("/", 1)[0]
        data = self._request(
            "GET",
            f"{self._repo_path(repo)}/pulls",
            repo,
            params={"head": f"{owner}:{branch}", "state": "all", "sort": "created", "direction": "desc"},
        )
        pulls = [_parse(_Pull, item, "pull request") for item in data or []]
        return pulls[0].to_port() if pulls else None

    def open_pull(self, repo: str, *, branch: str, base: str, title: str, body: str) -> PullRequest:
        """Open a pull request; when one is already open for the branch (422), return that one."""
        payload = {"title": title, "head": branch, "base": base, "body": body, "maintainer_can_modify": True}
        try:
            data = self._request("POST", f"{self._repo_path(repo)}/pulls", repo, json=payload)
        except PermanentFailure as exc:
            if "already exists" not in str(exc):
                raise
            found = self.find_pull(repo, branch)
            if found is None:
                raise
            return found
        return _parse(_Pull, data, "pull request").to_port()

    def update_pull(self, repo: str, number: int, *, title: str, body: str) -> PullRequest:
        """Replace a pull request's title and description."""
        payload = {"title": title, "body": body}
        data = self._request("PATCH", f"{self._repo_path(repo)}/pulls/{int(number)}", repo, json=payload)
        return _parse(_Pull, data, "pull request").to_port()

    def get_pull(self, repo: str, number: int) -> PullRequest:
        """Return a pull request's current state."""
        data = self._request("GET", f"{self._repo_path(repo)}/pulls/{int(number)}", repo)
        return _parse(_Pull, data, "pull request").to_port()

    def list_pull_files(self, repo: str, number: int) -> list[str]:
        """Return the paths a pull request changes, renamed files under both names.

        GitHub pages this list 100 at a time and stops at 3,000 files; a gate past that runs every spec.
        """
        paths: list[str] = []
        for page in range(1, 31):
            data = self._request(
                "GET",
                f"{self._repo_path(repo)}/pulls/{int(number)}/files",
                repo,
                params={"per_page": "100", "page": str(page)},
            )
            items = [item for item in data or [] if isinstance(item, dict)]
            for item in items:
                paths.extend(str(item[key]) for key in ("filename", "previous_filename") if item.get(key))
            if len(items) < 100:
                break
        return paths

    # Files ---------------------------------------------------------------------------------------

    def _contents(self, repo: str, path: str, ref: str) -> Any:
        target = f"{self._repo_path(repo)}/contents/{quote(path.strip('/'), safe='/')}"
        return self._request("GET", target, repo, params={"ref": ref}, missing_ok=True)

    def read_file(self, repo: str, path: str, ref: str) -> str | None:
        """Return a text file's content at `ref`, or None when there is no such file."""
        data = self._contents(repo, path, ref)
        if data is None or not isinstance(data, dict):
            return None  # missing, or a folder
        item = _parse(_Content, data, "contents")
        if item.type != "file" or item.content is None:
            return None
        if item.encoding not in (None, "base64"):
            # Files over 1 MB come back with encoding "none" and no content; specs are far smaller.
            raise PermanentFailure(f"GitHub contents {path}: too large to read ({item.encoding})")
        try:
            return base64.b64decode(item.content).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as exc:
            raise PermanentFailure(f"GitHub contents {path}: not UTF-8 text: {exc}") from None

    def list_dir(self, repo: str, path: str, ref: str) -> list[str]:
        """Return the paths of the files directly inside a folder at `ref` (empty when it is missing)."""
        data = self._contents(repo, path, ref)
        if not isinstance(data, list):
            return []
        items = [_parse(_Content, item, "contents") for item in data]
        return sorted(item.path for item in items if item.type == "file")

    # Reporting -----------------------------------------------------------------------------------

    def create_status(
        self,
        repo: str,
        sha: str,
        *,
        state: str,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> None:
        """Set a commit status; GitHub cuts descriptions at 140 characters, so we do it first."""
        body: dict[str, Any] = {"state": state, "context": context, "description": description[:140]}
        if target_url:
            body["target_url"] = target_url
        self._request("POST", f"{self._repo_path(repo)}/statuses/{sha}", repo, json=body)

    def create_check_run(
        self,
        repo: str,
        *,
        head_sha: str,
        name: str,
        status: str,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        details_url: str | None = None,
        external_id: str | None = None,
    ) -> int:
        """Create a check run; only a GitHub App's installation token may (a PAT gets 403)."""
        body: dict[str, Any] = {"name": name, "head_sha": head_sha, "status": status}
        body.update(_check_fields(conclusion, title, summary, text, details_url))
        if external_id:
            body["external_id"] = external_id
        data = self._request("POST", f"{self._repo_path(repo)}/check-runs", repo, json=body)
        return _parse(_CheckRun, data, "check run").id

    def update_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        details_url: str | None = None,
    ) -> None:
        """Change a check run's status, conclusion or output."""
        body: dict[str, Any] = {"status": status} if status else {}
        body.update(_check_fields(conclusion, title, summary, text, details_url))
        self._request("PATCH", f"{self._repo_path(repo)}/check-runs/{int(check_run_id)}", repo, json=body)


SUMMARY_MAX = 65_535  # the Checks API's limit for output.summary and output.text


def _check_fields(
    conclusion: str | None,
    title: str | None,
    summary: str | None,
    text: str | None,
    details_url: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if conclusion:
        body["conclusion"] = conclusion
    if details_url:
        body["details_url"] = details_url
    if title or summary:
        output: dict[str, Any] = {
            "title": (title or "triagebot")[:255],
            "summary": (summary or "")[:SUMMARY_MAX],
        }
        if text:
            output["text"] = text[:SUMMARY_MAX]
        body["output"] = output
    return body


__all__ = ["API_VERSION", "GitHubClient", "message_of"]
