"""The command line as users meet it: JSON shapes, HTML form, exit codes and the exact messages
for bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import cli
from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case

runner = CliRunner()


def test_draft_json_has_the_form_contract(home: Path, cases_dir: Path, tmp_path: Path) -> None:
    gbk = PATHOLOGY.encode("gb18030")
    folder = write_case(cases_dir, base_case(), {"病理.txt": gbk, "门诊.md": CLINIC_PLAN})
    html = tmp_path / "form.html"
    r = runner.invoke(cli.app, ["draft", str(folder), "--json", "--html", str(html)])
    assert r.exit_code == 0, r.output
    form = json.loads(r.stdout)
    assert form["case_id"] == "T-001" and form["disease"] == "恶性肿瘤门诊治疗"
    for name in (
        "primary_diagnosis",
        "icd10",
        "diagnosis_basis",
        "diagnosis_date",
        "treatment_modalities",
        "cross_region",
    ):
        assert {"value", "confidence", "evidence"} <= set(form["fields"][name])
    ev = form["fields"]["primary_diagnosis"]["evidence"][0]
    text = PATHOLOGY if ev["document"].endswith("病理.txt") else CLINIC_PLAN
    assert text[ev["start"] : ev["end"]] == ev["quote"]
    assert form["fields"]["applicant_name"]["value"] == "张三"
    assert form["provenance"]["backend"] == "offline" and form["provenance"]["kb_version"]
    page = html.read_text(encoding="utf-8")
    assert "门诊特定病种认定申请表" in page and "证据出处" in page and "右肺上叶腺癌" in page


def test_draft_lists_what_is_missing_and_what_was_skipped(home: Path, cases_dir: Path) -> None:
    folder = write_case(cases_dir, base_case(), {"门诊.txt": CLINIC_PLAN, "scan.pdf": b"%PDF-1.4 broken"})
    r = runner.invoke(cli.app, ["draft", str(folder), "--json"])
    assert r.exit_code == 5  # a record was skipped
    form = json.loads(r.stdout)
    assert form["skipped"] == [
        {
            "document": "records/scan.pdf",
            "reason": "corrupt PDF (cannot be opened)",
            "hint": "Re-export or re-scan the document; it cannot be opened.",
        }
    ]
    assert any("病理或细胞学报告" in m for m in form["missing"])
    assert "无法读取 records/scan.pdf（corrupt PDF (cannot be opened)）：请重新提供" in form["missing"]


def test_draft_shows_where_the_physician_form_disagrees(home: Path, cases_dir: Path) -> None:
    folder = write_case(
        cases_dir,
        base_case(),
        {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN},
        form={"icd10": "C34.9", "diagnosis_date": "2025-05-20"},
    )
    r = runner.invoke(cli.app, ["draft", str(folder)])
    assert r.exit_code == 0
    assert "与申请表不一致 icd10: 表中“C34.9”，病历为“C34.1”" in r.stdout.replace("\n", "")


def test_review_json_is_a_recommendation(home: Path, cases_dir: Path) -> None:
    folder = write_case(cases_dir, base_case(), {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN})
    r = runner.invoke(cli.app, ["review", str(folder), "--json"])
    rec = json.loads(r.stdout)
    assert rec["decision"] == "approve" and rec["reason_codes"] == ["PATHOLOGY_CONFIRMED"]
    assert rec["checks"][3]["citations"][0]["clause_id"].startswith("REF-")
    assert rec["error"] is None and rec["provenance"]["catalog_hash"]
    assert rec["rationale"].startswith("审核意见：建议予以认定")


def test_bad_input_messages(home: Path, cases_dir: Path) -> None:
    r = runner.invoke(cli.app, ["review", str(cases_dir / "nope")])
    assert r.exit_code == 2
    assert f"error: not a case folder: {cases_dir / 'nope'}" in r.stderr
    assert "hint: Pass a folder holding case.json and records/." in r.stderr
    folder = write_case(cases_dir, base_case(applicant__birth_date="1965-02-30"), {"病理.txt": PATHOLOGY})
    r = runner.invoke(cli.app, ["draft", str(folder)])
    assert r.exit_code == 2
    assert "error: T-001: case.json field 'applicant.birth_date':" in r.stderr
    r = runner.invoke(cli.app, ["kb", "search", "备案", "--topic", "nonsense"])
    assert r.exit_code == 2 and "error: unknown topic 'nonsense'" in r.stderr
    r = runner.invoke(cli.app, ["kb", "show", "REF-MT-2025#第九十九条"])
    assert r.exit_code == 2 and "error: no clause 'REF-MT-2025#第九十九条'" in r.stderr
    r = runner.invoke(cli.app, ["triage", str(cases_dir / "nope")])
    assert r.exit_code == 2 and "error: not a folder:" in r.stderr


def test_kb_commands(home: Path) -> None:
    r = runner.invoke(cli.app, ["kb", "show", "REF-MT-2025#第八条", "--json"])
    clause = json.loads(r.stdout)
    assert clause["topics"] == ["eligibility"] and "参保" in clause["text"]
    r = runner.invoke(cli.app, ["kb", "list", "--json"])
    assert len(json.loads(r.stdout)["clauses"]) >= 50
    r = runner.invoke(cli.app, ["kb", "check"])
    assert r.exit_code == 0 and "agree" in r.stdout


def test_any_command_builds_a_missing_kb_first(tmp_path: Path, cases_dir: Path) -> None:
    folder = write_case(cases_dir, base_case(), {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN})
    r = runner.invoke(
        cli.app, ["review", str(folder), "--json", "--no-audit"], env={"CERTREVIEW_HOME": str(tmp_path / "fresh")}
    )
    assert r.exit_code == 0
    assert "No knowledge base yet: building it from the shipped policies" in r.stderr
    assert (tmp_path / "fresh" / "kb" / "CURRENT").exists()
