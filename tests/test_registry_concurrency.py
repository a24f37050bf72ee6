"""The shared registry under several processes at once, as on several machines (SQLite on one disk,
and PostgreSQL when CERTREVIEW_TEST_POSTGRES_URL is set): four reviewers deciding the same cases
while two importers load certifications, one file by both. Nothing is lost (every case has exactly
one current decision, by the reviewer told they won; every certification line is in once), and
every loser is told by name who decided first."""

from __future__ import annotations

import json
import multiprocessing as mp
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from agent.core.config import Settings
from agent.registry.store import open_registry
from agent.registry.tables import Certification, ReviewDecision
from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case
from tests.registry_workers import decide_all, import_file
from tests.test_registry import _postgres_db

REVIEWERS = 4
CASES = 16
LINES = 150


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    else:
        yield from _postgres_db()


def _cases(deps: Any, root: Path) -> list[tuple[str, str]]:
    """(case.json, recommendation) of CASES approvable cases of different persons."""
    from agent.records.case import load_case
    from agent.review.recommend import review_case

    case = load_case(write_case(root, base_case("CC-TEMPLATE"), {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN}))
    rec = review_case(case, deps)
    assert rec.decision == "approve"
    out = []
    for i in range(CASES):
        cid, idn = f"CC-{i:03d}", f"440106196505{i:05d}X"
        applicant = case.info.applicant.model_copy(update={"id_number": idn})
        info = case.info.model_copy(update={"case_id": cid, "applicant": applicant})
        out.append((info.model_dump_json(), rec.model_copy(update={"case_id": cid}).model_dump_json()))
    return out


def _cert_lines(path: Path, prefix: str, n: int) -> Path:
    rows = [
        {
            "certification_id": f"{prefix}-{i:04d}",
            "id_number": f"11010519800303{i:04d}",
            "disease": "恶性肿瘤门诊治疗",
            "icd10": "C34.1",
            "valid_from": "2025-01-01",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_reviewers_and_importers_at_once_lose_nothing_and_name_each_conflict(
    shared_url: str, deps: Any, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    open_registry(Settings(home=home, database_url=shared_url)).close()  # migrated once, as an admin would
    cases = _cases(deps, tmp_path / "cases")
    files = [_cert_lines(tmp_path / f"{p}.jsonl", p, LINES) for p in ("IMP-A", "IMP-B")]
    shared = _cert_lines(tmp_path / "shared.jsonl", "IMP-S", LINES)
    ctx = mp.get_context("spawn")  # no inherited connections: each process opens the registry as a machine
    start, out = ctx.Event(), ctx.Queue()
    procs = []
    for r in range(REVIEWERS):
        mine = cases[:]
        random.Random(r).shuffle(mine)  # each reviewer works through the cases in its own order
        procs.append(ctx.Process(target=decide_all, args=(str(home), shared_url, f"R{r}", mine, start, out)))
    for f in (files[0], shared, files[1], shared):
        procs.append(ctx.Process(target=import_file, args=(str(home), shared_url, str(f), start, out)))
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=180) for _ in range(REVIEWERS * CASES + 4)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    decisions = [r for r in results if r[0].startswith("R")]
    imports = [r for r in results if not r[0].startswith("R")]

    winners = {cid: who for who, cid, outcome, _ in decisions if outcome == "won"}
    assert len(winners) == CASES  # every case decided once
    assert Counter(cid for _, cid, outcome, _ in decisions if outcome == "won") == Counter({c: 1 for c in winners})
    for _who, cid, outcome, message in decisions:
        if outcome != "won":  # the loser is told, by name, whose decision stands
            assert outcome in ("DecisionRefusedError", "DecisionConflictError"), (outcome, message)
            assert f"approve by {winners[cid]} at " in message, message
    reg = open_registry(Settings(home=home, database_url=shared_url))
    with reg.read() as s:
        rows = s.execute(select(ReviewDecision.case_id, ReviewDecision.reviewer)).all()
        certs = s.execute(select(func.count()).select_from(Certification)).scalar()
        imported = s.execute(
            select(func.count()).select_from(Certification).where(Certification.certification_id.like("IMP-%"))
        ).scalar()
    reg.close()
    assert dict(rows) == winners and len(rows) == CASES  # nothing lost, nothing doubled
    assert imported == 3 * LINES and certs == 3 * LINES + CASES  # every approve issued its certification
    added = {path: a for path, a, _, _ in imports if not path.endswith("shared.jsonl")}
    assert sorted(added.values()) == [LINES, LINES]
    shared_runs = sorted((a, u) for path, a, u, bad in imports if path.endswith("shared.jsonl"))
    assert sum(a for a, _ in shared_runs) == LINES  # the file imported twice at once: each line in once
    assert all(a + u == LINES for a, u in shared_runs) and all(bad == "[]" for *_, bad in imports)
