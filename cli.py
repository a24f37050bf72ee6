"""`certreview`: the command line. Thin: parse, build what the command needs, call one task,
render. Heavy libraries (chromadb, langchain, jieba) are imported inside the commands."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from agent.cli.icd import icd_app  # typer only: the ICD-10 index loads inside its commands

# the registry's commands live in agent/cli/registry.py (it imports SQLAlchemy only when they run)
from agent.cli.registry import decide, registry_app

if TYPE_CHECKING:
    from agent.core.config import Settings

EXIT_PARTIAL = 5  # some inputs were skipped or failed; the rest was processed


class _Group(TyperGroup):
    """Turns user-fixable errors into a message, a hint and an exit code (never a traceback)."""

    def invoke(self, ctx: Any) -> Any:  # click.Context; typer vendors its own click
        from agent.core.errors import CertreviewError

        try:
            return super().invoke(ctx)
        except CertreviewError as exc:
            from agent.report.terminal import render_error

            render_error(exc)
            ctx.exit(exc.exit_code)


app = typer.Typer(
    cls=_Group,
    name="certreview",
    help=(
        "Draft and review certifications of outpatient special and chronic diseases (门特/门慢), "
        "every claim traced to the record and the policy clause.\n\n"
        "Physicians: `draft`. Reviewers: `review`, `triage`. Policy staff: `kb`. CI: `eval`.\n\n"
        "Exit codes: 0 done; 1 failed gate, kb check problems or tampered audit log; 2 bad input "
        "(a case field, a record, an output path); 3 knowledge base cannot be built; 5 partial (records, "
        "policy files or cases skipped); 6 results written but the audit log is damaged and did not "
        "record them (see `audit verify`); 75 busy (knowledge base refresh or output folder in use)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never print locals: records hold patient data
    add_completion=False,
)
kb_app = typer.Typer(help="The policy knowledge base: refresh, list, show, search, check.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(icd_app, name="icd")
app.add_typer(registry_app, name="registry")
app.command("decide")(decide)


def _settings(**overrides: Any) -> Settings:
    """The settings, every one checked (a bad one is a ConfigError: exit 2 with a hint)."""
    from agent.core.config import load_settings

    return load_settings(**overrides)


def _echo_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


# ---------------------------------------------------------------- kb
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
    leaves the previous index serving. Exit code 5 when some files were skipped.
    """
    from agent.kb.service import refresh
    from agent.report.terminal import kb_progress, out, render_refresh

    settings = _settings()
    if path is not None and not path.is_dir():
        from agent.core.errors import InvalidInputError

        raise InvalidInputError(f"not a folder: {path}", "Pass the folder that holds the policy files.")
    with kb_progress() as progress:
        report = refresh(settings, path, progress, force=force)
    if as_json:
        _echo_json(report.to_dict())
    else:
        if report.repair_note():
            out.print(report.repair_note(), markup=False, soft_wrap=True)
        render_refresh(report)
        out.print(report.source_note(), markup=False, soft_wrap=True)
    if report.partial:
        raise typer.Exit(EXIT_PARTIAL)


@kb_app.command("list")
def kb_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the documents and clauses in the knowledge base."""
    from agent.report.terminal import render_kb_list

    kb = _open_kb()
    if as_json:
        _echo_json({"version": kb.version, "clauses": [c.model_dump() for c in kb.clauses]})
    else:
        render_kb_list(kb)


@kb_app.command("show")
def kb_show(
    clause_id: Annotated[str, typer.Argument(help="Clause id, e.g. 'REF-MT-2025#第八条'.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show one clause in full."""
    from agent.core.errors import InvalidInputError
    from agent.report.terminal import render_clause

    kb = _open_kb()
    clause = kb.clause(clause_id)
    if clause is None:
        close = [c.clause_id for c in kb.clauses if clause_id.split("#")[-1] in c.clause_id][:5]
        raise InvalidInputError(
            f"no clause {clause_id!r}", "Did you mean: " + ", ".join(close) if close else "See `certreview kb list`."
        )
    if as_json:
        _echo_json(clause.model_dump())
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
        raise InvalidInputError(f"unknown topic {topic!r}", "Topics: " + ", ".join(TOPICS))
    if mode not in ("hybrid", "bm25", "dense"):
        raise InvalidInputError(f"unknown mode {mode!r}", "Use hybrid, bm25 or dense.")
    kb = _open_kb()
    hits = kb.search(query, k=k, topic=topic, mode=mode)
    if as_json:
        _echo_json([h.model_dump(exclude={"page"}) | {"page": h.page} for h in hits])
    else:
        render_hits(query, hits)


