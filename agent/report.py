"""Terminal presentation (rich): tables, panels, progress. Results go to stdout; progress,
notes and errors to stderr."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from agent.errors import CertreviewError
    from agent.kb.service import KnowledgeBase
    from agent.kb.store import RefreshReport
    from agent.models import Clause, SearchHit

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

_STAGES = {"read": "读取政策文件", "index": "索引条款"}


def note(message: str) -> None:
    """A message for the user on stderr."""
    err.print(f"[dim]{message}[/dim]")


def render_error(exc: CertreviewError) -> None:
    """A user-fixable error: what happened and what to do."""
    err.print(f"[bold red]error:[/bold red] {exc.message}")
    if exc.hint:
        err.print(f"[yellow]hint:[/yellow] {exc.hint}")


@contextlib.contextmanager
def kb_progress() -> Iterator[Any]:
    """A progress bar on stderr for knowledge-base work; yields a ``(stage, done, total)`` callback."""
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
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
