"""The catalogue is the criteria: each parameter, changed in a copy of the shipped catalogue, changes
the outcome of a small case; an unknown, misspelt or missing key stops the load with the key named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from agent.core.config import PROJECT_ROOT, Settings
from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case

SHIPPED = PROJECT_ROOT / "knowledge_base" / "catalog.yaml"
ID = "姓名：张三　　性别：男　　身份证号：440106196505123456\n"
Edit = Callable[[dict[str, Any]], None]


# ---------------------------------------------------------------- small cases, one per criterion
def _old_pathology() -> str:
    old = PATHOLOGY.replace("2025-05-10", "2023-03-10").replace("2025年5月20日", "2023年3月20日")
    return old.replace("年龄：60岁", "年龄：57岁")  # the age on that date


CYTOLOGY = f"""示例肿瘤医院　细胞学检查报告
{ID}报告日期：2025-05-22
细胞学诊断：
　（胸水）找到腺癌细胞。
"""

IN_SITU = f"""示例肿瘤医院　病理诊断报告
{ID}报告日期：2025年5月20日
病理诊断：
　（左乳）导管原位癌，切缘未见癌。
"""

IN_SITU_PLAN = f"""示例肿瘤医院　门诊病历
就诊日期：2025-05-28
{ID}诊断：
　1. 左乳导管原位癌
处理：
　1. 他莫昔芬10mg bid 口服，内分泌治疗。
"""

DISCHARGE = f"""示例市第二人民医院（二级甲等）　出院小结
{ID}入院日期：2025-05-01　　出院日期：2025-05-12
出院诊断：
　1. 右肺上叶腺癌　C34.100x001
诊疗经过：胸部增强CT示右肺上叶占位伴纵隔淋巴结肿大，结合临床诊断右肺上叶腺癌。
"""

CKD_NOTE = f"""示例人民医院　肾内科门诊病历
就诊日期：2025-05-20
{ID}诊断：
　1. 慢性肾脏病5期（N18.5）
处理：
　1. 低蛋白饮食，复查肾功能。
"""


def _lab(date: str, egfr: str, scr: str) -> str:
    return f"""示例人民医院　检验报告单
{ID}报告日期：{date}
项目　结果　单位
血肌酐（Scr）　{scr}　μmol/L
估算肾小球滤过率（eGFR）　{egfr}　ml/min/1.73m²
"""


TRANSPLANT_DISCHARGE = f"""示例医科大学附属医院　出院小结
{ID}入院日期：2019-07-26　　出院日期：2019-08-20
出院诊断：
　1. 肾移植术后（同种异体肾移植）
诊疗经过：于2019-08-02行同种异体肾移植术，手术顺利。
"""


def _rx(date: str) -> str:
    return f"""示例医科大学附属医院　处方笺
开具时间：{date}
{ID}诊断：肾移植状态 Z94.0
R：
　他克莫司胶囊　1mg×50粒　×2盒
　　　用法：2mg　口服　bid
"""


def _htn(dx: str, bp: str) -> str:
    return f"""示例人民医院　心内科门诊病历
就诊日期：2025-05-20
{ID}体格检查：血压 {bp}mmHg，心率 76次/分。
辅助检查：超声心动图示左心室肥厚。
诊断：
　1. {dx}
　2. 左心室肥厚
处理：
　1. 氨氯地平5mg qd 口服。
"""


def _dm(treatment: str) -> str:
    return f"""示例人民医院　内分泌科门诊病历
