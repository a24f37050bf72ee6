"""What the scale tests share: the queue of a triage --out folder without its run-specific fields
(timings, wall time, throughput, the knowledge base's build time), so that a merged queue can be
compared with a one-machine run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RUN_SPECIFIC = ("wall_s", "cases_per_s", "turnaround_ms", "histogram")


def canonical_results(out: Path) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """(recommendations, summary, csv) of ``out`` with every timing removed."""
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    recs = lines[:-1]
    for r in recs:
        for prov in (r["provenance"], (r.get("form") or {}).get("provenance")):
            if prov:
                prov.pop("elapsed_ms")
                # CONTENT@BUILT_AT: a rebuild of the same policies changes only the build time
                prov["kb_version"] = (prov.get("kb_version") or "").split("@")[0]
                prov["timings"] = {k: v for k, v in prov["timings"].items() if not k.endswith("_ms")}
    summary = {k: v for k, v in lines[-1]["summary"].items() if k not in RUN_SPECIFIC}
    return recs, summary, (out / "results.csv").read_text(encoding="utf-8-sig")
