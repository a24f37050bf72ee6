"""Terminal presentation (rich): tables, panels, progress. Results go to stdout; progress,
notes and errors to stderr."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from agent.core.i18n import _

if TYPE_CHECKING:
    from agent.core.errors import CertreviewError
    from agent.core.models import Clause, SearchHit
    from agent.kb.service import KnowledgeBase
    from agent.kb.store import RefreshReport

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

_STAGES = {"read": "读取政策文件", "index": "索引条款"}


def note(message: str) -> None:
    """A message for the user on stderr."""
    err.print(f"[dim]{message}[/dim]", soft_wrap=True)


def render_error(exc: CertreviewError) -> None:
    """A user-fixable error: what happened and what to do."""
    # soft_wrap: a message is one line however narrow the terminal, so it can be grepped and copied
    err.print(_("[bold red]error:[/bold red] {message}", message=escape(exc.message)), soft_wrap=True)
    if exc.hint:
        err.print(_("[yellow]hint:[/yellow] {hint}", hint=escape(exc.hint)), soft_wrap=True)


@contextlib.contextmanager
def kb_progress() -> Iterator[Any]:
    """A progress bar on stderr for knowledge-base work; yields a ``(stage, done, total)`` callback."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(_STAGES.get(stage, stage), total=total)
        progress.update(tasks[stage], completed=done, total=total)

    with progress:
        yield update


def render_refresh(rep: RefreshReport) -> None:
    """What a refresh changed."""
    if rep.noop:
        out.print(
            _(
                "Knowledge base is up to date (version {version}, {n} clauses).",
                version=rep.version,
                n=rep.clause_count,
            )
        )
    else:
        out.print(
            _(
                "Knowledge base refreshed: version [bold]{version}[/bold], {n} clauses, {embedded} embedded.",
                version=rep.version,
                n=rep.clause_count,
                embedded=rep.embedded,
            )
        )
        t = Table(show_header=True, header_style="bold", box=None)
        t.add_column(_("change"))
        t.add_column(_("documents"))
        t.add_column(_("clauses"))
        for label, docs, clauses in (
            (_("[green]added[/green]"), rep.docs_added, rep.clauses_added),
            (_("[yellow]changed[/yellow]"), rep.docs_changed, rep.clauses_changed),
            (_("[red]removed[/red]"), rep.docs_removed, rep.clauses_removed),
        ):
            t.add_row(label, "\n".join(docs) or "—", _clip_list(clauses))
        out.print(t)
    for s in rep.skipped:
        err.print(
            _("[bold yellow]skipped[/bold yellow] {path}: {reason}", path=s.path, reason=s.reason)
            + (f" — {s.hint}" if s.hint else "")
        )
    if rep.partial:
        err.print(_("[yellow]partial:[/yellow] {n} file(s) skipped; the rest is indexed.", n=len(rep.skipped)))


def _clip_list(items: list[str], n: int = 12) -> str:
    if not items:
        return "—"
    shown = "\n".join(items[:n])
    return shown + (_("\n… and {n} more", n=len(items) - n) if len(items) > n else "")


def render_kb_list(kb: KnowledgeBase) -> None:
    """Documents and their clauses."""
    out.print(_("Knowledge base {version}: {n} clauses", version=kb.version, n=len(kb.clauses)))
    t = Table("clause_id", _("chapter"), _("topics"), _("text"), header_style="bold")
    for c in kb.clauses:
        t.add_row(c.clause_id, c.chapter or "", ", ".join(c.topics), _short(c.text, 40))
    out.print(t)


def render_clause(c: Clause) -> None:
    """One clause in full."""
    meta = f"{c.title} · {c.chapter or ''} · " + _("topics: {topics}", topics=", ".join(c.topics))
    meta += _(" · p.{page}", page=c.page) if c.page else ""
    out.print(Panel(c.text, title=c.clause_id, subtitle=meta))


def render_hits(query: str, hits: list[SearchHit]) -> None:
    """Search results."""
    if not hits:
        out.print(_("No clause matches {query}.", query=repr(query)))
        return
    t = Table("#", "clause_id", _("score"), _("topics"), _("text"), header_style="bold")
    for i, h in enumerate(hits, 1):
        t.add_row(str(i), h.clause_id, f"{h.score:.2f}", ", ".join(h.topics), _short(h.text, 80))
    out.print(t)


def render_check(problems: list[str], version: str) -> None:
    """Result of `kb check`."""
    if not problems:
        out.print(_("[green]ok[/green]: catalogue and knowledge base {version} agree.", version=version))
        return
    for p in problems:
        err.print(_("[red]problem:[/red] {problem}", problem=p))
    err.print(_("{n} problem(s).", n=len(problems)))


