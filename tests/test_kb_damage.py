"""A live knowledge-base build damaged on disk (its chroma database deleted, cut short or
overwritten, its BM25 side missing or overwritten) ends every command that reads the index —
kb search, review, triage, draft, eval --kb-queries — in a named KBError (exit 3) whose hint is
`certreview kb refresh`, never a traceback; after that refresh, search answers again."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cli
from agent.core.config import PROJECT_ROOT

from .conftest import DEV

CASE = DEV / "DEV-N01"
HINT = "hint: Run `certreview kb refresh`: it rebuilds a damaged knowledge base."


def live(home: Path) -> Path:
    return home / "kb" / "builds" / (home / "kb" / "CURRENT").read_text(encoding="utf-8").strip()


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "200"})
    return r.exit_code, r.stdout, r.stderr


def _overwrite(name: str, size: int) -> Callable[[Path], None]:
    def damage(build: Path) -> None:
        (build / name).write_bytes(np.random.default_rng(7).bytes(size))

    return damage


def _cut(name: str, size: int) -> Callable[[Path], None]:
    def damage(build: Path) -> None:
        with (build / name).open("r+b") as fh:
            fh.truncate(size)

    return damage


DAMAGE: list[tuple[str, Callable[[Path], None], str]] = [
    ("sqlite deleted", lambda b: (b / "chroma" / "chroma.sqlite3").unlink(), "chroma/chroma.sqlite3 is missing"),
    (
        "sqlite truncated",
        _cut("chroma/chroma.sqlite3", 50_000),
        "chroma/chroma.sqlite3 is truncated (shorter than its header says)",
    ),
    (
        "sqlite garbage",
        _overwrite("chroma/chroma.sqlite3", 200_000),
        "chroma/chroma.sqlite3 is not a SQLite database",
    ),
    (
        "bm25 side missing",
        lambda b: shutil.rmtree(b / "bm25"),
        "bm25/params.index.json is missing; bm25/vocab.index.json is missing; bm25/data.csc.index.npy is missing; "
        "bm25/indices.csc.index.npy is missing; bm25/indptr.csc.index.npy is missing",
    ),
    ("bm25 array garbage", _overwrite("bm25/data.csc.index.npy", 300), "bm25/data.csc.index.npy is corrupt"),
    ("bm25 parameters garbage", _overwrite("bm25/params.index.json", 40), "bm25/params.index.json is corrupt"),
]


def _commands(tmp: Path) -> dict[str, list[str]]:
    batch = tmp / "batch"
    shutil.copytree(CASE, batch / CASE.name, ignore=shutil.ignore_patterns("gold.json"))
    return {
        "kb search": ["kb", "search", "异地就医备案"],
        "review": ["review", str(CASE), "--no-audit"],
        "triage": ["triage", str(batch), "--no-audit"],
        "draft": ["draft", str(CASE)],
        "eval --kb-queries": ["eval", "--kb-queries", str(PROJECT_ROOT / "eval" / "kb_queries.yaml")],
    }


@pytest.mark.parametrize(("label", "damage", "problem"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_every_command_that_reads_the_index_names_the_damage(
    home: Path, tmp_path: Path, label: str, damage: Callable[[Path], None], problem: str
) -> None:
    build = live(home)
    damage(build)
    for name, args in _commands(tmp_path).items():
        code, out, err = run(*args)
        assert code == 3, (name, out, err)
        assert err.strip().splitlines()[-2:] == [
            f"error: the knowledge base build {build.name} is damaged: {problem}",
            HINT,
        ], name
        assert "Traceback" not in err + out


def _valid_but_wrong_array(build: Path) -> None:
    """A whole .npy file of the wrong length: every file looks right until the index is used."""
    np.save(build / "bm25" / "data.csc.index.npy", np.ones(7, dtype=np.float32))


def _zeroed_pages(build: Path) -> None:
    """The database's header and size intact, its pages zeroed: SQLite finds out when it reads."""
    path = build / "chroma" / "chroma.sqlite3"
    raw = bytearray(path.read_bytes())
    raw[4096 : len(raw) - 4096] = bytes(len(raw) - 8192)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_valid_but_wrong_array, "the BM25 index is corrupt: ValueError"),
        (_zeroed_pages, "the chroma index is corrupt: InternalError"),
    ],
    ids=["bm25 arrays of another size", "chroma pages zeroed"],
)
def test_damage_seen_only_when_searching_is_named_too(home: Path, damage: Callable[[Path], None], problem: str) -> None:
    build = live(home)
    damage(build)
    code, out, err = run("kb", "search", "异地就医备案")
    assert code == 3, out + err
    assert err.strip().splitlines()[-2:] == [
        f"error: the knowledge base build {build.name} is damaged: {problem}",
        HINT,
    ]
    code, out, err = run("kb", "refresh")  # what the hint says repairs it
    assert code == 0, err
    assert out.splitlines()[0].startswith(f"Knowledge base build {build.name} was damaged (")
    code, out, err = run("kb", "search", "异地就医备案", "--json")
    assert code == 0, err
    assert '"clause_id": "REF-YD-2025#' in out


def test_a_lost_vector_segment_still_answers_correctly(home: Path) -> None:
    """chromadb rebuilds its HNSW segment from the database: the answers are those of the whole build."""
    code, before, _ = run("kb", "search", "外省参保的病人来我们医院办门特要备案吗", "--mode", "dense", "--json")
    assert code == 0
    for segment in (live(home) / "chroma").iterdir():
        if segment.is_dir():
            shutil.rmtree(segment)
    code, after, err = run("kb", "search", "外省参保的病人来我们医院办门特要备案吗", "--mode", "dense", "--json")
    assert code == 0, err
    assert after == before


def test_the_damage_is_named_in_chinese_by_default(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CERTREVIEW_LANG")
    build = live(home)
    _overwrite("chroma/chroma.sqlite3", 200_000)(build)
    code, out, err = run("kb", "search", "异地就医备案")
    assert code == 3, out + err
    assert err.strip().splitlines()[-2:] == [
        f"错误：知识库版本 {build.name} 已损坏：chroma/chroma.sqlite3 不是 SQLite 数据库",
        "提示：请运行 `certreview kb refresh`：它会重建已损坏的知识库。",
    ]
