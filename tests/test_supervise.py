"""`certreview supervise` on DuckDB against a real registry (SQLite in a temp data home): the
rules at their boundaries on hand-written claims, the generator's planted abuse found exactly,
the CLI's JSON Lines, table, bad lines and output checks, the HTML report in Debian's chromium,
and `eval --claims` with its gates."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli
from agent.core.config import PROJECT_ROOT, Settings
from agent.core.items import items_path, load_items
from agent.core.supervision import load_rules
from agent.supervise.engines import DuckEngine
from agent.supervise.reader import read_claims_file
from agent.supervise.run import supervise
from eval.claims_gen import generate
from tests.browser import assert_screenshot, rendered_dom

RULES = PROJECT_ROOT / "knowledge_base" / "supervision.yaml"
PID = "370902196001010011"
D = dt.date.fromisoformat
runner = CliRunner()


def _claim(cid: str, day: str, items: list[tuple[str, int | None]], **over: Any) -> dict[str, Any]:
    c: dict[str, Any] = {
        "claim_id": cid,
        "id_number": PID,
        "scheme": "职工医保",
        "insured_region_code": "370900",
        "service_date": day,
        "hospital": {"code": "H1", "region_code": "370902", "designated": True},
        "disease": "器官移植术后抗排异治疗",
        "items": [
            {"generic": g, "category": "乙", "amount": "10.00"} | ({"days_supply": ds} if ds is not None else {})
            for g, ds in items
        ],
    }
    return c | over


def _run(tmp: Path, claims: list[dict[str, Any]], certs: list[tuple[Any, ...]], events: list[tuple[Any, ...]]) -> set:
    path = tmp / "claims.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in claims), encoding="utf-8")
    sup = supervise(read_claims_file(path), (certs, events), load_items(items_path(RULES)), load_rules(RULES))
    return {(f.rule, cid) for f in sup.flags for cid in f.claim_ids}


CERT = (PID, "器官移植术后抗排异治疗", D("2025-01-01"), D("2025-12-31"), None, None)


def _h(code: str, region: str) -> dict[str, Any]:
    return {"code": code, "region_code": region, "designated": True}


def test_refills_hospitals_and_cities_at_their_boundaries(tmp_path: Path) -> None:
    claims = [
        _claim("A1", "2025-02-01", [("吗替麦考酚酯", 30)]),
        _claim("A2", "2025-02-25", [("吗替麦考酚酯", 30)]),  # 24 days = 0.8 × 30: not early
        _claim("A3", "2025-03-18", [("吗替麦考酚酯", 30)]),  # 21 days: early
        # 他克莫司★ at 3 hospitals: 0, 15, 30 days (a 30-day span: not within the window)
        _claim("B1", "2025-04-01", [("他克莫司", 10)], hospital=_h("H1", "370902")),
        _claim("B2", "2025-04-16", [("他克莫司", 10)], hospital=_h("H2", "370902")),
        _claim("B3", "2025-05-01", [("他克莫司", 10)], hospital=_h("H3", "370911")),
        # 环孢素★ at 3 hospitals within 29 days: every claim of the window
        _claim("C1", "2025-06-01", [("环孢素", 10)], hospital=_h("H1", "370902")),
        _claim("C2", "2025-06-12", [("环孢素", 10)], hospital=_h("H2", "370902")),
        _claim("C3", "2025-06-30", [("环孢素", 10)], hospital=_h("H3", "370911")),
        # one day, two districts of one city, then two cities
        _claim("D1", "2025-08-01", [("骨化三醇", None)], hospital=_h("H1", "370902")),
        _claim("D2", "2025-08-01", [("血液透析", None)], hospital=_h("H2", "370911")),
        _claim("E1", "2025-09-01", [("西罗莫司", 30)], hospital=_h("H1", "370902")),
        _claim("E2", "2025-09-01", [("麦考酚钠", 30)], hospital=_h("H5", "370102")),
        _claim("E3", "2025-09-01", [("他克莫司", 30)], hospital=_h("H2", "370911")),  # same city as E1: that day too
    ]
    found = _run(tmp_path, claims, [CERT], [])
    assert found == {
        ("SV06", "A3"),
        ("SV07", "C1"),
        ("SV07", "C2"),
        ("SV07", "C3"),
        ("SV04", "D1"),
        ("SV04", "D2"),
        ("SV08", "E1"),
        ("SV08", "E2"),
        ("SV08", "E3"),
    }  # D1/D2: one city (3709), dialysis items on a transplant claim (SV04 only)


def test_coverage_death_and_exit_take_precedence_in_that_order(tmp_path: Path) -> None:
    exited = (PID, "器官移植术后抗排异治疗", D("2025-01-01"), D("2025-12-31"), D("2025-05-01"), "moved_out")
    other = ("440106196505123456", "器官移植术后抗排异治疗", D("2025-01-01"), D("2025-12-31"), D("2025-03-01"), "death")
    claims = [
        _claim("F1", "2025-04-30", [("他克莫司", 30)]),  # the day before the exit: covered
        _claim("F2", "2025-05-01", [("他克莫司", 30)]),  # on the exit date: SV03
        _claim("F3", "2026-01-05", [("他克莫司", 30)]),  # after valid_until: SV01, not SV03
        _claim("G1", "2025-02-28", [("他克莫司", 30)], id_number=other[0]),  # the day before death
        _claim("G2", "2025-03-01", [("他克莫司", 30)], id_number=other[0]),  # on the date of death: SV02 only
        _claim("K1", "2025-03-01", [("他克莫司", 30)], id_number="110105197001010022"),  # no certification
        _claim("K2", "2025-03-02", [("他克莫司", 30)], id_number="110105197001010033"),  # dead, never certified
        _claim("F4", "2025-03-01", [("氨氯地平", 30)], disease="高血压（伴并发症）"),  # another disease: SV01
    ]
    deaths = [(other[0], "death", D("2025-03-01")), ("110105197001010033", "death", D("2025-01-01"))]
    found = _run(tmp_path, claims, [exited, other], [*deaths, (PID, "moved_out", D("2025-05-01"))])
    expected = {("SV03", "F2"), ("SV01", "F3"), ("SV02", "G2"), ("SV01", "K1"), ("SV02", "K2"), ("SV01", "F4")}
    assert found == expected | {("SV06", "F2"), ("SV06", "G2")}  # refilled a day after a 30-day fill


def test_duplicate_class_and_oversupply_and_the_same_generic_twice(tmp_path: Path) -> None:
    claims = [
        _claim("M1", "2025-02-01", [("他克莫司", 30), ("环孢素", 30)]),  # two calcineurin inhibitors
        _claim("M2", "2025-04-01", [("吗替麦考酚酯", 15), ("吗替麦考酚酯", 15)]),  # one generic twice: not SV09
        _claim("M3", "2025-06-01", [("西罗莫司", 31)]),
        _claim("M4", "2025-09-01", [("西罗莫司", 30), ("维生素C", 90)]),  # an item outside the table, 90 days
    ]
    found = _run(tmp_path, claims, [CERT], [])
    assert found == {("SV09", "M1"), ("SV05", "M3"), ("SV05", "M4")}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated set: 40 background persons, 3 planted and 2 near-misses per rule."""
    out = tmp_path_factory.mktemp("claims") / "set"
    generate(out, seed=5, persons=40, planted=3, near=2)
    return out


