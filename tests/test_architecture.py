"""The rooms' layer contract (pyproject.toml, [tool.importlinter]) holds on the real tree and
bites on a copy with an upward import planted in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from agent.core.config import PROJECT_ROOT

CONTRACT = "rooms import downward only"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` as ``make lint`` runs it, from ``root`` (it imports ``agent`` from there)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_real_tree_keeps_the_contract() -> None:
    res = _lint_imports(PROJECT_ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{CONTRACT} KEPT" in res.stdout
    assert "Contracts: 1 kept, 0 broken." in res.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "agent", tmp_path / "agent", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    text = tmp_path / "agent" / "core" / "text.py"
    text.write_text(text.read_text(encoding="utf-8") + "\nimport agent.review.checks  # noqa\n", encoding="utf-8")
    res = _lint_imports(tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"{CONTRACT} BROKEN" in res.stdout
    assert "agent.core.text -> agent.review.checks" in res.stdout
    assert "Contracts: 0 kept, 1 broken." in res.stdout
