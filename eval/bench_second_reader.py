"""The second reader measured against ANY OpenAI-compatible endpoint, set by set: decision
accuracy and false approves offline and with the model, withdrawals (right: the gold is not an
approve; wrong: it is), fallbacks, model calls and seconds per case.

    python -m eval.bench_second_reader --base-url http://127.0.0.1:8080/v1 --model qwen2.5-7b-instruct
    python -m eval.bench_second_reader --gguf models/qwen-1.5b.gguf --sets dev --cases 10

Nothing is downloaded: the endpoint is yours (or a local GGUF file served on 127.0.0.1). Answers
are cached in a fresh folder per run unless --cache is given, so seconds are the model's own.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.core.config import PROJECT_ROOT, Settings
from agent.core.errors import CertreviewError
from agent.llm.backend import OpenAIBackend
from agent.records.case import load_case
from agent.review.deps import build_deps
from agent.review.recommend import review_case
from agent.review.triage import case_folders
from eval.harness import load_gold

SETS = ("dev", "holdout", "holdout2", "holdout3", "traps-dev")
DATASETS = PROJECT_ROOT / "eval" / "datasets"


@dataclass
class Tally:
    """One set's counts, offline and with the second reader."""

    cases: int = 0
    right: dict[str, int] = field(default_factory=lambda: {"offline": 0, "second_reader": 0})
    false_approve: dict[str, int] = field(default_factory=lambda: {"offline": 0, "second_reader": 0})
    withdrawn_right: int = 0  # the gold is need_info or reject: a false approve caught
    withdrawn_wrong: int = 0  # the gold is an approve: a true approve lost
    fallbacks: int = 0
    calls: float = 0.0
    seconds: float = 0.0

    def add(self, gold: str, off: Any, llm: Any) -> None:
        """Count one case."""
        self.cases += 1
        for key, rec in (("offline", off), ("second_reader", llm)):
            self.right[key] += rec.decision == gold
            self.false_approve[key] += rec.decision == "approve" and gold != "approve"
        if "SECOND_READER_DISAGREES" in llm.flags:
            if gold == "approve":
                self.withdrawn_wrong += 1
            else:
                self.withdrawn_right += 1
        self.fallbacks += "LLM_FALLBACK" in llm.flags
        self.calls += llm.provenance.timings.get("llm_calls", 0.0)
        self.seconds += llm.provenance.timings.get("llm_ms", 0.0) / 1000

    def report(self) -> dict[str, Any]:
        """The figures, per case where they are rates."""
        n = max(1, self.cases)
        return {
            "cases": self.cases,
            "decision_accuracy": {k: round(v / n, 3) for k, v in self.right.items()},
            "false_approves": self.false_approve,
            "withdrawals": {"right": self.withdrawn_right, "wrong": self.withdrawn_wrong},
            "fallbacks": self.fallbacks,
            "llm_calls_per_case": round(self.calls / n, 2),
            "llm_seconds_per_case": round(self.seconds / n, 2),
        }


def run_set(folder: Path, deps: Any, llm_deps: Any, limit: int | None) -> Tally:
    """Review every case of one set both ways."""
    folders = [f for f in case_folders(folder) if (f / "gold.json").exists()]
    if limit:
        step = max(1, len(folders) // limit)
        folders = folders[::step][:limit]  # spread over diseases and outcomes
    t = Tally()
    for f in folders:
        gold = load_gold(f)["decision"]
        case = load_case(f)
        t.add(gold, review_case(case, deps), llm_deps.backend.review(case, llm_deps))
    return t


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--base-url", help="An OpenAI-compatible endpoint (…/v1).")
    where.add_argument("--gguf", type=Path, help="A local GGUF model, served on 127.0.0.1 for the run.")
    ap.add_argument("--model", default=None, help="The model name at the endpoint (default: the GGUF's stem).")
    ap.add_argument("--api-key", default=None, help="Key for the endpoint (else OPENAI_API_KEY, else none).")
    ap.add_argument("--sets", nargs="+", default=list(SETS), help="Sets under eval/datasets.")
    ap.add_argument("--cases", type=int, default=None, help="At most this many cases per set.")
    ap.add_argument("--concurrency", type=int, default=4, help="Questions in flight per case.")
    ap.add_argument("--timeout", type=float, default=60.0, help="Seconds per model request.")
    ap.add_argument("--method", default="json_schema", choices=["json_schema", "json_mode", "function_calling"])
    ap.add_argument("--cache", type=Path, default=None, help="Answer cache folder (default: a fresh one).")
    return ap.parse_args()


def main() -> None:
    """Print each set's figures as JSON, then the totals."""
    args = _args()
    server = None
    url = args.base_url
    if args.gguf is not None:
        from agent.llm.local import start_server

        server, url = start_server(args.gguf, parallel=args.concurrency)
    deps = build_deps(Settings())
    s = deps.settings.model_copy(
        update={
            "backend": "openai",
            "llm_base_url": url,
            "llm_model": args.model or (args.gguf.stem if args.gguf else "default"),
            "llm_api_key": args.api_key,
            "llm_timeout_s": args.timeout,
            "llm_total_timeout_s": args.timeout * 3,
            "llm_max_retries": 1,
            "llm_concurrency": args.concurrency,
            "llm_structured_method": args.method,
        }
    )
    llm_deps = replace(deps, settings=s)
    backend = OpenAIBackend(llm_deps)
    llm_deps = replace(llm_deps, backend=backend)
    with tempfile.TemporaryDirectory() as tmp:
        backend.client.cache_dir = args.cache or Path(tmp)
        out: dict[str, Any] = {"model": s.llm_model, "endpoint": url, "sets": {}}
        t0 = time.perf_counter()
        for name in args.sets:
            try:
                out["sets"][name] = run_set(DATASETS / name, deps, llm_deps, args.cases).report()
            except CertreviewError as exc:
                out["sets"][name] = {"error": exc.message}
            print(name, json.dumps(out["sets"][name], ensure_ascii=False), flush=True)
        out["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    del server


if __name__ == "__main__":
    main()
