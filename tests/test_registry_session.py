"""Issue 13's scripted session, through the CLI in a fresh data home, on SQLite and (when
CERTREVIEW_TEST_POSTGRES_URL is set) PostgreSQL: review, decide, show, a death event, show,
renewals, the 2503 export, a second case of the same person and disease."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import cli
from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case
from tests.test_registry import db_url, reg_settings, write_jsonl  # noqa: F401  (fixtures)

runner = CliRunner()
ID = "440106196505123456"
GOOD = {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN}


def _run(*args: str) -> Any:
    return runner.invoke(cli.app, list(args))


def _json(*args: str) -> Any:
    r = _run(*args, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_scripted_session(home: Path, cases_dir: Path, reg_settings: Any, tmp_path: Path) -> None:
    first = write_case(cases_dir, base_case("S-001"), GOOD)  # applied 2025-06-03
    assert _json("review", str(first))["decision"] == "approve"
    assert not (home / "registry.sqlite3").exists()  # reviewing alone creates no registry

    done = _json("decide", str(first), "--approve", "--reviewer", "R-01")
    assert (done["decision"], done["override"], done["certification_id"]) == ("approve", False, "CERT-S-001")
    assert (done["valid_from"], done["valid_until"]) == ("2025-06-03", "2027-06-02")
    assert len(done["recommendation_sha256"]) == 64

    person = _json("registry", "show", ID, "--on", "2025-12-01")
    [c] = person["certifications"]
    assert (c["status"], c["disease"], c["icd10"], c["institution"], c["reviewer"], c["case_id"]) == (
        "active", "恶性肿瘤门诊治疗", "C34.1", "示例肿瘤医院", "R-01", "S-001",
    )  # fmt: skip
    assert [d["decision"] for d in person["decisions"]] == ["approve"]

    # the same person and disease again, inside the validity and outside the renewal window
    second = write_case(cases_dir, base_case("S-002", submitted_at="2025-09-01T09:00:00+08:00"), GOOD)
    rec = _json("review", str(second))
    assert (rec["decision"], rec["reason_codes"]) == ("reject", ["DUPLICATE_CERTIFICATION"])
    dup = next(ch for ch in rec["checks"] if ch["id"] == "duplicate")
    assert dup["detail"] == "已持有恶性肿瘤门诊治疗认定，有效期至2027-06-02，距到期超过6个月，属重复认定。"
    # the first case reviewed again is not its own duplicate
    assert _json("review", str(first))["decision"] == "approve"

    filing = _rows(_run("registry", "export", "--format", "2503", "--on", "2025-12-01").stdout)
    assert [(f["psn_no"], f["opsp_dise_code"], f["insutype"], f["begndate"], f["enddate"]) for f in filing] == [
        (ID, "M00500", "310", "2025-06-03", "2027-06-02")
    ]
    out = tmp_path / "2503.jsonl"
    assert _run("registry", "export", "--format", "2503", "--out", str(out), "--on", "2025-12-01").exit_code == 0
    assert _rows(out.read_text(encoding="utf-8")) == filing

    events = write_jsonl(
        tmp_path / "events.jsonl", [{"event_id": "EV-000001", "type": "death", "id_number": ID, "date": "2026-01-15"}]
    )
    r = _run("registry", "events", "import", str(events))
    assert r.exit_code == 0 and "events: 1 added, 0 unchanged, 0 bad lines" in r.stdout
    person = _json("registry", "show", ID, "--on", "2026-02-01")
    [c] = person["certifications"]
    assert (c["status"], c["exit_reason"], c["exit_date"]) == ("exited", "death", "2026-01-15")
    assert person["events"] == [{"event_id": "EV-000001", "type": "death", "date": "2026-01-15", "matched": True}]
    r = _run("registry", "show", ID, "--on", "2026-02-01")
    assert "exited" in r.stdout and "死亡" in r.stdout  # the table names the reason in Chinese

    # renewals: the exited one is not due; an imported one of another person is
    other = {"certification_id": "CERT-X", "id_number": "110105198003031111", "name": "李四", "scheme": "居民医保",
             "region_code": "110105", "disease": "尿毒症透析", "valid_from": "2024-09-01"}  # fmt: skip
    assert _run("registry", "import", str(write_jsonl(tmp_path / "c.jsonl", [other]))).exit_code == 0
    due = _json("registry", "renewals", "--within", "6m", "--on", "2026-05-01")
    assert due["total"] == 1 and [x["certification_id"] for x in due["renewals"]] == ["CERT-X"]
    assert _rows(_run("registry", "export", "--format", "2503", "--on", "2026-02-01").stdout)[0]["psn_no"] != ID

    # after the death the certification no longer counts as held
    third = write_case(cases_dir, base_case("S-003", submitted_at="2026-02-01T09:00:00+08:00"), GOOD)
    assert "DUPLICATE_CERTIFICATION" not in _json("review", str(third))["reason_codes"]

    stats = _json("registry", "stats", "--on", "2026-02-01")
    assert stats["certifications"]["exited_by_reason"] == {"death": 1} and stats["decisions"]["current"] == 1
    r = _run("audit", "verify")
    assert r.exit_code == 0, r.stderr


def test_override_without_reason_exits_2_and_writes_nothing(
    home: Path,
    cases_dir: Path,
    reg_settings: Any,
) -> None:
    case = write_case(cases_dir, base_case("S-010"), GOOD)
    audit_before = (home / "audit.jsonl").read_text() if (home / "audit.jsonl").exists() else ""
    r = _run("decide", str(case), "--reject", "--reviewer", "R-02")
    assert r.exit_code == 2
    assert (
        "error: case S-010: the decision reject differs from the recommendation approve; an override needs a reason"
        in r.stderr
    )
    assert 'hint: Pass --reason "…" saying why the recommendation is overridden.' in r.stderr
    assert _run("registry", "show", ID).exit_code == 2  # nothing was recorded
    assert ((home / "audit.jsonl").read_text() if (home / "audit.jsonl").exists() else "") == audit_before

    r = _run("decide", str(case), "--reject", "--reviewer", "R-02", "--reason", "病理报告为外院复印件")
    assert r.exit_code == 0 and "S-010: reject by R-02 (override)" in r.stdout
    r = _run("decide", str(case), "--approve", "--reviewer", "R-03")
    assert r.exit_code == 2
    assert "error: case S-010 is already decided: reject by R-02 at " in r.stderr
    assert 'hint: Pass --supersede --reason "…" to replace that decision.' in r.stderr
    r = _run("decide", str(case), "--approve", "--reviewer", "R-03", "--supersede")
    assert r.exit_code == 2 and "error: case S-010: superseding a decision needs a reason" in r.stderr
    done = _json("decide", str(case), "--approve", "--reviewer", "R-03", "--supersede", "--reason", "原件已补")
    assert done["superseded"] == 1 and done["certification_id"] == "CERT-S-010"
    person = _json("registry", "show", ID)
    assert [(d["decision"], d["superseded_by"]) for d in person["decisions"]] == [("reject", 2), ("approve", None)]
    audit = [json.loads(x) for x in (home / "audit.jsonl").read_text().splitlines()]
    assert [(e["actor"], e["decision"]) for e in audit if e["actor"] != "certreview"] == [
        ("reviewer:R-02", "reject"),
        ("reviewer:R-03", "approve"),
    ]


def test_cli_bad_input_is_named(home: Path, cases_dir: Path, reg_settings: Any, tmp_path: Path) -> None:
    case = write_case(cases_dir, base_case("S-020"), GOOD)
    r = _run("decide", str(case), "--approve", "--reject", "--reviewer", "R")
    assert r.exit_code == 2 and "error: choose exactly one of --approve, --reject, --need-info" in r.stderr
    r = _run("decide", str(case), "--approve")
    assert r.exit_code == 2 and "error: no reviewer given" in r.stderr
    r = _run("registry", "show", "000000000000000000")
    assert r.exit_code == 2 and "error: the registry holds nothing on 000000000000000000" in r.stderr
    r = _run("registry", "renewals", "--within", "half a year")
    assert r.exit_code == 2 and "error: --within 'half a year' is not a number of months" in r.stderr
    r = _run("registry", "stats", "--on", "2026-02-30")
    assert r.exit_code == 2 and "error: --on '2026-02-30' is not a date" in r.stderr
    r = _run("registry", "export", "--format", "xml")
    assert r.exit_code == 2 and "error: unknown export format 'xml'" in r.stderr
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"event_id": "E1", "type": "death", "id_number": ID}, "[]"])
    r = _run("registry", "events", "import", str(bad))
    assert r.exit_code == 5
    assert "skipped line 1, field 'date': Field required" in r.stderr
    assert "skipped line 2: not a JSON object" in r.stderr
    r = _run("registry", "import", str(tmp_path / "missing.jsonl"))
    assert r.exit_code == 2 and f"error: no such file: {tmp_path / 'missing.jsonl'}" in r.stderr


def test_eval_agreement_reads_the_recorded_decisions(home: Path, cases_dir: Path, reg_settings: Any) -> None:
    case = write_case(cases_dir, base_case("S-030"), GOOD)
    assert _run("decide", str(case), "--reject", "--reviewer", "R-07", "--reason", "材料不全").exit_code == 0
    a = _json("eval", "--agreement")["agreement"]
    assert (a["decisions"], a["agreement"], a["overrides"]) == (1, 0.0, 1)
    assert a["override_reasons"] == [{"reason": "材料不全", "count": 1}]
    r = _run("eval", "--agreement")
    assert r.exit_code == 0 and "AI–human agreement over 1 decisions: 0.0%" in r.stdout


def test_help_does_not_import_the_database_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, cli\n"
        "from typer.testing import CliRunner\n"
        "for args in (['--help'], ['registry', '--help'], ['decide', '--help']):\n"
        "    r = CliRunner().invoke(cli.app, args)\n"
        "    assert r.exit_code == 0, r.output\n"
        "print(','.join(m for m in ('sqlalchemy', 'alembic', 'psycopg') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_registry_certification_in_its_renewal_window_is_a_renewal(
    home: Path, cases_dir: Path, reg_settings: Any, tmp_path: Path
) -> None:
    held = {"certification_id": "CERT-R", "id_number": ID, "name": "张三", "scheme": "职工医保",
            "region_code": "440100", "disease": "恶性肿瘤", "valid_from": "2023-09-01"}  # fmt: skip
    assert _run("registry", "import", str(write_jsonl(tmp_path / "c.jsonl", [held]))).exit_code == 0
    rec = _json("review", str(write_case(cases_dir, base_case("S-040"), GOOD)))  # applied 2025-06-03
    assert rec["decision"] == "approve"
    dup = next(ch for ch in rec["checks"] if ch["id"] == "duplicate")
    assert dup["detail"] == "已持有恶性肿瘤门诊治疗认定，有效期至2025-08-31，处于到期前6个月复审期内，可申请复审续期。"
    assert any("validity_renewal" in c["topics"] for c in rec["citations"])
