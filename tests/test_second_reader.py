"""The model as a second reader, against the scripted local OpenAI server (real HTTP on
127.0.0.1): a disagreement withdraws an approve to need_info with the quote shown, agreement
changes nothing, nothing the model says approves, unsupported quotes are dropped, a rationale
without a clause is refused, failures fall back, the per-question cap and masking are on the wire."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from agent.llm.support import diagnosis_supported, supported_modalities
from agent.records.case import load_case
from agent.review.recommend import review_case
from tests.conftest import CLINIC_PLAN, DEV, PATHOLOGY, base_case, write_case
from tests.fake_openai import FakeOpenAI, Reply
from tests.test_llm import RATIONALE, backend_deps, extract_answer, task

PHONE = "13812345678"


@pytest.fixture()
def srv() -> Any:
    with FakeOpenAI() as s:
        yield s


def reader(answer: str = "stated", quote: str = "") -> str:
    return json.dumps({"answer": answer, "quote": quote}, ensure_ascii=False)


def respond(on_reader: Any = None, *, rationale: str = RATIONALE, extract: str | None = None) -> Any:
    """A responder: the second reader's questions answered by ``on_reader(user text)``."""

    def answer(req: dict[str, Any]) -> Reply:
        t = task(req)
        if t == "second_reader":
            return Reply(on_reader(req["messages"][-1]["content"]) if on_reader else reader())
        return Reply(rationale if t == "rationale" else extract or extract_answer())

    return answer


def approve_case(root: Path, cid: str, clinic: str = CLINIC_PLAN) -> Any:
    # the pathology date differs per case id, so no answer is served from another case's cache
    day = 10 + sum(map(ord, cid)) % 18
    path = PATHOLOGY.replace("2025年5月20日", f"2025年5月{day}日")
    return load_case(write_case(root, base_case(cid), {"病理.txt": path, "门诊.txt": clinic}))


def reader_requests(srv: FakeOpenAI) -> list[dict[str, Any]]:
    return [r for r in srv.requests if task(r) == "second_reader"]


def test_a_negated_finding_withdraws_the_approve_with_the_quote_shown(
    deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path
) -> None:
    srv.responder = respond(lambda user: reader("negated", "切缘未见癌") if "浸润性腺癌" in user else reader())
    d = backend_deps(deps, srv, tmp_path)
    case = approve_case(cases_dir, "N-1")
    assert review_case(case, deps).decision == "approve"
    rec = d.backend.review(case, d)
    assert rec.decision == "need_info" and rec.reason_codes == ["SECOND_READER_DISAGREES"]
    check = next(c for c in rec.checks if c.id == "diagnosis_evidence")
    assert (check.status, check.reason_code) == ("unknown", "SECOND_READER_DISAGREES")
    assert check.detail == (
        "认定依据“（右肺上叶）浸润性腺癌，切缘未见癌”，第二审读认为被否定（原文：“切缘未见癌”），"
        "该依据暂不计入，需人工核实。"
    )
    assert "SECOND_READER_DISAGREES" in rec.flags
    assert rec.provenance.flag_reasons["SECOND_READER_DISAGREES"] == "认定依据：被否定"
    assert rec.rationale.startswith("审核意见：建议补充材料后再审（恶性肿瘤门诊治疗）。")
    assert check.detail in rec.rationale  # the 审核意见 shows the quote and the model's answer
    assert rec.citations and all(c.clause_id in {x.clause_id for x in check.citations} for c in rec.citations)
    assert [s.quote for s in rec.flag_evidence["SECOND_READER_DISAGREES"]] == ["（右肺上叶）浸润性腺癌，切缘未见癌"]
    # one question per finding: the diagnosis statement, the pathology conclusion, the plan
    roles = sorted(c["role"] for c in rec.provenance.tool_calls)
    assert roles == ["治疗方案", "认定依据", "诊断"] and len(reader_requests(srv)) == 3


