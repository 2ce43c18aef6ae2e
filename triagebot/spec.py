"""The regression spec (`.triagebot/tests/<id>.yml`): a versioned schema, validated on load.

The spec is what the gate runs; the rendered Playwright test is derived from it for people and
their own CI. Every path in a spec is relative to the preview's origin: a spec can never name a
host, a scheme or a file, so a spec from a fork cannot steer the gate's browser elsewhere.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from triagebot.errors import SpecError

# Version 2 added `sign_in`, the `press`, `select` and `check` steps and `fill.source`; version 1
# specs load and run unchanged, and a spec is written with the lowest version that can hold it.
SUPPORTED_VERSIONS = (1, 2)
SPEC_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


def relative_path(value: str) -> str:
    """Accept only an origin-relative path such as `/checkout?step=2`."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        raise ValueError("must be a path on the preview starting with a single '/'")
    if any(ord(ch) < 0x20 for ch in value):
        raise ValueError("must not contain control characters")
    return value


RelPath = Annotated[str, Field(min_length=1, max_length=2048)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Locator(_Model):
    """How to find an element, best strategy first; `weak` when it may not survive a redesign."""

    strategy: Literal["testid", "role", "label", "placeholder", "text", "name", "css"]
    value: str = Field(min_length=1, max_length=1024)
    name: str | None = Field(default=None, max_length=1024)  # accessible name for `role`
    attribute: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$")  # test-id attribute
    weak: bool = False
    source: str | None = Field(default=None, max_length=2048)  # the breadcrumb selector it came from


class Goto(_Model):
    action: Literal["goto"] = "goto"
    path: RelPath

    _check = field_validator("path")(classmethod(lambda cls, v: relative_path(v)))


class Click(_Model):
    action: Literal["click"] = "click"
    locator: Locator


class Fill(_Model):
    """Type `value` into a field (replacing what it holds)."""

    action: Literal["fill"] = "fill"
    locator: Locator
    value: str = Field(max_length=4096)
    synthetic: bool = True  # events never carry typed values; this one was made up
    # Schema 2: where a non-synthetic value was read, e.g. "GET /api/search" (the request that carried it).
    source: str | None = Field(default=None, max_length=2048)


class Press(_Model):
    """Schema 2: press `key` in the element, e.g. Enter to submit a search form that has no button."""

    action: Literal["press"] = "press"
    locator: Locator
    key: Literal["Enter", "Tab", "Escape", "Space", "ArrowDown", "ArrowUp"] = "Enter"


class Select(_Model):
    """Schema 2: choose the `<select>` option whose value is `value`; no value: the first non-empty one."""

    action: Literal["select"] = "select"
    locator: Locator
    value: str | None = Field(default=None, max_length=4096)
    # Where the value was read, e.g. "POST /api/shipping"; None when it is the first non-empty option.
    source: str | None = Field(default=None, max_length=2048)


class Check(_Model):
    """Schema 2: tick a checkbox or radio button (`checked: false` unticks a checkbox)."""

    action: Literal["check"] = "check"
    locator: Locator
    checked: bool = True


class ExpectUrl(_Model):
    action: Literal["expect_url"] = "expect_url"
    path: RelPath

    _check = field_validator("path")(classmethod(lambda cls, v: relative_path(v)))


class Request(_Model):
    """Replay an HTTP request against the preview and require a non-5xx answer."""

    action: Literal["request"] = "request"
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    path: RelPath
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(default=None, max_length=1_000_000)

    _check = field_validator("path")(classmethod(lambda cls, v: relative_path(v)))


Step = Annotated[
    Goto | Click | Fill | Press | Select | Check | ExpectUrl | Request, Field(discriminator="action")
]
V2_STEPS = (Press, Select, Check)


class ExceptionInfo(_Model):
    type: str | None = Field(default=None, max_length=512)
    value: str | None = Field(default=None, max_length=8192)


class IssueRef(_Model):
    """What the Sentry issue was."""

    id: str = Field(min_length=1, max_length=64)
    short_id: str | None = Field(default=None, max_length=128)
    link: str | None = Field(default=None, max_length=2048)
    title: str | None = Field(default=None, max_length=8192)
    culprit: str | None = Field(default=None, max_length=8192)
    exception: ExceptionInfo = Field(default_factory=ExceptionInfo)
    release: str | None = Field(default=None, max_length=512)
    platform: str | None = Field(default=None, max_length=64)


class Covers(_Model):
    """What the test covers, for selecting it when a PR changes these routes or files."""

    routes: list[RelPath] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)  # source path globs, repo-relative


class FlagRef(_Model):
    """A feature flag as the event recorded it; the gate sets it (as `preview.flags` says) before `start`."""

    key: str = Field(min_length=1, max_length=256)
    value: bool | str | int | float | None = None


class Setup(_Model):
    """Optional data setup: signed `up`/`down` calls to the preview's own setup endpoint."""

    path: RelPath = "/__triagebot/setup"
    fixture: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.:-]+$")
    data: dict[str, Any] = Field(default_factory=dict)

    _check = field_validator("path")(classmethod(lambda cls, v: relative_path(v)))


class PageError(_Model):
    """An uncaught page error that must not happen: the Sentry exception's type and message."""

    type: str | None = Field(default=None, max_length=512)
    message: str | None = Field(default=None, max_length=8192)


