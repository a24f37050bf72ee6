"""What `certreview settle` prints and writes: the terminal table and summary, settlement.jsonl,
the fund office's CSV (Chinese headers, utf-8-sig for Excel) and one HTML page per person-year
(fund spent against each disease's limit, with a small inline SVG chart: no script, no network)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from agent import __version__
from agent.claims.lines import BadLine, ClaimLine
from agent.core.i18n import N_, _
from agent.core.settlement import Settlement
from agent.report.outputs import publish_outputs
from agent.report.terminal import err, out
from agent.report.writers import _env

CSV_HEADERS = (
    ("claim_id", "结算单号"),
    ("id_number", "身份证号"),
    ("service_date", "就诊日期"),
    ("disease", "病种"),
    ("hospital", "医疗机构"),
    ("total", "费用总额"),
    ("in_scope", "纳入支付范围金额"),
    ("category_self_pay", "乙类先行自付"),
    ("excluded", "自付项目金额"),
    ("deductible", "起付标准"),
    ("ratio", "支付比例"),
    ("fund", "基金支付"),
    ("self_pay", "个人负担"),
    ("reason_codes", "原因代码"),
    ("clause_ids", "政策依据"),
)


def jsonl(results: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    """One result per line, then ``{"summary": …}``."""
    lines = [json.dumps(r, ensure_ascii=False) for r in results]
    lines.append(json.dumps({"summary": summary}, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def csv_text(results: list[dict[str, Any]], claims: list[ClaimLine]) -> str:
    """A row per claim for the fund office."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([cn for _, cn in CSV_HEADERS])
    for r, c in zip(results, claims, strict=True):
        extra = {
            "id_number": c.id_number,
            "service_date": c.service_date.isoformat(),
            "disease": c.disease,
            "hospital": c.hospital.name or c.hospital.code,
            "reason_codes": ";".join(r["reason_codes"]),
            "clause_ids": ";".join(r["clause_ids"]),
        }
        row = {k: ("" if v is None else v) for k, v in r.items()} | extra
        w.writerow([row[k] for k, _ in CSV_HEADERS])
    return buf.getvalue()


def _limit(policy: Settlement, disease: str) -> tuple[str, Decimal] | None:
    """(``year`` | ``month``, the limit) of a disease."""
    p = policy.parameters
    if disease in p.monthly_quotas.value:
        return "month", p.monthly_quotas.value[disease]
    if disease in p.annual_limits.value:
        return "year", p.annual_limits.value[disease]
    return None


def _bars(values: list[Decimal], cap: Decimal | None) -> dict[str, Any]:
    """Geometry of a 12-month bar chart (and the cap's line when a month has a cap)."""
    top = max([*values, cap or Decimal(0), Decimal(1)])
    width, height = 24, 80
    bars = []
    for i, v in enumerate(values):
        h = float(v / top) * height
        bars.append({"x": i * (width + 4) + 4, "y": height - h + 4, "h": h, "value": str(v), "month": i + 1})
    line = None if cap is None else height - float(cap / top) * height + 4
    return {"bars": bars, "line": line, "width": 12 * (width + 4) + 4, "height": height + 22}


def _disease_block(
    policy: Settlement, disease: str, rows: list[dict[str, Any]], used: dict[str, Decimal]
) -> dict[str, Any]:
    months = [Decimal("0.00")] * 12
    for r in rows:
        months[r["month"] - 1] += Decimal(r["fund"])
    lim = _limit(policy, disease)
    kind, cap = lim if lim is not None else (None, None)
    spent = used.get("year", sum(months, Decimal("0.00")))
    share = float(spent / cap) if kind == "year" and cap else None
    return {
        "disease": disease,
        "kind": kind,
        "cap": None if cap is None else str(cap),
        "spent": str(spent),
        "share": None if share is None else min(share, 1.0),
        "share_pct": None if share is None else f"{share * 100:.1f}",
        "chart": _bars(months, cap if kind == "month" else None),
        "rows": rows,
    }


