"""The language of what users read: Chinese by default, English with CERTREVIEW_LANG=en, an
unknown language a named error. The same bad input gives the exact message in both languages on
several commands; --help is translated; the catalogue covers every message of the source and every
help text of the command tree, keeps each placeholder, and its compiled .mo is not stale."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest
import typer
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from typer.testing import CliRunner

import cli
from agent.cli.helptext import help_texts
from agent.core.config import PROJECT_ROOT
from agent.core.i18n import LOCALE_DIR, _, current_lang

from .conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case

PO = LOCALE_DIR / "zh_CN.po"
MO = LOCALE_DIR / "zh_CN.mo"


def run(*args: str, lang: str | None, **env: str) -> tuple[int, str, str]:
    """The CLI in-process, in ``lang`` (None: CERTREVIEW_LANG unset, the default)."""
    runner = CliRunner()
    full = {"CERTREVIEW_LANG": lang, "COLUMNS": "200", **env}
    r = runner.invoke(cli.app, list(args), env=full)
    # stderr without the blank line a finished (transient) progress bar leaves
    return r.exit_code, r.stdout, "\n".join(line for line in r.stderr.splitlines() if line.strip())


@pytest.fixture()
def chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default language: no CERTREVIEW_LANG at all."""
    monkeypatch.delenv("CERTREVIEW_LANG", raising=False)


# ---------------------------------------------------------------- the same bad input, both languages
def test_a_missing_case_folder(home: Path, tmp_path: Path, chinese: None) -> None:
    folder = tmp_path / "nope"
    code, _out, err = run("review", str(folder), lang=None)
    assert code == 2
    assert err.splitlines() == [
        f"错误：不是病例文件夹：{folder}",
        "提示：请指定一个含 case.json 和 records/ 的文件夹。",
    ]
    code, _out, err = run("draft", str(folder), lang="en")
    assert code == 2
    assert err.splitlines() == [
        f"error: not a case folder: {folder}",
        "hint: Pass a folder holding case.json and records/.",
    ]


def test_a_bad_backend_setting(home: Path, tmp_path: Path, chinese: None) -> None:
    code, _out, err = run("review", str(tmp_path), lang=None, CERTREVIEW_BACKEND="foo")
    assert code == 2
    assert err.splitlines() == [
        "错误：CERTREVIEW_BACKEND='foo' 无效：应为 'offline' 或 'openai'",
        "提示：CERTREVIEW_BACKEND 的取值为以下之一：offline, openai。"
        "提取与审核意见的后端：'offline'（确定性规则）或 'openai'。",
    ]
    code, _out, err = run("triage", str(tmp_path), lang="en", CERTREVIEW_BACKEND="foo")
    assert code == 2
    assert err.splitlines() == [
        "error: CERTREVIEW_BACKEND='foo' is not valid: Input should be 'offline' or 'openai'",
        "hint: CERTREVIEW_BACKEND takes one of: offline, openai. "
        "Extraction/rationale backend: 'offline' (deterministic) or 'openai'.",
    ]


def test_a_malformed_gold_file_in_eval(home: Path, tmp_path: Path, chinese: None) -> None:
    folder = write_case(tmp_path / "set", base_case("G-1"), {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN})
    (folder / "gold.json").write_text('{"decision": "approve",', encoding="utf-8")
    gold = folder / "gold.json"
    code, _out, err = run("eval", str(tmp_path / "set"), lang=None)
    assert code == 2
    assert err.splitlines() == [
        f"错误：{gold}：不是有效的 JSON（第 1 行，第 24 列）",
        "提示：请修改 gold.json；docs/CASES.md 说明了其中的键。",
    ]
    gold.write_text(json.dumps({"reason_codes": []}), encoding="utf-8")
    code, _out, err = run("eval", str(tmp_path / "set"), lang="en")
    assert code == 2
    assert err.splitlines() == [
        f"error: {gold}: key 'decision' is missing",
        "hint: Fix gold.json; docs/CASES.md describes its keys.",
    ]


def test_kb_search_on_an_empty_knowledge_base(tmp_path: Path, chinese: None) -> None:
    empty = tmp_path / "policies"
    empty.mkdir()
    env = {"CERTREVIEW_HOME": str(tmp_path / "home"), "CERTREVIEW_POLICIES_DIR": str(empty)}
    code, _out, err = run("kb", "search", "备案", lang=None, **env)
    assert code == 3
    assert err.splitlines()[-2:] == [
        f"错误：{empty} 中没有政策文件",
        "提示：请在该文件夹中放入 .md/.txt/.pdf/.docx 政策文件。",
    ]
    code, _out, err = run("kb", "search", "备案", lang="en", **env)
    assert code == 3
    assert err.splitlines()[-2:] == [
        f"error: no policy documents in {empty}",
        "hint: Put .md/.txt/.pdf/.docx policy files there.",
    ]


