"""How a gate enters the preview: the repository's `preview` recipe with the values the operator allowed.

The recipe (`.triagebot/config.yml`, perhaps from a fork) only names environment variables; they are
read once per run through `Settings.preview_secret_values`, which refuses any name missing from
`TRIAGEBOT_PREVIEW_SECRETS` and every `TRIAGEBOT_*` one. The values live here, in memory: `scrub`
takes them back out of anything the gate writes (failure messages, evidence, traces).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from triagebot.drafts.config import PreviewConfig
from triagebot.settings import Settings
from triagebot.spec import FlagRef

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words


class CannotEnter(Exception):
    """The preview cannot be entered as the recipe says (a variable unset, a flag name unusable)."""


@dataclass(frozen=True)
class PreviewAccess:
    """The `preview` recipe of one gate run, and the allowed variables' values (never printed)."""

    config: PreviewConfig = field(default_factory=PreviewConfig)
    values: Mapping[str, str | None] = field(default_factory=dict, repr=False)

    @classmethod
    def resolve(cls, config: PreviewConfig | None, settings: Settings) -> PreviewAccess:
        """Read the variables the recipe names; PreviewSecretRefused names the first one not allowed."""
        config = config or PreviewConfig()
        return cls(config=config, values=settings.preview_secret_values(config.variables))

    def value(self, name: str) -> str:
        """Return a variable's value; CannotEnter when it is unset in the gate's environment."""
        value = self.values.get(name)
        if not value:
            raise CannotEnter(f"{name} is not set in the gate's environment")
        return value

    def headers(self) -> dict[str, str]:
        """Return `preview.headers` with their values; CannotEnter when one is unset."""
        return {header: self.value(name) for header, name in self.config.headers.items()}

    def flag_headers(self, flags: Iterable[FlagRef]) -> dict[str, str]:
        """Return the headers that carry the spec's flags, when the recipe says `header`."""
        return self._carried(flags, "header")

    def flag_cookies(self, flags: Iterable[FlagRef]) -> dict[str, str]:
        """Return the cookies that carry the spec's flags, when the recipe says `cookie`."""
        return {k: quote(v, safe="") for k, v in self._carried(flags, "cookie").items()}

    def flag_storage(self, flags: Iterable[FlagRef]) -> dict[str, str]:
        """Return the localStorage entries that carry the spec's flags, when the recipe says so."""
        return self._carried(flags, "local_storage")

    def flag_query(self, flags: Iterable[FlagRef]) -> list[tuple[str, str]]:
        """Return the query parameters that carry the spec's flags, when the recipe says `query`."""
        return list(self._carried(flags, "query").items())

    def _carried(self, flags: Iterable[FlagRef], kind: str) -> dict[str, str]:
        recipe = self.config.flags
        if recipe is None or recipe.carrier[0] != kind:
            return {}
        carried = recipe.carried(flags)
        for name in carried:
            if not recipe.sendable(name):
                raise CannotEnter(f"a flag cannot be sent as the {kind} {name[:80]!r}")
        return carried

    @property
    def secrets(self) -> list[str]:
        """Return the values read, longest first (so a value containing another is scrubbed whole)."""
        found = {v for v in self.values.values() if v and len(v) >= MIN_SECRET_LENGTH}
        return sorted(found, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """Replace every value read (as is, URL-encoded or JSON-escaped) with `[redacted]`."""
        for secret in self.secrets:
            for form in _forms(secret):
                text = text.replace(form, REDACTED)
        return text

    def scrub_bytes(self, data: bytes) -> bytes:
        """Like `scrub`, for the raw bytes of a file (a trace's members)."""
        for secret in self.secrets:
            for form in _forms(secret):
                data = data.replace(form.encode("utf-8", "surrogatepass"), REDACTED.encode())
        return data

    def scrub_zip(self, path: Path) -> bool:
        """Rewrite a zip (a Playwright trace) with every value read replaced; False if it had to go."""
        if not self.secrets:
            return True
        try:
            with zipfile.ZipFile(path) as source:
                members = [(info, self.scrub_bytes(source.read(info))) for info in source.infolist()]
        except (zipfile.BadZipFile, OSError):
            path.unlink(missing_ok=True)  # what cannot be scrubbed is not kept
            return False
        temporary = path.with_suffix(".scrubbing")
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for info, data in members:
                target.writestr(info, data)
        temporary.replace(path)
        return True


def _forms(secret: str) -> list[str]:
    forms = [secret, quote(secret, safe=""), quote(secret), json.dumps(secret)[1:-1]]
    return list(dict.fromkeys(form for form in forms if form))
