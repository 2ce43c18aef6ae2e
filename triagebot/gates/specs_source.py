"""Reading the specs a commit carries (`.triagebot/tests/*.yml` at the PR's head) through the code host.

A spec that does not validate is kept as an error for that file, not raised: one broken spec (perhaps
from a fork) must not stop the others from gating the PR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import yaml

from triagebot.drafts.config import CONFIG_PATH, PreviewConfig, parse_preview_config
from triagebot.errors import BadInput, SpecError
from triagebot.spec import Spec, parse_spec

SPEC_DIR = ".triagebot/tests"
SPEC_SUFFIXES = (".yml", ".yaml")
MAX_SPEC_BYTES = 256_000
MAX_SPECS = 500


class SpecFiles(Protocol):
    """What reading specs needs from a code host (GitHub, or the local repository)."""

    def read_file(self, repo: str, path: str, ref: str) -> str | None: ...

    def list_dir(self, repo: str, path: str, ref: str) -> list[str]: ...


@dataclass
class LoadedSpecs:
    """The valid specs of a commit, and each invalid file with what is wrong with it."""

    specs: list[Spec] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, message naming the field)
    preview: PreviewConfig | None = None  # `.triagebot/config.yml`'s sign-in, flags and headers recipe


def parse_spec_text(text: str, file: str) -> Spec:
    """Parse one spec file's text, raising SpecError naming the file and the field."""
    if len(text.encode("utf-8", "replace")) > MAX_SPEC_BYTES:
        raise SpecError(file, "(file)", f"larger than {MAX_SPEC_BYTES} bytes")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(file, "(yaml)", f"not valid YAML: {exc}") from None
    return parse_spec(data, file=file)


def load_at(host: SpecFiles, repo: str, sha: str) -> LoadedSpecs:
    """Read and validate every spec file at commit `sha` (code host errors propagate for retrying)."""
    paths = sorted(path for path in host.list_dir(repo, SPEC_DIR, sha) if path.endswith(SPEC_SUFFIXES))
    loaded = LoadedSpecs()
    seen: dict[str, str] = {}
    for path in paths[:MAX_SPECS]:
        text = host.read_file(repo, path, sha)
        if text is None:
            continue  # listed, then gone: nothing to run
        try:
            spec = parse_spec_text(text, path)
        except SpecError as exc:
            loaded.errors.append((path, str(exc)))
            continue
        if spec.id in seen:
            loaded.errors.append((path, f"{path}: id: {spec.id!r} is already used by {seen[spec.id]}"))
            continue
        seen[spec.id] = path
        loaded.specs.append(spec)
    try:
        loaded.preview = parse_preview_config(host.read_file(repo, CONFIG_PATH, sha), source=CONFIG_PATH)
    except BadInput as exc:
        loaded.errors.append((CONFIG_PATH, str(exc)))
    if len(paths) > MAX_SPECS:
        loaded.errors.append((SPEC_DIR, f"{SPEC_DIR}: more than {MAX_SPECS} specs; the rest were not read"))
    return loaded
