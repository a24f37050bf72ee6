"""A local OpenAI-compatible server for a GGUF model, on 127.0.0.1, with the prebuilt xllamacpp
wheel (llama.cpp's server; no compiler needed)."""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

from agent.core.errors import CertreviewError
from agent.core.i18n import _


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    model: Path, *, port: int = 0, threads: int | None = None, ctx: int = 8192, parallel: int = 1
) -> tuple[Any, str]:
    """Start llama.cpp's server in-process; returns (server, base_url ending in /v1)."""
    if not model.is_file():
        raise CertreviewError(
            _("model file not found: {model}", model=model), _("Run `make local-model` or pass a .gguf file.")
        )
    try:
        import xllamacpp as xlc
    except ImportError:
        raise CertreviewError(
            _("the local server needs xllamacpp"), _("pip install 'certreview[local]' (prebuilt wheel).")
        ) from None
    port = port or free_port()
    params = xlc.CommonParams()
    params.model.path = str(model)
    params.hostnames = ["127.0.0.1"]  # never listen beyond this machine
    params.port = port
    params.n_ctx = ctx
    params.n_parallel = parallel
    params.cpuparams.n_threads = threads or max(1, os.cpu_count() or 1)
    params.cpuparams_batch.n_threads = threads or max(1, os.cpu_count() or 1)
    params.warmup = False
    server = xlc.Server(params)
    base = f"http://127.0.0.1:{port}"
    _wait_ready(base)
    return server, base + "/v1"


def _wait_ready(base: str, timeout_s: float = 300.0) -> None:
    """Wait for the model to load (GET /health answers 200)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise CertreviewError(
        _("local model server at {base} did not become ready in {seconds} s", base=base, seconds=f"{timeout_s:.0f}")
    )
