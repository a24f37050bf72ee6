"""Reading case folders: encodings, JSON exports, PDFs, and the exact error each bad input gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.core.errors import DocumentError, InvalidInputError
from agent.records.case import load_case, read_record
from tests.conftest import PATHOLOGY, base_case, make_image_pdf, make_pdf, write_case


def _read(tmp_path: Path, name: str, content: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(content)
    return read_record(p, f"records/{name}").text


def test_gb18030_utf8_bom_and_utf16_are_decoded(tmp_path: Path) -> None:
    text = "病理诊断：（右肺上叶）浸润性腺癌"
    assert _read(tmp_path, "a.txt", text.encode("gb18030")) == text
    assert _read(tmp_path, "b.txt", text.encode("gbk")) == text
    assert _read(tmp_path, "c.md", b"\xef\xbb\xbf" + text.encode("utf-8")) == text  # BOM dropped: offsets start at 0
    assert _read(tmp_path, "d.txt", text.encode("utf-16")) == text


def test_json_export_text_is_the_document(tmp_path: Path) -> None:
    doc = {"title": "门诊病历", "date": "2025-03-14", "text": "诊断：慢性肾脏病5期"}
    p = tmp_path / "emr.json"
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    d = read_record(p, "records/emr.json")
    assert (d.text, d.title, d.declared_date, d.format) == ("诊断：慢性肾脏病5期", "门诊病历", "2025-03-14", "json")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"   \n\n", "empty file"),
        ("bad.json", b'{"title": "x", "text": ', "malformed JSON export (line 1, column 24)"),
        ("notext.json", b'{"title": "x"}', "JSON export without a 'text' string"),
        ("scan.jpg", b"\xff\xd8\xff\xe0", "unsupported file type '.jpg'"),
        ("blob.txt", b"\x00\x01\x02binary\x00", "binary file, not text"),
        ("broken.pdf", b"%PDF-1.7\n garbage", "corrupt PDF (cannot be opened)"),
    ],
)
def test_each_bad_record_gives_its_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(DocumentError) as exc:
        read_record(p, f"records/{name}")
    assert exc.value.reason == reason
    assert exc.value.hint  # always something the user can do
    assert str(exc.value) == f"records/{name}: {reason}"


def test_encrypted_and_scanned_pdfs(tmp_path: Path) -> None:
    locked = make_pdf(tmp_path / "locked.pdf", ["病理诊断：腺癌"], encrypt="pw")
    scanned = make_image_pdf(tmp_path / "scan.pdf")
    with pytest.raises(DocumentError, match=r"encrypted PDF \(password protected\)"):
        read_record(locked, "records/locked.pdf")
    with pytest.raises(DocumentError, match=r"no text layer \(scanned image PDF\)"):
        read_record(scanned, "records/scan.pdf")


def test_text_pdf_drops_repeated_headers_and_page_numbers(tmp_path: Path) -> None:
    pdf = make_pdf(
        tmp_path / "r.pdf",
        [
            "示例医院 出院记录",
            "出院诊断：右肺腺癌",
            "第1页 共2页",
            "\f",
            "示例医院 出院记录",
            "出院医嘱：奥希替尼",
            "第2页 共2页",
        ],
    )
    text = read_record(pdf, "records/r.pdf").text
    assert text.count("示例医院 出院记录") == 1
    assert "第1页" not in text and "第2页" not in text
    assert "出院诊断：右肺腺癌" in text and "出院医嘱：奥希替尼" in text


def test_case_goes_on_without_unreadable_records(cases_dir: Path) -> None:
    folder = write_case(cases_dir, base_case(), {"病理.txt": PATHOLOGY, "空.txt": "", "x.docm": b"zip"})
    case = load_case(folder)
    assert [d.name for d in case.documents] == ["records/病理.txt"]
    assert {s.document: s.reason for s in case.skipped} == {
        "records/x.docm": "unsupported file type '.docm'",
        "records/空.txt": "empty file",
    }


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        ({"applicant__birth_date": "1965-13-40"}, "case.json field 'applicant.birth_date'", "applicant.birth_date"),
        ({"hospital__region_code": "4401"}, "case.json field 'hospital.region_code'", "hospital.region_code"),
        ({"submitted_at": "yesterday"}, "case.json field 'submitted_at'", "submitted_at"),
    ],
)
def test_invalid_case_json_names_the_field(cases_dir: Path, change: dict[str, str], message: str, field: str) -> None:
    folder = write_case(cases_dir, base_case(**change), {"a.txt": PATHOLOGY})
    with pytest.raises(InvalidInputError) as exc:
        load_case(folder)
    assert message in exc.value.message and exc.value.field == field


def test_missing_and_malformed_case_json(cases_dir: Path) -> None:
    (cases_dir / "A").mkdir()
    with pytest.raises(InvalidInputError, match=r"A: case\.json is missing"):
        load_case(cases_dir / "A")
    (cases_dir / "B").mkdir()
    (cases_dir / "B" / "case.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"B: case.json is not valid JSON \(line 1, column 3\)"):
        load_case(cases_dir / "B")
