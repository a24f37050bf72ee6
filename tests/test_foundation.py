"""Foundation: network blocked in tests, settings and data home, fast --help."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_socket import SocketBlockedError, SocketConnectBlockedError

from agent.core.config import Settings, default_home


def test_network_calls_are_blocked_in_tests() -> None:
    with (
        pytest.warns(UserWarning, match="tried to use socket"),
        pytest.raises((SocketBlockedError, SocketConnectBlockedError)),
    ):
        socket.create_connection(("93.184.216.34", 80), timeout=1)


def test_data_home_defaults_per_user_and_env_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CERTREVIEW_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "xdg" / "certreview"
    assert Settings().home == tmp_path / "xdg" / "certreview"
    monkeypatch.setenv("CERTREVIEW_HOME", str(tmp_path / "custom"))
    s = Settings()
    assert s.home == tmp_path / "custom"
    assert s.kb_home == tmp_path / "custom" / "kb"
    assert s.audit_log == tmp_path / "custom" / "audit.jsonl"


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, cli\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(cli.app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('chromadb', 'langchain_core', 'jieba', 'langchain_openai') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