def person_pages(
    results: list[dict[str, Any]],
    claims: list[ClaimLine],
    policy: Settlement,
    used: dict[tuple[str, str, str], Decimal],
) -> dict[str, str]:
    """``{file name: HTML}``: one page per person and calendar year of the file's claims."""
    groups: dict[tuple[str, int], dict[str, list[dict[str, Any]]]] = {}
    for r, c in sorted(zip(results, claims, strict=True), key=lambda rc: rc[1].order_key):
        row = r | {
            "service_date": c.service_date.isoformat(),
            "month": c.service_date.month,
            "hospital": c.hospital.name or c.hospital.code,
        }
        groups.setdefault((c.id_number, c.service_date.year), {}).setdefault(c.disease, []).append(row)
    env = _env()
    pages = {}
    for (idn, year), by_disease in sorted(groups.items()):
        blocks = []
        for disease, rows in by_disease.items():
            year_used = used.get((idn, str(year), disease))
            blocks.append(_disease_block(policy, disease, rows, {"year": year_used} if year_used is not None else {}))
        pages[f"person-{idn}-{year}.html"] = str(
            env.get_template("settlement_person.html.j2").render(
                id_number=idn,
                year=year,
                blocks=blocks,
                deductible_used=str(used.get((idn, str(year), "起付标准"), Decimal("0.00"))),
                version=__version__,
                generated=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
            )
        )
    return pages


def write_settlement(
    out_dir: Path,
    results: list[dict[str, Any]],
    claims: list[ClaimLine],
    summary: dict[str, Any],
    policy: Settlement,
    used: dict[tuple[str, str, str], Decimal],
) -> dict[str, Path]:
    """settlement.jsonl, settlement.csv and the person-year pages under ``out_dir``, through a
    temporary folder moved into place; OutputPathError when the disk refuses them."""
    files = {
        "settlement.jsonl": (jsonl(results, summary), "utf-8"),
        "settlement.csv": (csv_text(results, claims), "utf-8-sig"),  # BOM: Excel reads the Chinese headers
    }
    files |= {name: (html, "utf-8") for name, html in person_pages(results, claims, policy, used).items()}
    written = publish_outputs(out_dir, files, N_("--out {path}: could not write the settlement ({error})"))
    return {"jsonl": written["settlement.jsonl"], "csv": written["settlement.csv"], "html": out_dir}


def render_settlement(results: list[dict[str, Any]], summary: dict[str, Any], bad: list[BadLine]) -> None:
    """The claims as a table, the bad lines, the summary."""
    t = Table(
        _("claim"),
        _("total"),
        _("in scope"),
        _("deductible"),
        _("ratio"),
        _("fund"),
        _("self-pay"),
        _("reasons"),
        header_style="bold",
        title="门特结算",
    )
    for r in results:
        t.add_row(
            escape(r["claim_id"]),
            r["total"],
            r["in_scope"],
            r["deductible"],
            r["ratio"] or "—",
            f"[green]{r['fund']}[/green]" if r["payable"] else r["fund"],
            r["self_pay"],
            escape(", ".join(r["reason_codes"])),
        )
    out.print(t)
    for b in bad:
        err.print(_("[bold red]skipped[/bold red] {line}", line=escape(str(b))), soft_wrap=True)
    s = summary
    out.print(
        _(
            "{claims} claims ({payable} payable, {already_settled} already settled): total {total}, fund {fund}, "
            "self-pay {self_pay}; {bad_lines} bad line(s); {claims_per_s} claims/s",
            **s,
        )
    )


def render_settle_eval(m: dict[str, Any]) -> None:
    """The settlement metrics of ``eval --claims`` and each miss."""
    t = Table(_("metric"), _("value"), header_style="bold", title=_("settlement · {claims} claims", claims=m["claims"]))
    for key, value in m.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "claims":
            t.add_row(key, str(value))
    out.print(t)
    for miss in m["misses"]:
        err.print(_("[yellow]miss[/yellow] {miss}", miss=escape(json.dumps(miss, ensure_ascii=False))), soft_wrap=True)
    for key in ("bad_lines_missed", "bad_lines_extra"):
        if m.get(key):
            err.print(f"[yellow]{key}[/yellow] {m[key]}", soft_wrap=True)
