"""Sign-off on a real database (SQLite, and PostgreSQL when CERTREVIEW_TEST_POSTGRES_URL is set):
one current decision per case held by the database, two reviewers racing, AI–human agreement."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from agent.core.config import Settings
from agent.registry.errors import DecisionConflictError, DecisionRefusedError
from agent.registry.store import Registry, open_registry
from agent.registry.tables import ReviewDecision
from tests.test_registry import db_url, reg, reg_settings  # noqa: F401  (fixtures)


# ---------------------------------------------------------------- one current decision per case
def _decision(case_id: str, reviewer: str) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "decision": "approve",
        "reviewer": reviewer,
        "recommendation_decision": "approve",
        "recommendation_sha256": "0" * 64,
        "created_at": dt.datetime.now(dt.timezone.utc),
    }


def test_database_allows_one_current_decision_per_case(reg: Registry) -> None:
    with reg.write() as s, s.begin():
        s.execute(insert(ReviewDecision), [_decision("C-1", "R1")])
    with pytest.raises(IntegrityError), reg.write() as s, s.begin():  # written straight past the code's check
        s.execute(insert(ReviewDecision), [_decision("C-1", "R2")])
    with reg.write() as s, s.begin():  # a superseded one frees the slot
        s.execute(text("UPDATE decisions SET superseded_by = id WHERE case_id = 'C-1'"))
        s.execute(insert(ReviewDecision), [_decision("C-1", "R2")])
    with reg.read() as s:
        assert s.execute(text("SELECT count(*) FROM decisions WHERE superseded_by IS NULL")).scalar() == 1


def test_two_reviewers_at_the_same_moment_one_wins(
    reg: Registry, reg_settings: Settings, deps: Any, tmp_path: Path
) -> None:
    from agent.records.case import load_case
    from agent.registry.decisions import SignOff, record_decision
    from agent.review.recommend import review_case
    from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case

    case = load_case(
        write_case(tmp_path / "cases", base_case("RACE-1"), {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN})
    )
    rec = review_case(case, deps)
    assert rec.decision == "approve"
    # R0 holds the case's slot in an open transaction while R1 and R2 decide: R0 commits, both lose
    holder = reg.write()
    holder.begin()
    holder.execute(insert(ReviewDecision), [_decision("RACE-1", "R0")])
    barrier = threading.Barrier(3)
    outcomes: dict[str, BaseException | None] = {}

    def sign(reviewer: str) -> None:
        own = open_registry(reg_settings)  # each reviewer its own connection, as two processes would
        barrier.wait()
        try:
            record_decision(own, case.info, rec, SignOff("approve", reviewer), audit_log=tmp_path / "audit.jsonl")
            outcomes[reviewer] = None
        except (DecisionConflictError, DecisionRefusedError) as exc:
            outcomes[reviewer] = exc
        finally:
            own.close()

    threads = [threading.Thread(target=sign, args=(r,)) for r in ("R1", "R2")]
    for t in threads:
        t.start()
    barrier.wait()
    threading.Event().wait(0.5)  # both are now blocked on the database, not on this test
    holder.commit()
    holder.close()
    for t in threads:
        t.join(timeout=60)
    for r in ("R1", "R2"):
        exc = outcomes[r]
        assert exc is not None and "approve by R0" in exc.message, (r, exc)
    with reg.read() as s:
        assert s.execute(text("SELECT reviewer FROM decisions")).scalars().all() == ["R0"]
        assert s.execute(text("SELECT count(*) FROM certifications")).scalar() == 0
    assert not (tmp_path / "audit.jsonl").exists() or "R1" not in (tmp_path / "audit.jsonl").read_text()


def test_two_racing_reviewers_exactly_one_recorded(
    reg: Registry, reg_settings: Settings, deps: Any, tmp_path: Path
) -> None:
    from agent.records.case import load_case
    from agent.registry.decisions import SignOff, record_decision
    from agent.review.recommend import review_case
    from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case

    case = load_case(
        write_case(tmp_path / "cases", base_case("RACE-2"), {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN})
    )
    rec = review_case(case, deps)
    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def sign(reviewer: str) -> None:
        own = open_registry(reg_settings)
        barrier.wait()
        try:
            outcomes[reviewer] = record_decision(own, case.info, rec, SignOff("approve", reviewer))
        except (DecisionConflictError, DecisionRefusedError) as exc:
            outcomes[reviewer] = exc
        finally:
            own.close()

    threads = [threading.Thread(target=sign, args=(r,)) for r in ("R1", "R2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    won = [r for r, o in outcomes.items() if not isinstance(o, Exception)]
    lost = [o for o in outcomes.values() if isinstance(o, Exception)]
    assert len(won) == 1 and len(lost) == 1
    assert f"approve by {won[0]}" in lost[0].message
    with reg.read() as s:
        assert s.execute(text("SELECT count(*) FROM decisions")).scalar() == 1
        assert s.execute(text("SELECT reviewer FROM certifications")).scalars().all() == won


# ---------------------------------------------------------------- agreement
def test_agreement_accuracy_kappa_confusion_reasons_per_reviewer(reg: Registry) -> None:
    from agent.registry.agreement import agreement, cohen_kappa

    assert cohen_kappa([]) is None and cohen_kappa([("approve", "approve")]) is None
    rows = [
        ("approve", "approve", "R1", None),
        ("approve", "approve", "R1", None),
        ("approve", "reject", "R1", "病理为复印件"),
        ("reject", "reject", "R2", None),
        ("need_info", "need_info", "R2", None),
        ("reject", "approve", "R2", "病理为复印件"),
    ]
    with reg.write() as s, s.begin():
        s.execute(
            insert(ReviewDecision),
            [
                _decision(f"A-{i}", who) | {"recommendation_decision": ai, "decision": human, "reason": why}
                for i, (ai, human, who, why) in enumerate(rows)
            ]
            + [_decision("A-9", "R3") | {"superseded_by": None, "recommendation_decision": None}],
        )
    a = agreement(reg)
    assert (a["decisions"], a["agreement"], a["overrides"]) == (6, round(4 / 6, 4), 2)
    assert a["kappa"] == round(10 / 22, 4)  # observed 4/6, chance 14/36
    assert a["confusion"]["matrix"]["approve"] == {"approve": 2, "reject": 1, "need_info": 0}
    assert a["confusion"]["matrix"]["reject"] == {"approve": 1, "reject": 1, "need_info": 0}
    assert a["override_reasons"] == [{"reason": "病理为复印件", "count": 2}]
    assert a["per_reviewer"]["R1"] == {"decisions": 3, "agreement": round(2 / 3, 4), "overrides": 1, "kappa": 0.0}
    assert set(a["per_reviewer"]) == {"R1", "R2"}  # a decision shown no recommendation is not counted


def test_the_recorded_recommendation_hash_is_reproducible(deps: Any, tmp_path: Path) -> None:
    """The sha256 a decision records identifies the recommendation shown: reviewing the same case
    again gives the same hash (timings at every depth left out), a changed record a different one."""
    from agent.records.case import load_case
    from agent.registry.decisions import recommendation_hash
    from agent.review.recommend import review_case
    from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case

    folder = write_case(tmp_path / "cases", base_case("HASH-1"), {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN})
    first, second = (review_case(load_case(folder), deps) for _ in range(2))
    assert recommendation_hash(first) == recommendation_hash(second)
    (folder / "records" / "门诊.txt").write_text(CLINIC_PLAN.replace("右肺上叶", "左肺下叶"), encoding="utf-8")
    assert recommendation_hash(review_case(load_case(folder), deps)) != recommendation_hash(first)
