"""`certreview settle` on a real registry (SQLite, and PostgreSQL when
CERTREVIEW_TEST_POSTGRES_URL names a server): coverage from the registry's certifications and
exit events, accumulators that persist across files, a claim settled twice counted once,
``--resettle`` recomputing the person's year in order, the output files, bad lines, and
``eval --claims``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from agent.core.config import PROJECT_ROOT, Settings
from agent.registry.certs import import_certifications
from agent.registry.events import import_events
from agent.registry.store import Registry
from tests.browser import assert_screenshot, rendered_dom
from tests.test_registry import db_url, reg, reg_settings, write_jsonl  # noqa: F401  (fixtures)

P = "440106196505123456"
HT = "高血压（伴并发症）"
DEV = PROJECT_ROOT / "eval" / "claims" / "settle-dev"


@pytest.fixture()
def sreg(reg: Registry, reg_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Registry:  # noqa: F811
    """The fresh registry, its data home exported for the child processes."""
    monkeypatch.setenv("CERTREVIEW_HOME", str(reg_settings.home))
    return reg


def _claim(cid: str, day: str, amount: str, **over: Any) -> dict[str, Any]:
    return {
        "claim_id": cid,
        "id_number": P,
        "scheme": "居民医保",
        "insured_region_code": "440100",
        "service_date": day,
        "hospital": {"code": "H440104001", "name": "示例医院", "region_code": "440104", "designated": True},
        "cross_region_filing": None,
        "disease": HT,
        "items": [{"generic": "氨氯地平", "name": "氨氯地平片", "category": "甲", "amount": amount, "days_supply": 30}],
        **over,
    }


def _certify(r: Registry, tmp_path: Path, **over: Any) -> None:
    cert = {
        "certification_id": "CERT-1",
        "id_number": P,
        "scheme": "居民医保",
        "region_code": "440100",
        "disease": HT,
        "valid_from": "2025-01-01",
        "valid_until": "2026-12-31",
    } | over
    import_certifications(r, write_jsonl(tmp_path / "certs.jsonl", [cert]))


def settle(*args: str) -> subprocess.CompletedProcess[str]:
    """`certreview settle …` in a child process (the env carries the registry's settings)."""
    return subprocess.run(
        [sys.executable, "-m", "cli", "settle", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=os.environ | {"COLUMNS": "200"},
        timeout=120,
    )


def results(proc: subprocess.CompletedProcess[str]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    return {r["claim_id"]: r for r in lines[:-1]}, lines[-1]["summary"]


def _accumulators(r: Registry) -> dict[tuple[str, str], str]:
    with r.read() as s:
        rows = s.execute(
            text("SELECT period, bucket, used FROM settlement_accumulators WHERE id_number = :p"), {"p": P}
        )
        return {(period, bucket): used for period, bucket, used in rows}


def test_the_worked_example_is_exact_through_the_cli(sreg: Registry, tmp_path: Path) -> None:
    example = json.loads((DEV / "claims.jsonl").read_text(encoding="utf-8").splitlines()[0])
    cert = {"id_number": example["id_number"], "disease": example["disease"], "valid_from": "2022-01-01"}
    import_certifications(sreg, write_jsonl(tmp_path / "c.jsonl", [cert]))
    proc = settle(str(write_jsonl(tmp_path / "claims.jsonl", [example])), "--json")
    assert proc.returncode == 0, proc.stderr
    got, summary = results(proc)
    assert (got["CL-A1"]["fund"], got["CL-A1"]["self_pay"]) == ("48.89", "15.40")
    assert summary["fund"] == "48.89" and summary["settled"] == 1


def test_january_then_february_continues_the_deductible_and_the_limit(sreg: Registry, tmp_path: Path) -> None:
    _certify(sreg, tmp_path)
    jan = write_jsonl(tmp_path / "jan.jsonl", [_claim("J1", "2025-01-10", "4800.00")])
    feb = write_jsonl(tmp_path / "feb.jsonl", [_claim("F1", "2025-02-10", "100.00")])
    j, _ = results(settle(str(jan), "--json"))
    assert (j["J1"]["deductible"], j["J1"]["fund"]) == ("200.00", "2990.00")  # (4800 − 200) × 0.65
    f, _ = results(settle(str(feb), "--json"))
    assert (f["F1"]["deductible"], f["F1"]["fund"], f["F1"]["reason_codes"]) == ("0.00", "10.00", ["LIMIT_REACHED"])
    assert _accumulators(sreg) == {("2025", "起付标准"): "200.00", ("2025", HT): "3000.00"}


def test_a_claim_settled_again_returns_the_stored_result_and_counts_once(sreg: Registry, tmp_path: Path) -> None:
    _certify(sreg, tmp_path)
    jan = write_jsonl(tmp_path / "jan.jsonl", [_claim("J1", "2025-01-10", "300.00")])
    first, _ = results(settle(str(jan), "--json"))
    again, summary = results(settle(str(jan), "--json"))
    assert again == first and (summary["settled"], summary["already_settled"]) == (0, 1)
    assert _accumulators(sreg) == {("2025", "起付标准"): "200.00", ("2025", HT): "65.00"}
    changed = write_jsonl(tmp_path / "jan2.jsonl", [_claim("J1", "2025-01-10", "999.00")])
    kept, summary = results(settle(str(changed), "--json"))
    assert kept == first and summary["stored_inputs_changed"] == 1


def test_resettle_recomputes_the_persons_year_in_order(sreg: Registry, tmp_path: Path) -> None:
    _certify(sreg, tmp_path)
    jan = write_jsonl(tmp_path / "jan.jsonl", [_claim("J1", "2025-01-10", "4800.00")])
    feb = write_jsonl(tmp_path / "feb.jsonl", [_claim("F1", "2025-02-10", "100.00")])
    f, _ = results(settle(str(feb), "--json"))  # February's file arrives first
    assert (f["F1"]["deductible"], f["F1"]["fund"]) == ("100.00", "0.00")
    j, _ = results(settle(str(jan), "--json"))
    assert (j["J1"]["deductible"], j["J1"]["fund"]) == ("100.00", "3000.00")
    j, summary = results(settle(str(jan), "--json", "--resettle"))
    assert (j["J1"]["deductible"], j["J1"]["fund"], summary["resettled_others"]) == ("200.00", "2990.00", 1)
    f, _ = results(settle(str(feb), "--json"))  # the stored February result was recomputed after January
    assert (f["F1"]["deductible"], f["F1"]["fund"], f["F1"]["reason_codes"]) == ("0.00", "10.00", ["LIMIT_REACHED"])
    assert _accumulators(sreg) == {("2025", "起付标准"): "200.00", ("2025", HT): "3000.00"}


def test_coverage_follows_validity_and_exit_events(sreg: Registry, tmp_path: Path) -> None:
    _certify(sreg, tmp_path, valid_until="2025-12-31")
    import_events(
        sreg,
        write_jsonl(
            tmp_path / "ev.jsonl", [{"event_id": "E1", "type": "moved_out", "id_number": P, "date": "2025-06-01"}]
        ),
    )
    rows = [
        _claim("A", "2025-05-31", "10.00"),
        _claim("B", "2025-06-01", "10.00"),
        _claim("C", "2024-12-31", "10.00"),
        _claim("D", "2025-03-01", "10.00", disease="糖尿病（伴并发症）"),
    ]
    got, _ = results(settle(str(write_jsonl(tmp_path / "c.jsonl", rows)), "--json"))
    assert got["A"]["reason_codes"] == []
    assert [got[k]["reason_codes"] for k in "BCD"] == [["NOT_CERTIFIED"]] * 3


def test_certifications_are_read_in_bulk_not_per_claim(sreg: Registry, tmp_path: Path) -> None:
    from agent.core.items import items_path, load_items
    from agent.core.settlement import load_settlement, settlement_path
    from agent.settle.service import settle_file

    certs = [{"id_number": f"4401061965051{i:05d}", "disease": HT, "valid_from": "2025-01-01"} for i in range(40)]
    import_certifications(sreg, write_jsonl(tmp_path / "c.jsonl", certs))
    claims = [
        _claim(f"X{i}", f"2025-0{1 + i % 9}-01", "10.00", id_number=certs[i % 40]["id_number"], scheme="职工医保")
        for i in range(400)
    ]
    statements: list[str] = []
    event.listen(sreg.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    run = settle_file(
        sreg,
        write_jsonl(tmp_path / "claims.jsonl", claims),
        load_settlement(settlement_path(PROJECT_ROOT / "knowledge_base" / "catalog.yaml")),
        load_items(items_path(PROJECT_ROOT / "knowledge_base" / "catalog.yaml")),
    )
    assert run.summary["settled"] == 400 and run.summary["payable"] == 400
    assert sum(1 for s in statements if "FROM certifications" in s) == 1


def test_bad_lines_are_named_skipped_and_exit_5(sreg: Registry, tmp_path: Path) -> None:
    _certify(sreg, tmp_path)
    bad_amount = _claim("B1", "2025-01-10", "1.005")
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [_claim("G1", "2025-01-10", "300.00"), bad_amount, "{oops", _claim("G2", "2025-01-11", "1.00")],
    )
    proc = settle(str(path), "--json")
    assert proc.returncode == 5
    assert proc.stderr.splitlines() == [
        "skipped line 2, field 'items.0.amount': Value error, has more than 2 decimals",
        "skipped line 3: not valid JSON (Expecting property name enclosed in double quotes)",
    ]
    got, summary = results(proc)
    assert sorted(got) == ["G1", "G2"] and summary["bad_lines"] == 2


def test_out_writes_jsonl_csv_and_a_page_per_person_year(sreg: Registry, tmp_path: Path) -> None:
    _certify(sreg, tmp_path)
    rows = [
        _claim("J1", "2025-01-10", "4800.00"),
        _claim("F1", "2025-02-10", "100.00"),
        _claim("N1", "2026-01-05", "50.00"),
    ]
    out = tmp_path / "out"
    proc = settle(str(write_jsonl(tmp_path / "c.jsonl", rows)), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        f"person-{P}-2025.html",
        f"person-{P}-2026.html",
        "settlement.csv",
        "settlement.jsonl",
    ]
    raw = (out / "settlement.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    head, j1 = raw.decode("utf-8-sig").splitlines()[:2]
    assert head.startswith("结算单号,身份证号,就诊日期,病种,医疗机构,费用总额,纳入支付范围金额,乙类先行自付")
    assert j1.startswith(f"J1,{P},2025-01-10,{HT},示例医院,4800.00,4800.00,0.00,0.00,200.00,0.65,2990.00,1810.00")
    page = (out / f"person-{P}-2025.html").read_text(encoding="utf-8")
    assert '年度基金支付 <b class="spent">3000.00</b> / 限额 3000 元（100.0%）' in page
    assert "<svg" in page and "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_a_bad_out_path_is_refused_before_any_work(sreg: Registry, tmp_path: Path) -> None:
    _certify(sreg, tmp_path)
    target = tmp_path / "taken"
    target.write_text("x", encoding="utf-8")
    proc = settle(str(write_jsonl(tmp_path / "c.jsonl", [_claim("J1", "2025-01-10", "10.00")])), "--out", str(target))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: --out {target}: is a file, not a folder",
        "hint: Pass a folder for the results (it is created if missing).",
    ]
    assert _accumulators(sreg) == {}


def test_a_write_that_fails_after_the_run_still_prints_the_results(sreg: Registry, tmp_path: Path) -> None:
    _certify(sreg, tmp_path)
    out = tmp_path / "out"
    (out / "settlement.jsonl").mkdir(parents=True)  # passes the up-front check, fails when replaced
    claims = write_jsonl(tmp_path / "c.jsonl", [_claim("J1", "2025-01-10", "10.00")])
    proc = settle(str(claims), "--json", "--out", str(out))
    assert proc.returncode == 2
    assert json.loads(proc.stdout.splitlines()[0])["claim_id"] == "J1"  # printed, and stored in the registry
    assert proc.stderr.splitlines()[-2:] == [
        f"error: --out {out}: could not write the settlement (Is a directory)",
        "hint: The results were printed above; free space or pass another folder, then run again.",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["settlement.jsonl"]


def test_a_missing_claims_file_is_named(sreg: Registry, tmp_path: Path) -> None:
    proc = settle(str(tmp_path / "none.jsonl"))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f"error: no such file: {tmp_path / 'none.jsonl'}"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_person_year_page_renders_in_headless_chromium(sreg: Registry, tmp_path: Path) -> None:
    if sreg.dialect != "sqlite":
        pytest.skip("the page does not depend on the database")
    _certify(sreg, tmp_path)
    rows = [_claim("J1", "2025-01-10", "4800.00"), _claim("F1", "2025-02-10", "100.00")]
    out = tmp_path / "out"
    assert settle(str(write_jsonl(tmp_path / "c.jsonl", rows)), "--out", str(out)).returncode == 0
    page = out / f"person-{P}-2025.html"
    dom = rendered_dom(page, tmp_path / "chrome")
    assert dom.count('<tr class="claim">') == 2 and dom.count("<rect") == 12
    assert 'class="reached"' in dom  # F1 hit the limit
    shot = tmp_path / "page.png"
    assert_screenshot(page, tmp_path / "chrome", shot, "1100,900")


def _eval(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "eval", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=os.environ | {"COLUMNS": "200"},
        timeout=120,
    )


def test_eval_claims_scores_the_dev_set_exactly(home: Path) -> None:
    proc = _eval("--claims", str(DEV), "--min-settle-exact", "1.0", "--json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)["settlement"]
    assert (m["claims"], m["settle_exact"], m["reason_code_accuracy"], m["bad_lines_matched"]) == (29, 1.0, 1.0, 1.0)


def test_eval_claims_gate_fails_on_a_wrong_cent(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "set"
    shutil.copytree(DEV, folder)
    gold = (
        (folder / "expected_settlement.jsonl").read_text(encoding="utf-8").replace('"fund": "48.89"', '"fund": "48.90"')
    )
    (folder / "expected_settlement.jsonl").write_text(gold, encoding="utf-8")
    proc = _eval("--claims", str(folder), "--min-settle-exact", "1.0")
    assert proc.returncode == 1
    assert "gate failed: --min-settle-exact 1.0: measured settle_exact = 0.9655" in proc.stderr


def test_migration_0002_adds_the_settlement_tables_on_0001(sreg: Registry) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from agent.registry.store import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    rev = ScriptDirectory.from_config(cfg).get_revision("0002")
    assert rev is not None and rev.down_revision == "0001"
    names = set(inspect(sreg.engine).get_table_names())
    assert {"settlement_results", "settlement_accumulators"} <= names


def test_missing_or_invalid_parameters_are_named_by_the_cli(
    sreg: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    for name in ("catalog.yaml", "items.yaml"):
        shutil.copy(PROJECT_ROOT / "knowledge_base" / name, folder / name)
    monkeypatch.setenv("CERTREVIEW_CATALOG_PATH", str(folder / "catalog.yaml"))
    claims = str(write_jsonl(tmp_path / "c.jsonl", [_claim("J1", "2025-01-10", "10.00")]))
    proc = settle(claims)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: settlement parameters not found: {folder / 'settlement.yaml'}",
        "hint: Restore knowledge_base/settlement.yaml beside the catalogue (CERTREVIEW_CATALOG_PATH's folder).",
    ]
    text_ = (PROJECT_ROOT / "knowledge_base" / "settlement.yaml").read_text(encoding="utf-8")
    (folder / "settlement.yaml").write_text(text_.replace("  ratio:", "  ratios:"), encoding="utf-8")
    proc = settle(claims)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == (
        f"error: settlement parameters {folder / 'settlement.yaml'} are invalid: "
        "parameters: unknown key 'ratios' (did you mean 'ratio'?)"
    )


def test_a_claim_id_repeated_in_the_file_is_settled_once(sreg: Registry, tmp_path: Path) -> None:
    _certify(sreg, tmp_path)
    rows = [_claim("J1", "2025-01-10", "300.00"), _claim("J1", "2025-01-10", "300.00")]
    proc = settle(str(write_jsonl(tmp_path / "c.jsonl", rows)), "--json")
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert lines[0] == lines[1] and lines[0]["fund"] == "65.00"
    summary = lines[-1]["summary"]
    assert (summary["claims"], summary["repeated_in_file"], summary["fund"]) == (1, 1, "65.00")
    assert _accumulators(sreg) == {("2025", "起付标准"): "200.00", ("2025", HT): "65.00"}
