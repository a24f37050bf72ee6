"""Settlement by CLAIMS.md §4, branch by branch, on the engine with the shipped parameters and
item table; the parameters as data (a changed parameter changes the settlement); the loader's
named errors; `kb check` on the item table's and the parameters' clauses."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.claims.lines import ClaimLine
from agent.core.config import PROJECT_ROOT
from agent.core.criteria import CatalogError
from agent.core.items import items_path, load_items
from agent.core.settlement import load_settlement, settlement_path
from agent.settle.engine import Accumulators, round_cent, settle_claim

KB = PROJECT_ROOT / "knowledge_base"
POLICY = load_settlement(settlement_path(KB / "catalog.yaml"))
TABLE = load_items(items_path(KB / "catalog.yaml"))
G, HT, DI, T = "糖尿病（伴并发症）", "高血压（伴并发症）", "尿毒症透析", "恶性肿瘤门诊治疗"


def claim(cid: str = "CL-1", *items: tuple[str, str, str], **over: Any) -> ClaimLine:
    """A claim (the worked example's by default); ``over`` replaces top-level keys."""
    data: dict[str, Any] = {
        "claim_id": cid,
        "id_number": "131002195503071234",
        "scheme": "职工医保",
        "insured_region_code": "131000",
        "service_date": "2022-07-01",
        "hospital": {"code": "H110105001", "name": "某医院", "region_code": "110105", "designated": True},
        "cross_region_filing": {"valid_from": "2022-01-01", "valid_until": "2022-12-31"},
        "disease": G,
        "items": [
            {"generic": g, "category": c, "amount": a, "days_supply": 30}
            for g, c, a in (items or (("阿卡波糖", "甲", "32.52"), ("瑞格列奈", "乙", "31.77")))
        ],
    }
    data.update(over)
    return ClaimLine.model_validate(data)


def settle(c: ClaimLine, acc: Accumulators | None = None, covered: bool = True, policy: Any = POLICY) -> dict[str, Any]:
    return settle_claim(c, c.disease, covered, policy, TABLE, acc if acc is not None else Accumulators())


def test_the_worked_example_gives_48_89_and_15_40() -> None:
    r = settle(claim())
    assert r == {
        "claim_id": "CL-1",
        "payable": True,
        "total": "64.29",
        "in_scope": "61.11",
        "category_self_pay": "3.18",
        "excluded": "0.00",
        "deductible": "0.00",
        "ratio": "0.80",
        "fund": "48.89",
        "self_pay": "15.40",
        "reason_codes": [],
        "clause_ids": [
            "REF-JS-2025#第四条",
            "REF-JS-2025#第五条",
            "REF-JS-2025#第六条",
            "REF-JS-2025#第八条",
            "REF-JS-2025#第十条",
        ],
        "items": [
            {"generic": "阿卡波糖", "in_scope": "32.52", "reason": None},
            {"generic": "瑞格列奈", "in_scope": "28.59", "reason": "CATEGORY_B_SELF_PAY"},
        ],
    }


def test_rounding_is_half_up_to_the_cent_never_to_even() -> None:
    assert round_cent(Decimal("10.005")) == Decimal("10.01")
    assert round_cent(Decimal("0.065")) == Decimal("0.07")
    # 乙 100.05 → 先行自付 10.005 → 10.01 per item; fund (90.04) × 0.80 = 72.032 → 72.03
    r = settle(claim("CL-2", ("二甲双胍", "乙", "100.05")))
    assert (r["category_self_pay"], r["in_scope"], r["fund"], r["self_pay"]) == ("10.01", "90.04", "72.03", "28.02")


def test_b_self_pay_is_rounded_per_item_not_on_the_sum() -> None:
    # two 乙 items of 0.05: 0.005 → 0.01 each (0.02), where rounding the sum would give 0.01
    r = settle(claim("CL-3", ("二甲双胍", "乙", "0.05"), ("阿卡波糖", "乙", "0.05")))
    assert r["category_self_pay"] == "0.02" and r["in_scope"] == "0.08"


def test_not_certified_and_non_designated_pay_nothing_with_both_codes() -> None:
    undesignated = {"code": "H1", "region_code": "110105", "designated": False}
    r = settle(claim("CL-4", hospital=undesignated), covered=False)
    assert r["reason_codes"] == ["NOT_CERTIFIED", "HOSPITAL_NOT_DESIGNATED"]
    assert (r["payable"], r["in_scope"], r["deductible"], r["ratio"], r["fund"], r["self_pay"]) == (
        False,
        "0.00",
        "0.00",
        None,
        "0.00",
        "64.29",
    )
    assert r["clause_ids"] == ["REF-JS-2025#第二条"]
    assert settle(claim("CL-5", hospital=undesignated))["reason_codes"] == ["HOSPITAL_NOT_DESIGNATED"]
    assert settle(claim("CL-6"), covered=False)["reason_codes"] == ["NOT_CERTIFIED"]


def test_items_outside_the_table_or_the_disease_and_c_items_are_self_paid() -> None:
    items = (
        ("二甲双胍", "甲", "50.00"),
        ("达格列净", "丙", "20.00"),
        ("维生素C", "甲", "5.00"),
        ("他克莫司", "甲", "30.00"),
    )
    r = settle(claim("CL-7", *items, hospital={"code": "H", "region_code": "130102", "designated": True}))
    assert [i["reason"] for i in r["items"]] == [None, "CATEGORY_C", "ITEM_UNKNOWN", "ITEM_NOT_FOR_DISEASE"]
    assert (r["in_scope"], r["excluded"], r["fund"], r["self_pay"]) == ("50.00", "55.00", "40.00", "65.00")
    assert r["reason_codes"] == ["ITEM_UNKNOWN", "ITEM_NOT_FOR_DISEASE"]
    assert "REF-JS-2025#第三条" in r["clause_ids"]


def test_the_deductible_runs_per_person_and_year_across_diseases() -> None:
    acc = Accumulators()
    gz = {"code": "H", "region_code": "440104", "designated": True}
    base = {"scheme": "居民医保", "insured_region_code": "440100", "hospital": gz, "cross_region_filing": None}
    r1 = settle(claim("B1", ("氨氯地平", "甲", "150.00"), disease=HT, service_date="2023-11-20", **base), acc)
    r2 = settle(claim("B2", ("二甲双胍", "甲", "100.00"), disease=G, service_date="2023-12-15", **base), acc)
    r3 = settle(claim("B3", ("氨氯地平", "甲", "300.00"), disease=HT, service_date="2024-01-05", **base), acc)
    assert (r1["deductible"], r1["fund"], r1["payable"]) == ("150.00", "0.00", False)
    assert (r2["deductible"], r2["fund"]) == ("50.00", "32.50")  # (100 − 50) × 0.65
    assert (r3["deductible"], r3["fund"]) == ("200.00", "65.00")  # a new year: a new 200


def test_cross_province_without_a_filing_valid_that_day_lowers_the_ratio() -> None:
    no_filing = settle(claim("CL-8", ("阿卡波糖", "甲", "100.00"), cross_region_filing=None))
    expired = settle(
        claim(
            "CL-9",
            ("阿卡波糖", "甲", "100.00"),
            cross_region_filing={"valid_from": "2022-01-01", "valid_until": "2022-06-30"},
        )
    )
    resident = settle(claim("CL-10", ("阿卡波糖", "甲", "100.00"), scheme="居民医保", cross_region_filing=None))
    same_province = settle(
        claim(
            "CL-11",
            ("阿卡波糖", "甲", "100.00"),
            cross_region_filing=None,
            hospital={"code": "H", "region_code": "130102", "designated": True},
        )
    )
    assert (no_filing["ratio"], no_filing["fund"], no_filing["reason_codes"]) == (
        "0.60",
        "60.00",
        ["FILING_MISSING_REDUCED"],
    )
    assert expired["ratio"] == "0.60" and "REF-JS-2025#第七条" in expired["clause_ids"]
    assert (resident["ratio"], resident["fund"]) == ("0.45", "0.00")  # 100 all taken by the 200 deductible
    assert (same_province["ratio"], same_province["reason_codes"]) == ("0.80", [])


def test_the_annual_limit_cuts_inside_a_claim_and_an_exact_fit_is_no_cut() -> None:
    acc = Accumulators()
    bj = {"code": "H", "region_code": "110108", "designated": True}
    base = {"insured_region_code": "110105", "hospital": bj, "cross_region_filing": None, "disease": HT}
    first = settle(claim("C1", ("沙库巴曲缬沙坦", "甲", "3700.00"), service_date="2025-02-01", **base), acc)
    exact = settle(claim("C2", ("氨氯地平", "甲", "50.00"), service_date="2025-03-01", **base), acc)
    over = settle(claim("C3", ("氨氯地平", "甲", "50.00"), service_date="2025-03-02", **base), acc)
    nxt = settle(claim("C4", ("氨氯地平", "甲", "50.00"), service_date="2026-01-02", **base), acc)
    assert (first["fund"], exact["fund"], exact["reason_codes"]) == ("2960.00", "40.00", [])
    assert (over["fund"], over["self_pay"], over["reason_codes"]) == ("0.00", "50.00", ["LIMIT_REACHED"])
    assert nxt["fund"] == "40.00"


def test_the_dialysis_quota_runs_per_calendar_month() -> None:
    acc = Accumulators()
    nj = {"code": "H", "region_code": "320102", "designated": True}
    base = {"insured_region_code": "320100", "hospital": nj, "cross_region_filing": None, "disease": DI}
    d1 = settle(claim("D1", ("血液透析", "甲", "4000.00"), service_date="2025-03-03", **base), acc)
    d2 = settle(
        claim("D2", ("血液透析", "甲", "4000.00"), ("重组人促红素", "乙", "500.00"), service_date="2025-03-17", **base),
        acc,
    )
    d3 = settle(claim("D3", ("血液透析", "甲", "4000.00"), service_date="2025-04-01", **base), acc)
    assert d1["fund"] == "3200.00"
    assert (d2["fund"], d2["self_pay"], d2["reason_codes"]) == ("2800.00", "1700.00", ["LIMIT_REACHED"])
    assert "REF-JS-2025#第九条" in d2["clause_ids"]
    assert d3["fund"] == "3200.00"


def _kb_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    for name in ("catalog.yaml", "items.yaml", "settlement.yaml", "supervision.yaml"):  # kb check reads all
        shutil.copy(KB / name, folder / name)
    return folder


def _edit(folder: Path, change: Any) -> Any:
    path = folder / "settlement.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_settlement(path)


@pytest.mark.parametrize(
    ("change", "over", "expect"),
    [
        (lambda r: r["parameters"]["ratio"]["value"].update({"职工医保": "0.90"}), {}, ("0.90", "55.00")),
        (lambda r: r["parameters"]["category_b_self_pay_ratio"].update(value="0.20"), {}, ("0.80", "46.35")),
        (
            lambda r: r["parameters"]["cross_province_reduction"].update(value="0.30"),
            {"cross_region_filing": None},
            ("0.50", "30.56"),
        ),
        (lambda r: r["parameters"]["deductible"]["value"].update({"职工医保": "10"}), {}, ("0.80", "40.89")),
        (lambda r: r["parameters"]["deductible"]["by_year"].update({2022: {"职工医保": "20"}}), {}, ("0.80", "32.89")),
        (lambda r: r["parameters"]["annual_limits"]["value"].update({G: "30"}), {}, ("0.80", "30.00")),
    ],
)
def test_a_changed_parameter_changes_the_settlement(
    tmp_path: Path, change: Any, over: dict[str, Any], expect: tuple[str, str]
) -> None:
    policy = _edit(_kb_copy(tmp_path), change)
    r = settle(claim("CL-P", **over), policy=policy)
    assert (r["ratio"], r["fund"]) == expect


def test_the_monthly_quota_is_a_parameter(tmp_path: Path) -> None:
    policy = _edit(_kb_copy(tmp_path), lambda r: r["parameters"]["monthly_quotas"]["value"].update({DI: "100"}))
    nj = {"code": "H", "region_code": "320102", "designated": True}
    c = claim(
        "D",
        ("血液透析", "甲", "4000.00"),
        insured_region_code="320100",
        hospital=nj,
        disease=DI,
        cross_region_filing=None,
    )
    assert settle(c, policy=policy)["fund"] == "100.00"


def test_the_loader_names_an_unknown_a_missing_and_a_bad_key(tmp_path: Path) -> None:
    folder = _kb_copy(tmp_path)
    path = folder / "settlement.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["parameters"]["ratios"] = raw["parameters"].pop("ratio")
    raw["parameters"]["deductible"]["value"]["居民医保"] = 200.5
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_settlement(path)
    assert exc.value.problems == [
        "parameters: unknown key 'ratios' (did you mean 'ratio'?)",
        "parameters.deductible.value.居民医保: Value error, must be a decimal written as a string, "
        'e.g. "0.80" or "200"',
    ]
    with pytest.raises(CatalogError, match="settlement parameters not found"):
        load_settlement(tmp_path / "nowhere" / "settlement.yaml")


def test_kb_check_resolves_the_parameters_and_the_item_table_clauses(deps: Any, tmp_path: Path) -> None:
    from agent.kb.check import check_catalog

    folder = _kb_copy(tmp_path)
    assert check_catalog(deps.kb.clauses, folder / "catalog.yaml") == []
    _edit(folder, lambda r: r["parameters"]["ratio"].update(clause_id="REF-JS-2025#第九十九条"))
    items = yaml.safe_load((folder / "items.yaml").read_text(encoding="utf-8"))
    items["clause_id"] = "REF-JS-2025#第九十八条"
    (folder / "items.yaml").write_text(yaml.safe_dump(items, allow_unicode=True), encoding="utf-8")
    assert check_catalog(deps.kb.clauses, folder / "catalog.yaml") == [
        "items.yaml clause_id: clause REF-JS-2025#第九十八条 is not in the knowledge base",
        "settlement.yaml parameters.ratio: clause REF-JS-2025#第九十九条 is not in the knowledge base",
    ]
    (folder / "settlement.yaml").unlink()
    assert f"{folder / 'settlement.yaml'}: file not found" in check_catalog(deps.kb.clauses, folder / "catalog.yaml")


def test_the_item_table_feeds_the_drug_lexicon_and_the_lexicon_does_not_repeat_it() -> None:
    from agent.core.resources import package_file
    from agent.extract.lexicon import lexicon

    drugs = lexicon().drug_modality
    for generic, item in TABLE.items.items():
        if item.modality is not None:
            assert drugs[generic] == item.modality, generic
    assert drugs["骨化三醇"] == "dialysis" and "昂丹司琼" not in drugs  # adjuvant drugs name no treatment
    listed = yaml.safe_load(package_file("agent.extract", "lexicon.yaml").read_text(encoding="utf-8"))["drugs"]
    assert not {n for names in listed.values() for n in names} & set(TABLE.items)
    assert drugs["泰瑞沙"] == "targeted"  # brand names stay in lexicon.yaml