def _short(s: str, n: int) -> str:
    s = s.replace("\n", " ")
    return s if len(s) <= n else s[: n - 1] + "…"


# ---------------------------------------------------------------- draft / review / triage
_DECISION_STYLE = {"approve": "bold green", "reject": "bold red", "need_info": "bold yellow", None: "bold white"}
_DECISION_CN = {"approve": "建议批准 approve", "reject": "建议不予认定 reject", "need_info": "需补充材料 need_info"}
_STATUS = {"pass": "[green]通过[/green]", "fail": "[red]不通过[/red]", "unknown": "[yellow]待补充[/yellow]"}


def _value(v: Any) -> str:
    if v is None or v == []:
        return "[red]—（缺）[/red]"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, list):
        return "、".join(map(str, v))
    return str(v)


def render_form(form: Any) -> None:
    """One row per field: value, confidence, the quote it came from."""
    title = f"申请表草稿 {form.case_id} · {form.disease or '未确定病种'}" + (
        "（系统建议）" if form.disease_proposed else ""
    )
    t = Table("字段 field", "值 value", "置信度", "证据 evidence", header_style="bold", title=title, show_lines=False)
    for name, f in form.fields.items():
        style = "" if f.confidence >= 0.75 else "yellow"
        ev = "\n".join(f"{e.document.split('/')[-1]}：“{_short(e.quote, 50)}”" for e in f.evidence[:2])
        if not ev and f.source == "case.json":
            ev = "[dim]case.json[/dim]"
        t.add_row(name, _value(f.value), f"{f.confidence:.2f}", ev, style=style)
    out.print(t)
    docs = Table("文书 document", "类型", "日期", "姓名", "身份证号", header_style="bold", title="病历文书")
    for d in form.documents:
        style = "" if d.matches_applicant else "bold red"
        docs.add_row(
            d.document.split("/")[-1],
            d.kind,
            str(d.date or "—"),
            d.patient_name or "—",
            d.patient_id_number or "—",
            style=style,
        )
    out.print(docs)
    for m in form.missing:
        out.print(f"[bold red]缺[/bold red] {m}")
    for d in form.disagreements:
        out.print(
            f"[bold yellow]与申请表不一致[/bold yellow] {d['field']}: "
            f"表中“{d['form_value']}”，病历为“{d['record_value']}”"
        )
    for s in form.skipped:
        err.print(
            _("[yellow]skipped[/yellow] {path}: {reason}", path=s.document, reason=s.reason)
            + (f" — {s.hint}" if s.hint else "")
        )
    if form.flags:
        out.print("标记 flags: " + _flags(form.flags, form.provenance.flag_reasons))


def render_recommendation(rec: Any) -> None:
    """Decision, the checks that decided it with their clauses, and the rationale."""
    if rec.error:
        err.print(f"[bold red]{escape(_error_label(rec))}[/bold red] {escape(rec.error.message)}", soft_wrap=True)
        return
    style = _DECISION_STYLE[rec.decision]
    head = f"[{style}]{_DECISION_CN[rec.decision]}[/] · {rec.disease or ''} · {', '.join(rec.reason_codes)}"
    out.print(Panel(head, title=rec.case_id))
    t = Table("#", "审核项", "结果", "代码", "说明", "依据条款", header_style="bold")
    for i, c in enumerate(rec.checks, 1):
        t.add_row(
            str(i),
            c.name,
            _STATUS[c.status],
            c.reason_code or "",
            _short(c.detail, 70),
            c.citations[0].clause_id if c.citations else "",
        )
    out.print(t)
    out.print(Panel(rec.rationale, title="审核意见"))
    if rec.flags:
        out.print("标记 flags: [bold yellow]" + _flags(rec.flags, rec.provenance.flag_reasons) + "[/bold yellow]")
    _render_skipped([rec])


def _error_label(rec: Any) -> str:
    """``CASE: CODE (field)``: the field a user must fix is named wherever the error shows."""
    field = f" ({rec.error.field})" if rec.error.field else ""
    return f"{rec.case_id}: {rec.error.code}{field}"


def _render_skipped(recs: list[Any]) -> None:
    """Every record that could not be read, by case, file and reason (on stdout: it is a result)."""
    from agent.review.triage import skipped_records

    for r in recs:
        for s in skipped_records(r):
            hint = f" — {s.hint}" if s.hint else ""
            out.print(
                f"[bold yellow]未能读取 skipped[/bold yellow] {escape(r.case_id)}: {escape(s.document)}: "
                f"{escape(s.reason)}{escape(hint)}",
                soft_wrap=True,
            )


