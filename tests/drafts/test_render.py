"""Rendering: golden files for both languages, and escaping that survives hostile event text."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triagebot.drafts.config import DraftConfig, PreviewConfig, parse_preview_config
from triagebot.drafts.derive import derive_spec
from triagebot.drafts.render import py_str, py_value, render_test, ts_str, ts_value
from triagebot.integrations.sentry.event import clean_text, normalize_event
from triagebot.spec import (
    Assertions,
    Check,
    Click,
    ExceptionInfo,
    ExpectUrl,
    Fill,
    FlagRef,
    Goto,
    IssueRef,
    Locator,
    PageError,
    Press,
    Request,
    Select,
    Spec,
    dump_spec,
)

from .helpers import REPO, load_fixture

TS_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
SNAPSHOTS = REPO / "tests" / "snapshots" / "drafts"
HOSTILE = [
    "<!channel>",
    '"); process.exit(1); //',
    "'); import os; os.system('id'); ('",
    "`${process.env.SECRET}` and ${1+1}",
    "</script><script>alert(1)</script>",
    "line\u2028separator\u2029paragraph",
    "back\\slash \\u0041 \\x41 \\",
    "new\nline\r\nand\ttab */ /* -->",
    "nul\x00byte and \x1b[31m escape",
    "lone \ud800 surrogate \udfff",
    "emoji \U0001f600 and bidi \u202e",
    "\"\"\"triple\"\"\" and '''single'''",
    "  padded\n title\t ",
    "x" * 100_000,
]
# The repository's `preview` recipes, one per sign-in way and flag carrier (names are never values).
PREVIEWS = {
    "none": None,
    "form-cookie-headers": """
preview:
  login:
    url: /login
    fields: {"#email": E2E_USER, "input[name='password']": E2E_PASSWORD}
    submit: "button[type=submit]"
    success_url: /account
  flags: {cookie: "flag_{name}"}
  headers: {x-vercel-protection-bypass: VERCEL_AUTOMATION_BYPASS_SECRET}
""",
    "enter-storage": """
preview:
  login: {url: /sign-in, fields: {"#email": E2E_USER}}
  flags: {local_storage: "flags.{name}"}
""",
    "request-header": """
preview:
  login: {request: {method: POST, path: /api/login, json: {email: E2E_USER, password: E2E_PASSWORD}}}
  flags: {header: "X-Flag-{name}"}
  headers: {x-bypass: BYPASS}
""",
    "query": """
preview:
  flags: {query: "ff_{name}"}
""",
}
CASES = {
    "coupon": ("drafts/event.javascript_browser.coupon.sdk.json", None),
    "front-end-9": ("error.created.json", "issue.created.json"),
    "django": ("api.issue_latest_event.python_django.json", None),
}


def _spec(case: str):  # type: ignore[no-untyped-def]
    event_file, issue_file = CASES[case]
    issue = load_fixture(issue_file)["data"]["issue"] if issue_file else None
    return derive_spec(normalize_event(load_fixture(event_file)), issue=issue)


def _check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path}; run with UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs; UPDATE_SNAPSHOTS=1 to accept"


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", ["ts", "python"])
def test_rendered_tests_match_the_golden_files(case: str, fmt: str) -> None:
    spec = _spec(case)
    path, text = render_test(spec, fmt)  # type: ignore[arg-type]
    _check_snapshot(Path(path).name, text)
    _check_snapshot(f"{spec.id}.yml", dump_spec(spec))
    if fmt == "python":
        ast.parse(text)


STATE_CASES = {"coupon": "form-cookie-headers", "front-end-9": "enter-storage", "django": "request-header"}


@pytest.mark.parametrize("case", sorted(STATE_CASES))
@pytest.mark.parametrize("fmt", ["ts", "python"])
def test_signed_in_drafts_with_flags_match_the_golden_files(case: str, fmt: str) -> None:
    preview = STATE_CASES[case]
    spec = _spec(case).model_copy(update={"sign_in": True, "version": 2})
    _, text = render_test(spec, fmt, preview=preview_config(preview))  # type: ignore[arg-type]
    stem = f"{spec.id}-{preview}"
    _check_snapshot(f"{stem}.spec.ts" if fmt == "ts" else f"test_{stem.replace('-', '_')}.py", text)
    if fmt == "python":
        ast.parse(text)


def test_paths_follow_the_config() -> None:
    spec = _spec("front-end-9")
    assert render_test(spec, "ts")[0] == "e2e/regressions/front-end-9.spec.ts"
    assert render_test(spec, "python")[0] == "e2e/regressions/test_front_end_9.py"
    config = DraftConfig(dir="qa/sentry", format="python")
    assert render_test(spec, config=config)[0] == "qa/sentry/test_front_end_9.py"


def _hostile_spec(text: str, kind: str = "browser") -> Spec:
    """A spec with `text` in every field that event text can reach, and every kind of step."""
    text = clean_text(text)  # as normalize_event leaves it
    short = text[:100]
    locators = [
        Locator(strategy="testid", value=short, attribute="data-testid"),
        Locator(strategy="testid", value=short, attribute="data-qa"),
        Locator(strategy="role", value="button", name=short),
        Locator(strategy="label", value=short),
        Locator(strategy="name", value=short),
        Locator(strategy="css", value=short, weak=True),
    ]
    return Spec(
        id="shop-1",
        kind=kind,  # type: ignore[arg-type]
        issue=IssueRef(
            id="1",
            short_id=short,
            link=text[:2048],
            title=text[:8192],
            culprit=text[:8192],
            exception=ExceptionInfo(type=text[:512], value=text[:8192]),
            release=text[:512],
        ),
        sign_in=True,
        flags=[
            FlagRef(key=short, value=True),
            FlagRef(key="coupon-box", value=text[:1024]),
            FlagRef(key="beta", value=None),
        ],
        start="/start" if kind == "browser" else None,
        steps=[
            *[Click(locator=locator) for locator in locators],
            Fill(locator=locators[0], value=text[:4096]),
            Press(locator=locators[3], key="Enter"),
            Select(locator=locators[4], value=text[:4096]),
            Select(locator=locators[5]),
            Check(locator=locators[2]),
            Check(locator=locators[1], checked=False),
            Goto(path="/next"),
            ExpectUrl(path="/next"),
            Request(method="POST", path="/api", headers={short: short}, body=text),
        ],
        assertions=Assertions(
            page_error=PageError(type=text[:512], message=text[:8192]), text_absent=[text[:8192]]
        ),
    )


def _benign(text: str) -> str:
    """Harmless text that, as a flag's name, is a cookie or header name exactly when `text` is one."""
    token = re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", clean_text(text)[:100])
    return "plainwords" if token else "plain words here"