class Assertions(_Model):
    page_error: PageError | None = None  # must not be thrown
    no_server_errors: bool = True  # no 5xx from the preview's origin
    text_absent: list[Annotated[str, Field(min_length=1, max_length=8192)]] = Field(default_factory=list)


class Verification(_Model):
    """Whether the draft, run against a build with the bug, failed with the Sentry issue's own error."""

    result: Literal["reproduced", "not_reproduced", "error"]
    base_url: str = Field(min_length=1, max_length=2048)  # the origin it ran against
    at: str = Field(min_length=1, max_length=64)  # ISO 8601, UTC
    detail: str = Field(default="", max_length=4096)

    @field_validator("at", mode="before")
    @classmethod
    def _iso(cls, value: object) -> object:
        # YAML reads an unquoted timestamp as a datetime; keep the text form either way.
        return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value


class Spec(_Model):
    """One regression test, as committed to `.triagebot/tests/<id>.yml`."""

    version: Literal[1, 2] = 1  # when left out: the lowest version that holds the fields given
    id: str = Field(pattern=SPEC_ID.pattern)
    kind: Literal["browser", "http"] = "browser"
    issue: IssueRef
    covers: Covers = Field(default_factory=Covers)
    flags: list[FlagRef] = Field(default_factory=list)
    always_run: bool = False
    # Schema 2: sign in first, with the recipe in the repository's `.triagebot/config.yml`
    # (`preview.login`); the values come from the gate's environment, never from the spec.
    sign_in: bool = False
    setup: Setup | None = None
    start: RelPath | None = None  # first page; required for browser specs
    steps: list[Step] = Field(default_factory=list)
    assertions: Assertions = Field(default_factory=Assertions)
    notes: list[str] = Field(default_factory=list)  # what is uncertain: weak locators, synthetic inputs
    verification: Verification | None = None  # optional: older specs and unverified drafts have none

    _check = field_validator("start")(classmethod(lambda cls, v: v if v is None else relative_path(v)))

    @model_validator(mode="before")
    @classmethod
    def _default_version(cls, data: Any) -> Any:
        if isinstance(data, dict) and "version" not in data and _uses_v2(data):
            return {**data, "version": 2}
        return data

    @model_validator(mode="after")
    def _version_holds_fields(self) -> Spec:
        if self.version < required_version(self):
            raise ValueError("uses sign_in, press, select, check or fill.source, which need version: 2")
        return self


def loaded_before(spec: Spec) -> frozenset[int]:
    """The steps that act on a page just arrived at (the start, a goto, an awaited URL change).

    A page that renders its controls before its script wires them up (hydration, handlers attached
    once `/api/me` answers) ignores a click that comes too soon; before these steps the gate and the
    rendered tests wait until the page's own work is done.
    """
    arrived, found = spec.start is not None, set()
    for index, step in enumerate(spec.steps):
        if isinstance(step, Goto | ExpectUrl):
            arrived = True
        elif isinstance(step, Click | Fill | Press | Select | Check):
            if arrived:
                found.add(index)
            arrived = False
    return frozenset(found)


def _uses_v2(data: dict[str, Any]) -> bool:
    """Tell from raw spec data (dicts or models) whether it needs schema version 2."""

    def get(item: Any, key: str) -> Any:
        return item.get(key) if isinstance(item, dict) else getattr(item, key, None)

    steps = data.get("steps") or []
    return bool(data.get("sign_in")) or any(
        get(step, "action") in ("press", "select", "check")
        or (get(step, "action") == "fill" and get(step, "source") is not None)
        for step in steps
        if isinstance(steps, list | tuple)
    )


def required_version(spec: Spec) -> int:
    """Return the lowest schema version that can hold this spec (1 unless it uses a version 2 field)."""
    uses_v2 = spec.sign_in or any(
        isinstance(step, V2_STEPS) or (isinstance(step, Fill) and step.source is not None)
        for step in spec.steps
    )
    return 2 if uses_v2 else 1


def _field_path(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def parse_spec(data: object, *, file: str = "<spec>") -> Spec:
    """Validate already-parsed spec data, raising SpecError naming the file and the field."""
    if not isinstance(data, dict):
        raise SpecError(file, "(top level)", "a spec must be a mapping")
    version = data.get("version")
    if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
        expected = " or ".join(str(v) for v in SUPPORTED_VERSIONS)
        raise SpecError(file, "version", f"unsupported schema version {version!r}; expected {expected}")
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SpecError(file, _field_path(first), first["msg"]) from None
    if spec.kind == "browser" and spec.start is None:
        raise SpecError(file, "start", "a browser spec needs a start path")
    return spec


def load_spec(path: Path) -> Spec:
    """Read and validate one spec file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(str(path), "(yaml)", f"not valid YAML: {exc}") from None
    except OSError as exc:
        raise SpecError(str(path), "(file)", f"cannot be read: {exc.strerror}") from None
    return parse_spec(data, file=str(path))


def load_specs(folder: Path) -> list[Spec]:
    """Read every `*.yml`/`*.yaml` spec in a folder, sorted by file name."""
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    return [load_spec(path) for path in files]


def dump_spec(spec: Spec) -> str:
    """Serialise a spec as YAML, in schema field order, with no Python-specific tags."""
    data = spec.model_dump(mode="json", exclude_none=True)
    if not data.get("sign_in"):
        data.pop("sign_in", None)  # version 1 has no such field
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=100)
