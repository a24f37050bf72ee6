"""Case folder -> Case: case.json validated (the bad field named), every record read into text
(txt/md/json/pdf/docx; UTF-8, GB18030, BOM), unreadable records skipped with a reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.core.errors import DocumentError, InvalidInputError
from agent.core.i18n import N_, _, validation_message
from agent.core.models import Case, CaseInfo, Document, SkippedDocument
from agent.records.textio import decode_bytes

MAX_RECORD_BYTES = 20 * 1024 * 1024
RECORD_TYPES = (".txt", ".md", ".json", ".pdf", ".docx")
CASE_HINT = N_("Fix that field; docs/CASES.md lists every case.json field and its allowed values.")


def load_case_info(folder: Path) -> CaseInfo:
    """Read and validate ``case.json``; InvalidInputError names the offending field."""
    path = folder / "case.json"
    if not folder.is_dir():
        raise InvalidInputError(
            _("not a case folder: {folder}", folder=folder), _("Pass a folder holding case.json and records/.")
        )
    if not path.exists():
        raise InvalidInputError(
            _("{case}: case.json is missing", case=folder.name),
            _("Every case folder needs a case.json (see docs/CASES.md); remove folders that are not cases."),
            field="case.json",
        )
    try:
        raw, _encoding = decode_bytes(path.read_bytes(), "case.json")
        data = json.loads(raw)
    except DocumentError as exc:
        raise InvalidInputError(
            _("{case}: case.json: {reason}", case=folder.name, reason=exc.reason), exc.hint, field="case.json"
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            _(
                "{case}: case.json is not valid JSON (line {line}, column {column})",
                case=folder.name,
                line=exc.lineno,
                column=exc.colno,
            ),
            _("Fix the JSON syntax."),
            field="case.json",
        ) from None
    if not isinstance(data, dict):
        raise InvalidInputError(
            _("{case}: case.json must hold a JSON object", case=folder.name), _(CASE_HINT), field="case.json"
        )
    try:
        info = CaseInfo.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = validation_message(err)  # without pydantic's "Value error," prefix, which says nothing to a user
        raise InvalidInputError(_field_message(folder, where, msg), _(CASE_HINT), field=where) from None
    problems = info.date_problems()
    if problems:
        where, msg = problems[0]
        raise InvalidInputError(_field_message(folder, where, msg), _(CASE_HINT), field=where)
    return info


def _field_message(folder: Path, where: str, msg: str) -> str:
    return _("{case}: case.json field '{field}': {reason}", case=folder.name, field=where, reason=msg)


def read_record(path: Path, name: str) -> Document:
    """One record file as a Document; raises DocumentError with a reason and a hint."""
    suffix = path.suffix.lower()
    if suffix not in RECORD_TYPES:
        raise DocumentError(
            name,
            _("unsupported file type '{type}'", type=suffix or path.name),
            _("Convert it to PDF (with text), .txt, .md or a JSON export."),
        )
    size = path.stat().st_size
    if size == 0:
        raise DocumentError(name, _("empty file"), _("Export the document again; the file has no content."))
    if size > MAX_RECORD_BYTES:
        raise DocumentError(
            name,
            _("file too large ({mb} MB)", mb=size // (1024 * 1024)),
            _("Split the export or keep the relevant pages."),
        )
    if suffix == ".pdf":
        from agent.records.pdf import read_pdf

        return Document(name=name, text=read_pdf(path, name).text, format="pdf")
    if suffix == ".docx":
        from agent.records.docx import read_docx

        return Document(name=name, text=read_docx(path, name), format="docx")
    text, enc = decode_bytes(path.read_bytes(), name)
    if suffix == ".json":
        return _json_export(text, name, enc)
    return Document(name=name, text=text, format=suffix.lstrip("."), encoding=enc)


def _json_export(raw: str, name: str, enc: str) -> Document:
    try:
        obj: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            name,
            _("malformed JSON export (line {line}, column {column})", line=exc.lineno, column=exc.colno),
            _('Re-export it as {"title": ..., "date": ..., "text": ...}.'),
        ) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise DocumentError(
            name,
            _("JSON export without a 'text' string"),
            _('An EMR export must look like {"title": ..., "date": ..., "text": ...}.'),
        )
    if not obj["text"].strip():
        raise DocumentError(name, _("JSON export with empty text"), _("Re-export the document with its content."))
    return Document(
        name=name,
        text=obj["text"],
        format="json",
        encoding=enc,
        title=str(obj.get("title") or "") or None,
        declared_date=str(obj.get("date") or "") or None,
    )


def load_case(folder: Path) -> Case:
    """Read a case folder. Invalid case.json raises; unreadable records are listed as skipped."""
    info = load_case_info(folder)
    docs: list[Document] = []
    skipped: list[SkippedDocument] = []
    rec_dir = folder / "records"
    if rec_dir.is_dir():
        for path in sorted(p for p in rec_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
            name = path.relative_to(folder).as_posix()
            try:
                docs.append(read_record(path, name))
            except DocumentError as exc:
                skipped.append(SkippedDocument(document=name, reason=exc.reason, hint=exc.hint))
    form_json = None
    form_path = folder / "form.json"
    if form_path.exists():
        try:
            loaded = json.loads(decode_bytes(form_path.read_bytes(), "form.json")[0])
            form_json = loaded if isinstance(loaded, dict) else None
            if form_json is None:
                raise ValueError(_("not an object"))
        except (DocumentError, ValueError) as exc:
            skipped.append(
                SkippedDocument(
                    document="form.json",
                    reason=f"unreadable physician form ({exc})",
                    hint="Fix form.json; the form is drafted from the records meanwhile.",
                )
            )
    return Case(info=info, folder=str(folder), documents=docs, skipped=skipped, form_json=form_json)
