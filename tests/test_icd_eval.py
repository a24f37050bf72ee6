"""`certreview icd eval`: the coder scored on a labelled name list, with gates."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def _names(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "names.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_scores_category_and_code_and_lists_each_miss(tmp_path: Path) -> None:
    # 3 names: one exact, one right category with a wrong subcategory label, one wrong category
    p = _names(
        tmp_path,
        '- {name: "右肺上叶腺癌", code: "C34.1"}\n'
        '- {name: "乳腺外上象限浸润性导管癌", code: "C50.2"}\n'
        '- {name: "慢性肾脏病5期", code: "E11.2"}\n',
    )
    res = runner.invoke(app, ["icd", "eval", str(p), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["names"] == 3
    assert data["category_accuracy"] == round(2 / 3, 4)
    assert data["code_accuracy"] == round(1 / 3, 4)
    got = {(m["name"], m["got"]) for m in data["misses"]}
    assert got == {("乳腺外上象限浸润性导管癌", "C50.4"), ("慢性肾脏病5期", "N18.5")}


def test_a_gate_above_the_measure_fails_with_its_name(tmp_path: Path) -> None:
    p = _names(tmp_path, '- {name: "慢性肾脏病5期", code: "N18.4"}\n')
    res = runner.invoke(app, ["icd", "eval", str(p), "--min-category", "0.9", "--min-code", "0.8"])
    assert res.exit_code == 1
    assert "gate failed --min-code 0.8: measured 0.0" in res.output
    assert "--min-category" not in res.output.split("gate failed", 1)[1].split("\n")[0]


def test_a_malformed_list_is_a_named_error(tmp_path: Path) -> None:
    p = _names(tmp_path, "- {name: 右肺上叶腺癌}\n")
    res = runner.invoke(app, ["icd", "eval", str(p)])
    assert res.exit_code == 2
    assert "entry 1 needs a string name and code" in res.output
