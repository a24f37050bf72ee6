"""Shared fixtures: an isolated data home, a knowledge base built once per session from the
shipped policies, and helpers that write case folders."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.config import PROJECT_ROOT, Settings

SHIPPED_POLICIES = PROJECT_ROOT / "knowledge_base" / "policies"
DEV = PROJECT_ROOT / "eval" / "datasets" / "dev"


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages in English (CERTREVIEW_LANG=en): most tests assert exact messages, written in
    English. tests/test_i18n.py checks the Chinese default."""
    monkeypatch.setenv("CERTREVIEW_LANG", "en")


@pytest.fixture(scope="session")
def kb_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data home whose knowledge base is built once from the shipped policies."""
    from agent.kb.service import refresh

    home = tmp_path_factory.mktemp("home")
    refresh(Settings(home=home))
    return home


@pytest.fixture()
def home(kb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A per-test copy of the built home, also exported as CERTREVIEW_HOME for CLI runs."""
    dst = tmp_path / "home"
    shutil.copytree(kb_home, dst)
    monkeypatch.setenv("CERTREVIEW_HOME", str(dst))
    return dst


@pytest.fixture()
def settings(home: Path) -> Settings:
    return Settings(home=home)


@pytest.fixture(scope="session")
def deps(kb_home: Path) -> Any:
    """Deps over the session knowledge base (read-only use)."""
    from agent.review.deps import build_deps

    return build_deps(Settings(home=kb_home))


def base_case(case_id: str = "T-001", **over: Any) -> dict[str, Any]:
    """A valid case.json (Guangzhou applicant, designated hospital, tumour requested)."""
    case: dict[str, Any] = {
        "schema_version": 1,
        "case_id": case_id,
        "submitted_at": "2025-06-03T10:15:00+08:00",
        "applicant": {
            "name": "张三",
            "id_number": "440106196505123456",
            "sex": "男",
            "birth_date": "1965-05-12",
            "insurance": {
                "scheme": "职工医保",
                "region_code": "440100",
                "region_name": "广州市",
                "status": "正常参保",
                "cross_region_filing": None,
            },
        },
        "hospital": {"name": "示例肿瘤医院", "region_code": "440100", "designated": True},
        "requested_disease": "恶性肿瘤门诊治疗",
        "existing_certifications": [],
    }
    for key, value in over.items():
        target = case
        parts = key.split("__")
        for p in parts[:-1]:
            target = target[p]
        target[parts[-1]] = value
    return case


PATHOLOGY = """示例肿瘤医院　病理诊断报告
姓名：张三　　性别：男　　年龄：60岁　　身份证号：440106196505123456
送检日期：2025-05-10　　报告日期：2025年5月20日
临床诊断：右肺上叶占位，肺癌？
病理诊断：
　（右肺上叶）浸润性腺癌，切缘未见癌。
"""

CLINIC_PLAN = """示例肿瘤医院　门诊病历
就诊日期：2025-05-28
姓名：张三　　性别：男　　年龄：60岁　　身份证号：440106196505123456
诊断：
　1. 右肺上叶腺癌　C34.100x001
处理：
　1. 奥希替尼80mg qd 口服，靶向治疗。
"""


def write_case(
    root: Path,
    case: dict[str, Any],
    records: dict[str, str | bytes],
    *,
    gold: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
) -> Path:
    """Write a case folder: case.json, records/<name> (str as UTF-8, bytes as given), gold/form."""
    folder = root / case["case_id"]
    (folder / "records").mkdir(parents=True, exist_ok=True)
    (folder / "case.json").write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    for name, content in records.items():
        p = folder / "records" / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    if gold is not None:
        (folder / "gold.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    if form is not None:
        (folder / "form.json").write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    return folder


def make_pdf(path: Path, lines: list[str], *, encrypt: str | None = None) -> Path:
    """A real PDF with a CJK text layer (reportlab's built-in STSong-Light)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    y = 800
    c.setFont("STSong-Light", 11)
    for line in lines:
        if line == "\f":
            c.showPage()
            c.setFont("STSong-Light", 11)
            y = 800
            continue
        c.drawString(50, y, line)
        y -= 18
    c.save()
    return path


def make_image_pdf(path: Path) -> Path:
    """A 'scanned' PDF: drawn shapes, no text layer."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for i in range(20):
        c.rect(50 + i * 5, 500, 4, 200, fill=1)
    c.save()
    return path


@pytest.fixture()
def cases_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "cases"
    d.mkdir()
    yield d
