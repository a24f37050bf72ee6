"""Run triage on a dataset of case folders with gold.json and score it; gates; Markdown report."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.core.deps import Deps
from agent.core.errors import DocumentError, InvalidInputError
from agent.core.i18n import N_, _
from agent.review.triage import case_folders, run_batch
from eval.metrics import LABELS, CaseScore, aggregate, score_case

GOLD_HINT = N_("Fix gold.json; docs/CASES.md describes its keys.")
# key -> (type it must have, whether it is required)
GOLD_KEYS: dict[str, tuple[type, bool]] = {
    "decision": (str, True),
    "reason_codes": (list, False),
    "form": (dict, False),
    "must_cite_topics": (list, False),
}

GATES = {
    "min_decision_accuracy": ("decision_accuracy", ">="),
    "max_false_approve": ("false_approve", "<="),
    "min_field_accuracy": ("field_accuracy_min", ">="),
    "min_citation_coverage": ("citation_coverage", ">="),
    "max_p95_ms": ("turnaround_ms.p95", "<="),
    "min_grounding": ("grounding", ">="),
    "min_reason_recall": ("reason_recall", ">="),
}


@dataclass
class EvalResult:
    """Metrics plus the per-case scores behind them."""

    metrics: dict[str, Any]
    scores: list[CaseScore]


def _doc_reader(folder: Path) -> Any:
    from agent.records.case import read_record

    cache: dict[str, str | None] = {}

    def text(name: str) -> str | None:
        if name not in cache:
            try:
                cache[name] = read_record(folder / name, name).text
            except (DocumentError, OSError):
                cache[name] = None
        return cache[name]

    return text


def load_gold(folder: Path) -> dict[str, Any]:
    """Read and check a case's gold.json; InvalidInputError names the file and the key."""
    path = folder / "gold.json"
    try:
        gold = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidInputError(_("{path}: not UTF-8 text", path=path), _(GOLD_HINT), field="gold.json") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            _("{path}: not valid JSON (line {line}, column {column})", path=path, line=exc.lineno, column=exc.colno),
            _(GOLD_HINT),
            field="gold.json",
        ) from None
    if not isinstance(gold, dict):
        raise InvalidInputError(_("{path}: must hold a JSON object", path=path), _(GOLD_HINT), field="gold.json")
    for key, (kind, required) in GOLD_KEYS.items():
        if key not in gold:
            if required:
                raise InvalidInputError(
                    _("{path}: key '{key}' is missing", path=path, key=key), _(GOLD_HINT), field=key
                )
            continue
        if not isinstance(gold[key], kind):
            raise InvalidInputError(
                _("{path}: key '{key}' must be a JSON {kind}", path=path, key=key, kind=_(_JSON_NAME[kind])),
                _(GOLD_HINT),
                field=key,
            )
    if gold["decision"] not in LABELS:
        raise InvalidInputError(
            _(
                "{path}: key 'decision' is {value}, not one of {labels}",
                path=path,
                value=repr(gold["decision"]),
                labels=", ".join(LABELS),
            ),
            _(GOLD_HINT),
            field="decision",
        )
    return gold


_JSON_NAME: dict[type, str] = {str: N_("string"), list: N_("array"), dict: N_("object")}


def run_eval(dataset: Path, deps: Deps, *, workers: int = 1) -> EvalResult:
    """Triage every case of ``dataset`` that has a gold.json, and score it."""
    folders = [f for f in case_folders(dataset) if (f / "gold.json").exists()]
    if not folders:
        raise InvalidInputError(
            _("no case folders with gold.json in {path}", path=dataset), _("An eval dataset needs gold.json per case.")
        )
    golds = [load_gold(f) for f in folders]  # a bad gold.json is named before any case is run
    t0 = time.perf_counter()
    results = list(run_batch(folders, deps, workers=workers))
    wall = time.perf_counter() - t0
    scores = []
    for folder, gold, (rec, _ms) in zip(folders, golds, results, strict=True):
        scores.append(score_case(gold, rec, _doc_reader(folder)))
    metrics = aggregate(scores, [ms for _, ms in results], wall)
    metrics["dataset"] = str(dataset)
    metrics["backend"] = deps.backend_name
    metrics.update(llm_metrics([rec for rec, _ in results]))
    metrics["kb_version"] = deps.kb.version
    return EvalResult(metrics, scores)


def llm_metrics(recs: list[Any]) -> dict[str, float]:
    """Model calls and seconds per case, from each recommendation's provenance (0 offline)."""
    n = max(1, len(recs))
    timings = [r.provenance.timings for r in recs]
    return {
        "llm_calls_per_case": round(sum(t.get("llm_calls", 0.0) for t in timings) / n, 2),
        "llm_seconds_per_case": round(sum(t.get("llm_ms", 0.0) for t in timings) / n / 1000, 3),
    }


