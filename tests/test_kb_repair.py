"""A damaged live knowledge base is named and rebuilt by `kb refresh` (with or without --force),
the policy folder of the live build is remembered in its manifest and named in the change report,
and a --path stays until another is given."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
from agent.core.config import Settings
from agent.core.errors import KBError
from agent.kb.service import open_kb, refresh
from agent.kb.store import KBStore

POLICY = """---
doc_id: DOC-R
title: 修复测试办法
---
# 修复测试办法
**第一条**　参保人参保状态正常的，可以申请认定。
**第二条**　跨省异地就医的，应当办理异地就医备案。
**第三条**　本办法自发布之日起施行。
"""
OTHER = "---\ndoc_id: DOC-S\n---\n第一条　定点医疗机构负责受理。\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A data home whose live build comes from a policy folder given with --path."""
    root = tmp_path_factory.mktemp("repair")
    pol = root / "pol"
    pol.mkdir()
    (pol / "r.md").write_text(POLICY, encoding="utf-8")
    refresh(Settings(home=root / "home"), pol)
    return root / "home", pol


@pytest.fixture()
def home(built: tuple[Path, Path], tmp_path: Path) -> Path:
    dst = tmp_path / "home"
    shutil.copytree(built[0], dst)
    return dst


def live(home: Path) -> Path:
    return home / "kb" / "builds" / (home / "kb" / "CURRENT").read_text(encoding="utf-8").strip()


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli.app, list(args), env={"CERTREVIEW_HOME": str(home), **(env or {})})
    return r.exit_code, r.stdout, r.stderr


def _truncate(name: str, size: int) -> Callable[[Path], None]:
    def damage(build: Path) -> None:
        with (build / name).open("r+b") as fh:
            fh.truncate(size)

    return damage


