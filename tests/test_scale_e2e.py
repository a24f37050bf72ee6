"""Past one machine, end to end on loopback: a real chroma server, the registry on PostgreSQL (when
CERTREVIEW_TEST_POSTGRES_URL is set; else one SQLite file all machines share) and the scripted
model server. Three "machines" (each its own data home, the same three servers) run at once: two
triage shards with the model backend, and a forced kb refresh that builds and switches a new
collection under them. The merged queue equals a one-machine run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
from agent.core.config import PROJECT_ROOT
from agent.kb.remote import RemoteStore
from agent.kb.store import KBStore
from tests.chroma_server import chroma_server
from tests.fake_openai import FakeOpenAI
from tests.scale_helpers import canonical_results
from tests.test_llm import scripted
from tests.test_registry import _postgres_db

DEV = PROJECT_ROOT / "eval" / "datasets" / "dev"
CASES = 16
pytestmark = pytest.mark.slow  # servers and CLI processes: about a minute


@pytest.fixture()
def database(tmp_path: Path) -> Iterator[str]:
    if os.environ.get("CERTREVIEW_TEST_POSTGRES_URL"):
        yield from _postgres_db()
    else:
        yield f"sqlite:///{tmp_path / 'shared-registry.sqlite3'}"


def _machine(name: str, tmp: Path, shared: dict[str, str]) -> dict[str, str]:
    """The environment of one machine: its own data home, the shared servers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTREVIEW_") or k.startswith("CERTREVIEW_TEST_")}
    return env | shared | {"CERTREVIEW_HOME": str(tmp / name), "COLUMNS": "200"}


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _done(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, err[-3000:]
    return out


def test_two_shards_and_a_refresh_at_once_merge_into_the_one_machine_queue(database: str, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    for folder in sorted(DEV.iterdir())[:CASES]:
        shutil.copytree(folder, batch / folder.name)
    with chroma_server(tmp_path / "chroma") as chroma, FakeOpenAI() as model:
        model.responder = scripted()
        model.latency_s = 0.02
        shared = {
            "CERTREVIEW_CHROMA_URL": chroma,
            "CERTREVIEW_DATABASE_URL": database,
            "CERTREVIEW_BACKEND": "openai",
            "CERTREVIEW_LLM_BASE_URL": model.base_url,
            "CERTREVIEW_LLM_MODEL": "fake-model",
        }
        a, b, c, one = (_machine(m, tmp_path, shared) for m in ("a", "b", "c", "one"))
        _done(_cli(c, "kb", "refresh"))  # the policy office builds the shared knowledge base
        store = RemoteStore(chroma, tmp_path / "probe", KBStore(tmp_path / "probe"))
        first = store.live_name()
        running = [
            _cli(a, "triage", str(batch), "--shard", "1/2", "--workers", "2", "--out", str(tmp_path / "s1")),
            _cli(b, "triage", str(batch), "--shard", "2/2", "--workers", "2", "--out", str(tmp_path / "s2")),
            _cli(c, "kb", "refresh", "--force", "--json"),  # a new collection, switched in under the shards
            _cli(one, "triage", str(batch), "--workers", "2", "--out", str(tmp_path / "whole")),  # the reference
        ]
        outs = [_done(p) for p in running]
        refreshed = json.loads(outs[2])
        assert refreshed["noop"] is False and store.live_name() not in (None, first)
        assert len(model.requests) > CASES  # the model was asked, by both shards and the one machine
    r = CliRunner().invoke(
        cli.app, ["triage", "merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(tmp_path / "m")]
    )
    assert r.exit_code == 0, r.stderr
    merged, whole = canonical_results(tmp_path / "m"), canonical_results(tmp_path / "whole")
    assert len(merged[0]) == CASES
    assert merged == whole
    shards = [json.loads((tmp_path / s / "shard.json").read_text(encoding="utf-8")) for s in ("s1", "s2")]
    assert sorted(shards[0]["cases"] + shards[1]["cases"]) == sorted(p.name for p in batch.iterdir())
    assert all(r["provenance"]["backend"] == "openai" for r in merged[0])
