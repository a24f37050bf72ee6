"""Sharded batches: the slices of n machines cover the batch with no overlap, are the same in every
process, and merge into the queue one machine writes; shards that do not belong together are
refused by name."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
from agent.core.config import PROJECT_ROOT
from agent.review.shard import Shard, batch_id, parse_shard, select, shard_of
from tests.scale_helpers import canonical_results

DEV = PROJECT_ROOT / "eval" / "datasets" / "dev"


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_shards_are_pairwise_disjoint_and_their_union_is_the_batch(n: int) -> None:
    folders = [Path(f"GZ-2025-{i:06d}") for i in range(500)] + sorted(DEV.iterdir())
    parts = [select(folders, Shard(i, n)) for i in range(1, n + 1)]
    names = [{f.name for f in p} for p in parts]
    assert set().union(*names) == {f.name for f in folders}
    assert sum(len(s) for s in names) == len(folders)  # pairwise disjoint
    if n > 1:
        assert all(len(s) > 0 for s in names)  # sha256 spreads them: no machine idles


def test_the_slice_is_the_same_in_another_process() -> None:
    """Python's hash() of a str is salted per process; the shard of a case must not be."""
    ids = [f"C-{i}" for i in range(40)]
    code = f"from agent.review.shard import shard_of; print([shard_of(i, 7) for i in {ids!r}])"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    ).stdout
    assert json.loads(other) == [shard_of(i, 7) for i in ids]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2", "--shard '2': not of the form i/n"),
        ("0/2", "--shard 0/2: i must be 1 to 2"),
        ("3/2", "--shard 3/2: i must be 1 to 2"),
        ("1/0", "--shard 1/0: n must be 1 to 4096"),
    ],
)
def test_a_bad_shard_is_named(text: str, message: str, home: Path, tmp_path: Path) -> None:
    with pytest.raises(Exception) as exc:
        parse_shard(text)
    assert str(exc.value) == message
    r = CliRunner().invoke(cli.app, ["triage", str(DEV), "--shard", text, "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and message in r.stderr
    assert not (tmp_path / "o").exists()


def _triage(args: list[str]) -> None:
    r = CliRunner().invoke(cli.app, ["triage", *args, "--no-audit"])
    assert r.exit_code == 0, r.stderr


@pytest.fixture(scope="module")
def shard_runs(tmp_path_factory: pytest.TempPathFactory, kb_home: Path) -> Path:
    """The dev batch triaged on one machine and as shards 1/2, 2/2 and 1/3…3/3."""
    root = tmp_path_factory.mktemp("shards")
    mp = pytest.MonkeyPatch()
    mp.setenv("CERTREVIEW_HOME", str(kb_home))
    try:
        _triage([str(DEV), "--out", str(root / "one")])
        for n in (2, 3):
            for i in range(1, n + 1):
                _triage([str(DEV), "--shard", f"{i}/{n}", "--out", str(root / f"s{i}of{n}")])
    finally:
        mp.undo()
    return root


@pytest.mark.parametrize("n", [2, 3])
def test_merged_shards_are_the_one_machine_queue(shard_runs: Path, n: int, home: Path) -> None:
    merged = shard_runs / f"merged{n}"
    dirs = [str(shard_runs / f"s{i}of{n}") for i in range(n, 0, -1)]  # any order
    r = CliRunner().invoke(cli.app, ["triage", "merge", *dirs, "--out", str(merged)])
    assert r.exit_code == 0, r.stderr
    assert canonical_results(merged) == canonical_results(shard_runs / "one")
    info = json.loads((shard_runs / f"s1of{n}" / "shard.json").read_text(encoding="utf-8"))
    assert info["batch_id"] == batch_id(sorted(DEV.iterdir())) and info["shard"] == f"1/{n}"


def _merge_error(dirs: list[Path], out: Path) -> str:
    r = CliRunner().invoke(cli.app, ["triage", "merge", *map(str, dirs), "--out", str(out)])
    assert r.exit_code == 2, r.stderr
    assert not out.exists()  # refused before anything is written
    return " ".join(r.stderr.split())


def test_shards_that_do_not_belong_together_are_refused_by_name(shard_runs: Path, tmp_path: Path, home: Path) -> None:
    s1, s2 = shard_runs / "s1of2", shard_runs / "s2of2"
    out = tmp_path / "m"
    assert "shard 2/2 missing: the queue would lack its cases" in _merge_error([s1], out)
    assert f"{s1} and {s1} are both shard 1/2" in _merge_error([s1, s1, s2], out)
    assert "the batch was split two ways" in _merge_error([s1, shard_runs / "s2of3"], out)
    assert f"{shard_runs / 'one'}: no shard.json, so not the output of `triage --shard`" in _merge_error(
        [shard_runs / "one", s1], out
    )
    other_kb = tmp_path / "other-kb"
    shutil.copytree(s2, other_kb)
    info = json.loads((other_kb / "shard.json").read_text(encoding="utf-8"))
    other = info | {"kb_version": "abc@2026", "kb_content": "abc"}
    (other_kb / "shard.json").write_text(json.dumps(other), encoding="utf-8")
    assert f"{other_kb} was triaged against knowledge base abc@2026, {s1} against {info['kb_version']}" in (
        _merge_error([s1, other_kb], out)
    )
    other_batch = tmp_path / "other-batch"
    shutil.copytree(s2, other_batch)
    (other_batch / "shard.json").write_text(json.dumps(info | {"batch_id": "0123456789abcdef"}), encoding="utf-8")
    assert f"{other_batch} is a shard of another batch (0123456789abcdef) than {s1}" in _merge_error(
        [s1, other_batch], out
    )
