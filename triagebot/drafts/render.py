"""Render a spec as a Playwright test: TypeScript `@playwright/test` or pytest-playwright.

Event text is attacker-controlled, so it reaches generated code only as string literals made by
the filters below, which stay valid and inert for any input (quotes, backticks, `${...}`,
backslashes, newlines, `</script>`, U+2028/U+2029, NUL, lone surrogates). The templates put no
event text in comments.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2

from triagebot.drafts.config import DraftConfig, Format, Login, PreviewConfig
from triagebot.drafts.locators import css_string
from triagebot.spec import ExpectUrl, Goto, Locator, Spec, loaded_before

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TEMPLATE_FOR: dict[str, str] = {"ts": "tests/playwright.spec.ts.j2", "python": "tests/test_playwright.py.j2"}
# Characters that are fine in a JSON string but end a <script> block or a JS line in older engines.
TS_EXTRA_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
TEST_NAME_MAX = 150
FUNCTION_ID_MAX = 60  # keeps `def test_regression_<id>(` within the line length
PY_LINE = 88  # pycodestyle's and ruff's default line length
PY_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def ts_str(value: str) -> str:
    """Return a double-quoted TypeScript string literal that evaluates to exactly `value`."""
    if not isinstance(value, str):
        raise TypeError(f"ts_str needs a str, got {type(value).__name__}")
    return _ts_escape(json.dumps(value, ensure_ascii=True))


def ts_value(value: Any) -> str:
    """Return a TypeScript literal for JSON-like data (None, bools, numbers, strings, lists, dicts)."""
    return _ts_escape(json.dumps(_finite(value), ensure_ascii=True, allow_nan=False))


def _ts_escape(literal: str) -> str:
    # ensure_ascii already escaped U+2028/9; `<`, `>` and `&` are escaped so no `</script>` survives.
    return re.sub("[<>&\u2028\u2029]", lambda m: TS_EXTRA_ESCAPES[m.group(0)], literal)


def py_str(value: str) -> str:
    """Return a pure-ASCII Python string literal that evaluates to exactly `value`."""
    if not isinstance(value, str):
        raise TypeError(f"py_str needs a str, got {type(value).__name__}")
    return '"' + "".join(_py_char(ch) for ch in value) + '"'


def _py_char(ch: str) -> str:
    if ch in PY_ESCAPES:
        return PY_ESCAPES[ch]
    code = ord(ch)
    if 0x20 <= code < 0x7F:
        return ch
    # Everything else, lone surrogates included, as a numeric escape: the file stays pure ASCII.
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def py_wrap(value: str, indent: int, room: int, *, paren: bool = False) -> str:
    """Return py_str(value), or adjacent literals on lines at `indent` + 4 when longer than `room`.

    Generated Python keeps to pycodestyle's default 88 columns, which a long literal from an event
    would pass; adjacent literals are one string to Python. `paren` wraps them for use outside
    brackets.
    """
    literal = py_str(value)
    if len(literal) <= room:
        return literal
    pad = " " * (indent + 4)
    inner = "".join(f"{pad}{chunk}\n" for chunk in _py_chunks(value, PY_LINE - len(pad)))
    return ("(" if paren else "") + "\n" + inner + " " * indent + (")" if paren else "")


def py_arg(value: str, indent: int, keyword: str = "") -> str:
    """Return one call argument (`keyword=` optional) starting at `indent`, continued there if long."""
    prefix = f"{keyword}=" if keyword else ""
    literal = py_str(value)
    if indent + len(prefix) + len(literal) + 1 <= PY_LINE:
        return prefix + literal
    chunks = _py_chunks(value, PY_LINE - indent - len(prefix) - 1)
    return prefix + ("\n" + " " * (indent + len(prefix))).join(chunks)


def py_chain(calls: list[tuple[str, list[str]]], indent: int, tail: int = 0) -> str:
    """Lay out `a(x).b(y)` from rendered arguments: on one line when it fits, else one argument a line.

    `tail` counts the characters that follow on the line (a comma).
    """
    inline = "".join(f"{name}({', '.join(args)})" for name, args in calls)
    if indent + len(inline) + tail <= PY_LINE and "\n" not in inline:
        return inline
    pad = " " * (indent + 4)
    return "".join(
        f"{name}(\n" + "".join(f"{pad}{arg},\n" for arg in args) + " " * indent + ")" if args else f"{name}()"
        for name, args in calls
    )


def py_pair(key: str, value: str, indent: int) -> str:
    """Lay out a dict item `key: value` (rendered, value for `indent` + 4) on one line, or two."""
    if "\n" not in key + value and indent + len(key) + 2 + len(value) + 1 <= PY_LINE:
        return f"{key}: {value}"
    return f"{key}:\n{' ' * (indent + 4)}{value}"


def py_locator(locator: Locator, indent: int) -> tuple[str, list[str]]:
    """Return the pytest-playwright call that finds a spec locator, as (callee, rendered arguments)."""
    at = indent + 4
    if locator.strategy == "testid" and (locator.attribute or "data-testid") == "data-testid":
        return "page.get_by_test_id", [py_arg(locator.value, at)]
    if locator.strategy == "role":
        name = [py_arg(locator.name, at, "name")] if locator.name else []
        return "page.get_by_role", [py_arg(locator.value, at), *name]
    if locator.strategy in ("label", "placeholder", "text"):
        return f"page.get_by_{locator.strategy}", [py_arg(locator.value, at)]
    return "page.locator", [py_arg(css_selector(locator), at)]


def _py_chunks(value: str, width: int) -> list[str]:
    """Split `value` into literals of at most `width` characters each (at least one character)."""
    chunks, current, size = [], "", 2
    for ch in value:
        grow = len(_py_char(ch))
        if current and size + grow > width:
            chunks.append(py_str(current))
            current, size = "", 2
        current += ch
        size += grow
    chunks.append(py_str(current))
    return chunks


def py_value(value: Any) -> str:
    """Return a Python literal for JSON-like data, every string made by py_str."""
    value = _finite(value)
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_str(str(k))}: {py_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"py_value cannot write a {type(value).__name__}")


def _finite(value: Any) -> Any:
    """Replace NaN and infinities, which neither JSON nor a Python literal can spell, with None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def css_selector(locator: Locator) -> str:
    """Return the CSS selector for a locator found by CSS, forced to Playwright's CSS engine."""
    if locator.strategy == "testid":
        return f"css=[{locator.attribute or 'data-testid'}={css_string(locator.value)}]"
    if locator.strategy == "name":
        return f"css=[name={css_string(locator.value)}]"
    # A `css=` prefix keeps a spec from choosing another selector engine (xpath=, text=, ...).
    return f"css={locator.value}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Build the one jinja2 Environment for generated code: strict, no HTML autoescaping."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # the output is code; the filters do the escaping for its language
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        ts_str=ts_str,
        ts_value=ts_value,
        py_str=py_str,
        py_value=py_value,
        css_selector=css_selector,
        url_pathname=url_pathname,
        url_pattern=url_pattern,
    )
    env.globals.update(
        py_pair=py_pair,
        py_chain=py_chain,
        py_locator=py_locator,
        py_arg=py_arg,
        py_wrap=py_wrap,
    )
    return env


