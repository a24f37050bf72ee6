"""``certreview kb``: the policy staff's knowledge base — refresh, list, show, search, check.
chromadb, jieba and the embedding model are imported inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli.common import EXIT_PARTIAL, JsonOpt, echo_json, get_settings, kb_lock, open_kb
from agent.core.i18n import _

kb_app = typer.Typer(help="The policy knowledge base: refresh, list, show, search, check.", no_args_is_help=True)


@kb_app.command("refresh")
def kb_refresh(
    path: Annotated[
        Path | None,
        typer.Option(
            "--path", help="Folder of policy documents (default: the last one given, else the shipped policy)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when nothing changed (a damaged build is rebuilt anyway).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the change report as JSON.")] = False,
) -> None:
    """Re-index what changed: new and changed files are embedded, vanished ones dropped.

    The new index is built beside the live one and swapped in atomically; an interrupted refresh
    leaves the previous index serving. With CERTREVIEW_CHROMA_URL the same holds on the server (a
    new collection, a pointer switched), and with CERTREVIEW_DATABASE_URL too the one-writer lock is
    a row of that database, shared by every machine (busy: exit 75 naming the holder). Exit code 5 when
    some files were skipped.
    """
    from agent.kb.service import refresh
    from agent.report.terminal import kb_progress, note, out, render_refresh

    settings = get_settings()
    if path is not None and not path.is_dir():
        from agent.core.errors import InvalidInputError

        raise InvalidInputError(_("not a folder: {path}", path=path), _("Pass the folder that holds the policy files."))
    lock = kb_lock(settings)
    with kb_progress() as progress:
        report = refresh(settings, path, progress, force=force, lock=lock)
    if getattr(lock, "taken_over", None):
        note(f"Took over the refresh lock of {lock.taken_over}: its holder had stopped renewing it.")
    if as_json:
        echo_json(report.to_dict())
    else:
        if report.repair_note():
            out.print(report.repair_note(), markup=False, soft_wrap=True)
        render_refresh(report)
        out.print(report.source_note(), markup=False, soft_wrap=True)
    if report.partial:
        raise typer.Exit(EXIT_PARTIAL)


@kb_app.command("list")
def kb_list(
    as_json: JsonOpt = False,
) -> None:
    """List the documents and clauses in the knowledge base."""
    from agent.report.terminal import render_kb_list

    kb = open_kb()
    if as_json:
        echo_json({"version": kb.version, "clauses": [c.model_dump() for c in kb.clauses]})
    else:
        render_kb_list(kb)


@kb_app.command("show")
def kb_show(
    clause_id: Annotated[str, typer.Argument(help="Clause id, e.g. 'REF-MT-2025#第八条'.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one clause in full."""
    from agent.core.errors import InvalidInputError
    from agent.report.terminal import render_clause

    kb = open_kb()
    clause = kb.clause(clause_id)
    if clause is None:
        close = [c.clause_id for c in kb.clauses if clause_id.split("#")[-1] in c.clause_id][:5]
        raise InvalidInputError(
            _("no clause {clause_id}", clause_id=repr(clause_id)),
            _("Did you mean: {names}", names=", ".join(close)) if close else _("See `certreview kb list`."),
        )
    if as_json:
        echo_json(clause.model_dump())
    else:
        render_clause(clause)


@kb_app.command("search")
def kb_search(
    query: Annotated[str, typer.Argument(help="What to look for, in Chinese or English.")],
    topic: Annotated[str | None, typer.Option("--topic", help="Only clauses tagged with this topic.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="Number of results.")] = 5,
    mode: Annotated[str, typer.Option("--mode", help="hybrid | bm25 | dense")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Search the policy clauses (BM25 over jieba tokens + dense embeddings, fused)."""
    from agent.core.errors import InvalidInputError
    from agent.kb.topics import TOPICS
    from agent.report.terminal import render_hits

    if topic is not None and topic not in TOPICS:
        raise InvalidInputError(
            _("unknown topic {topic}", topic=repr(topic)), _("Topics: {topics}", topics=", ".join(TOPICS))
        )
    if mode not in ("hybrid", "bm25", "dense"):
        raise InvalidInputError(_("unknown mode {mode}", mode=repr(mode)), _("Use hybrid, bm25 or dense."))
    kb = open_kb()
    hits = kb.search(query, k=k, topic=topic, mode=mode)
    if as_json:
        echo_json([h.model_dump(exclude={"page"}) | {"page": h.page} for h in hits])
    else:
        render_hits(query, hits)


@kb_app.command("check")
def kb_check() -> None:
    """Verify the catalogue against the knowledge base: every key is known, every clause id resolves,
    every topic has a clause. Exit code 1 names each problem."""
    from agent.kb.check import check_catalog
    from agent.report.terminal import render_check

    settings = get_settings()
    kb = open_kb()
    problems = check_catalog(kb.clauses, settings.catalog_path)
    render_check(problems, kb.version)
    if problems:
        raise typer.Exit(1)