@kb_app.command("check")
def kb_check() -> None:
    """Verify the catalogue against the knowledge base: every key is known, every clause id resolves,
    every topic has a clause. Exit code 1 names each problem."""
    from agent.kb.check import check_catalog
    from agent.report.terminal import render_check

    settings = _settings()
    kb = _open_kb()
    problems = check_catalog(kb.clauses, settings.catalog_path)
    render_check(problems, kb.version)
    if problems:
        raise typer.Exit(1)


# ---------------------------------------------------------------- physicians and reviewers
class BackendChoice(str, Enum):
    """The values --backend takes (typer rejects any other, exit 2)."""

    offline = "offline"
    openai = "openai"


def _deps(backend: BackendChoice | None = None, *, registry: bool = False) -> Any:
    from agent.report.terminal import kb_progress, note
    from agent.review.deps import build_deps

    # the option goes through the same validation as CERTREVIEW_BACKEND
    settings = _settings(**({"backend": backend.value} if backend else {}))
    with kb_progress() as progress:
        deps = build_deps(
            settings,
            progress=progress,
            on_build=lambda: note("No knowledge base yet: building it from the shipped policies…"),
        )
    if settings.backend == "openai":
        from agent.llm.backend import make_backend

        deps = make_backend(deps)
    if registry:  # check 6 also reads the registry's certifications, when there is a registry
        from agent.cli.registry import attach_registry

        deps = attach_registry(deps)
    return deps


BackendOpt = Annotated[
    BackendChoice | None,
    typer.Option(
        "--backend",
        case_sensitive=False,
        help="offline (default, deterministic) or openai (any OpenAI-compatible endpoint).",
    ),
]


@app.command("draft")
def draft(
    case_dir: Annotated[Path, typer.Argument(help="A case folder: case.json + records/.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the form as JSON (the shape in docs/CASES.md).")
    ] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the JSON form to this file.")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a printable 申请表 with evidence footnotes.")
    ] = None,
    backend: BackendOpt = None,
) -> None:
    """Fill the 门特 application form from the records: every field with the quote and document
    it came from, and what the records do not support listed as what to add."""
    from agent.records.case import load_case
    from agent.report.outputs import check_file_targets, write_file
    from agent.report.terminal import render_form

    check_file_targets({"--out": out_file, "--html": html})  # before any work: a bad path loses nothing
    deps = _deps(backend)
    case = load_case(case_dir)
    form = deps.backend.draft(case, deps)
    data = form.model_dump(mode="json")
    if out_file:
        write_file(out_file, json.dumps(data, ensure_ascii=False, indent=2))
    if html:
        from agent.report.writers import form_html

        write_file(html, form_html(form))
    if as_json:
        _echo_json(data)
    else:
        render_form(form)
    if case.skipped:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("review")
