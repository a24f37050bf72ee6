"""The built wheel works on its own: built offline from a copy of the source tree, installed into a
fresh venv without the checkout on sys.path, and run from a folder outside the checkout. Also the
resource lookup that makes that work, on real folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

from agent.core.config import PROJECT_ROOT
from agent.core.resources import ResourceMissingError, data_folder, find_data_folder, package_file

DEV = PROJECT_ROOT / "eval" / "datasets" / "dev"
# what the wheel must carry besides code: every data file certreview reads
DATA_FILES = [
    "agent/extract/lexicon.yaml",
    "agent/kb/synonyms.yaml",
    "agent/core/locale/zh_CN.mo",
    *(f"agent/report/templates/{p.name}" for p in (PROJECT_ROOT / "agent" / "report" / "templates").iterdir()),
    *(f"agent/web/{d}/{p.name}" for d in ("templates", "static") for p in (PROJECT_ROOT / "agent/web" / d).iterdir()),
    "agent/knowledge_base/catalog.yaml",
    *(
        f"agent/knowledge_base/{p.relative_to(PROJECT_ROOT / 'knowledge_base').as_posix()}"
        for p in (PROJECT_ROOT / "knowledge_base").rglob("*")
        if p.is_file()
    ),
    *(f"agent/prompts/{p.name}" for p in (PROJECT_ROOT / "prompts").glob("*.md")),
]


def _source_copy(dst: Path) -> Path:
    """The parts of the checkout a wheel is built from (building in the checkout would leave build/ there)."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "datasets")
    for name in ("agent", "knowledge_base", "prompts", "eval"):
        shutil.copytree(PROJECT_ROOT / name, dst / name, ignore=skip)
    for name in ("cli.py", "pyproject.toml", "README.md"):
        shutil.copy2(PROJECT_ROOT / name, dst / name)
    return dst


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points back into the checkout or its settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTREVIEW_") and k != "PYTHONPATH"}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", COLUMNS="200", **extra)
    return env


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{cmd} -> {res.returncode}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
    return res.stdout


def _fresh_venv(root: Path, wheel: Path, env: dict[str, str]) -> Path:
    """A venv with only the wheel installed; dependencies come from this interpreter's site-packages."""
    _run([sys.executable, "-m", "venv", "--without-pip", root], root.parent, env)
    python = root / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel], root.parent, env)
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root, env).strip())
    # written after the install, so pip never saw (and never touched) the outer environment. A plain path
    # entry: the .pth files inside it (the editable install's finder) are not processed, so the checkout
    # stays unimportable.
    outer = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "outer_dependencies.pth").write_text("\n".join(outer) + "\n", encoding="utf-8")
    return root


def _sample_cases(dst: Path) -> dict[str, str]:
    """One dev case per decision, copied without their gold files; returns case id -> gold decision."""
    picked: dict[str, str] = {}
    for case in sorted(DEV.iterdir()):
        decision = json.loads((case / "gold.json").read_text(encoding="utf-8"))["decision"]
        if decision not in picked.values():
            shutil.copytree(case, dst / case.name, ignore=shutil.ignore_patterns("gold.json"))
            picked[case.name] = decision
    assert sorted(picked.values()) == ["approve", "need_info", "reject"]
    return picked


@pytest.mark.slow
def test_the_wheel_runs_outside_the_checkout(tmp_path: Path) -> None:
    started = time.perf_counter()
    env = _clean_env()
    src = _source_copy(tmp_path / "src")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", "dist", "."], src, env)
    wheel = next((src / "dist").glob("certreview-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    code = {p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "agent").rglob("*.py")}
    assert sorted(code - names) == []  # a package missing from pyproject's list would show here
    assert sorted(set(DATA_FILES) - names) == []
    assert not [n for n in names if "datasets/" in n]

    venv = _fresh_venv(tmp_path / "venv", wheel, env)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = _clean_env(CERTREVIEW_HOME=str(tmp_path / "home"))
    probe = (
        "import json, agent, cli; from agent.core.config import Settings; from agent.llm.prompts import load_prompts\n"
        "s = Settings(); print(json.dumps([agent.__file__, cli.__file__, str(s.policies_dir), str(s.catalog_path),"
        " sorted(load_prompts(str(s.prompts_dir)))]))"
    )
    python = venv / "bin" / "python"
    agent_file, cli_file, policies, catalog, prompts = json.loads(_run([python, "-c", probe], work, env))
    for path in (agent_file, cli_file, policies, catalog):
        assert Path(path).is_relative_to(venv), path
    assert prompts == ["extract", "rationale", "second_reader"]

    certreview = venv / "bin" / "certreview"
    _run([certreview, "kb", "refresh"], work, env)
    expected = _sample_cases(work / "cases")
    lines = _run([certreview, "triage", "cases", "--json", "--out", "report"], work, env).splitlines()
    decisions = {r["case_id"]: r["decision"] for r in map(json.loads, lines[:-1])}
    assert decisions == expected
    assert all(case in (work / "report" / "report.html").read_text(encoding="utf-8") for case in expected)
    # the installed wheel speaks Chinese by default: its compiled catalogue was shipped and is found
    res = subprocess.run([certreview, "review", "nope"], cwd=work, env=env, capture_output=True, text=True)
    assert res.returncode == 2 and "错误：不是病例文件夹：nope" in res.stderr, res.stderr
    assert time.perf_counter() - started < 60  # ~11 s on a developer machine


def test_data_folders_are_found_in_the_checkout() -> None:
    assert data_folder("knowledge_base") == PROJECT_ROOT / "knowledge_base"
    assert data_folder("prompts") == PROJECT_ROOT / "prompts"
    assert package_file("agent.extract", "lexicon.yaml") == PROJECT_ROOT / "agent" / "extract" / "lexicon.yaml"


def test_a_data_folder_inside_the_package_wins_over_one_beside_it(tmp_path: Path) -> None:
    package = tmp_path / "tree" / "agent"
    (package / "prompts").mkdir(parents=True)
    (tmp_path / "tree" / "prompts").mkdir()
    (tmp_path / "tree" / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    assert find_data_folder(package, "prompts") == package / "prompts"
    (package / "prompts").rmdir()
    assert find_data_folder(package, "prompts") == tmp_path / "tree" / "prompts"


def test_missing_data_gets_a_named_error_with_a_hint(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "agent"
    package.mkdir(parents=True)
    (package.parent / "prompts").mkdir()  # another distribution's top-level package, not certreview's folder
    with pytest.raises(ResourceMissingError) as exc:
        find_data_folder(package, "prompts")
    assert exc.value.message == (
        f"certreview's prompts folder is missing (not in {package}, and {package.parent} is no source tree with one)"
    )
    assert exc.value.hint == "Reinstall certreview from its wheel, or run it from the root of a complete checkout."
    with pytest.raises(ResourceMissingError, match=r"^agent\.kb lacks its data file nope\.yaml$"):
        package_file("agent.kb", "nope.yaml")
