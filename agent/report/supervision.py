"""What ``supervise`` shows: the summary by rule in the terminal, JSON Lines for scripts, and an
HTML report for the fund office — by rule and by person, the amounts at risk (the flagged claims'
totals), a timeline per flagged person drawn as inline SVG (no script, nothing fetched)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from rich.markup import escape
from rich.table import Column, Table

from agent import __version__
from agent.core.i18n import _
from agent.core.resources import package_file
from agent.report.terminal import err, out
from agent.supervise.flags import Flag
from agent.supervise.run import Supervision
from agent.supervise.tables import date_of

SEVERITY_CN = {"violation": "明确违规", "suspicious": "可疑"}
MAX_PERSONS = 300  # the HTML lists the persons with the most at risk first; the JSON has all
LANE, LEFT, WIDTH = 22, 150, 860


def jsonl(sup: Supervision) -> str:
    """One flag per line, then the summary line."""
    lines = [json.dumps(f.to_dict(), ensure_ascii=False) for f in sup.flags]
    lines.append(json.dumps({"summary": sup.summary()}, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def render_supervision(sup: Supervision, paths: dict[str, Any] | None = None) -> None:
    """The summary by rule as a table, then the totals and the bad lines (to stderr)."""
    s = sup.summary()
    # the code and the clause name the finding: never cut them
    code, clause = Column(_("code"), no_wrap=True), Column(_("clause"), no_wrap=True)
    t = Table(
        _("rule"),
        code,
        _("severity"),
        _("flags"),
        _("claims"),
        _("amount at risk"),
        clause,
        header_style="bold",
        title="智能监管 supervision",
    )
    for r in s["by_rule"]:
        style = "red" if r["severity"] == "violation" else "yellow"
        t.add_row(
            r["rule"],
            r["code"],
            f"[{style}]{SEVERITY_CN[r['severity']]}[/]",
            str(r["flags"]),
            str(r["claims"]),
            r["amount_at_risk"],
            escape(r["clause_id"]),
        )
    out.print(t)
    out.print(
        _(
            "{claims} claims, {flags} flags on {claims_flagged} claims of {persons_flagged} persons, "
            "{amount_at_risk} yuan at risk; {bad_lines} bad line(s) skipped ({engine})",
            **s,
        )
    )
    report_bad_lines(sup)
    for k, p in (paths or {}).items():
        out.print(_("wrote {name}: {path}", name=k, path=p))


def report_bad_lines(sup: Supervision) -> None:
    """Each skipped line with its number and field (never its text: it holds patient data)."""
    for b in sup.bad_lines[:50]:
        err.print(_("[bold red]skipped[/bold red] {line}", line=escape(str(b))), soft_wrap=True)
    if len(sup.bad_lines) > 50:
        err.print(f"… and {len(sup.bad_lines) - 50} more bad lines")


def _timeline(claims: list[Any], flagged: dict[str, list[Flag]]) -> dict[str, Any]:
    """An SVG timeline of one person's claims: one lane per hospital, a dot per claim (red: a
    violation, orange: suspicious only, grey: not flagged), the rules in each dot's tooltip."""
    claims = sorted(claims, key=lambda c: (c.service_day, c.claim_id))
    first, last = date_of(claims[0].service_day), date_of(claims[-1].service_day)
    span = max((last - first).days, 1)
    lanes = list(dict.fromkeys(c.hospital_code for c in claims))
    dots = []
    for c in claims:
        fl = flagged.get(c.claim_id, [])
        sev = "violation" if any(f.severity == "violation" for f in fl) else ("suspicious" if fl else "none")
        dots.append(
            {
                "x": LEFT + round((date_of(c.service_day) - first).days / span * (WIDTH - LEFT - 20)),
                "y": 24 + lanes.index(c.hospital_code) * LANE,
                "sev": sev,
                "title": f"{c.claim_id} {date_of(c.service_day)} {c.hospital_code} {c.total_cents / 100:.2f}元 "
                + " ".join(sorted({f.rule for f in fl})),
            }
        )
    ticks = _ticks(first, last, span)
    return {
        "height": 40 + len(lanes) * LANE,
        "lanes": [{"y": 28 + i * LANE, "name": h} for i, h in enumerate(lanes)],
        "dots": dots,
        "ticks": ticks,
        "width": WIDTH,
    }