def review(
    case_dir: Annotated[Path, typer.Argument(help="A case folder (with form.json, the physician's form is checked).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the Recommendation as JSON.")] = False,
    backend: BackendOpt = None,
    audit: Annotated[bool, typer.Option("--audit/--no-audit", help="Append the result to the audit log.")] = True,
) -> None:
    """Recommend approve / reject / need_info: every check of the reference policy with its status,
    the record quotes and the policy clauses (第X条) behind it, and a Chinese 审核意见.

    Exit code 5 when a record could not be read (each is listed with the reason); 6 when the result
    was printed but the audit log is damaged and did not record it."""
    from agent.records.case import load_case
    from agent.registry import audit as audit_log
    from agent.report.terminal import render_recommendation

    deps = _deps(backend, registry=True)
    case = load_case(case_dir)
    rec = deps.backend.review(case, deps)
    if as_json:
        _echo_json(rec.model_dump(mode="json"))
    else:
        render_recommendation(rec)
    if audit:  # after the result is out: a damaged log (AuditLogDamagedError, exit 6) loses nothing
        audit_log.append(deps.settings.audit_log, [rec])
    if case.skipped:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("triage")
def triage(
    batch_dir: Annotated[Path, typer.Argument(help="A folder of case folders.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON Lines: one Recommendation per case, then a summary.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write results.jsonl, results.csv and report.html here.")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="Worker processes.")] = 1,
    backend: BackendOpt = None,
    audit: Annotated[bool, typer.Option("--audit/--no-audit", help="Append results to the audit log.")] = True,
) -> None:
    """Review every case of a batch into a ranked queue: ready to approve, documents to check (a
    record could not be read), reject to confirm, documents to request (flagged cases first, oldest
    first). A case that cannot be read gets an error line naming the field, and the batch goes on.

    --out is checked before any case is processed and held for the run (a second run into it is
    refused, exit 75). Exit code 5 when any case failed or any record was skipped; 6 when the results
    were written but the audit log is damaged and did not record them."""
    import contextlib

    from agent.report.outputs import check_dir_target, hold_dir
    from agent.review.triage import case_folders

    folders = case_folders(batch_dir)
    if out is not None:
        check_dir_target(out, "--out", outside=batch_dir)
    with hold_dir(out) if out is not None else contextlib.nullcontext():
        _triage(folders, as_json, out, workers, backend, audit)