def test_path(spec: Spec, fmt: Format, config: DraftConfig) -> str:
    """Return the repo-relative path of the rendered test: `<dir>/<id>.spec.ts` or `<dir>/test_<id>.py`."""
    if fmt == "python":
        return f"{config.dir}/test_{_identifier(spec.id)}.py"
    return f"{config.dir}/{spec.id}.spec.ts"


def render_test(
    spec: Spec,
    fmt: Format | None = None,
    *,
    config: DraftConfig | None = None,
    preview: PreviewConfig | None = None,
) -> tuple[str, str]:
    """Render the spec's test; return (repo-relative path, source text).

    `preview` is the repository's `preview` section: how the test signs in (for `sign_in` specs),
    sends the preview's headers and sets the spec's flags, as the gate does.
    """
    config = config or DraftConfig()
    chosen: Format = fmt or config.format
    if chosen not in TEMPLATE_FOR:
        raise ValueError(f"unknown test format {chosen!r}; expected ts or python")
    template = environment().get_template(TEMPLATE_FOR[chosen])
    pathname = final_pathname(spec)
    entry = preview_entry(spec, preview or PreviewConfig())
    text = template.render(
        spec=spec,
        entry=entry,
        test_name=_test_name(spec),
        function_name=f"test_regression_{_identifier(spec.id)[:FUNCTION_ID_MAX]}",
        annotations=sentry_annotations(spec),
        final_pathname=pathname,
        final_url_pattern=url_pattern(pathname),
        loaded_before=loaded_before(spec),
    )
    return test_path(spec, chosen, config), text


