"""Files a batch or a draft writes: JSON Lines, CSV, and HTML (jinja2) for people to read."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from agent import __version__
from agent.core.i18n import N_
from agent.core.models import FORM_FIELDS, ApplicationForm, Recommendation
from agent.core.resources import package_file
from agent.extract.lexicon import MODALITY_CN
from agent.report.outputs import publish_outputs
from agent.review.triage import QUEUE_GROUPS, queue_group, queue_key, skipped_records

FORM_ROWS = (
    ("申请人姓名", "applicant_name"),
    ("身份证号", "applicant_id_number"),
    ("性别", "applicant_sex"),
    ("出生日期", "applicant_birth_date"),
    ("参保险种", "insurance_scheme"),
    ("参保地", "insurance_region"),
    ("参保状态", "insurance_status"),
    ("异地就医备案", "cross_region_filing"),
    ("申请医院", "hospital_name"),
    ("申请日期", "application_date"),
    ("主要诊断", "primary_diagnosis"),
    ("ICD-10编码", "icd10"),
    ("诊断依据", "diagnosis_basis"),
    ("确诊日期", "diagnosis_date"),
    ("治疗方式", "treatment_modalities"),
    ("异地就医", "cross_region"),
)
# what a printed Chinese form shows for the enum values of the JSON contract
CN_LABELS = {
    "pathology": "病理诊断",
    "cytology": "细胞学诊断",
    "clinical": "临床诊断",
    "none": "无",
    **MODALITY_CN,
}
# new columns go at the end, so spreadsheets and scripts reading by position keep working
CSV_COLUMNS = (
    "case_id",
    "decision",
    "disease",
    "reason_codes",
    "flags",
    *FORM_FIELDS,
    "submitted_at",
    "error",
    "skipped_records",
    "error_field",
    "queue_group",
    "signed_off",
)


def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(package_file("agent.report", "templates"))),
        autoescape=select_autoescape(["html", "j2"]),
    )


def jsonl(recs: list[Recommendation], summary: dict[str, Any]) -> str:
    """One Recommendation per line, then ``{"summary": …}``."""
    lines = [r.model_dump_json() for r in recs]
    lines.append(json.dumps({"summary": summary}, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _signed(r: Recommendation) -> str:
    """``approve by R-01 (override)``: the reviewer's decision, once signed off."""
    so = r.sign_off
    if so is None:
        return ""
    return f"{so.decision} by {so.reviewer}" + (" (override)" if so.overrides else "")


def csv_text(recs: list[Recommendation]) -> str:
    """A spreadsheet row per case."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in recs:
        f = r.form.fields if r.form else {}

        def v(name: str, f: Any = f) -> Any:
            return f[name].value if name in f else ""

        w.writerow(
            [
                r.case_id,
                r.decision or "",
                r.disease or "",
                ";".join(r.reason_codes),
                ";".join(r.flags),
                v("primary_diagnosis") or "",
                v("icd10") or "",
                v("diagnosis_basis") or "",
                v("diagnosis_date") or "",
                ";".join(v("treatment_modalities") or []),
                v("cross_region") if f else "",
                r.submitted_at or "",
                f"{r.error.code}: {r.error.message}" if r.error else "",
                "; ".join(f"{s.document}: {s.reason}" for s in skipped_records(r)),
                (r.error.field or "") if r.error else "",
                queue_group(r),
                _signed(r),
            ]
        )
    return buf.getvalue()


def triage_html(recs: list[Recommendation], summary: dict[str, Any], kb_version: str | None) -> str:
    """The reviewer's report: the queue grouped by next action, each case with checks, quotes, clauses."""
    ordered = sorted(recs, key=queue_key)
    groups = []
    for key, title in QUEUE_GROUPS:
        items = [r for r in ordered if queue_group(r) == key]
        groups.append((key, title, items))
    hist = list(summary.get("histogram", {}).items())
    return str(
        _env()
        .get_template("triage.html.j2")
        .render(
            recs=ordered,
            skipped=skipped_records,
            groups=groups,
            summary=summary,
            histogram=hist,
            hist_max=max([n for _, n in hist] or [1]),
            version=__version__,
            kb_version=kb_version or "—",
            generated=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
        )
    )


def form_html(form: ApplicationForm) -> str:
    """A printable 申请表 with the evidence as numbered footnotes."""
    notes: list[dict[str, Any]] = []
    index: dict[tuple[str, int], int] = {}
    for _label, key in FORM_ROWS:
        for i, e in enumerate(form.fields[key].evidence):
            notes.append(e.model_dump())
            index[(key, i)] = len(notes)

    def display(v: Any) -> str:
        if v is None or v == []:
            return "—"
        if isinstance(v, bool):
            return "是" if v else "否"
        if isinstance(v, list):
            return "、".join(CN_LABELS.get(str(x), str(x)) for x in v)
        return CN_LABELS.get(str(v), str(v))

    return str(
        _env()
        .get_template("form.html.j2")
        .render(
            form=form,
            rows=FORM_ROWS,
            notes=notes,
            display=display,
            note_index=lambda key, i: index[(key, i)],
            version=__version__,
        )
    )


def write_batch(
    out: Path,
    recs: list[Recommendation],
    summary: dict[str, Any],
    kb_version: str | None,
    extra: dict[str, str] | None = None,
) -> dict[str, Path]:
    """Write results.jsonl, results.csv and report.html (and ``extra`` {name: text}, e.g. a shard's
    shard.json) under ``out``, through a temporary folder moved into place (the caller holds
    ``out`` with ``outputs.hold_dir`` for the run).
    OutputPathError when the disk refuses them (full, read-only) after the up-front check passed."""
    files = {
        "results.jsonl": (jsonl(recs, summary), "utf-8"),
        "results.csv": (csv_text(recs), "utf-8-sig"),  # BOM: Excel opens UTF-8 CSV correctly
        "report.html": (triage_html(recs, summary, kb_version), "utf-8"),
        **{name: (text, "utf-8") for name, text in (extra or {}).items()},
    }
    written = publish_outputs(out, files, N_("--out {path}: could not write the results ({error})"))
    return {"jsonl": written["results.jsonl"], "csv": written["results.csv"], "html": written["report.html"]}