def _triage(
    folders: list[Path], as_json: bool, out: Path | None, workers: int, backend: BackendChoice | None, audit: bool
) -> None:
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.core.errors import CertreviewError
    from agent.registry import audit as audit_log
    from agent.report.terminal import err, render_triage
    from agent.review.triage import run_batch, summarize

    deps = _deps(backend, registry=workers == 1)  # worker processes build their own deps, without it
    recs, times = [], []
    t0 = time.perf_counter()
    bar = Progress(
        TextColumn("审核 triage"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task("triage", total=len(folders))
        for rec, ms in run_batch(folders, deps, workers=workers):
            recs.append(rec)
            times.append(ms)
            bar.advance(task)
    summary = summarize(recs, times, time.perf_counter() - t0)
    paths, write_error = None, None
    if out:
        from agent.report.writers import write_batch

        try:
            paths = write_batch(out, recs, summary, deps.kb.version)
        except CertreviewError as exc:  # checked up front, but a full disk can still fail: print, then report
            write_error = exc
    if as_json:
        from agent.report.writers import jsonl

        sys.stdout.write(jsonl(recs, summary))
    else:
        render_triage(recs, summary, paths)
    if write_error is not None:
        raise write_error  # not audited: the files the log would vouch for were not written
    if audit:  # after the results are out, as in `review`
        audit_log.append(deps.settings.audit_log, recs)
    if summary["errors"] or summary["records_skipped"]:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("eval")
def eval_cmd(
    dataset: Annotated[Path | None, typer.Argument(help="Dataset: case folders with gold.json.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a Markdown report listing every wrong case.")
    ] = None,
    backend: BackendOpt = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="Worker processes.")] = 1,
    min_decision_accuracy: Annotated[
        float | None, typer.Option(help="Gate: fail below this decision accuracy.")
    ] = None,
    max_false_approve: Annotated[int | None, typer.Option(help="Gate: fail above this many false approves.")] = None,
    min_field_accuracy: Annotated[
        float | None, typer.Option(help="Gate: fail when any form field is below this.")
    ] = None,
    min_citation_coverage: Annotated[
        float | None, typer.Option(help="Gate: fail below this citation coverage.")
    ] = None,
    max_p95_ms: Annotated[float | None, typer.Option(help="Gate: fail when p95 turnaround exceeds this (ms).")] = None,
    min_grounding: Annotated[float | None, typer.Option(help="Gate: fail below this grounding share.")] = None,
    min_reason_recall: Annotated[float | None, typer.Option(help="Gate: fail below this reason recall.")] = None,
    kb_queries: Annotated[
        Path | None, typer.Option("--kb-queries", help="Score retrieval on this YAML query set.")
    ] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="k of recall@k for --kb-queries.")] = 5,
    min_recall: Annotated[float | None, typer.Option(help="Gate for --kb-queries: hybrid recall@k.")] = None,
    min_mrr: Annotated[float | None, typer.Option(help="Gate for --kb-queries: hybrid MRR.")] = None,
    compare: Annotated[
        tuple[Path, Path] | None, typer.Option("--compare", help="OLD.json NEW.json: print the delta of every metric.")
    ] = None,
    agreement: Annotated[
        bool, typer.Option("--agreement", help="AI–human agreement from the registry's recorded decisions.")
    ] = False,
) -> None:
    """Score decisions, form fields, citations, grounding and turnaround on a labelled dataset
    (docs/RULES.md, scoring), with gates for CI: any failed gate exits 1 and is named."""
    from agent.core.errors import InvalidInputError
    from agent.report.outputs import check_file_targets, write_file
    from agent.report.terminal import err

    if agreement:
        from agent.cli.registry import eval_agreement

        return eval_agreement(as_json)

    check_file_targets({"--report": report})  # before the run: a bad path loses nothing

    if compare:
        from eval.harness import compare as compare_metrics

        try:
            old, new = (json.loads(p.read_text(encoding="utf-8")) for p in compare)
        except (OSError, ValueError) as exc:
            raise InvalidInputError(
                f"cannot read metrics to compare: {exc}", "Pass two files from `eval --json`."
            ) from None
        rows = compare_metrics(old, new)
        if as_json:
            _echo_json([{"metric": m, "old": o, "new": n, "delta": d} for m, o, n, d in rows])
        else:
            from agent.report.terminal import render_compare

            render_compare(rows)
        return
    failed: list[str] = []
    result: dict[str, Any] = {}
    if kb_queries:
        from eval.retrieval import load_queries, score_retrieval

        deps = _deps(backend)
        retrieval = score_retrieval(deps.kb, load_queries(kb_queries), k=k)
        result["retrieval"] = retrieval
        hyb = retrieval["modes"]["hybrid"]
        if min_recall is not None and hyb["recall_at_k"] < min_recall:
            failed.append(f"--min-recall {min_recall}: measured hybrid recall@{k} = {hyb['recall_at_k']}")
        if min_mrr is not None and hyb["mrr"] < min_mrr:
            failed.append(f"--min-mrr {min_mrr}: measured hybrid MRR = {hyb['mrr']}")
    if dataset is not None:
        from eval.harness import check_gates, markdown_report, run_eval

        deps = _deps(backend)
        res = run_eval(dataset, deps, workers=workers)
        gates = {
            "min_decision_accuracy": min_decision_accuracy,
            "max_false_approve": max_false_approve,
            "min_field_accuracy": min_field_accuracy,
            "min_citation_coverage": min_citation_coverage,
            "max_p95_ms": max_p95_ms,
            "min_grounding": min_grounding,
            "min_reason_recall": min_reason_recall,
        }
        failed += check_gates(res.metrics, gates)
        result["metrics"] = res.metrics
        if report:
            write_file(report, markdown_report(res, failed))
    if dataset is None and kb_queries is None:
        raise InvalidInputError("nothing to evaluate", "Pass DATASET_DIR, --kb-queries FILE or --compare OLD NEW.")
    result["failed_gates"] = failed
    if as_json:
        _echo_json(result)
    else:
        from agent.report.terminal import render_eval

        render_eval(result)
    for f in failed:
        err.print(f"[bold red]gate failed:[/bold red] {f}")
    if failed:
        raise typer.Exit(1)
    if any(
        v is not None
        for v in (
            min_decision_accuracy,
            max_false_approve,
            min_field_accuracy,
            min_citation_coverage,
            max_p95_ms,
            min_grounding,
            min_reason_recall,
            min_recall,
            min_mrr,
        )
    ):
        err.print("[green]all gates passed[/green]")