def test_an_unknown_language_is_a_named_error_in_the_default_language(home: Path, tmp_path: Path) -> None:
    code, _out, err = run("review", str(tmp_path), lang="fr")
    assert code == 2
    assert err.splitlines() == [
        "错误：CERTREVIEW_LANG='fr' 无效：应为 'zh' 或 'en'",
        "提示：CERTREVIEW_LANG 的取值为以下之一：zh, en。"
        "提示信息、错误提示和 --help 的语言：'zh'（中文，默认）或 'en'（英文）。",
    ]


def test_the_language_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CERTREVIEW_LANG")
    assert current_lang() == "zh"
    assert _("no such file: {path}", path="a.jsonl") == "文件不存在：a.jsonl"
    monkeypatch.setenv("CERTREVIEW_LANG", "en")
    assert _("no such file: {path}", path="a.jsonl") == "no such file: a.jsonl"


def test_settle_without_its_settlement_parameters(tmp_path: Path, chinese: None) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    for name in ("catalog.yaml", "items.yaml"):  # no settlement.yaml beside them
        shutil.copy(PROJECT_ROOT / "knowledge_base" / name, kb / name)
    env = {"CERTREVIEW_HOME": str(tmp_path / "home"), "CERTREVIEW_CATALOG_PATH": str(kb / "catalog.yaml")}
    missing = kb / "settlement.yaml"
    code, _out, err = run("settle", str(tmp_path / "claims.jsonl"), lang=None, **env)
    assert code == 2
    assert err.splitlines() == [
        f"错误：找不到结算参数：{missing}",
        "提示：请在病种目录旁（CERTREVIEW_CATALOG_PATH 所在文件夹）恢复 knowledge_base/settlement.yaml。",
    ]
    code, _out, err = run("settle", str(tmp_path / "claims.jsonl"), lang="en", **env)
    assert code == 2
    assert err.splitlines() == [
        f"error: settlement parameters not found: {missing}",
        "hint: Restore knowledge_base/settlement.yaml beside the catalogue (CERTREVIEW_CATALOG_PATH's folder).",
    ]


def test_supervise_without_a_registry(tmp_path: Path, chinese: None) -> None:
    home = tmp_path / "home"
    claims = tmp_path / "claims.jsonl"
    claims.write_text("", encoding="utf-8")
    code, _out, err = run("supervise", str(claims), lang=None, CERTREVIEW_HOME=str(home))
    assert code == 2
    assert err.splitlines() == [
        f"错误：{home} 中没有可供智能监管比对的登记库",
        "提示：请先导入认定记录：certreview registry import certifications.jsonl"
        "（以及 certreview registry events import events.jsonl）。",
    ]
    code, _out, err = run("supervise", str(claims), lang="en", CERTREVIEW_HOME=str(home))
    assert code == 2
    assert err.splitlines() == [
        f"error: no registry in {home} to supervise against",
        "hint: Import the certifications first: certreview registry import certifications.jsonl "
        "(and certreview registry events import events.jsonl).",
    ]


def test_serve_with_a_certificate_but_no_key(tmp_path: Path, chinese: None) -> None:
    args = ("serve", str(tmp_path), "--ssl-certfile", str(tmp_path / "cert.pem"))
    code, _out, err = run(*args, lang=None, CERTREVIEW_HOME=str(tmp_path / "home"))
    assert code == 2
    assert err.splitlines() == [
        "错误：--ssl-certfile 与 --ssl-keyfile 须同时指定",
        "提示：请同时指定两者（PEM 文件），或都不指定。",
    ]
    code, _out, err = run(*args, lang="en", CERTREVIEW_HOME=str(tmp_path / "home"))
    assert code == 2
    assert err.splitlines() == [
        "error: --ssl-certfile and --ssl-keyfile go together",
        "hint: Pass both (PEM files), or neither.",
    ]


def test_the_workbench_names_a_bad_request_in_chinese_by_default(
    home: Path, cases_dir: Path, monkeypatch: pytest.MonkeyPatch, chinese: None
) -> None:
    from starlette.testclient import TestClient

    from tests.web_support import make_workbench, web_batch

    app, _batch = make_workbench(home, web_batch(cases_dir), reviewer="R-01")
    client = TestClient(app, base_url="http://127.0.0.1")
    r = client.get("/case/NOPE")
    assert r.status_code == 404
    assert "病例 NOPE 不在当前提供的批次中" in r.text and "请从审核队列中打开。" in r.text
    assert "审核队列 Queue" in client.get("/").text  # the labels of the pages are Chinese first
    monkeypatch.setenv("CERTREVIEW_LANG", "en")  # read on each request
    r = client.get("/renewals?within=abc")
    assert r.status_code == 400
    assert "within &#39;abc&#39; is not a number of months" in r.text and "Use 1 to 120, e.g. 6." in r.text
    assert "不是月数" not in r.text