def preview_config(name: str) -> PreviewConfig | None:
    """Return one of the PREVIEWS recipes, parsed as the repository's config file would be."""
    text = PREVIEWS[name]
    return None if text is None else parse_preview_config(text)


@pytest.mark.parametrize("preview", sorted(PREVIEWS))
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_leaves_python_valid_and_inert(text: str, preview: str) -> None:
    config = preview_config(preview)
    for kind in ("browser", "http"):
        _, code = render_test(_hostile_spec(text, kind), "python", preview=config)
        tree = ast.parse(code)  # raises on any broken literal
        assert code.isascii()
        constants = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
        _, benign = render_test(_hostile_spec(_benign(text), kind), "python", preview=config)
        # Same program as for harmless text once string contents are set aside: nothing was injected.
        assert _shape(tree) == _shape(ast.parse(benign))
        assert {clean_text(text[:4096]), clean_text(text[:100])} <= constants  # intact, as data


@pytest.mark.parametrize("preview", sorted(PREVIEWS))
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_leaves_typescript_shape_unchanged(text: str, preview: str) -> None:
    config = preview_config(preview)
    for kind in ("browser", "http"):
        _, benign = render_test(_hostile_spec(_benign(text), kind), "ts", preview=config)
        _, code = render_test(_hostile_spec(text, kind), "ts", preview=config)
        _assert_same_ts_shape(code, benign, text)


def _assert_same_ts_shape(code: str, benign: str, text: str) -> None:
    assert code.isascii()
    # With every double-quoted literal blanked, hostile and harmless text give the same program.
    assert TS_STRING.sub('""', code) == TS_STRING.sub('""', benign)
    assert "</script" not in code.lower() and "<!channel>" not in code
    assert ts_str(clean_text(text[:4096])) in code and ts_str(clean_text(text[:100])) in code


class _BlankStrings(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant(value="") if isinstance(node.value, str) else node


def _shape(tree: ast.Module) -> str:
    return ast.dump(_BlankStrings().visit(tree))


def _node_eval(literals: list[str]) -> list[object]:
    """Evaluate JavaScript literals in one node process and return their values."""
    program = "process.stdout.write(JSON.stringify([" + ",\n".join(literals) + "]));"
    result = subprocess.run(
        ["node", "-e", program] if len(program) < 100_000 else ["node", "-"],
        input=None if len(program) < 100_000 else program,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@node
def test_hostile_literals_round_trip_through_node() -> None:
    values: list[object] = [*HOSTILE, {"Content-Type": "</script>\u2028"}, None, [1, 2.5, True]]
    literals = [ts_str(v) if isinstance(v, str) else ts_value(v) for v in values]
    assert _node_eval(literals) == values


@node
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet=st.characters(codec=None)), min_size=1, max_size=60))
def test_ts_literals_evaluate_back_to_the_same_text(texts: list[str]) -> None:
    # One node process per batch of strings keeps the number of processes bounded.
    assert _node_eval([ts_str(text) for text in texts]) == texts


@given(st.text(alphabet=st.characters(codec=None)))
def test_python_literals_evaluate_back_to_the_same_text(text: str) -> None:
    literal = py_str(text)
    assert literal.isascii() and "\n" not in literal
    assert ast.literal_eval(literal) == text


@given(st.dictionaries(st.text(), st.one_of(st.none(), st.booleans(), st.integers(), st.text())))
def test_python_values_evaluate_back(data: dict[str, object]) -> None:
    assert ast.literal_eval(py_value(data)) == data


def test_lone_surrogates_from_json_reach_the_spec_as_replacement_characters() -> None:
    payload = json.loads(
        '{"event_id": "e", "exception": {"values": [{"type": "TypeError", "value": "bad \\ud800 x"}]},'
        '"sdk": {"name": "sentry.javascript.browser"}, "request": {"url": "https://a.example/"}}'
    )
    spec = derive_spec(normalize_event(payload))
    assert spec.issue.exception.value == "bad \ufffd x"
    assert "\\ufffd" in render_test(spec, "ts")[1]


def test_filters_refuse_non_strings() -> None:
    with pytest.raises(TypeError):
        ts_str(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        py_str(3)  # type: ignore[arg-type]
    assert ts_value(float("nan")) == "null" and py_value(float("inf")) == "None"
