"""``certreview eval``: score a labelled dataset and the retrieval query sets, compare two runs,
report AI–human agreement, and fail CI on any gate (exit 1, each failed gate named). The harness
(``eval/``) is imported inside the command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.cli.common import BackendChoice, BackendOpt, echo_json, get_deps
from agent.core.i18n import _

# the dataset gates, named as the options (and as eval.harness.check_gates reads them)
DATASET_GATES = (
    "min_decision_accuracy",
    "max_false_approve",
    "min_field_accuracy",
    "min_citation_coverage",
    "max_p95_ms",
    "min_grounding",
    "min_reason_recall",
)

# the options, spelled here so that the command's signature stays readable
_Dataset = Annotated[Path | None, typer.Argument(help="Dataset: case folders with gold.json.")]
_Json = Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")]
_Report = Annotated[Path | None, typer.Option("--report", help="Write a Markdown report listing every wrong case.")]
_Workers = Annotated[int, typer.Option("--workers", min=1, max=32, help="Worker processes.")]
_MinDecision = Annotated[float | None, typer.Option(help="Gate: fail below this decision accuracy.")]
_MaxFalseApprove = Annotated[int | None, typer.Option(help="Gate: fail above this many false approves.")]
_MinField = Annotated[float | None, typer.Option(help="Gate: fail when any form field is below this.")]
_MinCitation = Annotated[float | None, typer.Option(help="Gate: fail below this citation coverage.")]
_MaxP95 = Annotated[float | None, typer.Option(help="Gate: fail when p95 turnaround exceeds this (ms).")]
_MinGrounding = Annotated[float | None, typer.Option(help="Gate: fail below this grounding share.")]
_MinReason = Annotated[float | None, typer.Option(help="Gate: fail below this reason recall.")]
_KbQueries = Annotated[Path | None, typer.Option("--kb-queries", help="Score retrieval on this YAML query set.")]
_K = Annotated[int, typer.Option("-k", min=1, max=50, help="k of recall@k for --kb-queries.")]
_MinRecall = Annotated[float | None, typer.Option(help="Gate for --kb-queries: hybrid recall@k.")]
_MinMrr = Annotated[float | None, typer.Option(help="Gate for --kb-queries: hybrid MRR.")]
_Compare = Annotated[
    tuple[Path, Path] | None, typer.Option("--compare", help="OLD.json NEW.json: print the delta of every metric.")
]
_Claims = Annotated[
    Path | None,
    typer.Option(
        "--claims",
        help="A claims set (eval/claims/<set>/): settlement scored to the cent and supervision per rule "
        "(precision, recall), each where the set has its gold file, in a throwaway registry.",
    ),
]
_MinSettleExact = Annotated[
    float | None, typer.Option(help="Gate for --claims: share of claims exact to the cent in fund and self-pay.")
]
_MinRulePrecision = Annotated[
    float | None, typer.Option(help="Gate for --claims: fail when any rule's precision is below.")
]
_MinRuleRecall = Annotated[float | None, typer.Option(help="Gate for --claims: fail when any rule's recall is below.")]
_Agreement = Annotated[
    bool, typer.Option("--agreement", help="AI–human agreement from the registry's recorded decisions.")
]


def eval_cmd(
    dataset: _Dataset = None,
    as_json: _Json = False,
    report: _Report = None,
    backend: BackendOpt = None,
    workers: _Workers = 1,
    min_decision_accuracy: _MinDecision = None,
    max_false_approve: _MaxFalseApprove = None,
    min_field_accuracy: _MinField = None,
    min_citation_coverage: _MinCitation = None,
    max_p95_ms: _MaxP95 = None,
    min_grounding: _MinGrounding = None,
    min_reason_recall: _MinReason = None,
    kb_queries: _KbQueries = None,
    k: _K = 5,
    min_recall: _MinRecall = None,
    min_mrr: _MinMrr = None,
    compare: _Compare = None,
    agreement: _Agreement = False,
    claims: _Claims = None,
    min_settle_exact: _MinSettleExact = None,
    min_rule_precision: _MinRulePrecision = None,
    min_rule_recall: _MinRuleRecall = None,
) -> None:
    """Score decisions, form fields, citations, grounding and turnaround on a labelled dataset
    (docs/RULES.md, scoring), with gates for CI: any failed gate exits 1 and is named."""
    from agent.core.errors import InvalidInputError
    from agent.report.outputs import check_file_targets

    if agreement:
        from agent.cli.registry import eval_agreement

        return eval_agreement(as_json)
    check_file_targets({"--report": report})  # before the run: a bad path loses nothing
    if compare:
        return compare_runs(compare, as_json)
    if dataset is None and kb_queries is None and claims is None:
        raise InvalidInputError(
            _("nothing to evaluate"), _("Pass DATASET_DIR, --kb-queries FILE, --claims DIR or --compare OLD NEW.")
        )
    limits = (min_decision_accuracy, max_false_approve, min_field_accuracy, min_citation_coverage)
    gates = dict(zip(DATASET_GATES, (*limits, max_p95_ms, min_grounding, min_reason_recall), strict=True))
    result: dict[str, Any] = {}
    failed: list[str] = []
    if kb_queries:
        failed += score_queries(result, kb_queries, k, backend, min_recall=min_recall, min_mrr=min_mrr)
    if dataset is not None:
        failed += score_dataset(result, dataset, backend, workers, gates, report, failed)
    if claims is not None:
        claim_gates = (min_settle_exact, min_rule_precision, min_rule_recall)
        failed += score_claims(result, claims, *claim_gates)
    gated = any(
        v is not None
        for v in (*gates.values(), min_recall, min_mrr, min_settle_exact, min_rule_precision, min_rule_recall)
    )
    finish(result, failed, as_json, gated=gated)


def compare_runs(paths: tuple[Path, Path], as_json: bool) -> None:
    """``--compare OLD NEW``: the delta of every metric two ``eval --json`` runs share."""
    from agent.core.errors import InvalidInputError
    from eval.harness import compare as compare_metrics

    try:
        old, new = (json.loads(p.read_text(encoding="utf-8")) for p in paths)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(
            _("cannot read metrics to compare: {error}", error=exc), _("Pass two files from `eval --json`.")
        ) from None
    rows = compare_metrics(old, new)
    if as_json:
        echo_json([{"metric": m, "old": o, "new": n, "delta": d} for m, o, n, d in rows])
    else:
        from agent.report.terminal import render_compare

        render_compare(rows)


def score_queries(
    result: dict[str, Any],
    queries: Path,
    k: int,
    backend: BackendChoice | None,
    *,
    min_recall: float | None,
    min_mrr: float | None,
) -> list[str]:
    """``--kb-queries``: retrieval scored into ``result["retrieval"]``; the failed retrieval gates."""
    from eval.retrieval import load_queries, score_retrieval

    deps = get_deps(backend)
    retrieval = score_retrieval(deps.kb, load_queries(queries), k=k)
    result["retrieval"] = retrieval
    hyb = retrieval["modes"]["hybrid"]
    failed = []
    if min_recall is not None and hyb["recall_at_k"] < min_recall:
        failed.append(f"--min-recall {min_recall}: measured hybrid recall@{k} = {hyb['recall_at_k']}")
    if min_mrr is not None and hyb["mrr"] < min_mrr:
        failed.append(f"--min-mrr {min_mrr}: measured hybrid MRR = {hyb['mrr']}")
    return failed


def score_dataset(
    result: dict[str, Any],
    dataset: Path,
    backend: BackendChoice | None,
    workers: int,
    gates: dict[str, float | None],
    report: Path | None,
    failed_before: list[str],
) -> list[str]:
    """A labelled dataset scored into ``result["metrics"]`` (and the Markdown ``report``, which
    lists ``failed_before`` and the dataset's failed gates); the failed dataset gates."""
    from agent.report.outputs import write_file
    from eval.harness import check_gates, markdown_report, run_eval

    deps = get_deps(backend)
    res = run_eval(dataset, deps, workers=workers)
    failed = check_gates(res.metrics, gates)
    result["metrics"] = res.metrics
    if report:
        write_file(report, markdown_report(res, failed_before + failed))
    return failed


def score_claims(
    result: dict[str, Any],
    folder: Path,
    min_exact: float | None,
    min_precision: float | None,
    min_recall: float | None,
) -> list[str]:
    """``--claims DIR``: settlement (``result["settlement"]``) and supervision
    (``result["supervision"]``), each where the set holds its gold file; the failed gates."""
    from agent.cli.common import get_settings
    from agent.core.errors import InvalidInputError
    from eval.settle_eval import evaluate_settlement, has_settlement_gold, settlement_gates
    from eval.supervise_eval import FLAGS_FILE, check_rule_gates, score_supervision

    if not folder.is_dir():
        raise InvalidInputError(
            _("--claims {folder}: not a folder", folder=folder), _("Pass a claims set such as eval/claims/settle-dev.")
        )
    has_flags = (folder / FLAGS_FILE).is_file()
    if not has_flags and not has_settlement_gold(folder):
        raise InvalidInputError(
            _(
                "--claims {folder}: no gold file (expected_settlement.jsonl or {flags})",
                folder=folder,
                flags=FLAGS_FILE,
            ),
            _("A claims set holds the gold files of CLAIMS.md: see eval/claims/settle-dev."),
        )
    failed: list[str] = []
    if has_settlement_gold(folder):
        result["settlement"] = evaluate_settlement(folder, get_settings())
        failed += settlement_gates(result["settlement"], min_exact)
    if has_flags:
        result["supervision"] = score_supervision(folder)
        failed += check_rule_gates(result["supervision"], min_precision, min_recall)
    return failed


def finish(result: dict[str, Any], failed: list[str], as_json: bool, *, gated: bool) -> None:
    """Print the result, then each failed gate; exit 1 when any failed. ``gated``: some gate
    was set, so a clean run says that all passed."""
    from agent.report.terminal import err

    result["failed_gates"] = failed
    if as_json:
        echo_json(result)
    else:
        from agent.report.terminal import render_eval

        render_eval(result)
        if "settlement" in result:
            from agent.report.settlement import render_settle_eval

            render_settle_eval(result["settlement"])
        if "supervision" in result:
            from agent.report.supervision import render_rule_scores

            render_rule_scores(result["supervision"])
    for f in failed:
        err.print(_("[bold red]gate failed:[/bold red] {gate}", gate=f))
    if failed:
        raise typer.Exit(1)
    if gated:
        err.print(_("[green]all gates passed[/green]"))
