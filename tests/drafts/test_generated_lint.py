"""Rendered pytest drafts are clean Python: no unused imports, sorted, idiomatic (ruff's own checks)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SNAPSHOTS = Path(__file__).parents[1] / "snapshots" / "drafts"


def test_rendered_python_drafts_pass_ruff() -> None:
    files = sorted(SNAPSHOTS.glob("test_*.py"))
    assert files, "no rendered Python drafts to check"
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    rules = ["--select", "F,E,W,I,UP,SIM,B", "--line-length", "110"]
    result = subprocess.run(
        [ruff, "check", "--isolated", *rules, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