def test_a_negated_plan_withdraws_check_5(deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path) -> None:
    srv.responder = respond(lambda user: reader("request_or_plan", "奥希替尼") if "治疗方案" in user else reader())
    d = backend_deps(deps, srv, tmp_path)
    rec = d.backend.review(approve_case(cases_dir, "N-2"), d)
    assert rec.decision == "need_info" and rec.reason_codes == ["SECOND_READER_DISAGREES"]
    plan = next(c for c in rec.checks if c.id == "treatment_plan")
    assert plan.status == "unknown" and "第二审读认为申请/咨询或计划语句（原文：“奥希替尼”）" in plan.detail
    assert next(c for c in rec.checks if c.id == "diagnosis_evidence").status == "pass"


def test_a_model_that_agrees_changes_nothing(deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path) -> None:
    srv.responder = respond()
    d = backend_deps(deps, srv, tmp_path)
    case = approve_case(cases_dir, "S-1")
    rec, off = d.backend.review(case, d), review_case(case, deps)
    assert (rec.decision, rec.reason_codes) == (off.decision, off.reason_codes) == ("approve", ["PATHOLOGY_CONFIRMED"])
    assert [(c.id, c.status, c.detail) for c in rec.checks] == [(c.id, c.status, c.detail) for c in off.checks]
    assert "SECOND_READER_DISAGREES" not in rec.flags and len(reader_requests(srv)) == 3
    assert rec.rationale == off.rationale  # the scripted rationale names no clause: the offline one stays


def test_a_model_cannot_approve_a_need_info_case(deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path) -> None:
    ct = "示例医院 CT检查报告\n报告日期：2025-05-01\n姓名：张三\n印象：右肺上叶占位，考虑肺癌可能。\n"
    approving = json.dumps(
        {"rationale": "审核意见：建议予以认定，依据第十一条。", "cited_clause_ids": ["REF-MT-2025#第十一条"]},
        ensure_ascii=False,
    )
    srv.responder = respond(
        rationale=approving,
        extract=extract_answer(
            primary_diagnosis={"value": "右肺上叶肺癌", "quote": "右肺上叶占位", "document": "records/CT.txt"},
            diagnosis_date={"value": "2025-05-01", "quote": "报告日期：2025-05-01", "document": "records/CT.txt"},
        ),
    )
    d = backend_deps(deps, srv, tmp_path)
    rec = d.backend.review(load_case(write_case(cases_dir, base_case("A-1"), {"CT.txt": ct})), d)
    assert rec.decision == "need_info" and "DIAGNOSIS_UNCONFIRMED" in rec.reason_codes
    assert reader_requests(srv) == []  # only an approve's findings are put to the second reader
    assert "建议予以认定" not in rec.rationale
    assert rec.form is not None and rec.form.fields["primary_diagnosis"].value != "右肺上叶肺癌"


def test_a_quote_that_denies_the_treatment_is_dropped(
    deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path
) -> None:
    # the measured failure: `targeted` grounded in a sentence that denies treatment
    clinic = CLINIC_PLAN.replace("1. 奥希替尼80mg qd 口服，靶向治疗。", "1. 患者拒绝靶向治疗，定期复查。")
    srv.responder = respond(
        extract=extract_answer(
            treatment_modalities={"value": ["targeted"], "quote": "拒绝靶向治疗", "document": "records/门诊.txt"}
        )
    )
    d = backend_deps(deps, srv, tmp_path)
    rec = d.backend.review(approve_case(cases_dir, "Q-1", clinic), d)
    assert rec.form is not None and rec.form.fields["treatment_modalities"].value == []
    assert "UNGROUNDED_LLM_VALUE" in rec.flags
    assert rec.decision == "need_info" and rec.reason_codes == ["TREATMENT_PLAN_MISSING"]


