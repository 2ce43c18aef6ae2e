"""Which specs a gate runs for a change: covered path globs, covered routes, and always-run specs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import PurePosixPath

from triagebot.gates.models import SelectedSpec, Selection
from triagebot.spec import Spec

# Folders frameworks map to URL routes (Next.js pages/app, SvelteKit/Remix routes, Nuxt pages, ...).
ROUTE_ROOTS = ("src/pages", "src/app", "src/routes", "app/routes", "pages", "app", "routes")
# File names that stand for their folder's route rather than adding a segment.
ROUTE_INDEX_FILES = {
    "index",
    "page",
    "route",
    "+page",
    "+page.server",
    "+server",
    "layout",
    "+layout",
    "_index",
}


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a repo path glob: `**` spans folders, `*` and `?` stay within one."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def path_glob_matches(pattern: str, path: str) -> bool:
    """Say whether a repo-relative path matches a glob (a pattern ending in `/` covers its folder)."""
    pattern, path = _repo_relative(pattern), _repo_relative(path)
    if pattern.endswith("/"):
        pattern += "**"
    return bool(_glob_regex(pattern).match(path))


def _repo_relative(path: str) -> str:
    return path.strip().removeprefix("./").lstrip("/")


def route_of_file(path: str) -> str | None:
    """Guess the URL route a source file serves by framework convention (`app/cart/page.tsx` -> `/cart`)."""
    clean = _repo_relative(path)
    for root in ROUTE_ROOTS:
        if clean.startswith(root + "/"):
            rest = PurePosixPath(clean[len(root) + 1 :])
            break
    else:
        return None
    # Remix flat routes put segments in the file name (`orders.$id.tsx`); others use one name per segment.
    stem = rest.name.rsplit(".", 1)[0]
    names = stem.split(".") if root == "app/routes" else [stem.split(".", 1)[0] if stem[:1] != "+" else stem]
    parts = [part for part in rest.parent.parts if not (part.startswith("(") and part.endswith(")"))]
    parts += [name for name in names if name not in ROUTE_INDEX_FILES]
    return "/" + "/".join(parts)


def _segments(route: str) -> list[str]:
    return [part for part in route.split("?", 1)[0].split("/") if part]


def _dynamic(segment: str) -> bool:
    return segment.startswith((":", "[", "$")) or segment in ("*", "_")


def route_matches(covered: str, file_route: str) -> bool:
    """Say whether a covered route (`/orders/42`) is served by a file's route (`/orders/[id]`)."""
    wanted, served = _segments(covered), _segments(file_route)
    if served and served[-1].startswith(("[...", "[[...", "$")) and len(wanted) >= len(served) - 1:
        served, wanted = served[:-1], wanted[: len(served) - 1]  # catch-all segment
    if len(wanted) != len(served):
        return False
    return all(s == w or _dynamic(s) or _dynamic(w) for w, s in zip(wanted, served, strict=True))


def reasons_for(spec: Spec, changed_files: Sequence[str]) -> list[str]:
    """Say why a spec is relevant to the changed files (empty: it is not)."""
    reasons = ["always runs"] if spec.always_run else []
    if any(PurePosixPath(path).name in (f"{spec.id}.yml", f"{spec.id}.yaml") for path in changed_files):
        reasons.append("its spec file changed")
    for pattern in spec.covers.paths:
        hits = [path for path in changed_files if path_glob_matches(pattern, path)]
        if hits:
            reasons.append(f"covers {pattern} ({_some(hits)})")
    for route in spec.covers.routes:
        hits = [path for path in changed_files if (r := route_of_file(path)) and route_matches(route, r)]
        if hits:
            reasons.append(f"covers route {route} ({_some(hits)})")
    return reasons


def _some(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def select_specs(specs: Sequence[Spec], changed_files: Sequence[str] | None) -> tuple[list[Spec], Selection]:
    """Pick the specs to run and say why; every spec runs when the changed files are unknown."""
    if changed_files is None:
        chosen = [SelectedSpec(spec_id=spec.id, reasons=["changed files unknown"]) for spec in specs]
        return list(specs), Selection(changed_files=None, selected=chosen)
    files = [path for path in changed_files if path.strip()]
    kept: list[Spec] = []
    chosen, skipped = [], []
    for spec in specs:
        reasons = reasons_for(spec, files)
        if reasons:
            kept.append(spec)
            chosen.append(SelectedSpec(spec_id=spec.id, reasons=reasons))
        else:
            skipped.append(spec.id)
    return kept, Selection(changed_files=files, selected=chosen, skipped=skipped)