def _get(metrics: dict[str, Any], dotted: str) -> float:
    cur: Any = metrics
    for part in dotted.split("."):
        cur = cur[part]
    return float(cur)


def check_gates(metrics: dict[str, Any], gates: dict[str, float | None]) -> list[str]:
    """Failed gates, each named with the measured value."""
    failed = []
    for name, limit in gates.items():
        if limit is None:
            continue
        key, op = GATES[name]
        value = _get(metrics, key)
        ok = value >= limit if op == ">=" else value <= limit
        if not ok:
            failed.append(f"--{name.replace('_', '-')} {limit}: measured {key} = {value}")
    return failed


def deciding_check(rec: Any) -> str:
    """The first check that decided the prediction (for the report)."""
    for c in rec.checks:
        if c.reason_code in rec.reason_codes and c.status != "pass":
            return f"{c.id}: {c.detail}"
    return "all checks pass" if rec.decision == "approve" else (rec.error.message if rec.error else "")


SUMMARY_METRICS = (
    "decision_accuracy",
    "macro_f1",
    "false_approve",
    "false_reject",
    "errors",
    "reason_recall",
    "field_accuracy_min",
    "citation_coverage",
    "grounding",
    "cases_per_s",
    "llm_calls_per_case",
    "llm_seconds_per_case",
)


def markdown_report(res: EvalResult, failed_gates: list[str]) -> str:
    """The report: summary, confusion matrix, per-field accuracy, every wrong case."""
    lines = _summary_lines(res.metrics)
    lines += ["", "## Gates", ""]
    lines += [f"- FAILED {g}" for g in failed_gates] or ["- all gates passed"]
    wrong = [s for s in res.scores if _is_wrong(s)]
    lines += ["", f"## Cases with a wrong decision, reason, field or quote ({len(wrong)})", ""]
    for s in wrong:
        lines += _wrong_case_lines(s)
    return "\n".join(lines) + "\n"


def _summary_lines(m: dict[str, Any]) -> list[str]:
    """The report's head: the metrics table, the confusion matrix and the per-field accuracy."""
    lines = [
        f"# certreview eval — {m['dataset']}",
        "",
        f"Backend `{m['backend']}`, knowledge base `{m['kb_version']}`, {m['cases']} cases.",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {key} | {m[key]} |" for key in SUMMARY_METRICS]
    ta = m["turnaround_ms"]
    lines += [
        f"| turnaround p50 / p95 / max (ms) | {ta['p50']} / {ta['p95']} / {ta['max']} |",
        "",
        "## Confusion matrix (rows gold, columns predicted)",
        "",
        "| gold \\ pred | approve | reject | need_info | error |",
        "|---|---|---|---|---|",
    ]
    for g, row in m["confusion"].items():
        lines.append(f"| {g} | {row['approve']} | {row['reject']} | {row['need_info']} | {row['error']} |")
    lines += ["", "## Field accuracy", "", "| field | accuracy |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in m["field_accuracy"].items()]
    return lines


def _is_wrong(s: CaseScore) -> bool:
    """A case the report lists: a wrong decision, a wrong field, an ungrounded quote or a missed reason."""
    return (
        not s.correct
        or not all(s.field_ok.values())
        or bool(s.ungrounded)
        or s.reasons_hit < len(s.gold.get("reason_codes", []))
    )


def _wrong_case_lines(s: CaseScore) -> list[str]:
    """One wrong case: expected and predicted, the deciding check, each wrong field, the first
    ungrounded quotes."""
    p = s.pred
    lines = [
        f"### {s.case_id}",
        f"- expected **{s.gold['decision']}** {s.gold.get('reason_codes')} — predicted "
        f"**{p.decision}** {p.reason_codes}",
        f"- deciding check: {deciding_check(p)}",
    ]
    for name, ok in s.field_ok.items():
        if not ok:
            got = p.form.fields[name].value if p.form and name in p.form.fields else None
            lines.append(f"- field `{name}`: expected `{s.gold['form'][name]}`, got `{got}`")
    lines += [f"- ungrounded quote {u}" for u in s.ungrounded[:5]]
    lines.append("")
    return lines


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    """(metric, old, new, delta) for every numeric metric present in both."""

    def flat(d: dict[str, Any], prefix: str = "") -> dict[str, float]:
        out: dict[str, float] = {}
        for k, v in d.items():
            key = f"{prefix}{k}"
            if isinstance(v, bool):
                continue
            if isinstance(v, (int, float)):
                out[key] = float(v)
            elif isinstance(v, dict):
                out.update(flat(v, key + "."))
        return out

    fo, fn = flat(old.get("metrics", old)), flat(new.get("metrics", new))
    return [(k, fo[k], fn[k], round(fn[k] - fo[k], 4)) for k in fo if k in fn]