def _ticks(first: dt.date, last: dt.date, span: int) -> list[dict[str, Any]]:
    days = sorted({first, last} | {first + dt.timedelta(days=span * k // 4) for k in range(1, 4)})
    return [{"x": LEFT + round((d - first).days / span * (WIDTH - LEFT - 20)), "label": d.isoformat()} for d in days]


def persons(sup: Supervision) -> list[dict[str, Any]]:
    """Flagged persons, most at risk first: their flags, amount at risk and timeline."""
    flags_of: dict[str, list[Flag]] = defaultdict(list)
    for f in sup.flags:
        flags_of[f.id_number].append(f)
    claims_of: dict[str, list[Any]] = defaultdict(list)
    for c in sup.claims:
        if c.id_number in flags_of:
            claims_of[c.id_number].append(c)
    rows: list[dict[str, Any]] = []
    for pid, fl in flags_of.items():
        ids = {cid for f in fl for cid in f.claim_ids}
        at_risk = sum((sup.totals[i] for i in ids), Decimal("0.00"))
        rows.append({"id_number": pid, "flags": fl, "amount_at_risk": at_risk, "claims": len(claims_of[pid])})
    rows.sort(key=lambda r: (-r["amount_at_risk"], r["id_number"]))
    for r in rows[:MAX_PERSONS]:
        flagged: dict[str, list[Flag]] = defaultdict(list)
        for f in r["flags"]:
            for cid in f.claim_ids:
                flagged[cid].append(f)
        r["timeline"] = _timeline(claims_of[r["id_number"]], flagged)
        r["amount_at_risk"] = f"{r['amount_at_risk']:.2f}"
    return rows


def supervision_html(sup: Supervision) -> str:
    """The report: summary, by rule (each rule's flags), by person (timelines)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(package_file("agent.report", "templates"))),
        autoescape=select_autoescape(["html", "j2"]),
    )
    people = persons(sup)
    by_rule = [
        r
        | {"flag_list": [f for f in sup.flags if f.rule == r["rule"]][:500], "severity_cn": SEVERITY_CN[r["severity"]]}
        for r in sup.summary()["by_rule"]
    ]
    return env.get_template("supervise.html.j2").render(
        summary=sup.summary(),
        by_rule=by_rule,
        persons=people[:MAX_PERSONS],
        persons_total=len(people),
        bad_lines=sup.bad_lines,
        severity_cn=SEVERITY_CN,
        version=__version__,
    )


def render_rule_scores(metrics: dict[str, Any]) -> None:
    """``eval --claims``: precision and recall per rule over (rule, claim_id) pairs."""
    t = Table(
        _("rule"),
        _("precision"),
        _("recall"),
        _("found"),
        _("expected"),
        _("false positives"),
        _("missed"),
        header_style="bold",
        title=_("supervision · {claims} claims", claims=metrics["claims"]),
    )
    for rule, m in metrics["rules"].items():
        t.add_row(
            rule,
            str(m["precision"]),
            str(m["recall"]),
            str(m["found"]),
            str(m["expected"]),
            escape(", ".join(m["false_positives"][:3])),
            escape(", ".join(m["missed"][:3])),
        )
    out.print(t)
    if "bad_lines" in metrics:
        b = metrics["bad_lines"]
        out.print(
            _(
                "bad lines: {matched} of {expected} expected found ({found} reported)",
                matched=b["matched"],
                expected=b["expected"],
                found=b["found"],
            )
        )