def _flags(flags: list[str], reasons: dict[str, str]) -> str:
    """Flags, each with its reason where provenance gives one (LLM_FALLBACK: why the model was dropped)."""
    return ", ".join(f + (f" ({escape(reasons[f])})" if f in reasons else "") for f in flags)


def render_triage(recs: list[Any], summary: dict[str, Any], paths: dict[str, Any] | None) -> None:
    """The queue and the summary."""
    from agent.review.triage import queue_group, queue_key

    queue = Column(_("queue"), min_width=len("check_documents"))  # the group decides the next step: never cut
    t = Table(
        _("case"),
        _("decision"),
        queue,
        _("reasons"),
        _("flags"),
        _("signed off"),
        _("submitted"),
        header_style="bold",
        title="审核队列",
    )
    for r in sorted(recs, key=queue_key):
        reasons = ", ".join(r.reason_codes)
        if r.error:
            reasons = r.error.code + (f" ({r.error.field})" if r.error.field else "")
        t.add_row(
            r.case_id,
            f"[{_DECISION_STYLE[r.decision]}]{r.decision or 'error'}[/]",
            queue_group(r),
            escape(reasons),
            _flags(r.flags, r.provenance.flag_reasons),
            f"{r.sign_off.decision} · {escape(r.sign_off.reviewer)}" if r.sign_off else "",
            (r.submitted_at or "")[:10],
        )
    out.print(t)
    for r in recs:
        if r.error:
            err.print(f"[bold red]{escape(_error_label(r))}[/bold red] {escape(r.error.message)}", soft_wrap=True)
    _render_skipped(recs)
    d = summary["decisions"]
    ta = summary["turnaround_ms"]
    out.print(
        _(
            "{cases} cases: [green]{approve} approve[/green], [red]{reject} reject[/red], "
            "[yellow]{need_info} need_info[/yellow], {errors} error(s), {to_check} with records to check; "
            "p50 {p50} ms, p95 {p95} ms, {rate} cases/s",
            cases=summary["cases"],
            approve=d["approve"],
            reject=d["reject"],
            need_info=d["need_info"],
            errors=summary["errors"],
            to_check=summary.get("documents_to_check", 0),
            p50=ta["p50"],
            p95=ta["p95"],
            rate=summary["cases_per_s"],
        )
    )
    for k, p in (paths or {}).items():
        out.print(_("wrote {name}: {path}", name=k, path=p))


def render_eval(result: dict[str, Any]) -> None:
    """Eval metrics (and retrieval figures) as tables."""
    m = result.get("metrics")
    if m:
        title = _("eval · {n} cases · {backend}", n=m["cases"], backend=m["backend"])
        t = Table(_("metric"), _("value"), header_style="bold", title=title)
        # every scalar metric the harness reports, in its order (nested ones get their own rows)
        for key, value in m.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "cases":
                t.add_row(key, str(value))
        ta = m["turnaround_ms"]
        t.add_row("turnaround p50/p95/max ms", f"{ta['p50']} / {ta['p95']} / {ta['max']}")
        for f, v in m["field_accuracy"].items():
            t.add_row(f"field · {f}", str(v))
        out.print(t)
        c = Table("gold \\ pred", "approve", "reject", "need_info", "error", header_style="bold", title=_("confusion"))
        for g, row in m["confusion"].items():
            c.add_row(g, *(str(row[k]) for k in ("approve", "reject", "need_info", "error")))
        out.print(c)
    r = result.get("retrieval")
    if r:
        t = Table(
            _("mode"),
            f"recall@{r['k']}",
            "MRR",
            "p50 ms",
            "p95 ms",
            header_style="bold",
            title=_("retrieval · {n} queries", n=r["queries"]),
        )
        for mode, v in r["modes"].items():
            t.add_row(mode, str(v["recall_at_k"]), str(v["mrr"]), str(v["p50_ms"]), str(v["p95_ms"]))
        out.print(t)
        topics = sorted({tp for v in r["modes"].values() for tp in v["recall_by_topic"]})
        bt = Table(_("topic"), *r["modes"].keys(), header_style="bold", title=_("recall@{k} by topic", k=r["k"]))
        for tp in topics:
            bt.add_row(tp, *(str(v["recall_by_topic"].get(tp, "—")) for v in r["modes"].values()))
        out.print(bt)


def render_compare(rows: list[tuple[str, float, float, float]]) -> None:
    """Deltas between two eval runs."""
    t = Table(_("metric"), _("old"), _("new"), _("delta"), header_style="bold")
    for m, o, n, d in rows:
        style = "" if d == 0 else "green" if d > 0 else "red"
        t.add_row(m, f"{o:g}", f"{n:g}", f"[{style}]{d:+g}[/{style}]" if style else "0")
    out.print(t)