@dataclass(frozen=True)
class PreviewEntry:
    """How the rendered test enters the preview, from `.triagebot/config.yml` and the spec's flags.

    Secrets appear only as environment variable names; flag names and values are event text.
    """

    login: Login | None  # only when the spec signs in and the repository says how
    headers: list[tuple[str, str]]  # header -> environment variable NAME (preview.headers)
    flag_headers: list[tuple[str, str]]  # header -> value
    flag_cookies: list[tuple[str, str]]  # cookie -> URL-encoded value
    flag_storage: list[tuple[str, str]]  # localStorage key -> value
    flag_query: list[tuple[str, str]]  # query parameter -> value, added to every page opened

    @property
    def routes(self) -> bool:
        """Say whether requests to the app need headers added."""
        return bool(self.headers or self.flag_headers)

    @property
    def before_first_page(self) -> bool:
        """Say whether anything must be set up before the first page opens."""
        return bool(self.routes or self.flag_cookies or self.flag_storage)

    def nav(self, path: str) -> str:
        """Return a page's path with the flags in its query when the recipe says `query`."""
        if not self.flag_query:
            return path
        head, hash_, fragment = path.partition("#")
        return head + ("&" if "?" in head else "?") + urlencode(self.flag_query) + hash_ + fragment


def preview_entry(spec: Spec, preview: PreviewConfig) -> PreviewEntry:
    """Work out the sign-in, headers and flag carriers the rendered test uses (as the gate does)."""
    carried: dict[str, list[tuple[str, str]]] = {"cookie": [], "local_storage": [], "query": [], "header": []}
    if preview.flags is not None:
        kind, _ = preview.flags.carrier
        for name, value in preview.flags.carried(spec.flags).items():
            if preview.flags.sendable(name):  # the gate cannot send the others either
                carried[kind].append((name, quote(value, safe="") if kind == "cookie" else value))
    return PreviewEntry(
        login=preview.login if spec.sign_in else None,
        headers=list(preview.headers.items()),
        flag_headers=carried["header"],
        flag_cookies=carried["cookie"],
        flag_storage=carried["local_storage"],
        flag_query=carried["query"],
    )


@dataclass(frozen=True)
class Annotation:
    """A Playwright test annotation (a junit property under pytest): what a reviewer follows up."""

    type: str
    description: str


def sentry_annotations(spec: Spec) -> list[Annotation]:
    """Return the Sentry issue link (or id) and the release the error was seen in."""
    issue = spec.issue
    found = [Annotation("issue", issue.link) if issue.link else Annotation("sentry issue", issue.id)]
    if issue.release:
        found.append(Annotation("sentry release", issue.release))
    return found


def final_pathname(spec: Spec) -> str:
    """Return the path (no query) of the page the user was on when the error happened."""
    path = spec.start or "/"
    for step in spec.steps:
        if isinstance(step, Goto | ExpectUrl):
            path = step.path
    return url_pathname(path)


def url_pattern(path: str) -> str:
    """Return a regular expression for any URL whose pathname is `path`'s (query and hash aside)."""
    return f"^[a-z][a-z0-9+.-]*://[^/?#]+{re.escape(url_pathname(path))}(?:[?#]|$)"


def url_pathname(path: str) -> str:
    """Return a path's pathname as browsers report it: no query, percent-encoded, escapes kept."""
    return quote(urlsplit(path).path or "/", safe="/%:@!$&'()*+,;=-._~")


def _test_name(spec: Spec) -> str:
    label = spec.issue.short_id or f"Sentry issue {spec.issue.id}"
    title = spec.issue.title or spec.issue.exception.value or spec.id
    # One line with no leading or trailing space: Playwright's valid-title rule refuses anything else.
    name = " ".join(f"{label}: {title}".split())
    return name if len(name) <= TEST_NAME_MAX else name[: TEST_NAME_MAX - 3].rstrip() + "..."


def _identifier(spec_id: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", spec_id)
