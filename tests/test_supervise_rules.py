"""The supervision rules as data (knowledge_base/supervision.yaml): the shipped file, the named
error of each kind of mistake, `kb check` on its clauses, and a rule added in the YAML alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.core.config import PROJECT_ROOT
from agent.core.criteria import CatalogError
from agent.core.items import items_path, load_items
from agent.core.supervision import HospitalsParams, OversupplyParams, RefillParams, load_rules, parse_rules
from agent.kb.check import check_supervision
from agent.supervise.reader import read_claims_file
from agent.supervise.run import supervise

RULES = PROJECT_ROOT / "knowledge_base" / "supervision.yaml"
CLAUSES = {
    "SV01": "第十三条",
    "SV02": "第十四条",
    "SV03": "第十五条",
    "SV04": "第十六条",
    "SV05": "第十七条",
    "SV06": "第十八条",
    "SV07": "第十九条",
    "SV08": "第二十条",
    "SV09": "第二十一条",
}


def _raw() -> str:
    return RULES.read_text(encoding="utf-8")


def _error(text: str) -> CatalogError:
    with pytest.raises(CatalogError) as exc:
        parse_rules(text.encode(), "s.yaml")
    return exc.value


def test_the_shipped_rules_are_sv01_to_sv09_on_their_clauses_with_the_reference_parameters() -> None:
    rs = load_rules(RULES)
    assert {r.rule: r.clause_id for r in rs.rules} == {k: f"REF-JS-2025#{v}" for k, v in CLAUSES.items()}
    by = {r.rule: r for r in rs.rules}
    assert [r.severity for r in rs.rules] == ["violation"] * 5 + ["suspicious"] * 4
    assert isinstance(by["SV05"].p, OversupplyParams) and by["SV05"].p.max_days == 30
    assert isinstance(by["SV06"].p, RefillParams) and str(by["SV06"].p.ratio) == "0.8"
    p7 = by["SV07"].p
    assert isinstance(p7, HospitalsParams) and (p7.min_hospitals, p7.window_days, p7.high_value_only) == (3, 29, True)
    assert by["SV01"].unless == ["SV02", "SV03"] and by["SV03"].unless == ["SV02"]
    # SV01 comes after the rules it yields to, whatever the file order
    order = [r.rule for r in rs.ordered()]
    assert order.index("SV01") > order.index("SV03") > order.index("SV02")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "      max_days: 30",
            "      max_dayz: 30",
            "supervision rules s.yaml are invalid: rules[4].params: unknown key 'max_dayz' (did you mean "
            "'max_days'?); rules[4].explanation: {max_days} is not a name of shape oversupply (known: days_supply, "
            "disease, generic, max_dayz, service_date)",
        ),
        (
            "{max_days} 日，属",
            "{maxdays} 日，属",
            "supervision rules s.yaml are invalid: rules[4].explanation: {maxdays} is not a name of shape "
            "oversupply (known: days_supply, disease, generic, max_days, service_date)",
        ),
        (
            "unless: [SV02]",
            "unless: [SV12]",
            "supervision rules s.yaml are invalid: rules[2].unless: SV12 is not another rule of this file",
        ),
        (
            "  - rule: SV09",
            "  - rule: SV08",
            "supervision rules s.yaml are invalid: rules[7].rule: SV08 is listed twice",
        ),
        (
            "      city_digits: 4",
            "      city_digits: 9",
            "supervision rules s.yaml are invalid: rules[7].params: city_digits: Input should be less than or equal "
            "to 6",
        ),
        (
            "    unless: [SV02, SV03]",
            '    unless: [SV02, SV03]\n    params: {groups: ["it\'s"]}',
            "supervision rules s.yaml are invalid: rules[0].params: unknown key 'groups'",
        ),
    ],
)
def test_each_mistake_in_the_rules_is_named_by_its_key(old: str, new: str, message: str) -> None:
    assert old in _raw()
    exc = _error(_raw().replace(old, new, 1))
    assert exc.message == message
    assert exc.hint and "supervision rules" in exc.hint and exc.exit_code == 2


def test_a_quote_in_an_item_filter_is_refused_before_it_reaches_sql() -> None:
    text = _raw().replace("      max_days: 30\n", '      max_days: 30\n      groups: ["PD-1\'; --"]\n', 1)
    exc = _error(text)
    assert exc.message == (
        'supervision rules s.yaml are invalid: rules[4].params: groups: Value error, "PD-1\'; --" must be a plain '
        "name (no quotes, backslashes or line breaks)"
    )


def test_a_cycle_of_unless_is_named() -> None:
    text = _raw().replace(
        '    clause_id: "REF-JS-2025#第十四条"', '    unless: [SV01]\n    clause_id: "REF-JS-2025#第十四条"'
    )
    assert _error(text).message == "supervision rules s.yaml are invalid: rules: the unless lists form a cycle"


def test_a_missing_rules_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as exc:
        load_rules(tmp_path / "supervision.yaml")
    assert exc.value.message == f"supervision rules not found: {tmp_path / 'supervision.yaml'}"


def test_kb_check_resolves_every_rule_clause_and_names_one_that_is_not_in_the_kb(deps: Any, tmp_path: Path) -> None:
    assert check_supervision(deps.kb.clauses, RULES) == []
    bad = tmp_path / "supervision.yaml"
    bad.write_text(_raw().replace("REF-JS-2025#第十七条", "REF-JS-2025#第九十九条"), encoding="utf-8")
    (tmp_path / "items.yaml").write_bytes(items_path(RULES).read_bytes())
    text = _raw().replace(
        "      max_days: 30\n", "      max_days: 30\n      groups: [PD-2]\n      generics: [某药]\n", 1
    )
    assert check_supervision(deps.kb.clauses, bad) == [
        f"{bad}: rules[SV05].clause_id: clause REF-JS-2025#第九十九条 is not in the knowledge base"
    ]
    bad.write_text(text, encoding="utf-8")
    assert check_supervision(deps.kb.clauses, bad) == [
        f"{bad}: rules[SV05].params.generics: 某药 is not in the item table",
        f"{bad}: rules[SV05].params.groups: PD-2 is not a class group of the item table",
    ]


# ---------------------------------------------------------------- a new rule is a data change
SV10 = """
  - rule: SV10
    code: PD1_OVERSUPPLY
    severity: violation
    shape: oversupply
    params:
      max_days: 14
      groups: [PD-1]
    clause_id: "REF-JS-2025#第十七条"
    explanation: "PD-1 抑制剂 {generic} 单次 {days_supply} 日，超过 {max_days} 日。"