def test_a_short_reviewer_password(tmp_path: Path, chinese: None) -> None:
    args = ("users", "add", "R-01", "--password-stdin")
    runner = CliRunner()
    env = {"CERTREVIEW_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    r = runner.invoke(cli.app, list(args), input="short\n", env={**env, "CERTREVIEW_LANG": None})
    assert r.exit_code == 2
    assert "错误：R-01 的密码少于 " in r.stderr and "提示：请设置更长的密码。" in r.stderr
    r = runner.invoke(cli.app, list(args), input="short\n", env={**env, "CERTREVIEW_LANG": "en"})
    assert r.exit_code == 2
    assert "error: the password for R-01 is shorter than " in r.stderr and "hint: Choose a longer one." in r.stderr


# ---------------------------------------------------------------- --help
def test_help_in_chinese_by_default(chinese: None) -> None:
    code, out, _err = run("--help", lang=None)
    assert code == 0
    assert "根据病历起草并审核门诊特定病种" in out
    assert "显示本帮助并退出。" in out and "─ 选项 " in out and "─ 命令 " in out
    assert "政策知识库：更新、列表、查看、检索、核对。" in out
    assert "Show this message and exit." not in out
    code, out, _err = run("kb", "search", "--help", lang=None)
    assert code == 0
    assert "检索政策条款" in out and "只检索标有此主题的条款。" in out and "─ 参数 " in out
    code, out, _err = run("settle", "--help", lang=None)
    assert code == 0
    assert "门特结算：逐条计算统筹基金支付金额及依据" in out and "乙类先行自付、起付标准、支付比例、最高支付限额" in out
    assert "输出 JSON Lines：每条结算记录一条结果" in out and "Settle each claim" not in out


def test_help_in_english(chinese: None) -> None:
    code, out, _err = run("--help", lang="en")
    assert code == 0
    assert "Draft and review certifications of outpatient special and chronic diseases (门特/门慢)" in out
    assert "Show this message and exit." in out and "─ Options " in out and "─ Commands " in out
    assert "显示本帮助并退出" not in out


# ---------------------------------------------------------------- the catalogue
def _po() -> dict[str, str]:
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == [], f"fuzzy entries in {PO.name} (check and unmark them): {fuzzy}"
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_every_message_of_the_source_has_a_chinese_translation() -> None:
    method_map = [
        ("eval/datasets/**", "ignore"),
        ("agent/**.py", "python"),
        ("eval/**.py", "python"),
        ("cli.py", "python"),
    ]
    found = {msg for _f, _l, msg, _c, _ctx in extract_from_dir(str(PROJECT_ROOT), method_map) if msg}
    help_ = set(help_texts(typer.main.get_command(cli.app)))
    assert len(found) > 250 and len(help_) > 80  # the extraction found the source and the tree
    po = _po()
    missing = sorted(m for m in found | help_ if not po.get(m))
    assert missing == [], f"untranslated (run `make i18n`, then translate in {PO}): {missing}"


def test_translations_keep_every_placeholder() -> None:
    def fields(s: str) -> list[str]:
        return sorted(re.findall(r"\{[^{}]*\}", s))

    wrong = {k: v for k, v in _po().items() if fields(k) != fields(v)}
    assert wrong == {}


def test_the_compiled_catalogue_is_not_stale() -> None:
    with MO.open("rb") as fh:
        compiled = {str(m.id): str(m.string) for m in read_mo(fh) if m.id}
    assert compiled == _po(), f"{MO.name} differs from {PO.name}: run `make i18n`"


def _literal_messages(path: Path, root: Path = PROJECT_ROOT) -> list[str]:
    """Error calls (``…Error(…)``) given a plain string or an f-string instead of ``_(…)``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
        if not (name.endswith("Error") or name == "_fail"):
            continue
        args = [*node.args, *(k.value for k in node.keywords if k.arg in ("message", "hint", "reason"))]
        for a in args:
            if isinstance(a, ast.JoinedStr) or (isinstance(a, ast.Constant) and isinstance(a.value, str)):
                out.append(f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return out


def test_no_error_message_slips_past_the_catalogue() -> None:
    files = [*PROJECT_ROOT.glob("agent/**/*.py"), *PROJECT_ROOT.glob("eval/*.py"), PROJECT_ROOT / "cli.py"]
    assert [hit for f in files for hit in _literal_messages(f)] == []


def test_the_guard_sees_an_untranslated_message(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    source = 'def f(p):\n    raise KBError(f"no build {p}", "Run it.")\n    raise KBError(_("ok"))\n'
    planted.write_text(source, encoding="utf-8")
    assert _literal_messages(planted, tmp_path) == ["planted.py:2", "planted.py:2"]
