"""The eval harness agrees with a hand check, gates fail CI when set above the measured value,
and comparisons print deltas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import cli
from eval.harness import run_eval
from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case

GOLD_APPROVE = {
    "decision": "approve",
    "disease": "恶性肿瘤门诊治疗",
    "reason_codes": ["PATHOLOGY_CONFIRMED"],
    "form": {
        "primary_diagnosis": "右肺上叶腺癌",
        "icd10": "C34.1",
        "diagnosis_basis": "pathology",
        "diagnosis_date": "2025-05-20",
        "treatment_modalities": ["targeted"],
        "cross_region": False,
    },
    "must_cite_topics": ["disease_scope", "diagnosis_evidence"],
}
CT_ONLY = "示例医院 CT检查报告\n报告日期：2025-05-01\n姓名：张三\n印象：右肺上叶占位，考虑肺癌可能，建议穿刺。"


def tiny_dataset(root: Path) -> Path:
    """Three cases with known outcomes; the third is labelled approve but the records only hold a
    suspicion, so the tool's need_info is a wrong prediction (on purpose)."""
    good = {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN}
    write_case(root, base_case("A"), good, gold=GOLD_APPROVE)
    reject_gold = {
        **GOLD_APPROVE,
        "decision": "reject",
        "reason_codes": ["HOSPITAL_NOT_DESIGNATED"],
        "must_cite_topics": ["designated_hospital"],
    }
    write_case(root, base_case("B", hospital__designated=False), good, gold=reject_gold)
    write_case(root, base_case("C"), {"CT.txt": CT_ONLY}, gold=GOLD_APPROVE)
    return root


def test_metrics_match_a_hand_check(deps: Any, cases_dir: Path) -> None:
    res = run_eval(tiny_dataset(cases_dir), deps)
    m = res.metrics
    assert m["cases"] == 3
    assert m["decision_accuracy"] == round(2 / 3, 4)
    assert m["confusion"]["approve"] == {"approve": 1, "reject": 0, "need_info": 1, "error": 0}
    assert m["confusion"]["reject"]["reject"] == 1
    assert (m["false_approve"], m["false_reject"]) == (0, 0)
    # macro-F1: approve P=1 R=.5 F=.667; reject F=1; need_info P=0 F=0 -> mean .5556
    assert m["macro_f1"] == 0.5556
    # 3 gold codes; A and B hit theirs, C predicted DIAGNOSIS_UNCONFIRMED instead of PATHOLOGY_CONFIRMED
    assert m["reason_recall"] == round(2 / 3, 4)
    # C gets only cross_region right; A and B get every field
    assert m["field_accuracy"] == {
        "primary_diagnosis": round(2 / 3, 4),
        "icd10": round(2 / 3, 4),
        "diagnosis_basis": round(2 / 3, 4),
        "diagnosis_date": round(2 / 3, 4),
        "treatment_modalities": round(2 / 3, 4),
        "cross_region": 1.0,
    }
    # C, a need_info, cites diagnosis_evidence (its deciding check) but not disease_scope: 4 of 5 topics
    assert m["citation_coverage"] == 0.8
    assert m["grounding"] == 1.0 and m["quotes"] > 0
    wrong = [s.case_id for s in res.scores if not s.correct]
    assert wrong == ["C"]


def test_gate_above_measured_value_fails_with_its_name(home: Path, cases_dir: Path, tmp_path: Path) -> None:
    ds = tiny_dataset(cases_dir)
    report = tmp_path / "report.md"
    ok = CliRunner().invoke(
        cli.app,
        ["eval", str(ds), "--min-decision-accuracy", "0.6", "--max-false-approve", "0", "--report", str(report)],
    )
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(
        cli.app, ["eval", str(ds), "--min-decision-accuracy", "0.9", "--min-citation-coverage", "0.9"]
    )
    assert bad.exit_code == 1
    assert "gate failed: --min-decision-accuracy 0.9: measured decision_accuracy = 0.6667" in bad.stderr
    assert "gate failed: --min-citation-coverage 0.9: measured citation_coverage = 0.8" in bad.stderr
    text = report.read_text(encoding="utf-8")
    assert "### C" in text and "expected **approve**" in text and "predicted **need_info**" in text
    assert "deciding check: diagnosis_evidence" in text


def test_json_output_and_compare(home: Path, cases_dir: Path, tmp_path: Path) -> None:
    ds = tiny_dataset(cases_dir)
    r = CliRunner().invoke(cli.app, ["eval", str(ds), "--json"])
    data = json.loads(r.stdout)
    assert data["metrics"]["decision_accuracy"] == 0.6667 and data["failed_gates"] == []
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(r.stdout, encoding="utf-8")
    data["metrics"]["decision_accuracy"] = 1.0
    new.write_text(json.dumps(data), encoding="utf-8")
    cmp = CliRunner().invoke(cli.app, ["eval", "--compare", str(old), str(new), "--json"])
    rows = {x["metric"]: x for x in json.loads(cmp.stdout)}
    assert rows["decision_accuracy"]["delta"] == round(1.0 - 0.6667, 4)
    assert rows["false_approve"]["delta"] == 0


def test_retrieval_eval_reports_all_modes(home: Path, tmp_path: Path) -> None:
    q = tmp_path / "q.yaml"
    q.write_text(
        "queries:\n  - q: 跨省就医备案\n    topics: [cross_region]\n"
        "  - q: 门特有效期几年\n    topics: [validity_renewal]\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(cli.app, ["eval", "--kb-queries", str(q), "--json", "--min-recall", "1.0"])
    assert r.exit_code == 0, r.output
    modes = json.loads(r.stdout)["retrieval"]["modes"]
    assert set(modes) == {"hybrid", "bm25", "dense"}
    assert modes["hybrid"]["recall_at_k"] == 1.0
    bad = tmp_path / "bad.yaml"
    bad.write_text("queries: nope", encoding="utf-8")
    r = CliRunner().invoke(cli.app, ["eval", "--kb-queries", str(bad)])
    assert r.exit_code == 2
