"""The assertion engine (agent.extract.assertion) on hospital phrasing: a table of sentences with
the expected assertion of one target in each (tests/assertion_table.yaml), the rules file's
errors, and what the case analysis and the review do with what was not counted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.core.catalog import load_catalog
from agent.core.models import Applicant, Document, Insurance
from agent.extract.analysis import CaseAnalysis
from agent.extract.assertion import Assertion, AssertionRulesError, assert_mention
from agent.extract.assertion.rules import compile_rules, ruleset
from agent.extract.document import DocView
from agent.extract.identity import document_identity
from agent.extract.mentions import finding_mentions
from agent.extract.treatments import treatment_mentions
from agent.records.case import load_case
from tests.conftest import PROJECT_ROOT, base_case, write_case

TABLE: list[dict[str, str]] = yaml.safe_load((Path(__file__).parent / "assertion_table.yaml").read_text("utf-8"))
CATALOG = PROJECT_ROOT / "knowledge_base" / "catalog.yaml"


def view(text: str, name: str = "records/门诊病历.txt") -> DocView:
    return DocView(Document(name=name, text=text, format="txt"))


def asserted(text: str, target: str, kind: str) -> Assertion | None:
    """The assertion of the last occurrence of ``target``; treatments as the extractor finds them."""
    v = view(text)
    i = text.rindex(target)
    if kind == "treatment":
        hits = [t for t in treatment_mentions(v) if t.start <= i < t.end or i <= t.start < i + len(target)]
        return hits[0].assertion if hits else None
    return assert_mention(v, i, i + len(target), kind)


@pytest.mark.parametrize("row", TABLE, ids=[f"{r['expect']}:{r['text'][:24]}" for r in TABLE])
def test_assertion_table(row: dict[str, str]) -> None:
    a = asserted(row["text"], row["target"], row["kind"])
    assert a is not None, "the target is not a mention at all"
    assert a.category == row["expect"]
    if a.category == "affirmed":
        assert a.trigger is None
    else:
        # the trigger is quoted from the record with its offsets (section headings included)
        assert a.trigger is not None and a.trigger.text
        if a.trigger.start >= 0:
            assert row["text"][a.trigger.start : a.trigger.end] == a.trigger.text


def test_table_covers_every_category_with_positive_counterparts() -> None:
    assert len(TABLE) >= 200
    cats = {r["expect"] for r in TABLE}
    assert cats == {"affirmed", "negated", "possible", "hypothetical", "historical", "other_person", "administrative"}
    classes = {r["class"] for r in TABLE}
    assert sum("counterpart" in c for c in classes) >= 5
    for kind in ("diagnosis", "finding", "treatment"):
        assert {r["expect"] for r in TABLE if r["kind"] == kind} >= {"affirmed", "negated"}


def test_every_trigger_category_is_in_the_rules_file() -> None:
    rs = ruleset()
    assert {r.category for r in rs.rules} == {
        "negated",
        "possible",
        "hypothetical",
        "historical",
        "other_person",
        "administrative",
        "pseudo",
        "terminate",
    }
    assert {r.direction for r in rs.rules} >= {"forward", "backward", "bidirectional", "terminate"}
    assert rs.sections["family"].category == "other_person" and rs.sections["plan"].category == "hypothetical"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": []}, "rules.yaml: needs a `rules` list (and an optional `defaults` mapping)"),
        (
            {"rules": [{"category": "negative", "literal": ["无"]}]},
            "rules.yaml: rule 0: unknown category 'negative' (one of negated, possible, hypothetical, historical, "
            "other_person, administrative, pseudo, terminate)",
        ),
        (
            {"rules": [{"category": "negated", "direction": "sideways", "literal": ["无"]}]},
            "rules.yaml: rule 0: unknown direction 'sideways' (one of forward, backward, bidirectional, terminate)",
        ),
        ({"rules": [{"category": "negated"}]}, "rules.yaml: rule 0: needs a list of literal or pattern triggers"),
        (
            {"rules": [{"category": "negated", "literal": ["无"], "applies": ["lab"]}]},
            "rules.yaml: rule 0: applies must be a list of diagnosis, finding, treatment",
        ),
        (
            {"rules": [{"category": "negated", "pattern": ["(无"]}]},
            "rules.yaml: rule 0: bad pattern '(无': missing ), unterminated subpattern at position 0",
        ),
    ],
)
def test_a_malformed_rules_file_is_a_named_error(data: dict[str, Any], message: str) -> None:
    with pytest.raises(AssertionRulesError) as exc:
        compile_rules(data)
    assert exc.value.message == message
    assert exc.value.hint == "fix the rules file shipped with certreview"


def test_longest_trigger_wins_and_pseudo_triggers_block() -> None:
    # 不能排除 is one possible trigger, not 排除 (negated); 无明显诱因 is no negation
    assert asserted("不能排除恶性", "恶性", "diagnosis").category == "possible"  # type: ignore[union-attr]
    assert asserted("无明显诱因出现脑梗死", "脑梗死", "finding").category == "affirmed"  # type: ignore[union-attr]
    a = asserted("患者无高血压、糖尿病、冠心病病史", "冠心病", "diagnosis")
    assert a is not None and a.trigger is not None and (a.trigger.text, a.trigger.start) == ("无", 2)


DM_NOTE = """示例医院　门诊病历
姓名：张三　性别：男　年龄：60岁　身份证号：440106196505123456
就诊日期：2025-05-20
既往史：无冠心病、脑卒中、肾病史。
辅助检查：尿蛋白阴性，暂无DKD依据。视网膜病变（-）。
糖尿病足部检查：足背动脉搏动可，皮肤完整。
诊断：2型糖尿病
处理：二甲双胍 0.5g tid。患者要求申请“糖尿病（伴并发症）”门特。
"""
PASTED = """姓名：李建华　性别：男　年龄：71岁
心脏超声：左心室肥厚（IVS 14mm）。
"""


def _analysis(tmp_path: Path, records: dict[str, str], disease: str) -> CaseAnalysis:
    folder = write_case(tmp_path, base_case("T-ASR", requested_disease=disease), records)
    return CaseAnalysis(load_case(folder), load_catalog(CATALOG))


def test_findings_set_apart_are_named_with_their_trigger(tmp_path: Path) -> None:
    an = _analysis(tmp_path, {"门诊病历.txt": DM_NOTE}, "糖尿病（伴并发症）")
    d = an.catalog.disease("糖尿病（伴并发症）")
    assert d is not None
    assert an.findings(d.evidence.findings) == []
    assert an.excluded_notes(d.evidence.findings) == [
        "DKD（否定：暂无）",
        "视网膜病变（否定：（-））",
        "糖尿病足（否定：可）",
    ]


def test_a_request_sentence_is_no_diagnosis_statement(tmp_path: Path) -> None:
    note = "示例医院　门诊病历\n姓名：张三\n就诊日期：2025-05-20\n现病史：患者要求申请“高血压”门特，家属咨询能否办理。"
    an = _analysis(tmp_path, {"门诊病历.txt": note}, "高血压（伴并发症）")
    assert an.diseases == []
    v = an.views[0]
    i = v.text.index("高血压")
    assert assert_mention(v, i, i + 3).note() == "申请/咨询语句：申请"


def test_pasted_text_of_another_patient_is_theirs_and_flags_identity(tmp_path: Path) -> None:
    text = "示例医院　门诊病历\n姓名：张三　身份证号：440106196505123456\n诊断：高血压2级\n\n" + PASTED
    an = _analysis(tmp_path, {"门诊病历.txt": text}, "高血压（伴并发症）")
    v = an.views[0]
    assert v in an.own  # the note is the applicant's; only the pasted block is not
    finds = finding_mentions(v, {"左心室肥厚": ["左心室肥厚"]})
    assert [(m.assertion.category, m.assertion.trigger.text if m.assertion.trigger else "") for m in finds] == [
        ("other_person", "姓名：李建华")
    ]
    applicant = Applicant(
        name="张三",
        id_number="440106196505123456",
        sex="男",
        birth_date=dt.date(1965, 5, 12),
        insurance=Insurance(scheme="职工医保", region_code="440100", status="正常参保"),
    )
    ident = document_identity(v, applicant)
    assert [p[0] for p in ident.problems] == ["文书中粘贴有他人（李建华）的内容"]
    assert ident.own_problems == []


def test_the_review_says_what_was_not_counted_and_why(tmp_path: Path, deps: Any) -> None:
    from agent.review.recommend import review_case

    case = base_case("T-ASR2", requested_disease="糖尿病（伴并发症）")
    folder = write_case(tmp_path, case, {"门诊病历.txt": DM_NOTE})
    rec = review_case(load_case(folder), deps)
    assert rec.decision == "need_info"
    assert "未计入：DKD（否定：暂无）" in rec.rationale.splitlines()
    assert "未计入：糖尿病足（否定：可）" in rec.rationale.splitlines()


def test_a_drug_only_continued_documents_its_modality_but_is_no_prescription(tmp_path: Path) -> None:
    note = (
        "示例医院　门诊病历\n姓名：张三\n就诊日期：2025-05-20\n诊断：2型糖尿病\n"
        "处理：继续二甲双胍片 0.5g tid（本次未开药，患者自备）。\n"
    )
    an = _analysis(tmp_path, {"门诊病历.txt": note}, "糖尿病（伴并发症）")
    assert an.treatments == []
    mods, spans = an.modalities(["hypoglycaemic"])
    assert mods == ["hypoglycaemic"] and spans[0].quote == "二甲双胍"
    t = treatment_mentions(an.views[0])[0]
    assert t.assertion.note() == "既往：本次未开药"


def test_rules_load_lazily_and_once() -> None:
    assert ruleset() is ruleset()
    v = view("否认高血压病史")
    assert assert_mention(v, 2, 5).trigger == assert_mention(v, 2, 5).trigger
    assert "assertion_triggers" in v.cache  # the record's triggers were found once