def test_a_disagreement_quoting_words_it_was_not_shown_is_dropped(
    deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path
) -> None:
    srv.responder = respond(lambda user: reader("negated", "否认肿瘤病史"))
    d = backend_deps(deps, srv, tmp_path)
    rec = d.backend.review(approve_case(cases_dir, "Q-2"), d)
    assert rec.decision == "approve" and "UNGROUNDED_LLM_VALUE" in rec.flags
    assert {c["answer"] for c in rec.provenance.tool_calls} == {"ungrounded"}


@pytest.mark.parametrize(
    ("value", "quote", "ok"),
    [
        ("右肺上叶腺癌", "（右肺上叶）浸润性腺癌", True),
        ("右肺上叶腺癌", "排除右肺上叶腺癌", False),
        ("右肺上叶腺癌", "考虑右肺腺癌可能", False),
        ("2型糖尿病", "否认糖尿病史", False),
        ("2型糖尿病", "出院诊断：2型糖尿病", True),
        ("2型糖尿病", "母亲患2型糖尿病", False),
        ("高血压", "患者要求申请高血压门特", False),
        ("右肺上叶腺癌", "右肺上叶占位", False),
        ("adenocarcinoma of right upper lobe", "Final diagnosis: adenocarcinoma of right upper lobe", True),
    ],
)
def test_a_diagnosis_quote_supports_its_value_only_when_asserted(value: str, quote: str, ok: bool) -> None:
    assert diagnosis_supported(value, quote) is ok


@pytest.mark.parametrize(
    ("quote", "kept"),
    [
        ("奥希替尼80mg qd", ["targeted"]),
        ("患者拒绝靶向治疗", []),
        ("如出现复发再考虑靶向治疗", []),
        ("未行化疗", []),
        ("行TP方案化疗", ["chemotherapy"]),
    ],
)
def test_modalities_keep_what_the_quote_gives(quote: str, kept: list[str]) -> None:
    assert supported_modalities(["targeted", "chemotherapy"], quote) == kept


def test_a_rationale_naming_no_clause_keeps_the_offline_one(
    deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path
) -> None:
    case = approve_case(cases_dir, "R-1")
    off = review_case(case, deps)
    given = off.citations[0].clause_id
    srv.responder = respond(
        rationale=json.dumps({"rationale": "审核意见：同意认定。", "cited_clause_ids": [given]}, ensure_ascii=False)
    )
    d = backend_deps(deps, srv, tmp_path)
    assert d.backend.review(case, d).rationale == off.rationale  # cites an id but names no 第X条
    article = given.split("#")[-1]
    srv.responder = respond(
        rationale=json.dumps(
            {"rationale": f"审核意见：建议予以认定，依据{article}。", "cited_clause_ids": [given]}, ensure_ascii=False
        )
    )
    other = approve_case(cases_dir, "R-2")
    assert d.backend.review(other, d).rationale == f"审核意见：建议予以认定，依据{article}。"


def test_the_endpoint_failing_falls_back_to_offline(
    deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path
) -> None:
    srv.responder = lambda req: Reply(status=503) if task(req) == "second_reader" else Reply(RATIONALE)
    d = backend_deps(deps, srv, tmp_path, llm_max_retries=1)
    case = approve_case(cases_dir, "F-1")
    rec, off = d.backend.review(case, d), review_case(case, deps)
    assert (rec.decision, rec.reason_codes, rec.rationale) == (off.decision, off.reason_codes, off.rationale)
    assert "LLM_FALLBACK" in rec.flags
    assert rec.provenance.flag_reasons == {"LLM_FALLBACK": "HTTP 503 after 2 attempts"}


def test_each_question_carries_its_token_cap(deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path) -> None:
    srv.responder = respond()
    d = backend_deps(deps, srv, tmp_path)
    d.backend.review(approve_case(cases_dir, "T-1"), d)
    cap = [r.get("max_completion_tokens", r.get("max_tokens")) for r in reader_requests(srv)]
    assert cap == [64, 64, 64]
    others = [r.get("max_completion_tokens", r.get("max_tokens")) for r in srv.requests if task(r) != "second_reader"]
    assert others and set(others) == {1024}  # the rationale keeps the configured bound