def _import(data: Path) -> None:
    r = runner.invoke(cli.app, ["registry", "import", str(data / "certifications.jsonl")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli.app, ["registry", "events", "import", str(data / "events.jsonl")])
    assert r.exit_code in (0, 5), r.output  # unmatched deaths of never-certified persons are reported


def test_cli_json_lines_find_every_planted_flag_and_name_the_bad_lines(home: Path, small_set: Path) -> None:
    _import(small_set)
    r = runner.invoke(cli.app, ["supervise", str(small_set / "claims.jsonl"), "--json"])
    assert r.exit_code == 5, r.output  # the planted malformed lines were skipped
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    summary = lines.pop()["summary"]
    assert set(lines[0]) == {
        "rule",
        "code",
        "severity",
        "id_number",
        "claim_ids",
        "generic",
        "explanation",
        "clause_id",
    }
    found = {(f["rule"], c) for f in lines for c in f["claim_ids"]}
    gold = {(g["rule"], g["claim_id"]) for g in map(json.loads, (small_set / "expected_flags.jsonl").open())}
    assert found == gold
    assert summary["bad_lines"] == 4 and summary["flags"] == len(lines)
    assert [b["rule"] for b in summary["by_rule"]] == [f"SV0{i}" for i in range(1, 10)]
    for bad in map(json.loads, (small_set / "expected_bad_lines.jsonl").open()):
        where = f"line {bad['line']}" + (f", field '{bad['field']}'" if bad["field"] else "")
        assert f"skipped {where}: " in r.stderr
    assert "skipped line" in r.stderr and "12.345" not in r.stderr  # the line's text never printed


def test_cli_table_and_out_folder(home: Path, small_set: Path, tmp_path: Path) -> None:
    _import(small_set)
    out = tmp_path / "out"
    r = runner.invoke(cli.app, ["supervise", str(small_set / "claims.jsonl"), "--out", str(out)])
    assert r.exit_code == 5, r.output
    assert "智能监管 supervision" in r.stdout and "4 bad line(s) skipped (duckdb)" in " ".join(r.stdout.split())
    assert sorted(p.name for p in out.iterdir()) == ["flags.jsonl", "report.html", "summary.json"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["by_rule"][6]["rule"] == "SV07"


def test_a_write_that_fails_after_the_run_still_prints_the_flags(home: Path, small_set: Path, tmp_path: Path) -> None:
    _import(small_set)
    out = tmp_path / "out"
    (out / "flags.jsonl").mkdir(parents=True)  # passes the up-front check, fails when replaced
    r = runner.invoke(cli.app, ["supervise", str(small_set / "claims.jsonl"), "--json", "--out", str(out)])
    assert r.exit_code == 2
    assert json.loads(r.stdout.splitlines()[0])["rule"].startswith("SV")  # the flags are not lost
    assert f"error: --out {out}: could not write the supervision report (Is a directory)" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["flags.jsonl"]  # no temporary folder left behind


def test_output_paths_are_checked_before_anything_is_read(home: Path, tmp_path: Path) -> None:
    r = runner.invoke(cli.app, ["supervise", str(tmp_path / "missing.jsonl"), "--html", str(tmp_path)])
    assert r.exit_code == 2
    assert f"--html {tmp_path}: is a folder, not a file" in r.stderr
    (tmp_path / "file").write_text("x")
    r = runner.invoke(cli.app, ["supervise", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "file")])
    assert r.exit_code == 2 and f"--out {tmp_path / 'file'}: is a file, not a folder" in r.stderr


def test_no_registry_and_no_claims_file_are_named(home: Path, tmp_path: Path, small_set: Path) -> None:
    r = runner.invoke(cli.app, ["supervise", str(small_set / "claims.jsonl")])
    assert r.exit_code == 2 and f"no registry in {home} to supervise against" in r.stderr
    assert "certreview registry import certifications.jsonl" in r.stderr
    _import(small_set)
    r = runner.invoke(cli.app, ["supervise", str(tmp_path / "missing.jsonl")])
    assert r.exit_code == 2 and f"no such file: {tmp_path / 'missing.jsonl'}" in r.stderr
    empty = tmp_path / "bad.jsonl"
    empty.write_text("{not json\n", encoding="utf-8")
    r = runner.invoke(cli.app, ["supervise", str(empty)])
    assert r.exit_code == 2 and f"{empty}: no valid claim line (1 bad)" in r.stderr


def test_duckdb_downloads_nothing_its_json_and_parquet_readers_are_built_in() -> None:
    eng = DuckEngine()
    try:
        settings = dict(
            eng.con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name LIKE 'auto%_known_extensions'"
            ).fetchall()
        )
        modes = dict(
            eng.con.execute(
                "SELECT extension_name, install_mode FROM duckdb_extensions() "
                "WHERE extension_name IN ('json', 'parquet')"
            ).fetchall()
        )
        assert eng.con.execute("""SELECT '{"a": [1, 2]}'::JSON -> '$.a[1]'""").fetchone() == ("2",)
    finally:
        eng.close()
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    assert modes == {"json": "STATICALLY_LINKED", "parquet": "STATICALLY_LINKED"}


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_opens_in_headless_chromium_by_rule_and_by_person(home: Path, small_set: Path, tmp_path: Path) -> None:
    _import(small_set)
    report = tmp_path / "report.html"
    r = runner.invoke(cli.app, ["supervise", str(small_set / "claims.jsonl"), "--html", str(report)])
    assert r.exit_code == 5, r.output
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    dom = rendered_dom(report, tmp_path / "chrome")
    for rule in ("SV01", "SV05", "SV07", "SV09"):
        assert f'id="rule-{rule}"' in dom
    gold = [json.loads(x)["claim_id"] for x in (small_set / "expected_flags.jsonl").open()]
    assert 'class="person"' in dom and dom.count('class="dot-violation"') >= 1
    assert all(cid in dom for cid in gold)  # every flagged claim is on the page
    shot = tmp_path / "report.png"
    assert_screenshot(report, tmp_path / "chrome", shot)


