"""The triage queue shows each case's signed-off state (issue 13): terminal, JSONL, CSV, HTML."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli
from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case
from tests.test_registry import db_url, reg_settings  # noqa: F401  (fixtures)

runner = CliRunner()
GOOD = {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN}


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["one process", "worker processes"])
def test_queue_shows_who_signed_off_and_who_is_waiting(
    home: Path, cases_dir: Path, reg_settings: Any, tmp_path: Path, workers: list[str]
) -> None:
    signed = write_case(cases_dir, base_case("Q-001"), GOOD)
    write_case(cases_dir, base_case("Q-002"), GOOD)  # the same person; Q-001 is rejected, so no duplicate
    r = runner.invoke(cli.app, ["decide", str(signed), "--reject", "--reviewer", "R-07", "--reason", "材料存疑"])
    assert r.exit_code == 0, r.output

    out = tmp_path / "queue"
    r = runner.invoke(cli.app, ["triage", str(cases_dir), "--out", str(out), "--no-audit", *workers])
    assert r.exit_code == 0, r.output
    assert "R-07" in r.stdout  # the terminal queue's signed-off column (wrapped at 80 columns)

    lines = [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    by_id = {x["case_id"]: x for x in lines if "case_id" in x}
    assert by_id["Q-001"]["sign_off"]["decision"] == "reject"
    assert by_id["Q-001"]["sign_off"]["reviewer"] == "R-07"
    assert by_id["Q-001"]["sign_off"]["overrides"] is True  # the AI recommended approve
    assert by_id["Q-002"]["sign_off"] is None
    assert lines[-1]["summary"]["signed_off"] == 1

    text = (out / "results.csv").read_text(encoding="utf-8-sig")  # with the BOM Excel needs
    rows = {row["case_id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["Q-001"]["signed_off"] == "reject by R-07 (override)"
    assert rows["Q-002"]["signed_off"] == ""

    html = (out / "report.html").read_text(encoding="utf-8")
    assert "已签核 reject · R-07 · 改判" in html
    assert "待签核" in html
