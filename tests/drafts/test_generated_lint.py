"""Rendered drafts pass the linters a Playwright reviewer runs, with no warnings and no rule disabled.

TypeScript: `tsc --strict` with unused locals and parameters reported, against `@playwright/test`'s own
types, and ESLint with typescript-eslint's recommended config plus eslint-plugin-playwright's
`flat/recommended`. Python: ruff with pyflakes, pycodestyle (default line length), bugbear,
flake8-pytest-style, isort, pyupgrade and simplify. The npm packages come from the cache that
`make node-linters` installs from tests/drafts/lint/package-lock.json.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from triagebot.drafts.render import render_test

from .helpers import REPO
from .test_render import HOSTILE, PREVIEWS, _hostile_spec, preview_config

SNAPSHOTS = REPO / "tests" / "snapshots" / "drafts"
LINT_CONFIG = Path(__file__).parent / "lint"
NODE_CACHE = REPO / ".node-lint"
CONFIG_FILES = ("tsconfig.json", "eslint.config.mjs", "playwright.config.ts")
# The disabling comments a generated file must never carry.
SUPPRESSIONS = ("eslint-disable", "@ts-ignore", "@ts-expect-error", "@ts-nocheck", "noqa", "type: ignore")


def node_workspace() -> Iterator[Path]:
    """Yield a scratch folder inside the npm cache holding the linters' configs and an empty tests/."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (NODE_CACHE / "node_modules" / ".package-lock.json").exists():
        pytest.fail(f"the linters' npm packages are not in {NODE_CACHE}; run `make node-linters`")
    with tempfile.TemporaryDirectory(dir=NODE_CACHE, prefix="work-") as folder:
        root = Path(folder)
        for name in CONFIG_FILES:
            shutil.copy(LINT_CONFIG / name, root / name)
        (root / "tests").mkdir()
        yield root


@pytest.fixture
def workspace() -> Iterator[Path]:
    yield from node_workspace()


def run_node(
    root: Path, tool: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one of the cached packages' command-line entry points in `root`."""
    scripts = {
        "tsc": "typescript/bin/tsc",
        "eslint": "eslint/bin/eslint.js",
        "playwright": "@playwright/test/cli.js",
    }
    entry = NODE_CACHE / "node_modules" / scripts[tool]
    return subprocess.run(
        ["node", str(entry), *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def assert_typescript_clean(root: Path) -> None:
    """Assert tsc and ESLint (warnings included) find nothing in `root`."""
    tsc = run_node(root, "tsc", "--project", "tsconfig.json", "--pretty", "false")
    assert tsc.returncode == 0, tsc.stdout + tsc.stderr
    eslint = run_node(root, "eslint", "--max-warnings", "0", "--no-warn-ignored", ".")
    assert eslint.returncode == 0, eslint.stdout + eslint.stderr


def test_golden_typescript_drafts_pass_tsc_and_eslint(workspace: Path) -> None:
    files = sorted(SNAPSHOTS.glob("*.spec.ts"))
    assert files, "no rendered TypeScript drafts to check"
    for file in files:
        assert not any(word in file.read_text(encoding="utf-8") for word in SUPPRESSIONS), file.name
        shutil.copy(file, workspace / "tests" / file.name)
    assert_typescript_clean(workspace)


def test_linters_catch_what_reviewers_complained_about(workspace: Path) -> None:
    # The check itself can fail: the old rendering's habits are reported by these linters.
    (workspace / "tests" / "old.spec.ts").write_text(
        'import { test } from "@playwright/test";\n'
        "const SENTRY = { shortId: 'X-1' };\n"
        'test("x", async ({ page, request, baseURL }) => {\n'
        '  if (!baseURL) throw new Error("no base");\n'
        "  await page.goto(baseURL);\n"
        '  await page.waitForLoadState("networkidle");\n'
        "});\n",
        encoding="utf-8",
    )
    tsc = run_node(workspace, "tsc", "--project", "tsconfig.json", "--pretty", "false")
    assert "'SENTRY' is declared but its value is never read" in tsc.stdout
    assert "'request' is declared but its value is never read" in tsc.stdout
    eslint = run_node(workspace, "eslint", "--max-warnings", "0", ".")
    rules = ("playwright/no-networkidle", "playwright/no-conditional-in-test", "playwright/expect-expect")
    for rule in rules:
        assert rule in eslint.stdout, eslint.stdout


def _hostile_drafts(fmt: str) -> Iterator[tuple[str, str]]:
    """Yield (name, code) for every hostile text, spec kind and `preview` recipe."""
    for index, text in enumerate(HOSTILE):
        for preview in sorted(PREVIEWS):
            for kind in ("browser", "http"):
                spec = _hostile_spec(text, kind)
                _, code = render_test(spec, fmt, preview=preview_config(preview))  # type: ignore[arg-type]
                yield f"hostile_{index}_{preview.replace('-', '_')}_{kind}", code


def test_hostile_typescript_stays_lint_clean(workspace: Path) -> None:
    for name, code in _hostile_drafts("ts"):
        (workspace / "tests" / f"{name}.spec.ts").write_text(code, encoding="utf-8")
    assert_typescript_clean(workspace)


def _ruff(files: list[Path]) -> subprocess.CompletedProcess[str]:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    rules = ["--select", "F,E,W,B,PT,I,UP,SIM"]  # pycodestyle at its default line length
    return subprocess.run(
        [ruff, "check", "--isolated", *rules, *map(str, files)], capture_output=True, text=True, check=False
    )


def test_rendered_python_drafts_pass_ruff() -> None:
    files = sorted(SNAPSHOTS.glob("test_*.py"))
    assert files, "no rendered Python drafts to check"
    for file in files:
        assert not any(word in file.read_text(encoding="utf-8") for word in SUPPRESSIONS), file.name
    result = _ruff(files)
    assert result.returncode == 0, result.stdout


def test_hostile_python_stays_ruff_clean(tmp_path: Path) -> None:
    files = []
    for name, code in _hostile_drafts("python"):
        files.append(tmp_path / f"test_{name}.py")
        files[-1].write_text(code, encoding="utf-8")
    result = _ruff(files)
    assert result.returncode == 0, result.stdout[:5000]
