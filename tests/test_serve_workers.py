"""`triagebot serve --workers N` refuses SQLite, whose single writer several processes would fight over."""

from __future__ import annotations

import pytest

from triagebot.cli import main


def test_workers_need_postgresql(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRIAGEBOT_DATABASE_URL", "sqlite:///unused.db")
    assert main(["serve", "--workers", "2", "--no-migrate"]) == 2
    assert "--workers needs PostgreSQL" in capsys.readouterr().err