def test_questions_run_concurrently(deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path) -> None:
    slow = respond()
    srv.responder = lambda req: Reply(reader(), delay_s=0.6) if task(req) == "second_reader" else slow(req)
    d = backend_deps(deps, srv, tmp_path, llm_concurrency=4)
    t0 = time.monotonic()
    rec = d.backend.review(approve_case(cases_dir, "C-1"), d)
    assert len(reader_requests(srv)) == 3 and time.monotonic() - t0 < 1.5  # not 3 × 0.6 s in a row
    assert rec.provenance.timings["llm_ms"] >= 600


def test_every_request_is_masked(deps: Any, srv: FakeOpenAI, cases_dir: Path, tmp_path: Path) -> None:
    clinic = CLINIC_PLAN.replace("处理：\n", f"处理：\n　患者张三，联系电话：{PHONE}，复诊。\n")
    srv.responder = respond()
    d = backend_deps(deps, srv, tmp_path)
    d.backend.review(approve_case(cases_dir, "M-1", clinic), d)
    assert len(reader_requests(srv)) == 3
    for body in srv.raw_requests:
        flat = json.dumps(json.loads(body), ensure_ascii=False)
        assert "张三" not in flat and "440106196505123456" not in flat and PHONE not in flat
    asked = " ".join(r["messages"][-1]["content"] for r in reader_requests(srv))
    assert "患者〔姓名1〕，联系电话：〔电话1〕" in asked  # the neighbouring sentence, masked


def test_the_eval_reports_model_calls_and_seconds_per_case(deps: Any, srv: FakeOpenAI, tmp_path: Path) -> None:
    from eval.harness import run_eval

    data = tmp_path / "set"
    for name in ("DEV-N01", "DEV-N04"):  # an approve and a need_info
        shutil.copytree(DEV / name, data / name)
    srv.responder = respond()
    d = backend_deps(deps, srv, tmp_path)
    m = run_eval(data, d).metrics
    assert m["llm_calls_per_case"] == round(len(srv.requests) / 2, 2) and m["llm_calls_per_case"] > 0
    assert m["llm_seconds_per_case"] > 0
    off = run_eval(data, deps).metrics
    assert (off["llm_calls_per_case"], off["llm_seconds_per_case"]) == (0.0, 0.0)


def test_the_bench_measures_any_endpoint(home: Path, srv: FakeOpenAI) -> None:
    import os
    import subprocess
    import sys

    from agent.core.config import PROJECT_ROOT

    def disagree(user: str) -> str:
        finding = user.split("\n", 1)[0].split("：", 1)[1]  # 待核实的认定依据：<finding>
        return reader("negated", finding[:30])

    srv.responder = respond(disagree)  # a model that denies every finding
    cmd = [sys.executable, "-m", "eval.bench_second_reader", "--base-url", srv.base_url, "--model", "fake-model"]
    r = subprocess.run(
        [*cmd, "--sets", "dev", "--cases", "6"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CERTREVIEW_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    dev = json.loads(r.stdout[r.stdout.index("\n{") :])["sets"]["dev"]
    assert dev["cases"] == 6 and dev["false_approves"] == {"offline": 0, "second_reader": 0}
    # every offline approve withdrawn: accuracy falls by exactly the approves lost, none is added
    lost = dev["withdrawals"]["wrong"]
    assert lost > 0 and dev["withdrawals"]["right"] == 0
    acc = dev["decision_accuracy"]
    assert acc["offline"] == 1.0 and acc["second_reader"] == round(1 - lost / 6, 3)
    assert dev["llm_calls_per_case"] > 0 and dev["fallbacks"] == 0