def _count_in_manifest(build: Path) -> None:
    m = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    m["clause_count"] = 5
    (build / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")


def _edit_clause(build: Path) -> None:
    p = build / "clauses.jsonl"
    p.write_text(p.read_text(encoding="utf-8").replace("可以申请认定", "一律予以认定"), encoding="utf-8")


DAMAGE: list[tuple[str, Callable[[Path], None], str]] = [
    ("no chroma folder", lambda b: shutil.rmtree(b / "chroma"), "chroma/chroma.sqlite3 is missing"),
    (
        "chroma database cut short",
        _truncate("chroma/chroma.sqlite3", 1000),
        "chroma/chroma.sqlite3 is truncated (shorter than its header says)",
    ),
    ("chroma database empty", _truncate("chroma/chroma.sqlite3", 0), "chroma/chroma.sqlite3 is empty"),
    (
        "no bm25 folder",
        lambda b: shutil.rmtree(b / "bm25"),
        "bm25/params.index.json is missing; bm25/vocab.index.json is missing; "
        "bm25/data.csc.index.npy is missing; bm25/indices.csc.index.npy is missing; "
        "bm25/indptr.csc.index.npy is missing",
    ),
    ("bm25 vocabulary gone", lambda b: (b / "bm25" / "vocab.index.json").unlink(), "bm25/vocab.index.json is missing"),
    ("bm25 matrix cut short", _truncate("bm25/data.csc.index.npy", 10), "bm25/data.csc.index.npy is corrupt"),
    ("no clauses", lambda b: (b / "clauses.jsonl").unlink(), "clauses.jsonl is missing"),
    ("clauses cut short", _truncate("clauses.jsonl", 50), "clauses.jsonl is corrupt"),
    ("clause text edited", _edit_clause, "clauses.jsonl does not match the manifest"),
    ("manifest count wrong", _count_in_manifest, "clauses.jsonl holds 3 clauses, the manifest 5"),
    ("manifest cut short", _truncate("manifest.json", 60), "manifest.json is corrupt"),
    ("no manifest", lambda b: (b / "manifest.json").unlink(), "manifest.json is missing"),
]


def _repairs(home: Path, policies: Path, damage: Callable[[Path], None], problem: str, *flags: str) -> None:
    build = live(home)
    damage(build)
    code, out, err = run(home, "kb", "refresh", "--path", str(policies), *flags)
    assert code == 0, err
    assert out.splitlines()[0] == f"Knowledge base build {build.name} was damaged ({problem}): rebuilt it."
    assert "up to date" not in out
    assert KBStore(home / "kb").live_problems() == []
    kb = open_kb(Settings(home=home))
    assert kb.search("异地就医备案", k=1)[0].clause_id == "DOC-R#第二条"
    assert "可以申请认定" in kb.clause("DOC-R#第一条").text  # type: ignore[union-attr]
    code, out, _ = run(home, "kb", "refresh", "--path", str(policies))
    assert code == 0 and "Knowledge base is up to date" in out


@pytest.mark.parametrize(("label", "damage", "problem"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_refresh_rebuilds_a_damaged_build_and_says_so(
    home: Path, built: tuple[Path, Path], label: str, damage: Callable[[Path], None], problem: str
) -> None:
    _repairs(home, built[1], damage, problem)


# the damages on which --force used to crash (it reused the damaged index's clauses and vectors)
FORCED = [
    d for d in DAMAGE if d[0] in ("no chroma folder", "chroma database cut short", "no clauses", "manifest cut short")
]


@pytest.mark.parametrize(("label", "damage", "problem"), FORCED, ids=[d[0] for d in FORCED])
def test_force_rebuilds_a_damaged_build(
    home: Path, built: tuple[Path, Path], label: str, damage: Callable[[Path], None], problem: str
) -> None:
    _repairs(home, built[1], damage, problem, "--force")


def test_a_missing_live_folder_is_rebuilt(home: Path, built: tuple[Path, Path]) -> None:
    build = live(home)
    shutil.rmtree(build)
    code, out, _ = run(home, "kb", "refresh", "--path", str(built[1]))
    assert code == 0
    assert (
        out.splitlines()[0]
        == f"Knowledge base build {build.name} was damaged (its folder {build.name} is missing): rebuilt it."
    )


def test_opening_a_damaged_build_names_the_damage_and_the_fix(home: Path) -> None:
    build = live(home)
    (build / "clauses.jsonl").unlink()
    with pytest.raises(KBError) as exc:
        open_kb(Settings(home=home))
    assert exc.value.message == f"the knowledge base build {build.name} is damaged: clauses.jsonl is missing"
    code, _, err = run(home, "kb", "list")
    assert code == 3
    assert [ln for ln in err.splitlines() if ln] == [
        f"error: the knowledge base build {build.name} is damaged: clauses.jsonl is missing",
        "hint: Run `certreview kb refresh`: it rebuilds a damaged knowledge base.",
    ]


def test_path_is_sticky_and_named_in_the_report(home: Path, built: tuple[Path, Path]) -> None:
    pol = built[1]
    code, out, _ = run(home, "kb", "refresh")
    assert code == 0 and "Knowledge base is up to date" in out
    assert out.splitlines()[-1] == f"Policy folder: {pol} (the folder of the last refresh; change it with --path)."
    assert open_kb(Settings(home=home)).clause("DOC-R#第一条") is not None  # not reverted to the shipped policy
    (pol / "s.md").write_text(OTHER, encoding="utf-8")
    try:
        code, out, _ = run(home, "kb", "refresh", "--json")
        data = json.loads(out)
        assert (data["docs_added"], data["source"], data["source_origin"]) == (["s.md"], str(pol), "remembered")
        assert data["repaired"] == [] and data["noop"] is False
    finally:
        (pol / "s.md").unlink()


def test_a_new_path_replaces_the_remembered_one(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "s.md").write_text(OTHER, encoding="utf-8")
    code, out, _ = run(home, "kb", "refresh", "--path", str(other))
    assert code == 0
    assert out.splitlines()[-1] == f"Policy folder: {other} (given with --path; a plain `kb refresh` keeps using it)."
    code, out, _ = run(home, "kb", "refresh")
    assert out.splitlines()[-1] == f"Policy folder: {other} (the folder of the last refresh; change it with --path)."
    kb = open_kb(Settings(home=home))
    assert kb.clause("DOC-S#第一条") is not None and kb.clause("DOC-R#第一条") is None


def test_a_cut_manifest_still_remembers_its_folder(home: Path, built: tuple[Path, Path]) -> None:
    build = live(home)
    raw = (build / "manifest.json").read_text(encoding="utf-8")
    (build / "manifest.json").write_text(raw[: raw.index('"clause_count"')], encoding="utf-8")
    code, out, _ = run(home, "kb", "refresh")
    assert code == 0
    assert (
        out.splitlines()[0] == f"Knowledge base build {build.name} was damaged (manifest.json is corrupt): rebuilt it."
    )
    assert out.splitlines()[-1] == f"Policy folder: {built[1]} (the folder of the last refresh; change it with --path)."


def test_a_vanished_remembered_folder_is_a_named_error(home: Path, tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    (gone / "s.md").write_text(OTHER, encoding="utf-8")
    assert run(home, "kb", "refresh", "--path", str(gone))[0] == 0
    shutil.rmtree(gone)
    code, _, err = run(home, "kb", "refresh")
    assert code == 3
    assert [ln for ln in err.splitlines() if ln] == [
        f"error: the knowledge base was built from {gone}, which is no longer a folder",
        "hint: Give the policy folder to use: `certreview kb refresh --path DIR`.",
    ]


def test_the_setting_overrides_the_remembered_folder(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "s.md").write_text(OTHER, encoding="utf-8")
    code, out, _ = run(home, "kb", "refresh", env={"CERTREVIEW_POLICIES_DIR": str(other)})
    assert code == 0
    assert out.splitlines()[-1] == f"Policy folder: {other} (from CERTREVIEW_POLICIES_DIR)."
