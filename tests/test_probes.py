"""The tester's fault probes (issue 18 items 1, 3-6; issue 11 deliverable 5, audit part), each run
through the command line in a fresh data home: a named error with the exact message a user sees,
or a correct result; nothing lost; the audit log consistent afterwards."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import cli
from agent.core.config import PROJECT_ROOT
from agent.registry import audit
from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, make_image_pdf, make_pdf, write_case

runner = CliRunner()
TORN = "line 2: torn entry: the last line is incomplete (a crash or a full disk during a write)"
CASE_HINT = "hint: Fix that field; docs/CASES.md lists every case.json field and its allowed values."


def run(*args: str) -> Result:
    return runner.invoke(cli.app, list(args))


def lines(text: str) -> list[str]:
    """Non-empty lines (a transient progress bar leaves an empty one on stderr)."""
    return [x for x in text.splitlines() if x.strip()]


def flat(text: str) -> str:
    """Output with the terminal's line wrapping and padding removed."""
    return " ".join(text.split())


def good_case(root: Path, case_id: str = "T-001", **over: object) -> Path:
    return write_case(root, base_case(case_id, **over), {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN})


def audited(home: Path) -> int:
    res = audit.verify(home / "audit.jsonl")
    assert res.ok, res.problems
    return res.entries


# ---------------------------------------------------------------- 1. a damaged log never blocks the work
def test_torn_audit_log_still_prints_and_writes_results_and_exits_6(
    home: Path, cases_dir: Path, tmp_path: Path
) -> None:
    folder = good_case(cases_dir)
    assert run("review", str(folder), "--json").exit_code == 0
    log = home / "audit.jsonl"
    with log.open("ab") as fh:
        fh.write(b'{"seq": 1, "time": "20')  # the process died mid-write
    r = run("review", str(folder), "--json")
    assert r.exit_code == 6
    assert json.loads(r.stdout)["decision"] == "approve"  # the result is out
    assert lines(r.stderr) == [
        f"error: audit log damaged ({TORN}); 1 result(s) were written but not recorded in {log}",
        "hint: Run `certreview audit verify` to see the damage, keep a copy of the log, then "
        "`certreview audit archive` to set it aside and start a new chain.",
    ]
    out = tmp_path / "out"
    r = run("triage", str(cases_dir), "--out", str(out))
    assert r.exit_code == 6
    assert json.loads((out / "results.jsonl").read_text(encoding="utf-8").splitlines()[0])["case_id"] == "T-001"
    r = run("audit", "verify")
    assert r.exit_code == 1 and lines(r.stderr)[0] == f"tampered: {TORN}"
    r = run("audit", "archive")
    assert r.exit_code == 0 and "archived the audit log (damaged: line 2: torn entry" in flat(r.stdout)
    assert run("review", str(folder)).exit_code == 0
    assert audited(home) == 2  # the archive event, then the new review


def test_one_bad_byte_in_the_log_is_named_and_reviewing_goes_on(home: Path, cases_dir: Path) -> None:
    folder = good_case(cases_dir)
    run("review", str(folder))
    log = home / "audit.jsonl"
    data = bytearray(log.read_bytes())
    data[40] = 0xFE
    log.write_bytes(bytes(data))
    r = run("review", str(folder), "--json")
    assert r.exit_code == 6 and json.loads(r.stdout)["case_id"] == "T-001"
    r = run("audit", "verify")
    assert r.exit_code == 1
    assert lines(r.stderr)[0] == "tampered: line 1: bad bytes: not UTF-8 text (damaged on disk or edited)"


def test_exit_code_6_is_documented_in_help() -> None:
    assert "6 results written but the audit log is damaged and did not record them" in flat(run("--help").stdout)
    assert "6 when the result was printed but the audit log is damaged" in flat(run("review", "--help").stdout)
    assert "6 when the results were written but the audit log is damaged" in flat(run("triage", "--help").stdout)


# ---------------------------------------------------------------- 2. tamper detection without holes
def test_deleted_log_and_garbage_head_read_as_tampered(home: Path, cases_dir: Path) -> None:
    run("review", str(good_case(cases_dir)))
    (home / "audit.jsonl").unlink()
    r = run("audit", "verify")
    assert r.exit_code == 1
    assert lines(r.stderr)[:2] == [
        "tampered: truncated: the log ends at entry 0 but the head file audit.jsonl.head records 1 (the log deleted)",
        "tampered: truncated: the log ends at entry 0 but the anchor audit.anchor records 1 (the log deleted)",
    ]
    (home / "audit.jsonl.head").unlink()
    (home / "audit.anchor").write_bytes(b"\x89garbage")
    r = run("audit", "verify")
    assert r.exit_code == 1
    assert lines(r.stderr)[0] == ("tampered: damaged head: anchor audit.anchor is not a valid head (damaged or edited)")


