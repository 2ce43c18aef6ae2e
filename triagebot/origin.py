"""The preview's origin: which hosts a gate may browse, and URLs that cannot leave the origin."""

from __future__ import annotations

from urllib.parse import urlsplit

from triagebot.errors import BadInput, RefusedHost
from triagebot.settings import Settings

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """Return `scheme://host[:port]` for an http(s) URL, or None for any other URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def preview_origin(base_url: str, settings: Settings) -> str:
    """Check a preview base URL and return its origin; RefusedHost when the host is not allowed."""
    parts = urlsplit(base_url.strip())
    origin = origin_of(base_url.strip())
    if origin is None:
        raise BadInput(f"base URL {base_url!r} must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise BadInput("base URL must not carry credentials")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadInput(f"base URL {base_url!r} must be an origin (spec paths are relative to it)")
    host = parts.hostname or ""
    if not settings.preview_host_allowed(host):
        allowed = ", ".join(settings.preview_hosts) or "(none)"
        raise RefusedHost(
            f"host {host!r} is not an allowed preview host (TRIAGEBOT_PREVIEW_HOSTS: {allowed})"
        )
    return origin


def url_on_origin(origin: str, path: str) -> str:
    """Join an origin-relative path to the origin, refusing anything that would land elsewhere.

    The schema already insists on a leading single `/`; this is the second lock. The URL is built by
    concatenation (never `urljoin`, which would honour `//host`), then parsed back and its origin
    compared, so `@evil.com`, `/\\evil.com` or control characters cannot move the authority.
    """
    if not path.startswith("/") or "\\" in path or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in path):
        raise BadInput(f"path {path!r} is not a plain origin-relative path")
    url = origin + path
    if origin_of(url) != origin:
        raise BadInput(f"path {path!r} would leave the preview origin")
    return url


def path_matches(url: str, origin: str, expected: str) -> bool:
    """Say whether `url` is on `origin` at `expected` (query compared only when `expected` has one)."""
    if origin_of(url) != origin:
        return False
    actual, wanted = urlsplit(url), urlsplit(expected)
    if actual.path.rstrip("/") != wanted.path.rstrip("/"):
        return False
    return not wanted.query or actual.query == wanted.query