"""


def _claim(cid: str, generic: str, days: int, day: str = "2025-03-01") -> dict[str, Any]:
    return {
        "claim_id": cid,
        "id_number": "370902196001010011",
        "scheme": "职工医保",
        "insured_region_code": "370900",
        "service_date": day,
        "hospital": {"code": "H1", "region_code": "370902", "designated": True},
        "disease": "恶性肿瘤门诊治疗",
        "items": [{"generic": generic, "category": "乙", "amount": "100.00", "days_supply": days}],
    }


def test_a_rule_added_only_in_the_yaml_fires_on_its_own_threshold(tmp_path: Path) -> None:
    rules = parse_rules((_raw() + SV10).encode(), "s.yaml")
    claims = tmp_path / "claims.jsonl"
    rows = [
        _claim("C1", "帕博利珠单抗", 21, "2025-01-01"),  # PD-1, over 14: SV10 only (not over 30)
        _claim("C2", "信迪利单抗", 14, "2025-03-01"),  # PD-1, exactly 14: nothing
        _claim("C3", "奥希替尼", 21, "2025-05-01"),  # not PD-1: nothing
    ]
    claims.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    cert = ("370902196001010011", "恶性肿瘤门诊治疗", _d("2024-01-01"), _d("2026-12-31"), None, None)
    sup = supervise(read_claims_file(claims), ([cert], []), load_items(items_path(RULES)), rules)
    assert [(f.rule, f.claim_ids, f.generic) for f in sup.flags] == [("SV10", ["C1"], "帕博利珠单抗")]
    assert sup.flags[0].explanation == "PD-1 抑制剂 帕博利珠单抗 单次 21 日，超过 14 日。"
    assert sup.summary()["by_rule"][-1] | {"amount_at_risk": "100.00"} == {
        "rule": "SV10",
        "code": "PD1_OVERSUPPLY",
        "severity": "violation",
        "flags": 1,
        "claims": 1,
        "amount_at_risk": "100.00",
        "clause_id": "REF-JS-2025#第十七条",
    }


def _d(s: str) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(s)