def test_last_line_removed_with_the_head_is_caught_by_the_anchor(home: Path, cases_dir: Path) -> None:
    good_case(cases_dir, "T-001")
    good_case(cases_dir, "T-002")
    run("triage", str(cases_dir))
    log = home / "audit.jsonl"
    log.write_text(log.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    (home / "audit.jsonl.head").unlink()
    r = run("audit", "verify")
    assert r.exit_code == 1
    assert "tampered: truncated: the log ends at entry 1 but the anchor audit.anchor records 2" in r.stderr


# ---------------------------------------------------------------- 3. output paths checked first
def test_triage_out_that_is_a_file_fails_before_any_case(home: Path, cases_dir: Path, tmp_path: Path) -> None:
    good_case(cases_dir)
    target = tmp_path / "results.txt"
    target.write_text("keep me", encoding="utf-8")
    r = run("triage", str(cases_dir), "--out", str(target))
    assert r.exit_code == 2
    assert lines(r.stderr) == [
        f"error: --out {target}: is a file, not a folder",
        "hint: Pass a folder for the results (it is created if missing).",
    ]
    assert target.read_text(encoding="utf-8") == "keep me"
    assert not (home / "audit.jsonl").exists()  # nothing audited


def test_out_inside_the_batch_is_refused(home: Path, cases_dir: Path) -> None:
    good_case(cases_dir)
    r = run("triage", str(cases_dir), "--out", str(cases_dir / "out"))
    assert r.exit_code == 2
    assert lines(r.stderr)[0] == f"error: --out {cases_dir / 'out'}: is inside the batch folder {cases_dir}"
    assert not (cases_dir / "out").exists() and not (home / "audit.jsonl").exists()


def test_draft_out_under_a_missing_folder_is_created(home: Path, cases_dir: Path, tmp_path: Path) -> None:
    folder = good_case(cases_dir)
    target = tmp_path / "new" / "deeper" / "form.json"
    r = run("draft", str(folder), "--json", "--out", str(target))
    assert r.exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(r.stdout)


def test_draft_and_eval_paths_under_a_file_fail_first(home: Path, cases_dir: Path, tmp_path: Path) -> None:
    folder = good_case(cases_dir)
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    r = run("draft", str(folder), "--html", str(blocker / "form.html"))
    assert r.exit_code == 2
    assert lines(r.stderr) == [
        f"error: --html {blocker / 'form.html'}: {blocker} is a file, not a folder",
        "hint: Choose a path whose folders are folders; missing folders are created.",
    ]
    r = run("draft", str(folder), "--out", str(tmp_path))
    assert r.exit_code == 2 and lines(r.stderr)[0] == f"error: --out {tmp_path}: is a folder, not a file"
    r = run("eval", str(PROJECT_ROOT / "eval" / "datasets" / "dev"), "--report", str(blocker / "r.md"))
    assert r.exit_code == 2
    assert lines(r.stderr)[0] == f"error: --report {blocker / 'r.md'}: {blocker} is a file, not a folder"
    assert "decision_accuracy" not in r.stdout  # refused before the dataset ran


def test_a_second_triage_into_a_held_out_folder_is_refused(home: Path, cases_dir: Path, tmp_path: Path) -> None:
    good_case(cases_dir)
    out = tmp_path / "out"
    holder = subprocess.Popen(  # another certreview run holding the folder: a real second process
        [
            sys.executable,
            "-c",
            "import sys,time; from filelock import FileLock; l = FileLock(sys.argv[1]); l.acquire(); "
            "print('held', flush=True); time.sleep(60)",
            str(tmp_path / ".out.certreview.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        r = run("triage", str(cases_dir), "--out", str(out))
    finally:
        holder.kill()
        holder.wait()
    assert r.exit_code == 75
    assert lines(r.stderr) == [
        f"error: --out {out}: another certreview run is writing there",
        "hint: Wait for that run to finish, or pass another folder.",
    ]
    assert not out.exists() and not (home / "audit.jsonl").exists()
    assert run("triage", str(cases_dir), "--out", str(out)).exit_code == 0  # free again


def test_a_rerun_into_the_same_out_replaces_its_files_and_keeps_others(
    home: Path, cases_dir: Path, tmp_path: Path
) -> None:
    first, second = cases_dir / "first", cases_dir / "second"
    good_case(first, "F-1")
    good_case(first, "F-2")
    good_case(second, "S-1")
    out = tmp_path / "out"
    assert run("triage", str(first), "--out", str(out)).exit_code == 0
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert run("triage", str(second), "--out", str(out)).exit_code == 0
    ids = [json.loads(x).get("case_id") for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert ids == ["S-1", None]  # one batch only, then the summary line
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "report.html", "results.csv", "results.jsonl"]
    assert audited(home) == 3


def test_a_write_that_fails_after_the_run_still_prints_the_results_and_audits_nothing(
    home: Path, cases_dir: Path, tmp_path: Path
) -> None:
    good_case(cases_dir)
    out = tmp_path / "out"
    (out / "results.jsonl").mkdir(parents=True)  # passes the up-front check, fails when replaced
    r = run("triage", str(cases_dir), "--json", "--out", str(out))
    assert r.exit_code == 2
    assert json.loads(r.stdout.splitlines()[0])["case_id"] == "T-001"  # the results are not lost
    assert lines(r.stderr) == [
        f"error: --out {out}: could not write the results (Is a directory)",
        "hint: The results were printed above; free space or pass another folder, then run again.",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["results.jsonl"]  # no temporary folder left behind
    assert not (home / "audit.jsonl").exists()  # the log vouches only for results that were written


# ---------------------------------------------------------------- 4. skipped records are visible
def _case_with_unreadable_records(root: Path) -> Path:
    folder = good_case(root)
    make_image_pdf(folder / "records" / "scan.pdf")
    make_pdf(folder / "records" / "locked.pdf", ["病理诊断：腺癌"], encrypt="pw")
    return folder


SCAN = "records/scan.pdf: no text layer (scanned image PDF)"
LOCKED = "records/locked.pdf: encrypted PDF (password protected)"


def test_review_lists_skipped_records_and_exits_5(home: Path, cases_dir: Path) -> None:
    r = run("review", str(_case_with_unreadable_records(cases_dir)))
    assert r.exit_code == 5
    text = flat(r.stdout)
    assert f"未能读取 skipped T-001: {LOCKED} — Ask the hospital for an unprotected copy." in text
    assert f"未能读取 skipped T-001: {SCAN} — Provide a text PDF or a transcription; OCR is not done" in text
    assert audited(home) == 1


def test_a_case_with_a_skipped_record_is_never_ready_to_approve(home: Path, cases_dir: Path, tmp_path: Path) -> None:
    _case_with_unreadable_records(cases_dir)
    good_case(cases_dir, "T-002")
    out = tmp_path / "out"
    r = run("triage", str(cases_dir), "--out", str(out))
    assert r.exit_code == 5  # partial: records were skipped
    rows = [x.split("│") for x in r.stdout.splitlines() if "│" in x]
    assert [c.strip() for c in rows[0][1:4]] == ["T-002", "approve", "approve"]
    assert [c.strip() for c in rows[1][1:4]] == ["T-001", "approve", "check_documents"]
    assert f"未能读取 skipped T-001: {LOCKED}" in flat(r.stdout)
    recs = [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [s["document"] for s in recs[0]["form"]["skipped"]] == ["records/locked.pdf", "records/scan.pdf"]
    assert recs[-1]["summary"]["documents_to_check"] == 1 and recs[-1]["summary"]["records_skipped"] == 2
    rows = {row["case_id"]: row for row in csv.DictReader(io.StringIO((out / "results.csv").read_text("utf-8-sig")))}
    assert rows["T-001"]["skipped_records"] == f"{LOCKED}; {SCAN}"
    assert rows["T-001"]["queue_group"] == "check_documents" and rows["T-002"]["queue_group"] == "approve"
    html = (out / "report.html").read_text(encoding="utf-8")
    ready, rest = html.split('id="group-check_documents"')
    assert 'id="case-T-002"' in ready and 'id="case-T-001"' not in ready
    assert 'id="case-T-001"' in rest.split('id="group-reject"')[0]
    assert "未能读取的文书 Records not read（2）" in html
    assert "records/scan.pdf：no text layer (scanned image PDF)" in html


# ---------------------------------------------------------------- 5. case.json enums and dates
@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"applicant__insurance__status": "正常"}, "applicant.insurance.status",
         "Input should be '正常参保', '暂停参保' or '终止参保'"),
        ({"applicant__insurance__scheme": "商业保险"}, "applicant.insurance.scheme",
         "Input should be '职工医保' or '居民医保'"),
        ({"applicant__sex": "M"}, "applicant.sex", "Input should be '男' or '女'"),
        ({"applicant__birth_date": "2999-01-01"}, "applicant.birth_date", "2999-01-01 is in the future"),
        ({"applicant__birth_date": "2025-07-01"}, "applicant.birth_date",
         "2025-07-01 is not before the application date 2025-06-03"),
        ({"hospital__region_code": "44010"}, "hospital.region_code", "must be a 6-digit administrative code"),
        ({"applicant__insurance__region_code": "4401AB"}, "applicant.insurance.region_code",
         "must be a 6-digit administrative code"),
    ],
)  # fmt: skip
def test_values_outside_the_enums_are_invalid_input_with_the_field(
    home: Path, cases_dir: Path, over: dict[str, str], field: str, message: str
) -> None:
    folder = good_case(cases_dir, **over)
    r = run("review", str(folder))
    assert r.exit_code == 2
    assert lines(r.stderr) == [f"error: T-001: case.json field '{field}': {message}", CASE_HINT]
    assert not (home / "audit.jsonl").exists()


def test_batch_errors_name_the_field_in_every_output(home: Path, cases_dir: Path, tmp_path: Path) -> None:
    good_case(cases_dir, "BAD-STATUS", applicant__insurance__status="正常")
    (cases_dir / "EMPTY").mkdir()
    good_case(cases_dir, "OK")
    out = tmp_path / "out"
    r = run("triage", str(cases_dir), "--out", str(out))
    assert r.exit_code == 5
    msg = (
        "BAD-STATUS: case.json field 'applicant.insurance.status': Input should be '正常参保', '暂停参保' or '终止参保'"
    )
    assert f"BAD-STATUS: INVALID_INPUT (applicant.insurance.status) {msg}" in lines(r.stderr)
    assert "EMPTY: INVALID_INPUT (case.json) EMPTY: case.json is missing" in lines(r.stderr)
    recs = {x.get("case_id"): x for x in map(json.loads, (out / "results.jsonl").read_text("utf-8").splitlines())}
    assert recs["BAD-STATUS"]["error"] == {
        "code": "INVALID_INPUT",
        "message": msg,
        "field": "applicant.insurance.status",
    }
    assert recs["EMPTY"]["error"]["field"] == "case.json" and recs["OK"]["decision"] == "approve"
    rows = {row["case_id"]: row for row in csv.DictReader(io.StringIO((out / "results.csv").read_text("utf-8-sig")))}
    assert rows["BAD-STATUS"]["error_field"] == "applicant.insurance.status"
    assert rows["BAD-STATUS"]["error"] == f"INVALID_INPUT: {msg}"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "（字段 applicant.insurance.status）" in html and 'id="case-EMPTY"' in html
    assert audited(home) == 3


@pytest.mark.parametrize(
    ("gold", "message"),
    [
        ("{", "not valid JSON (line 1, column 2)"),
        ('{"reason_codes": []}', "key 'decision' is missing"),
        ('{"decision": "maybe"}', "key 'decision' is 'maybe', not one of approve, reject, need_info"),
        ('{"decision": "approve", "form": []}', "key 'form' must be a JSON object"),
    ],
)
def test_a_malformed_gold_json_is_named_with_file_and_key(home: Path, cases_dir: Path, gold: str, message: str) -> None:
    good_case(
        cases_dir,
        "G-1",
    )
    folder = good_case(cases_dir, "G-2")
    (cases_dir / "G-1" / "gold.json").write_text('{"decision": "approve"}', encoding="utf-8")
    (folder / "gold.json").write_text(gold, encoding="utf-8")
    r = run("eval", str(cases_dir))
    assert r.exit_code == 2
    assert lines(r.stderr) == [
        f"error: {folder / 'gold.json'}: {message}",
        "hint: Fix gold.json; docs/CASES.md describes its keys.",
    ]


# ---------------------------------------------------------------- 6. hints point to shipped docs
def test_every_doc_a_hint_names_is_shipped() -> None:
    import re

    named = set()
    for src in [
        *(PROJECT_ROOT / "agent").rglob("*.py"),
        PROJECT_ROOT / "cli.py",
        *(PROJECT_ROOT / "eval").glob("*.py"),
    ]:
        named |= set(re.findall(r"docs/[A-Z]+\.md", src.read_text(encoding="utf-8")))
    assert named >= {"docs/CASES.md", "docs/RULES.md"}
    for doc in named:
        assert (PROJECT_ROOT / doc).is_file(), doc
    cases = (PROJECT_ROOT / "docs" / "CASES.md").read_text(encoding="utf-8")
    for value in ("正常参保", "暂停参保", "终止参保", "职工医保", "居民医保", "`男` or `女`", "exactly 6 digits"):
        assert value in cases
    rules = (PROJECT_ROOT / "docs" / "RULES.md").read_text(encoding="utf-8")
    for code in ("INSURANCE_INACTIVE", "HOSPITAL_NOT_DESIGNATED", "DISEASE_NOT_COVERED", "FILING_REQUIRED"):
        assert code in rules
