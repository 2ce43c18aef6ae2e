"""A code host on a local git repository, for the demo and for teams whose bot cannot reach GitHub.

Branches and commits are made with git's plumbing (hash-object, a private index, write-tree,
commit-tree, update-ref), so the repository's working tree and index are never touched. A "pull
request" is a row in `local_pull_requests`; `merge_pull` merges it into its base branch.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Text, select
from sqlmodel import Field, Session, SQLModel, col

from triagebot.db import SessionFactory, reading, transaction, utcnow
from triagebot.errors import PermanentFailure
from triagebot.integrations.ports import PullRequest, RepoHead

log = logging.getLogger(__name__)

IDENTITY = {
    "GIT_AUTHOR_NAME": "triagebot",
    "GIT_AUTHOR_EMAIL": "triagebot@localhost",
    "GIT_COMMITTER_NAME": "triagebot",
    "GIT_COMMITTER_EMAIL": "triagebot@localhost",
}


class LocalPullRequest(SQLModel, table=True):
    """A pull request on the local-repository code host."""

    __tablename__ = "local_pull_requests"

    id: int | None = Field(default=None, primary_key=True)  # the pull request's number
    repo: str = Field(max_length=300)
    branch: str = Field(max_length=255, index=True)
    base: str = Field(max_length=255)
    title: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    head_sha: str | None = Field(default=None, max_length=64)
    state: str = Field(default="open", max_length=16)  # open | closed
    merged: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


MAX_DIFF = 200_000  # characters of a diff shown on a pull request's page


@dataclass
class LocalStatus:
    """A commit status or check run reported on the local host (kept in memory, shown in logs)."""

    repo: str
    sha: str
    name: str
    state: str
    description: str
    url: str | None = None


@dataclass
class LocalRepoHost:
    """The CodeHost port over a local git repository; `repo` names are recorded but not needed."""

    path: Path
    sessions: SessionFactory
    statuses: list[LocalStatus] = field(default_factory=list)
    web_base: str | None = None  # the service's own URL: pull requests link to its page of each

    @property
    def name(self) -> str:
        """The name flows use for this repository when no GitHub repo is configured."""
        return f"local/{self.path.resolve().name}"

    def _git(
        self,
        *args: str,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        ok: tuple[int, ...] = (0,),
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["git", "-C", str(self.path), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, **IDENTITY, **(env or {})},
            check=False,
        )
        if result.returncode not in ok:
            raise PermanentFailure(f"git {' '.join(args[:2])}: {result.stderr.strip() or result.returncode}")
        return result

    def _rev(self, ref: str) -> str | None:
        result = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", ok=(0, 1))
        return result.stdout.strip() or None if result.returncode == 0 else None

    # Branches and commits ------------------------------------------------------------------------

    def default_head(self, repo: str) -> RepoHead:
        """Return the branch HEAD names and its commit."""
        branch = self._git("symbolic-ref", "--short", "HEAD").stdout.strip()
        sha = self._rev(f"refs/heads/{branch}")
        if sha is None:
            raise PermanentFailure(f"{self.path}: {branch} has no commits yet")
        return RepoHead(branch=branch, sha=sha)

    def branch_sha(self, repo: str, branch: str) -> str | None:
        """Return a branch's head commit, or None."""
        return self._rev(f"refs/heads/{branch}")

    def create_branch(
        self, repo: str, *, branch: str, base_sha: str, files: dict[str, str], message: str
    ) -> str:
        """Commit `files` on top of `base_sha` as the new `branch`, without touching the working tree."""
        existing = self.branch_sha(repo, branch)
        if existing is not None:
            return existing
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}  # a private index: the real one stays
            self._git("read-tree", base_sha, env=env)
            for path, text in files.items():
                blob = self._git("hash-object", "-w", "--stdin", stdin=text).stdout.strip()
                self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self._git("write-tree", env=env).stdout.strip()
        commit = self._git("commit-tree", tree, "-p", base_sha, "-m", message).stdout.strip()
        # An empty old value makes update-ref refuse when the branch appeared meanwhile.
        created = self._git("update-ref", f"refs/heads/{branch}", commit, "", ok=(0, 128))
        if created.returncode != 0:
            current = self.branch_sha(repo, branch)
            if current is None:
                raise PermanentFailure(f"git update-ref {branch}: {created.stderr.strip()}")
            return current
        return commit

    # Pull requests -------------------------------------------------------------------------------

    def _url(self, row: LocalPullRequest) -> str:
        if self.web_base:
            return f"{self.web_base.rstrip('/')}/pulls/{row.id}"
        return f"{self.path.resolve().as_uri()}#{row.branch}"

    def pull_page(self, number: int) -> dict[str, Any] | None:
        """Return a local pull request's title, body, state and diff against its base, for its page."""
        with reading(self.sessions) as session:
            row = session.get(LocalPullRequest, number)
            if row is None:
                return None
            found = row.model_dump()
        diff = self._git(
            "diff", "--no-color", "--no-renames", f"{found['base']}...{found['branch']}", ok=(0, 128)
        )
        text = diff.stdout if diff.returncode == 0 else f"(no diff: {diff.stderr.strip()})"
        return {**found, "diff": text[:MAX_DIFF] + ("\n… (cut)" if len(text) > MAX_DIFF else "")}

    def _to_port(self, row: LocalPullRequest) -> PullRequest:
        assert row.id is not None
        return PullRequest(
            number=row.id,
            url=self._url(row),
            state=row.state,
            merged=row.merged,
            branch=row.branch,
            head_sha=self.branch_sha(row.repo, row.branch) or row.head_sha,
        )

    def find_pull(self, repo: str, branch: str) -> PullRequest | None:
        """Return the newest local pull request from `branch`."""
        with transaction(self.sessions) as session:
            row = (
                session.execute(
                    select(LocalPullRequest)
                    .where(col(LocalPullRequest.repo) == repo, col(LocalPullRequest.branch) == branch)
                    .order_by(col(LocalPullRequest.id).desc())
                )
                .scalars()
                .first()
            )
            return self._to_port(row) if row is not None else None

    def open_pull(self, repo: str, *, branch: str, base: str, title: str, body: str) -> PullRequest:
        """Record a pull request, or return the one already open for `branch`."""
        found = self.find_pull(repo, branch)
        if found is not None and found.state == "open":
            return found
        with transaction(self.sessions) as session:
            row = LocalPullRequest(
                repo=repo,
                branch=branch,
                base=base,
                title=title,
                body=body,
                head_sha=self.branch_sha(repo, branch),
            )
            session.add(row)
            session.flush()
            return self._to_port(row)

    def update_pull(self, repo: str, number: int, *, title: str, body: str) -> PullRequest:
        """Replace a local pull request's title and description."""
        with transaction(self.sessions) as session:
            row = _pull_row(session, number)
            row.title, row.body = title, body
            session.add(row)
            return self._to_port(row)

    def get_pull(self, repo: str, number: int) -> PullRequest:
        """Return a local pull request's state."""
        with reading(self.sessions) as session:
            return self._to_port(_pull_row(session, number))

    def list_pull_files(self, repo: str, number: int) -> list[str]:
        """Return the paths a local pull request changes against its base (three-dot, as GitHub shows)."""
        with reading(self.sessions) as session:
            row = _pull_row(session, number)
            base, branch = row.base, row.branch
        diff = self._git("diff", "--name-only", "--no-renames", f"{base}...{branch}")
        return [line for line in diff.stdout.splitlines() if line]

    def merge_pull(self, repo: str, number: int) -> PullRequest:
        """Merge a local pull request into its base branch (fast-forward when possible) and mark it merged."""
        with transaction(self.sessions) as session:
            row = _pull_row(session, number)
            if row.merged:
                return self._to_port(row)
            base, branch = row.base, row.branch
        base_sha, head_sha = self._rev(f"refs/heads/{base}"), self._rev(f"refs/heads/{branch}")
        if base_sha is None or head_sha is None:
            raise PermanentFailure(f"local pull request #{number}: branch {base} or {branch} is gone")
        merged_sha = self._merge_commit(base, branch, base_sha, head_sha)
        checked_out = self._git("symbolic-ref", "--quiet", "HEAD", ok=(0, 1)).stdout.strip()
        bare = self._git("rev-parse", "--is-bare-repository").stdout.strip() == "true"
        if not bare and checked_out == f"refs/heads/{base}":
            # The base is checked out: move it with the working tree, as `git merge` would.
            self._git("merge", "--ff-only", "--quiet", merged_sha)
        else:
            self._git("update-ref", f"refs/heads/{base}", merged_sha, base_sha)
        with transaction(self.sessions) as session:
            row = _pull_row(session, number)
            row.state, row.merged, row.head_sha, row.updated_at = "closed", True, head_sha, utcnow()
            session.add(row)
            session.flush()
            return self._to_port(row)

    def _merge_commit(self, base: str, branch: str, base_sha: str, head_sha: str) -> str:
        if self._git("merge-base", "--is-ancestor", base_sha, head_sha, ok=(0, 1)).returncode == 0:
            return head_sha
        merged = self._git("merge-tree", "--write-tree", base_sha, head_sha, ok=(0, 1))
        if merged.returncode != 0:
            raise PermanentFailure(f"{branch} does not merge cleanly into {base}; merge it by hand")
        tree = merged.stdout.splitlines()[0].strip()
        return self._git(
            "commit-tree", tree, "-p", base_sha, "-p", head_sha, "-m", f"Merge branch '{branch}' into {base}"
        ).stdout.strip()

    def close_pull(self, repo: str, number: int) -> PullRequest:
        """Close a local pull request without merging it."""
        with transaction(self.sessions) as session:
            row = _pull_row(session, number)
            if not row.merged:
                row.state, row.updated_at = "closed", utcnow()
                session.add(row)
            return self._to_port(row)

    # Files ---------------------------------------------------------------------------------------

    def read_file(self, repo: str, path: str, ref: str) -> str | None:
        """Return a file's text at `ref`, or None when it is missing."""
        spec = f"{ref}:{path.strip('/')}"
        if self._git("cat-file", "-e", spec, ok=(0, 1, 128)).returncode != 0:
            return None
        if self._git("cat-file", "-t", spec).stdout.strip() != "blob":
            return None
        return self._git("show", spec).stdout

    def list_dir(self, repo: str, path: str, ref: str) -> list[str]:
        """Return the files directly inside a folder at `ref`."""
        folder = path.strip("/") + "/"
        listed = self._git("ls-tree", "--full-name", ref, folder, ok=(0, 128))
        files = []
        for line in listed.stdout.splitlines():
            meta, _, name = line.partition("\t")
            if meta.split()[1:2] == ["blob"]:
                files.append(name)
        return sorted(files)

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
        """Keep a commit status in memory and log it."""
        self.statuses.append(LocalStatus(repo, sha, context, state, description, target_url))
        log.info("local status %s %s: %s %s", sha[:10], context, state, description)

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
        """Keep a check run in memory; return its index as id."""
        self.statuses.append(
            LocalStatus(repo, head_sha, name, conclusion or status, title or "", details_url)
        )
        return len(self.statuses)

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
        """Update a check run kept in memory."""
        if not 1 <= check_run_id <= len(self.statuses):
            raise PermanentFailure(f"no local check run {check_run_id}")
        kept = self.statuses[check_run_id - 1]
        kept.state = conclusion or status or kept.state
        kept.description = title or kept.description
        kept.url = details_url or kept.url


def _pull_row(session: Session, number: int) -> LocalPullRequest:
    """Load a local pull request's row, or fail for good when there is none."""
    row = session.get(LocalPullRequest, number)
    if row is None:
        raise PermanentFailure(f"no local pull request #{number}")
    return row


def pull_rows(sessions: SessionFactory) -> list[dict[str, Any]]:
    """Return every local pull request as plain data (for the dashboard)."""
    with reading(sessions) as session:
        rows = session.execute(select(LocalPullRequest).order_by(col(LocalPullRequest.id))).scalars()
        return [row.model_dump() for row in rows]
