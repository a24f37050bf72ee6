"""Rich rendering of the registry's results (stdout) and import reports (stderr)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from agent.core.i18n import N_, _
from agent.report.terminal import err, out

_STATUS = {"active": "green", "expired": "yellow", "exited": "red", "pending": "cyan"}
_EXIT_CN = {"death": "死亡", "insurance_stopped": "停保", "moved_out": "转出", "superseded": "决定被更正"}


def render_recorded(rec: dict[str, Any]) -> None:
    """A recorded sign-off and the certification it issued."""
    tag = _(" [yellow](override)[/yellow]") if rec["override"] else ""
    out.print(
        _(
            "[bold]{case}[/bold]: {decision} by {reviewer}{tag} (recommendation {recommended}, decision #{id})",
            case=escape(rec["case_id"]),
            decision=rec["decision"],
            reviewer=escape(rec["reviewer"]),
            tag=tag,
            recommended=rec["recommendation_decision"],
            id=rec["decision_id"],
        ),
        soft_wrap=True,
    )
    if rec.get("superseded"):
        out.print(_("supersedes decision #{id}", id=rec["superseded"]))
    if rec.get("certification_id"):
        out.print(
            _(
                "certification [bold]{id}[/bold] valid {start} – {end}",
                id=rec["certification_id"],
                start=rec["valid_from"],
                end=rec["valid_until"],
            )
        )


def _status(c: dict[str, Any]) -> str:
    s = c["status"]
    why = f" ({_EXIT_CN.get(c['exit_reason'], c['exit_reason'])} {c['exit_date']})" if s == "exited" else ""
    return f"[{_STATUS.get(s, 'white')}]{s}[/]{escape(why)}"


def render_person(p: dict[str, Any]) -> None:
    """One person's certifications, decisions and events."""
    out.print(
        f"[bold]{escape(p['id_number'])}[/bold] {escape(p['name'] or '')} · {p['scheme'] or '-'} · "
        f"{p['region_code'] or '-'} · " + _("as of {date}", date=p["as_of"]),
        soft_wrap=True,
    )
    t = Table(title="认定 certifications", show_lines=False)
    for col in ("id", N_("disease"), "icd10", N_("valid"), N_("status"), N_("institution"), N_("case")):
        t.add_column(_(col))
    for c in p["certifications"]:
        t.add_row(
            c["certification_id"],
            c["disease"],
            c["icd10"] or "",
            f"{c['valid_from']} – {c['valid_until']}",
            _status(c),
            escape(c["institution"] or ""),
            c["case_id"] or "",
        )
    out.print(t)
    if p["decisions"]:
        d = Table(title="审核决定 decisions")
        for col in ("#", N_("case"), N_("decision"), "AI", N_("reviewer"), N_("reason"), N_("superseded by")):
            d.add_column(_(col))
        for x in p["decisions"]:
            d.add_row(
                str(x["decision_id"]),
                x["case_id"],
                x["decision"],
                x["recommendation_decision"] or "",
                escape(x["reviewer"]),
                escape(x["reason"] or ""),
                str(x["superseded_by"] or ""),
            )
        out.print(d)
    if p["events"]:
        e = Table(title="状态事件 events")
        for col in (N_("event"), N_("type"), N_("date")):
            e.add_column(_(col))
        for x in p["events"]:
            e.add_row(x["event_id"], x["type"], x["date"])
        out.print(e)


def render_renewals(total: int, rows: list[dict[str, Any]], on: str, months: int) -> None:
    """Certifications due for renewal, oldest expiry first."""
    t = Table(
        title=_("到期复审 renewals due within {months} months of {on}: {total}", months=months, on=on, total=total)
    )
    for col in (N_("expires"), N_("days"), "id_number", N_("name"), N_("disease"), N_("certification")):
        t.add_column(_(col))
    for r in rows:
        t.add_row(
            r["valid_until"],
            str(r["days_left"]),
            r["id_number"],
            escape(r["name"] or ""),
            r["disease"],
            r["certification_id"],
        )
    out.print(t)
    if total > len(rows):
        out.print(_("[dim]… {n} more (raise --limit)[/dim]", n=total - len(rows)))


def render_stats(s: dict[str, Any]) -> None:
    """Counts of the registry."""
    c = s["certifications"]
    out.print(
        _("as of {date}: {persons} persons, {n} certifications", date=s["as_of"], persons=s["persons"], n=c["total"])
    )
    out.print(
        _(
            "  active {active} · expired {expired} · exited {exited} · pending {pending}",
            active=c["active"],
            expired=c["expired"],
            exited=c["exited"],
            pending=c["pending"],
        )
        + (f" ({', '.join(f'{k} {v}' for k, v in c['exited_by_reason'].items())})" if c["exited_by_reason"] else "")
    )
    d, ev = s["decisions"], s["events"]
    out.print(_("  decisions {n} (overrides {overrides})", n=d["current"], overrides=d["overrides"]))
    out.print(_("  events {n} (unmatched {unmatched})", n=ev["total"], unmatched=ev["unmatched"]))


def render_import(what: str, rep: dict[str, Any]) -> None:
    """An import's outcome; bad lines and unmatched events on stderr."""
    out.print(
        _(
            "{what}: {added} added, {unchanged} unchanged, {bad} bad lines",
            what=what,
            added=rep["added"],
            unchanged=rep["unchanged"],
            bad=len(rep["bad_lines"]),
        )
    )
    for b in rep["bad_lines"]:
        where = _("line {n}", n=b["line"]) + (_(", field {field}", field=repr(b["field"])) if b["field"] else "")
        err.print(_("[red]skipped[/red] {where}: {message}", where=where, message=escape(b["message"])), soft_wrap=True)
    if rep["unmatched"]:
        shown = ", ".join(rep["unmatched"][:20]) + (" …" if len(rep["unmatched"]) > 20 else "")
        n = len(rep["unmatched"])
        err.print(_("[yellow]unmatched[/yellow] {n} events for persons not in the registry: {shown}", n=n, shown=shown))


def render_agreement(a: dict[str, Any]) -> None:
    """AI–human agreement: the headline, the confusion matrix, override reasons, per reviewer."""
    kappa = "n/a" if a["kappa"] is None else f"{a['kappa']:.3f}"
    agree = "n/a" if a["agreement"] is None else f"{a['agreement']:.1%}"
    out.print(
        f"AI–human agreement over {a['decisions']} decisions: {agree}, "
        f"Cohen's kappa {kappa}, overrides {a['overrides']}"
    )
    m = a["confusion"]["matrix"]
    labels = list(m)
    t = Table(title="recommendation (rows) × reviewer (columns)")
    t.add_column("")
    for label in labels:
        t.add_column(label, justify="right")
    for ai in labels:
        t.add_row(ai, *(str(m[ai].get(h, 0)) for h in labels))
    out.print(t)
    if a["override_reasons"]:
        r = Table("count", "override reason", title="override reasons")
        for x in a["override_reasons"]:
            r.add_row(str(x["count"]), escape(x["reason"]))
        out.print(r)
    p = Table("reviewer", "decisions", "agreement", "overrides", "kappa", title="per reviewer")
    for who, s in a["per_reviewer"].items():
        p.add_row(escape(who), str(s["decisions"]), f"{s['agreement']:.1%}", str(s["overrides"]), str(s["kappa"]))
    out.print(p)
