"""End to end with a real local model served by xllamacpp (slow; skipped without a model file,
which `make local-model` or `scripts/fetch_local_model.py qwen-0.5b` fetches)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agent.core.config import PROJECT_ROOT, Settings
from agent.llm.backend import OpenAIBackend
from agent.records.case import load_case
from agent.review.recommend import review_case
from tests.conftest import DEV

MODELS = [PROJECT_ROOT / "models" / n for n in ("qwen-0.5b.gguf", "qwen-1.5b.gguf")]
MODEL = next((m for m in MODELS if m.exists()), None)


@pytest.mark.slow
@pytest.mark.skipif(MODEL is None, reason="no local model (scripts/fetch_local_model.py qwen-0.5b)")
def test_real_local_model_reviews_a_dev_case_end_to_end(deps: Any, tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")
    from agent.llm.local import start_server

    assert MODEL is not None
    server, url = start_server(MODEL, threads=2, ctx=8192)
    try:
        s = Settings(
            home=deps.settings.home,
            backend="openai",
            llm_base_url=url,
            llm_model=MODEL.stem,
            llm_timeout_s=180,
            llm_total_timeout_s=400,
            llm_max_retries=1,
        )
        d = replace(deps, settings=s)
        d = replace(d, backend=OpenAIBackend(d))
        d.backend.client.cache_dir = tmp_path / "cache"
        case = load_case(DEV / "DEV-T09")
        form = d.backend.draft(case, d)
        off = review_case(case, deps)
        # force the model to read the records too: every field it returns must be grounded
        flags: list[str] = []
        got = d.backend.extract_fields(case, off.form, ["primary_diagnosis", "icd10", "treatment_modalities"], flags)
        texts = {doc.name: doc.text for doc in case.documents}
        for f in got.values():
            for e in f.evidence:
                assert texts[e.document][e.start : e.end] == e.quote
        rec = d.backend.review(case, d)
        assert d.backend.client.calls >= 2 and "LLM_FALLBACK" not in rec.flags
        assert (rec.decision, rec.reason_codes) == (off.decision, off.reason_codes)
        assert rec.rationale and form.provenance.model == MODEL.stem
    finally:
        del server
