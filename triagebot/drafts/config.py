"""The app repo's `.triagebot/config.yml`: how drafts are laid out and how the preview is entered.

```yaml
drafts:
  format: ts                 # ts (@playwright/test) or python (pytest-playwright)
  dir: e2e/regressions       # repo-relative folder for rendered tests
  test_id_attribute: data-testid
preview:
  login:                     # how a spec with `sign_in: true` signs in, before its start page
    url: /login
    fields:                  # selector -> NAME of the environment variable holding the value
      "#email": E2E_USER
      "#password": E2E_PASSWORD
    submit: "button[type=submit]"
    success_url: /account    # optional: where a successful sign-in lands
    # or, for apps that sign in with a POST that sets a cookie:
    # request: {method: POST, path: /api/login, json: {email: E2E_USER, password: E2E_PASSWORD}}
  flags:                     # how the app is told a flag's value: exactly one of
    cookie: "flag_{name}"    #   local_storage: "flags.{name}", query: "ff_{name}", header: "X-Flag-{name}"
  headers:                   # sent with every request to the preview's origin, and nowhere else
    x-vercel-protection-bypass: VERCEL_AUTOMATION_BYPASS_SECRET
verify:
  base_url: https://staging.example.com   # where drafts are verified when no default-branch preview is known
```
The file may come from a fork, so it only ever *names* environment variables; which of them the gate
may read is the operator's choice (`TRIAGEBOT_PREVIEW_SECRETS`), checked where they are read.
Other sections are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from triagebot.errors import BadInput
from triagebot.spec import FlagRef, relative_path

CONFIG_PATH = ".triagebot/config.yml"
# RFC 9110 token characters: a cookie or header name made of anything else cannot be sent.
TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$")
SPEC_DIR = ".triagebot/tests"

Format = Literal["ts", "python"]


class DraftConfig(BaseModel):
    """How drafts are laid out in the app repository."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    format: Format = "ts"
    dir: str = "e2e/regressions"
    test_id_attribute: str = Field(default="data-testid", pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$")

    @field_validator("dir")
    @classmethod
    def _inside_repo(cls, value: str) -> str:
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts or "\\" in value or not value.strip():
            raise ValueError("must be a folder inside the repository, such as e2e/regressions")
        return str(path)


# The name of an environment variable: never a value, never an expression.
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
# An origin-relative path, as in specs: the recipe can never point the gate at another host.
PreviewPath = Annotated[str, Field(max_length=2048), AfterValidator(relative_path)]
Selector = Annotated[str, Field(min_length=1, max_length=1024)]
HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$")]
# Headers that would change where or how a request goes, or that the browser manages itself.
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "upgrade", "proxy-authorization", "cookie"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginRequest(_Strict):
    """Sign in with one HTTP call whose JSON body's values are read from environment variables."""

    method: Literal["POST", "PUT"] = "POST"
    path: PreviewPath
    json_fields: dict[Annotated[str, Field(min_length=1, max_length=256)], EnvName] = Field(alias="json")


class Login(_Strict):
    """A sign-in recipe: a form (`url`, `fields`, `submit`) or an API call (`request`)."""

    url: PreviewPath | None = None
    fields: dict[Selector, EnvName] = Field(default_factory=dict)  # selector -> variable NAME
    submit: Selector | None = None  # none: Enter in the last field
    success_url: PreviewPath | None = None
    request: LoginRequest | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Login:
        if self.request is not None and (self.url or self.fields or self.submit):
            raise ValueError("give either a form (url, fields, submit) or a request, not both")
        if self.request is None and not (self.url and self.fields):
            raise ValueError("a sign-in form needs url and fields (or give a request instead)")
        return self

    @property
    def variables(self) -> list[str]:
        """Name every environment variable the recipe reads."""
        return list(self.request.json_fields.values()) if self.request else list(self.fields.values())


class FlagRecipe(_Strict):
    """How the app under test reads a flag: one of cookie, local_storage, query or header, with `{name}`."""

    cookie: str | None = Field(default=None, max_length=256)
    local_storage: str | None = Field(default=None, max_length=256)
    query: str | None = Field(default=None, max_length=256)
    header: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _exactly_one(self) -> FlagRecipe:
        given = [(k, v) for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of cookie, local_storage, query or header")
        if "{name}" not in given[0][1]:
            raise ValueError(f"{given[0][0]} must contain {{name}}, where the flag's name goes")
        return self

    @property
    def carrier(self) -> tuple[Literal["cookie", "local_storage", "query", "header"], str]:
        """Return (where the flag goes, the pattern its name is put into)."""
        for kind in ("cookie", "local_storage", "query", "header"):
            pattern = getattr(self, kind)
            if pattern is not None:
                return kind, pattern
        raise AssertionError("validated to hold one")

    def name_for(self, flag: str) -> str:
        """Return the cookie, storage key, query parameter or header name that carries `flag`."""
        return self.carrier[1].replace("{name}", flag)

    def carried(self, flags: Iterable[FlagRef]) -> dict[str, str]:
        """Map each carrier name to the value it carries: `true`/`false`, numbers and strings as they are.

        A flag Sentry saw unevaluated is left out, so the app's default stands. Gate and rendered test
        both set exactly these.
        """
        found: dict[str, str] = {}
        for flag in flags:
            value = flag.value
            if value is not None:
                found[self.name_for(flag.key)] = str(value).lower() if isinstance(value, bool) else str(value)
        return found

    def sendable(self, name: str) -> bool:
        """Say whether a carrier name can be sent: a cookie or header name must be an RFC 9110 token."""
        return self.carrier[0] not in ("cookie", "header") or TOKEN.match(name) is not None


class PreviewConfig(BaseModel):
    """How the gate and rendered tests enter the preview: sign-in, flags and extra headers."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    login: Login | None = None
    flags: FlagRecipe | None = None
    headers: dict[HeaderName, EnvName] = Field(default_factory=dict)  # header -> variable NAME

    @field_validator("headers")
    @classmethod
    def _not_reserved(cls, value: dict[str, str]) -> dict[str, str]:
        for header in value:
            if header.lower() in RESERVED_HEADERS:
                raise ValueError(f"{header} cannot be set this way")
        return value

    @property
    def variables(self) -> list[str]:
        """Name every environment variable this configuration reads, in file order."""
        names = [*(self.login.variables if self.login else []), *self.headers.values()]
        return list(dict.fromkeys(names))


Section = TypeVar("Section", DraftConfig, PreviewConfig)


def _read(repo_root: Path | None) -> tuple[str | None, str]:
    if repo_root is None:
        return None, CONFIG_PATH
    path = repo_root / CONFIG_PATH
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        return None, str(path)
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read: {exc.strerror}") from None


@dataclass(frozen=True)
class RepoConfig:
    """Everything a draft reads from `.triagebot/config.yml`, from one read of the file."""

    drafts: DraftConfig
    preview: PreviewConfig
    verify_base_url: str | None  # `verify.base_url`: where to verify when no default-branch preview is known


def load_repo_config(repo_root: Path | None) -> RepoConfig:
    """Read `.triagebot/config.yml` under the repo root; defaults when it is absent."""
    text, source = _read(repo_root)
    return parse_repo_config(text, source=source)


def parse_repo_config(text: str | None, *, source: str = CONFIG_PATH) -> RepoConfig:
    """Read a config file's text: BadInput names the file and field of the first problem."""
    data = _yaml(text, source)
    return RepoConfig(
        drafts=_section(data, "drafts", DraftConfig, source),
        preview=_section(data, "preview", PreviewConfig, source),
        verify_base_url=_verify_base_url(data),
    )


def parse_preview_config(text: str | None, *, source: str = CONFIG_PATH) -> PreviewConfig:
    """Read the `preview` section of a config file's text (empty when absent); errors name `source`."""
    return _section(_yaml(text, source), "preview", PreviewConfig, source)


def _yaml(text: str | None, source: str) -> Any:
    try:
        return None if text is None else yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput(f"{source}: cannot be read as YAML: {exc}") from None


def _verify_base_url(data: Any) -> str | None:
    # Lenient: a URL that is missing or not text names no target, and the verdict says none was found.
    section = data.get("verify") if isinstance(data, dict) else None
    url = section.get("base_url") if isinstance(section, dict) else None
    return url.strip() if isinstance(url, str) and url.strip() else None


def _section(data: Any, name: str, model: type[Section], source: str) -> Section:
    section = data.get(name) if isinstance(data, dict) else None
    if section is None:
        return model()
    if not isinstance(section, dict):
        raise BadInput(f"{source}: {name}: must be a mapping")
    try:
        return model.model_validate(section)
    except ValidationError as exc:
        problem: ErrorDetails = exc.errors()[0]
        field = ".".join(str(part) for part in (name, *problem["loc"]))
        # The message names the field; the offending value (perhaps a pasted secret) is not echoed.
        raise BadInput(f"{source}: {field}: {problem['msg']}") from None
