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
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from triagebot.drafts.config import DraftConfig, Format
from triagebot.drafts.locators import css_string
from triagebot.drafts.spec import Locator, Spec

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TEMPLATE_FOR: dict[str, str] = {"ts": "tests/playwright.spec.ts.j2", "python": "tests/test_playwright.py.j2"}
# Characters that are fine in a JSON string but end a <script> block or a JS line in older engines.
TS_EXTRA_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
TEST_NAME_MAX = 150
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
        ts_str=ts_str, ts_value=ts_value, py_str=py_str, py_value=py_value, css_selector=css_selector
    )
    return env


def test_path(spec: Spec, fmt: Format, config: DraftConfig) -> str:
    """Return the repo-relative path of the rendered test: `<dir>/<id>.spec.ts` or `<dir>/test_<id>.py`."""
    if fmt == "python":
        return f"{config.dir}/test_{_identifier(spec.id)}.py"
    return f"{config.dir}/{spec.id}.spec.ts"


def render_test(
    spec: Spec, fmt: Format | None = None, *, config: DraftConfig | None = None
) -> tuple[str, str]:
    """Render the spec's test; return (repo-relative path, source text)."""
    config = config or DraftConfig()
    chosen: Format = fmt or config.format
    if chosen not in TEMPLATE_FOR:
        raise ValueError(f"unknown test format {chosen!r}; expected ts or python")
    template = environment().get_template(TEMPLATE_FOR[chosen])
    text = template.render(
        spec=spec, test_name=_test_name(spec), function_name=f"test_regression_{_identifier(spec.id)}"
    )
    return test_path(spec, chosen, config), text


def _test_name(spec: Spec) -> str:
    label = spec.issue.short_id or f"Sentry issue {spec.issue.id}"
    title = spec.issue.title or spec.issue.exception.value or spec.id
    name = f"{label}: {title}"
    return name if len(name) <= TEST_NAME_MAX else name[: TEST_NAME_MAX - 3] + "..."


def _identifier(spec_id: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", spec_id)
