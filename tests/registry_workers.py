"""Worker processes of the registry's concurrency tests (a module of its own: a spawned process
imports its target by name). Each opens the shared registry itself, as a machine would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _registry(home: str, url: str) -> Any:
    from agent.core.config import Settings
    from agent.registry.store import open_registry

    return open_registry(Settings(home=Path(home), database_url=url))


def decide_all(home: str, url: str, reviewer: str, cases: list[tuple[str, str]], start: Any, out: Any) -> None:
    """Decide every case (info JSON, recommendation JSON) as ``reviewer``, after ``start``; put
    (reviewer, case id, "won" or the named error's class and message) on ``out`` for each."""
    from agent.core.errors import CertreviewError
    from agent.core.models import CaseInfo, Recommendation
    from agent.registry.decisions import SignOff, record_decision

    reg = _registry(home, url)
    start.wait()
    for info_json, rec_json in cases:
        info, rec = CaseInfo.model_validate_json(info_json), Recommendation.model_validate_json(rec_json)
        try:
            record_decision(reg, info, rec, SignOff(decision=rec.decision or "need_info", reviewer=reviewer))
            out.put((reviewer, info.case_id, "won", ""))
        except CertreviewError as exc:
            out.put((reviewer, info.case_id, type(exc).__name__, exc.message))
    reg.close()


def import_file(home: str, url: str, path: str, start: Any, out: Any) -> None:
    """Import a certifications.jsonl after ``start``; put (path, added, unchanged, bad) on ``out``."""
    from agent.registry.certs import import_certifications

    reg = _registry(home, url)
    start.wait()
    rep = import_certifications(reg, Path(path))
    out.put((path, rep.added, rep.unchanged, json.dumps([str(b) for b in rep.bad])))
    reg.close()
