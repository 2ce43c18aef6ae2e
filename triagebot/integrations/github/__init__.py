"""GitHub: a thin REST client (the CodeHost port), PAT and GitHub App auth, and webhook payload parsing."""

from triagebot.integrations.github.auth import AppAuth, TokenAuth
from triagebot.integrations.github.client import API_VERSION, GitHubClient

__all__ = ["API_VERSION", "AppAuth", "GitHubClient", "TokenAuth"]
