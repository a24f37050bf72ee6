"""LLM backend benchmark with a real local model: field accuracy of the model's own (grounded)
extraction and of the merged form against the offline backend on the same dev cases, calls and
tokens per case, seconds per case.

    python -m eval.bench_llm --model models/qwen-1.5b.gguf --cases 10
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from agent.core.config import PROJECT_ROOT, Settings
from agent.core.errors import LLMError
from agent.llm.backend import OpenAIBackend
from agent.llm.local import start_server
from agent.records.case import load_case
from agent.review.deps import build_deps
from agent.review.draft import draft_case
from agent.review.fieldmatch import field_matches

FIELDS = ("primary_diagnosis", "icd10", "diagnosis_basis", "diagnosis_date", "treatment_modalities")
DEV = PROJECT_ROOT / "eval" / "datasets" / "dev"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--cases", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    folders = sorted(p for p in DEV.iterdir() if (p / "gold.json").exists())
    step = max(1, len(folders) // args.cases)
    folders = folders[::step][: args.cases]  # spread over diseases and outcomes
    server, url = start_server(args.model, threads=args.threads)
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            home=Path(home),
            backend="openai",
            llm_base_url=url,
            llm_model=args.model.stem,
            llm_timeout_s=180,
            llm_total_timeout_s=600,
            llm_max_retries=1,
            llm_structured_method="json_schema",
        )
        deps = build_deps(settings)
        backend = OpenAIBackend(deps)
        deps = replace(deps, backend=backend)
        ok = {
            "offline": dict.fromkeys(FIELDS, 0),
            "llm_only": dict.fromkeys(FIELDS, 0),
            "merged": dict.fromkeys(FIELDS, 0),
        }
        seconds, calls0, tokens0, fallbacks = [], 0, 0, 0
        for folder in folders:
            gold = json.loads((folder / "gold.json").read_text(encoding="utf-8"))["form"]
            case = load_case(folder)
            t0 = time.perf_counter()
            form = backend.draft(case, deps)  # merged: offline, the model filling what is missing
            off = draft_case(case, deps.catalog).form
            flags: list[str] = []
            try:
                llm_only = backend.extract_fields(case, off, list(FIELDS), flags)
            except LLMError:
                llm_only, fallbacks = {}, fallbacks + 1
            seconds.append(time.perf_counter() - t0)
            for f in FIELDS:
                ok["offline"][f] += field_matches(f, gold.get(f), off.fields[f].value)
                ok["merged"][f] += field_matches(f, gold.get(f), form.fields[f].value)
                ok["llm_only"][f] += field_matches(
                    f,
                    gold.get(f),
                    llm_only[f].value if f in llm_only else ([] if f == "treatment_modalities" else None),
                )
            print(f"{folder.name}: {seconds[-1]:.1f}s, llm fields {sorted(llm_only)}", flush=True)
        n = len(folders)
        print(
            json.dumps(
                {
                    "model": args.model.name,
                    "cases": n,
                    "field_accuracy": {k: {f: round(v / n, 2) for f, v in d.items()} for k, d in ok.items()},
                    "calls_per_case": round((backend.client.calls - calls0) / n, 2),
                    "tokens_per_case": round((backend.client.tokens - tokens0) / n, 1),
                    "seconds_per_case": round(sum(seconds) / n, 1),
                    "fallbacks": fallbacks,
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    del server


if __name__ == "__main__":
    main()
