"""Knowledge base: splitting by article, PDF text, refresh diff, atomic swap, the lock, bad
files, kb check, search JSON shape, reopening in a new process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agent.core.catalog import load_catalog
from agent.core.config import Settings
from agent.core.errors import KBBusyError
from agent.kb.check import check_kb
from agent.kb.loader import load_policy, split_clauses
from agent.kb.service import open_kb, refresh
from agent.kb.store import KBStore
from tests.conftest import SHIPPED_POLICIES, make_image_pdf, make_pdf

DOC_A = """---
doc_id: DOC-A
title: 甲办法
topics:
  第一条: [eligibility]
  第二条: [cross_region]
---
# 甲办法
## 第一章　总则
**第一条**　参保人参保状态正常的，可以申请认定。
**第二条**　跨省异地就医的，应当办理异地就医备案。
## 第二章　附则
**第三条**　本办法自发布之日起施行。
"""


def _policies(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        p = root / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return root


def test_split_by_article_keeps_ids_chapters_and_topics(tmp_path: Path) -> None:
    p = _policies(tmp_path / "pol", {"a.md": DOC_A}) / "a.md"
    doc = load_policy(p, p.parent)
    assert [c.clause_id for c in doc.clauses] == ["DOC-A#第一条", "DOC-A#第二条", "DOC-A#第三条"]
    first, _, third = doc.clauses
    assert first.topics == ["eligibility"] and first.chapter == "第一章　总则"
    assert first.text.startswith("第一条　参保人参保状态正常")
    assert third.chapter == "第二章　附则"
    assert third.topics == []  # untagged and no topic keyword in its text


def test_docx_policy_with_sidecar_metadata(tmp_path: Path) -> None:
    import docx

    pol = _policies(
        tmp_path / "pol", {"notice.docx.meta.yaml": "doc_id: DOCX-1\ntitle: 通知\ntopics:\n  第一条: [identity]\n"}
    )
    d = docx.Document()
    d.add_paragraph("关于身份核验的通知")
    d.add_paragraph("第一条　申请人应当持本人有效身份证件办理。")
    d.save(str(pol / "notice.docx"))
    doc = load_policy(pol / "notice.docx", pol)
    assert (doc.doc_id, doc.title) == ("DOCX-1", "通知")
    assert [(c.clause_id, c.topics) for c in doc.clauses] == [("DOCX-1#第一条", ["identity"])]


def test_untagged_clauses_get_topics_from_keywords() -> None:
    clauses = split_clauses("第一条　跨省就医须办理异地就医备案。", doc_id="X", title="X", meta={})
    assert clauses[0].topics == ["cross_region"]


def test_notice_items_and_paragraph_fallback() -> None:
    items = split_clauses(
        "关于某事的通知\n一、参保状态正常方可申请。\n二、定点医疗机构负责受理。\n", doc_id="N", title="N", meta={}
    )
    assert [c.clause_id for c in items] == ["N#一、", "N#二、"]
    paras = split_clauses(
        "第一段说明参保人的申请条件。\n\n第二段说明定点医疗机构的职责。\n",
        doc_id="P",
        title="P",
        meta={"split": "paragraphs"},
    )
    assert [c.article for c in paras] == ["第1段", "第2段"]


def test_pdf_policy_is_read_with_pages_and_cjk_lines_joined(tmp_path: Path) -> None:
    long = "第一条　" + "跨省异地就医的参保人员应当在申请认定前办理异地就医备案并在申请日处于有效期内" * 2
    lines = [long[:40], long[40:80], long[80:], "\f", "第二条　定点医疗机构负责受理认定申请。"]
    pdf = make_pdf(_policies(tmp_path / "pol", {}) / "notice.pdf", lines)
    doc = load_policy(pdf, pdf.parent)
    assert [c.article for c in doc.clauses] == ["第一条", "第二条"]
    assert doc.clauses[0].page == 1 and doc.clauses[1].page == 2
    # the line pypdf broke at the page width is joined again: the sentence is searchable whole
    assert "办理异地就医备案并在申请日" in doc.clauses[0].text.replace("\n", "")
    assert "\n" not in doc.clauses[0].text


def test_refresh_reports_added_changed_removed_and_noop(tmp_path: Path) -> None:
    s = Settings(home=tmp_path / "home")
    pol = _policies(
        tmp_path / "pol", {"a.md": DOC_A, "b.md": "---\ndoc_id: DOC-B\n---\n第一条　定点医疗机构负责受理。\n"}
    )
    first = refresh(s, pol)
    assert first.docs_added == ["a.md", "b.md"] and first.clause_count == 4 and first.embedded == 4
    assert refresh(s, pol).noop
    (pol / "a.md").write_text(DOC_A.replace("本办法自发布之日起施行", "本办法自2026年1月1日起施行"), encoding="utf-8")
    (pol / "b.md").unlink()
    (pol / "c.md").write_text("---\ndoc_id: DOC-C\n---\n第一条　身份核验不符的不予受理。\n", encoding="utf-8")
    rep = refresh(s, pol)
    assert rep.docs_added == ["c.md"] and rep.docs_removed == ["b.md"] and rep.docs_changed == ["a.md"]
    assert rep.clauses_changed == ["DOC-A#第三条"]
    assert rep.clauses_added == ["DOC-C#第一条"] and rep.clauses_removed == ["DOC-B#第一条"]
    assert rep.embedded == 2  # only the changed and the new clause were embedded again
    assert rep.version != first.version


def test_crash_before_swap_leaves_previous_index_serving(tmp_path: Path) -> None:
    s = Settings(home=tmp_path / "home")
    pol = _policies(tmp_path / "pol", {"a.md": DOC_A})
    refresh(s, pol)
    store = KBStore(s.kb_home)
    live = store.current_name()
    (pol / "a.md").write_text(DOC_A.replace("可以申请认定", "可以申请门特认定"), encoding="utf-8")

    def crash() -> None:
        raise KeyboardInterrupt  # Ctrl-C in the middle of a refresh

    with pytest.raises(KeyboardInterrupt):
        store.refresh(pol, "certreview-use-multilingual-v3", lambda: _embedder(s), before_swap=crash)
    assert store.current_name() == live
    kb = open_kb(s)
    assert "可以申请认定" in kb.clause("DOC-A#第一条").text  # type: ignore[union-attr]
    assert kb.search("异地就医备案", k=1)[0].clause_id == "DOC-A#第二条"
    # the next refresh cleans the abandoned build and succeeds
    assert not refresh(s, pol).noop
    assert len(list((s.kb_home / "builds").iterdir())) <= 2


def _embedder(s: Settings) -> object:
    from agent.kb.service import embedder_factory

    return embedder_factory(s)()


def test_second_writer_gets_a_clear_busy_error(tmp_path: Path) -> None:
    s = Settings(home=tmp_path / "home")
    store = KBStore(s.kb_home)
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.lock():
            entered.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    entered.wait(10)
    try:
        with pytest.raises(KBBusyError, match=f"being refreshed by pid {os.getpid()}"), KBStore(s.kb_home).lock():
            pass
    finally:
        release.set()
        t.join()


def test_a_second_process_gets_exit_75_naming_the_holder_pid(tmp_path: Path) -> None:
    home = tmp_path / "home"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from agent.kb.store import KBStore\n"
            f"with KBStore(Path({str(home / 'kb')!r})).lock():\n"
            "    print('held', flush=True); sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        env = {**os.environ, "CERTREVIEW_HOME": str(home), "COLUMNS": "200"}
        second = subprocess.run(
            [sys.executable, "-m", "cli", "kb", "refresh"], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        holder.communicate("\n", timeout=30)
    assert second.returncode == 75
    assert f"error: the knowledge base is being refreshed by pid {holder.pid}" in second.stderr
    assert "hint: Wait for that refresh to finish, then run the command again." in second.stderr
    assert holder.returncode == 0 and not (home / "kb" / ".lock.pid").exists()  # the holder cleaned up


def test_bad_files_are_skipped_with_reasons_and_the_rest_indexed(tmp_path: Path) -> None:
    pol = _policies(
        tmp_path / "pol",
        {
            "good.md": DOC_A,
            "empty.md": "",
            "corrupt.pdf": b"%PDF-1.4 this is not a pdf",
            "notes.txt": "这是一段没有条款编号的说明文字。",
            "table.xlsx": b"PK\x03\x04",
        },
    )
    make_pdf(pol / "locked.pdf", ["第一条　加密文件。"], encrypt="secret")
    make_image_pdf(pol / "scan.pdf")
    rep = refresh(Settings(home=tmp_path / "home"), pol)
    reasons = {s.path: s.reason for s in rep.skipped}
    assert reasons == {
        "corrupt.pdf": "corrupt PDF (cannot be opened)",
        "empty.md": "empty file",
        "locked.pdf": "encrypted PDF (password protected)",
        "notes.txt": "no articles found (第X条 or 一、 items)",
        "scan.pdf": "no text layer (scanned image PDF)",
        "table.xlsx": "unsupported file type '.xlsx'",
    }
    assert rep.partial and rep.clause_count == 3


def test_cli_refresh_exit_code_says_partial(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import cli

    pol = _policies(tmp_path / "pol", {"good.md": DOC_A, "empty.md": ""})
    env = {"CERTREVIEW_HOME": str(tmp_path / "home")}
    r = CliRunner().invoke(cli.app, ["kb", "refresh", "--path", str(pol), "--json"], env=env)
    assert r.exit_code == 5
    data = json.loads(r.stdout)
    assert data["partial"] is True and data["skipped"][0]["path"] == "empty.md"


def test_kb_check_passes_on_shipped_policy(deps: object) -> None:
    assert check_kb(deps.kb.clauses, deps.catalog) == []  # type: ignore[attr-defined]


def test_kb_check_names_each_problem(deps: object, tmp_path: Path) -> None:
    import yaml

    raw = yaml.safe_load((SHIPPED_POLICIES.parent / "catalog.yaml").read_text(encoding="utf-8"))
    raw["rules"]["identity"]["clause_ids"] = ["REF-MT-2025#第九十九条"]
    raw["parameters"]["validity_months"]["clause_id"] = "REF-MT-2025#第九十八条"
    raw["diseases"][2]["evidence"]["drugs"].append("阿司匹林")
    p = tmp_path / "catalog.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    clauses = [c for c in deps.kb.clauses if "identity" not in c.topics]  # type: ignore[attr-defined]
    problems = check_kb(clauses, load_catalog(p))
    assert "rules.identity: clause REF-MT-2025#第九十九条 is not in the knowledge base" in problems
    assert "parameters.validity_months: clause REF-MT-2025#第九十八条 is not in the knowledge base" in problems
    assert "topic 'identity' has no clause tagged with it" in problems
    assert (
        "diseases[器官移植术后抗排异治疗].evidence.drugs: '阿司匹林' is not an anti-rejection drug of the lexicon"
        in problems
    )


def test_kb_check_names_each_key_the_typed_load_rejects(deps: object, tmp_path: Path) -> None:
    import yaml

    from agent.kb.check import check_catalog

    raw = yaml.safe_load((SHIPPED_POLICIES.parent / "catalog.yaml").read_text(encoding="utf-8"))
    raw["diseases"][1]["evidence"] = {"clause_id": raw["diseases"][1]["evidence"]["clause_id"]}
    p = tmp_path / "catalog.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert check_catalog(deps.kb.clauses, p) == [  # type: ignore[attr-defined]
        f"{p}: diseases[尿毒症透析].evidence: missing key 'egfr_max'",
        f"{p}: diseases[尿毒症透析].evidence: missing key 'scr_min_umol_l'",
        f"{p}: diseases[尿毒症透析].evidence: missing key 'min_reports'",
    ]


def test_search_json_shape_and_reopen_in_new_process(home: Path) -> None:
    env = {**os.environ, "CERTREVIEW_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-m", "cli", "kb", "search", "跨省就医要不要备案", "--json", "-k", "3"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    hits = json.loads(out.stdout)
    assert len(hits) == 3
    assert set(hits[0]) >= {"clause_id", "doc_id", "title", "article", "topics", "score", "text"}
    assert "cross_region" in hits[0]["topics"]
    assert hits[0]["clause_id"] == f"{hits[0]['doc_id']}#{hits[0]['article']}"


def test_topic_filter_and_modes(deps: object) -> None:
    kb = deps.kb  # type: ignore[attr-defined]
    hits = kb.search("透析病人需要什么材料", k=5, topic="diagnosis_evidence")
    assert hits and all("diagnosis_evidence" in h.topics for h in hits)
    for mode in ("bm25", "dense"):
        assert kb.search("门特有效期多久", k=3, mode=mode)
