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
    err.print(f"[bold red]error:[/bold red] {escape(exc.message)}", soft_wrap=True)
    if exc.hint:
        err.print(f"[yellow]hint:[/yellow] {escape(exc.hint)}", soft_wrap=True)


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
        out.print(f"Knowledge base is up to date (version {rep.version}, {rep.clause_count} clauses).")
    else:
        out.print(
            f"Knowledge base refreshed: version [bold]{rep.version}[/bold], {rep.clause_count} clauses, "
            f"{rep.embedded} embedded."
        )
        t = Table(show_header=True, header_style="bold", box=None)
        t.add_column("change")
        t.add_column("documents")
        t.add_column("clauses")
        for label, docs, clauses in (
            ("[green]added[/green]", rep.docs_added, rep.clauses_added),
            ("[yellow]changed[/yellow]", rep.docs_changed, rep.clauses_changed),
            ("[red]removed[/red]", rep.docs_removed, rep.clauses_removed),
        ):
            t.add_row(label, "\n".join(docs) or "—", _clip_list(clauses))
        out.print(t)
    for s in rep.skipped:
        err.print(f"[bold yellow]skipped[/bold yellow] {s.path}: {s.reason}" + (f" — {s.hint}" if s.hint else ""))
    if rep.partial:
        err.print(f"[yellow]partial:[/yellow] {len(rep.skipped)} file(s) skipped; the rest is indexed.")


def _clip_list(items: list[str], n: int = 12) -> str:
    if not items:
        return "—"
    shown = "\n".join(items[:n])
    return shown + (f"\n… and {len(items) - n} more" if len(items) > n else "")


def render_kb_list(kb: KnowledgeBase) -> None:
    """Documents and their clauses."""
    out.print(f"Knowledge base {kb.version}: {len(kb.clauses)} clauses")
    t = Table("clause_id", "chapter", "topics", "text", header_style="bold")
    for c in kb.clauses:
        t.add_row(c.clause_id, c.chapter or "", ", ".join(c.topics), _short(c.text, 40))
    out.print(t)


def render_clause(c: Clause) -> None:
    """One clause in full."""
    meta = f"{c.title} · {c.chapter or ''} · topics: {', '.join(c.topics)}" + (f" · p.{c.page}" if c.page else "")
    out.print(Panel(c.text, title=c.clause_id, subtitle=meta))


def render_hits(query: str, hits: list[SearchHit]) -> None:
    """Search results."""
    if not hits:
        out.print(f"No clause matches {query!r}.")
        return
    t = Table("#", "clause_id", "score", "topics", "text", header_style="bold")
    for i, h in enumerate(hits, 1):
        t.add_row(str(i), h.clause_id, f"{h.score:.2f}", ", ".join(h.topics), _short(h.text, 80))
    out.print(t)


def render_check(problems: list[str], version: str) -> None:
    """Result of `kb check`."""
    if not problems:
        out.print(f"[green]ok[/green]: catalogue and knowledge base {version} agree.")
        return
    for p in problems:
        err.print(f"[red]problem:[/red] {p}")
    err.print(f"{len(problems)} problem(s).")


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
        err.print(f"[yellow]skipped[/yellow] {s.document}: {s.reason}" + (f" — {s.hint}" if s.hint else ""))
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

    queue = Column("queue", min_width=len("check_documents"))  # the group decides the next step: never cut
    t = Table(
        "case", "decision", queue, "reasons", "flags", "signed off", "submitted", header_style="bold", title="审核队列"
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
        f"{summary['cases']} cases: [green]{d['approve']} approve[/green], [red]{d['reject']} reject[/red], "
        f"[yellow]{d['need_info']} need_info[/yellow], {summary['errors']} error(s), "
        f"{summary.get('documents_to_check', 0)} with records to check; "
        f"p50 {ta['p50']} ms, p95 {ta['p95']} ms, {summary['cases_per_s']} cases/s"
    )
    for k, p in (paths or {}).items():
        out.print(f"wrote {k}: {p}")


def render_eval(result: dict[str, Any]) -> None:
    """Eval metrics (and retrieval figures) as tables."""
    m = result.get("metrics")
    if m:
        t = Table("metric", "value", header_style="bold", title=f"eval · {m['cases']} cases · {m['backend']}")
        # every scalar metric the harness reports, in its order (nested ones get their own rows)
        for key, value in m.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "cases":
                t.add_row(key, str(value))
        ta = m["turnaround_ms"]
        t.add_row("turnaround p50/p95/max ms", f"{ta['p50']} / {ta['p95']} / {ta['max']}")
        for f, v in m["field_accuracy"].items():
            t.add_row(f"field · {f}", str(v))
        out.print(t)
        c = Table("gold \\ pred", "approve", "reject", "need_info", "error", header_style="bold", title="confusion")
        for g, row in m["confusion"].items():
            c.add_row(g, *(str(row[k]) for k in ("approve", "reject", "need_info", "error")))
        out.print(c)
    r = result.get("retrieval")
    if r:
        t = Table(
            "mode",
            f"recall@{r['k']}",
            "MRR",
            "p50 ms",
            "p95 ms",
            header_style="bold",
            title=f"retrieval · {r['queries']} queries",
        )
        for mode, v in r["modes"].items():
            t.add_row(mode, str(v["recall_at_k"]), str(v["mrr"]), str(v["p50_ms"]), str(v["p95_ms"]))
        out.print(t)
        topics = sorted({tp for v in r["modes"].values() for tp in v["recall_by_topic"]})
        bt = Table("topic", *r["modes"].keys(), header_style="bold", title=f"recall@{r['k']} by topic")
        for tp in topics:
            bt.add_row(tp, *(str(v["recall_by_topic"].get(tp, "—")) for v in r["modes"].values()))
        out.print(bt)


def render_compare(rows: list[tuple[str, float, float, float]]) -> None:
    """Deltas between two eval runs."""
    t = Table("metric", "old", "new", "delta", header_style="bold")
    for m, o, n, d in rows:
        style = "" if d == 0 else "green" if d > 0 else "red"
        t.add_row(m, f"{o:g}", f"{n:g}", f"[{style}]{d:+g}[/{style}]" if style else "0")
    out.print(t)