def test_eval_claims_scores_each_rule_and_gates(home: Path, small_set: Path, tmp_path: Path) -> None:
    r = runner.invoke(cli.app, ["eval", "--claims", str(small_set), "--json", "--min-rule-precision", "0.95"])
    assert r.exit_code == 0, r.output
    sup = json.loads(r.stdout)["supervision"]
    assert all(m["precision"] == 1.0 and m["recall"] == 1.0 for m in sup["rules"].values())
    assert sup["bad_lines"] == {"expected": 4, "found": 4, "matched": 4}
    # a gold set missing two SV05 pairs: SV05's precision falls and the gate names it
    broken = tmp_path / "set"
    shutil.copytree(small_set, broken)
    gold = (broken / "expected_flags.jsonl").read_text(encoding="utf-8").splitlines()
    sv05 = [g for g in gold if '"SV05"' in g]
    (broken / "expected_flags.jsonl").write_text("\n".join(g for g in gold if g not in sv05[:2]) + "\n")
    r = runner.invoke(cli.app, ["eval", "--claims", str(broken), "--min-rule-precision", "0.95"])
    assert r.exit_code == 1
    assert "gate failed: --min-rule-precision 0.95: SV05 precision = 0.3333" in r.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """A fresh registry: SQLite in a temp data home, or a fresh PostgreSQL database when
    CERTREVIEW_TEST_POSTGRES_URL names a server (skipped otherwise, saying so)."""
    if request.param == "sqlite":
        yield Settings(home=tmp_path / "reg", database_url=None)
        return
    from tests.test_registry import _postgres_db

    dbs = _postgres_db()
    url = next(dbs)
    try:
        yield Settings(home=tmp_path / "reg", database_url=url)
    finally:
        dbs.close()  # drops the database


def test_the_registry_is_read_through_sqlalchemy_on_sqlite_and_postgresql(
    registry_settings: Settings, small_set: Path
) -> None:
    from agent.core.catalog import load_catalog
    from agent.registry.certs import import_certifications
    from agent.registry.events import import_events
    from agent.registry.store import open_registry
    from agent.supervise.run import registry_rows

    reg = open_registry(registry_settings)
    try:
        catalog = load_catalog(registry_settings.catalog_path)
        import_certifications(reg, small_set / "certifications.jsonl", catalog)
        import_events(reg, small_set / "events.jsonl")
        rows = registry_rows(reg)
    finally:
        reg.close()
    sup = supervise(
        read_claims_file(small_set / "claims.jsonl"), rows, load_items(items_path(RULES)), load_rules(RULES)
    )
    gold = {(g["rule"], g["claim_id"]) for g in map(json.loads, (small_set / "expected_flags.jsonl").open())}
    assert {(f.rule, c) for f in sup.flags for c in f.claim_ids} == gold