llm_app = typer.Typer(help="Local language model: serve a GGUF model on 127.0.0.1.", no_args_is_help=True)
app.add_typer(llm_app, name="llm")


@llm_app.command("serve")
def llm_serve(
    model: Annotated[Path, typer.Option("--model", help="A .gguf model file (see `make local-model`).")],
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: a free one).")] = 8080,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads (default: all cores).")] = None,
    ctx: Annotated[int, typer.Option("--ctx", help="Context length in tokens.")] = 8192,
) -> None:
    """Serve a GGUF model as an OpenAI-compatible endpoint with xllamacpp (prebuilt llama.cpp).

    Then: CERTREVIEW_BACKEND=openai CERTREVIEW_LLM_BASE_URL=http://127.0.0.1:PORT/v1 certreview review CASE
    """
    import time

    from agent.llm.local import start_server
    from agent.report.terminal import err

    server, base_url = start_server(model, port=port, threads=threads, ctx=ctx)
    err.print(f"serving {model.name} at {base_url} (Ctrl-C to stop)", soft_wrap=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        del server


audit_app = typer.Typer(help="The append-only audit log of recommendations.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the keyed hash chain and its anchors: an edited, removed, reordered, torn, truncated or
    deleted entry, bad bytes and a damaged head are named with the line; exit code 1."""
    from rich.markup import escape

    from agent.registry import audit as audit_log
    from agent.report.terminal import err, out

    settings = _settings()
    res = audit_log.verify(settings.audit_log)
    if res.ok:
        out.print(f"[green]ok[/green]: {res.entries} audit entries, chain intact ({settings.audit_log}).")
        return
    for p in res.problems:
        err.print(f"[red]tampered:[/red] {escape(p)}", soft_wrap=True)
    err.print(
        "[yellow]hint:[/yellow] keep a copy of the data home for investigation; "
        "`certreview audit archive` sets the log aside and starts a new chain.",
        soft_wrap=True,
    )
    raise typer.Exit(1)


@audit_app.command("archive")
def audit_archive() -> None:
    """Move the audit log (damaged or not) into audit-archive/ in the data home and start a new
    chain whose first entry names the archive, its sha256 and any damage found."""
    from rich.markup import escape

    from agent.registry import audit as audit_log
    from agent.report.terminal import out

    settings = _settings()
    dest, problems = audit_log.archive(settings.audit_log)
    state = f"damaged: {problems[0]}" if problems else "intact"
    out.print(f"archived the audit log ({escape(state)}) to {dest}; a new chain starts.", soft_wrap=True)


def _open_kb() -> Any:
    from agent.kb.service import open_kb
    from agent.report.terminal import kb_progress, note

    settings = _settings()  # checked before the progress bar takes the terminal
    with kb_progress() as progress:
        return open_kb(
            settings,
            progress,
            on_build=lambda: note("No knowledge base yet: building it from the shipped policies…"),
        )


def main() -> None:
    """Console entry point: run the app, turning user-fixable errors into messages and exit codes."""
    from agent.core.errors import CertreviewError

    try:
        app()
    except CertreviewError as exc:
        from agent.report.terminal import render_error

        render_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