就诊日期：2025-05-20
{ID}诊断：
　1. 2型糖尿病
　2. 糖尿病肾病
处理：
　1. {treatment}
"""


TUMOUR = {"病理报告.txt": PATHOLOGY, "门诊病历.txt": CLINIC_PLAN}
CLINICAL = {"出院小结.txt": DISCHARGE, "门诊病历.txt": CLINIC_PLAN}
DIALYSIS = {
    "门诊病历.txt": CKD_NOTE,
    "检验1.txt": _lab("2025-03-10", "12", "500"),
    "检验2.txt": _lab("2025-05-10", "11", "520"),
}
DIALYSIS_SCR = {
    "门诊病历.txt": CKD_NOTE,
    "检验1.txt": _lab("2025-03-10", "30", "750"),
    "检验2.txt": _lab("2025-05-10", "28", "760"),
}
TRANSPLANT = {"出院小结.txt": TRANSPLANT_DISCHARGE, "处方1.txt": _rx("2024-03-10"), "处方2.txt": _rx("2025-04-10")}
DIABETES = {"门诊病历.txt": _dm("二甲双胍0.5g tid 口服。")}


# ---------------------------------------------------------------- edits of one parameter
def _param(key: str, value: Any) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        raw["parameters"][key]["value"] = value

    return edit


def _evidence(kind: str, key: str, value: Any) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        disease = next(d for d in raw["diseases"] if d["kind"] == kind)
        disease["evidence"][key] = value

    return edit


def _cert(valid_from: str, valid_until: str | None = None) -> list[dict[str, Any]]:
    cert: dict[str, Any] = {"disease": "恶性肿瘤门诊治疗", "valid_from": valid_from}
    if valid_until:
        cert["valid_until"] = valid_until
    return [cert]


APPROVE_PATH = ("approve", ["PATHOLOGY_CONFIRMED"])
APPROVE_CLINICAL = ("approve", ["CLINICAL_DIAGNOSIS"])
APPROVE = ("approve", ["CRITERIA_MET"])
MISSING = ("need_info", ["EVIDENCE_MISSING"])
DUPLICATE = ("reject", ["DUPLICATE_CERTIFICATION"])

# (case.json overrides, records, edit, outcome with the shipped catalogue, outcome after the edit)
PARAMETERS = [
    pytest.param(
        {"existing_certifications": _cert("2023-08-01")},
        TUMOUR,
        _param("validity_months", 36),
        APPROVE_PATH,
        DUPLICATE,
        id="validity_months",
    ),
    pytest.param(
        {"existing_certifications": _cert("2024-03-01", "2026-02-28")},
        TUMOUR,
        _param("renewal_window_months", 12),
        DUPLICATE,
        APPROVE_PATH,
        id="renewal_window_months",
    ),
    pytest.param(
        {},
        {"病理报告.txt": _old_pathology(), "门诊病历.txt": CLINIC_PLAN},
        _param("evidence_max_age_months", 36),
        ("need_info", ["EVIDENCE_EXPIRED"]),
        APPROVE_PATH,
        id="evidence_max_age_months",
    ),
    pytest.param(
        {},
        {"病理报告.txt": IN_SITU, "门诊病历.txt": IN_SITU_PLAN},
        _param("include_in_situ", True),
        ("reject", ["DISEASE_NOT_COVERED"]),
        MISSING,
        id="include_in_situ",
    ),
    pytest.param(
        {},
        TUMOUR,
        _param("active_insurance_statuses", ["参保缴费正常"]),
        APPROVE_PATH,
        ("reject", ["INSURANCE_INACTIVE"]),
        id="active_insurance_statuses",
    ),
    pytest.param(
        {},
        {**TUMOUR, "细胞学报告.txt": CYTOLOGY},
        _evidence("tumour", "basis_order", ["cytology", "pathology", "clinical"]),
        APPROVE_PATH,
        ("approve", ["CYTOLOGY_CONFIRMED"]),
        id="basis_order",
    ),
    pytest.param({}, CLINICAL, _evidence("tumour", "imaging", ["MRI"]), APPROVE_CLINICAL, MISSING, id="imaging"),
    pytest.param(
        {},
        CLINICAL,
        _evidence("tumour", "clinical_documents", ["certificate"]),
        APPROVE_CLINICAL,
        MISSING,
        id="clinical_documents",
    ),
    pytest.param(
        {},
        CLINICAL,
        _evidence("tumour", "min_hospital_level_clinical", 3),
        APPROVE_CLINICAL,
        MISSING,
        id="min_hospital_level_clinical",
    ),
    pytest.param(
        {"requested_disease": "尿毒症透析"},
        DIALYSIS,
        _evidence("dialysis", "egfr_max", 10),
        APPROVE,
        MISSING,
        id="egfr_max",
    ),
    pytest.param(
        {"requested_disease": "尿毒症透析"},
        DIALYSIS_SCR,
        _evidence("dialysis", "scr_min_umol_l", 800),
        APPROVE,
        MISSING,
        id="scr_min_umol_l",
    ),
    pytest.param(
        {"requested_disease": "尿毒症透析"},
        DIALYSIS,
        _evidence("dialysis", "min_reports", 3),
        APPROVE,
        MISSING,
        id="min_reports",
    ),
    pytest.param(
        {"requested_disease": "器官移植术后抗排异治疗"},
        TRANSPLANT,
        _evidence("transplant", "min_prescriptions", 3),
        APPROVE,
        MISSING,
        id="min_prescriptions",
    ),
    pytest.param(
        {"requested_disease": "器官移植术后抗排异治疗"},
        TRANSPLANT,
        _evidence("transplant", "window_months", 12),
        APPROVE,
        MISSING,
        id="window_months",
    ),
    pytest.param(
        {"requested_disease": "器官移植术后抗排异治疗"},
        TRANSPLANT,
        _evidence("transplant", "drugs", ["环孢素", "吗替麦考酚酯"]),
        APPROVE,
        MISSING,
        id="drugs",
    ),
    pytest.param(
        {"requested_disease": "高血压（伴并发症）"},
        {"门诊病历.txt": _htn("高血压2级（很高危）", "150/90")},
        _evidence("hypertension", "min_grade", 3),
        APPROVE,
        MISSING,
        id="min_grade",
    ),
    pytest.param(
        {"requested_disease": "高血压（伴并发症）"},
        {"门诊病历.txt": _htn("高血压病", "165/95")},
        _evidence("hypertension", "sbp_min", 170),
        APPROVE,
        MISSING,
        id="sbp_min",
    ),
    pytest.param(
        {"requested_disease": "高血压（伴并发症）"},
        {"门诊病历.txt": _htn("高血压病", "150/105")},
        _evidence("hypertension", "dbp_min", 110),
        APPROVE,
        MISSING,
        id="dbp_min",
    ),
    pytest.param(
        {"requested_disease": "高血压（伴并发症）"},
        {"门诊病历.txt": _htn("高血压2级（很高危）", "150/90")},
        _evidence("hypertension", "findings", {"主动脉夹层": ["主动脉夹层"]}),
        APPROVE,
        MISSING,
        id="findings-hypertension",
    ),
    pytest.param(
        {"requested_disease": "糖尿病（伴并发症）"},
        DIABETES,
        _evidence("diabetes", "findings", {"糖尿病足": ["糖尿病足"]}),
        APPROVE,
        MISSING,
        id="findings-diabetes",
    ),
    pytest.param(
        {"requested_disease": "糖尿病（伴并发症）"},
        {"门诊病历.txt": _dm("糖尿病饮食，运动。")},
        _evidence("diabetes", "requires_therapy", False),
        MISSING,
        APPROVE,
        id="requires_therapy",
    ),
]


def _catalog(tmp_path: Path, edit: Edit | None = None) -> Path:
    """A copy of the shipped catalogue, with one edit."""
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    if edit is not None:
        edit(raw)
    path = tmp_path / ("edited.yaml" if edit else "shipped.yaml")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _outcome(kb_home: Path, catalog_path: Path, folder: Path) -> tuple[str, list[str]]:
    from agent.records.case import load_case
    from agent.review.deps import build_deps
    from agent.review.recommend import review_case

    rec = review_case(load_case(folder), build_deps(Settings(home=kb_home, catalog_path=catalog_path)))
    return rec.decision, rec.reason_codes


@pytest.mark.parametrize(("over", "records", "edit", "before", "after"), PARAMETERS)
def test_each_parameter_changes_an_outcome(
    kb_home: Path,
    tmp_path: Path,
    over: dict[str, Any],
    records: dict[str, str],
    edit: Edit,
    before: tuple[str, list[str]],
    after: tuple[str, list[str]],
) -> None:
    folder = write_case(tmp_path / "cases", base_case(**over), records)
    assert _outcome(kb_home, _catalog(tmp_path), folder) == (before[0], before[1])
    assert _outcome(kb_home, _catalog(tmp_path, edit), folder) == (after[0], after[1])


# ---------------------------------------------------------------- every key read or rejected
def _rename(where: Callable[[dict[str, Any]], dict[str, Any]], old: str, new: str) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        block = where(raw)
        block[new] = block.pop(old)

    return edit


def _dialysis(raw: dict[str, Any]) -> dict[str, Any]:
    return next(d for d in raw["diseases"] if d["kind"] == "dialysis")


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        pytest.param(
            _rename(lambda raw: _dialysis(raw)["evidence"], "egfr_max", "egfr_maxx"),
            "diseases[尿毒症透析].evidence: unknown key 'egfr_maxx' (did you mean 'egfr_max'?)",
            id="misspelt-criterion",
        ),
        pytest.param(
            _rename(lambda raw: raw["parameters"], "validity_months", "validity_month"),
            "parameters: unknown key 'validity_month' (did you mean 'validity_months'?)",
            id="misspelt-parameter",
        ),
        pytest.param(
            _evidence("tumour", "colour", "blue"),
            "diseases[恶性肿瘤门诊治疗].evidence: unknown key 'colour'",
            id="unknown-key",
        ),
        pytest.param(
            lambda raw: _dialysis(raw)["evidence"].pop("min_reports"),
            "diseases[尿毒症透析].evidence: missing key 'min_reports'",
            id="missing-key",
        ),
        pytest.param(
            lambda raw: _dialysis(raw).__setitem__("kind", "dialysys"),
            "diseases[尿毒症透析].kind: unknown kind 'dialysys' (one of tumour, dialysis, transplant, hypertension, "
            "diabetes)",
            id="unknown-kind",
        ),
        pytest.param(
            _param("renewal_window_months", "six"),
            "parameters.renewal_window_months.value: Input should be a valid integer, unable to parse string as an "
            "integer",
            id="wrong-type",
        ),
        pytest.param(
            _evidence("tumour", "basis_order", ["pathology", "clinical"]),
            "diseases[恶性肿瘤门诊治疗].evidence.basis_order: Value error, must list pathology, cytology and clinical, "
            "each once",
            id="basis-order-incomplete",
        ),
    ],
)
def test_a_bad_key_fails_at_load_with_the_key_named(tmp_path: Path, edit: Edit, problem: str) -> None:
    from agent.core.catalog import CatalogError, load_catalog

    path = _catalog(tmp_path, edit)
    with pytest.raises(CatalogError) as info:
        load_catalog(Settings(catalog_path=path).catalog_path)
    assert info.value.problems == [problem]
    assert info.value.message == f"catalogue {path} is invalid: {problem}"
    assert info.value.exit_code == 2


def test_the_user_sees_the_key_named_by_triage_and_kb_check(home: Path, tmp_path: Path, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    import cli

    path = _catalog(tmp_path, _rename(lambda raw: _dialysis(raw)["evidence"], "egfr_max", "egfr_maxx"))
    monkeypatch.setenv("CERTREVIEW_CATALOG_PATH", str(path))
    problem = "diseases[尿毒症透析].evidence: unknown key 'egfr_maxx' (did you mean 'egfr_max'?)"
    cases = tmp_path / "cases"
    write_case(cases, base_case(), TUMOUR)
    r = CliRunner().invoke(cli.app, ["triage", str(cases), "--json", "--no-audit"])
    assert r.exit_code == 2
    assert f"error: catalogue {path} is invalid: {problem}\n" in r.stderr
    assert (
        "hint: Correct the key named in the catalogue: every key is read, so an unknown or misspelt one is an error, "
        "not a default. `certreview kb check` lists every problem.\n" in r.stderr
    )
    r = CliRunner().invoke(cli.app, ["kb", "check"])
    assert r.exit_code == 1
    # the problem line as printed, however the terminal wraps it
    assert "".join(f"problem: {path}: {problem}".split()) in "".join(r.stderr.split())


def test_a_missing_catalogue_is_named(tmp_path: Path) -> None:
    from agent.core.catalog import CatalogError, load_catalog

    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path / "nope.yaml")
    assert info.value.message == f"catalogue not found: {tmp_path / 'nope.yaml'}"
    assert info.value.hint == "Set CERTREVIEW_CATALOG_PATH or restore knowledge_base/catalog.yaml."


def test_the_typed_vocabularies_match_the_extractor_and_the_assessors() -> None:
    from agent.assess.dispatch import ASSESSORS
    from agent.core.criteria import KINDS, DocKind, Kind, Modality
    from agent.extract.document import KIND_LABEL
    from agent.extract.lexicon import MODALITIES

    assert set(get_args(DocKind)) == set(KIND_LABEL)
    assert set(get_args(Modality)) == set(MODALITIES)
    assert set(get_args(Kind)) == set(KINDS) == set(ASSESSORS)


def test_the_messages_take_their_numbers_from_the_catalogue() -> None:
    from agent.core.criteria import months_cn, num

    assert [months_cn(24), months_cn(36), months_cn(18)] == ["2年", "3年", "18个月"]
    assert [num(15.0), num(707), num(2.5)] == ["15", "707", "2.5"]


def test_a_changed_window_changes_the_words_of_the_expiry(kb_home: Path, tmp_path: Path) -> None:
    folder = write_case(
        tmp_path / "cases", base_case(), {"病理报告.txt": _old_pathology(), "门诊病历.txt": CLINIC_PLAN}
    )
    from agent.records.case import load_case
    from agent.review.deps import build_deps
    from agent.review.recommend import review_case

    for months, words in ((24, "距申请日已超过2年"), (18, "距申请日已超过18个月")):
        (tmp_path / str(months)).mkdir()
        path = _catalog(tmp_path / str(months), _param("evidence_max_age_months", months))
        rec = review_case(load_case(folder), build_deps(Settings(home=kb_home, catalog_path=path)))
        check = next(c for c in rec.checks if c.id == "diagnosis_evidence")
        assert check.detail == f"最新认定材料日期为2023-03-20，{words}。"


def test_the_clinical_basis_message_names_the_level_and_documents_of_the_catalogue(
    kb_home: Path, tmp_path: Path
) -> None:
    from agent.records.case import load_case
    from agent.review.deps import build_deps
    from agent.review.recommend import review_case

    def edit(raw: dict[str, Any]) -> None:
        _evidence("tumour", "min_hospital_level_clinical", 3)(raw)
        _evidence("tumour", "clinical_documents", ["discharge"])(raw)

    folder = write_case(tmp_path / "cases", base_case(), CLINICAL)
    rec = review_case(load_case(folder), build_deps(Settings(home=kb_home, catalog_path=_catalog(tmp_path, edit))))
    check = next(c for c in rec.checks if c.id == "diagnosis_evidence")
    assert check.detail == "恶性肿瘤诊断无病理、细胞学报告或附影像依据的三级及以上医院出院小结支持。"


def test_kb_check_of_the_shipped_catalogue_finds_nothing(deps: Any) -> None:
    from agent.kb.check import check_catalog

    assert check_catalog(deps.kb.clauses, SHIPPED) == []
