"""What the command groups share: exit codes, the checked settings, JSON output, the --backend
option, the dependencies a command runs on. typer only at import time: everything heavy is imported
inside. (Errors become exit codes in ``cli.py`` alone.)"""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.core.i18n import N_, _

if TYPE_CHECKING:
    from agent.core.config import Settings

EXIT_PARTIAL = 5  # some inputs were skipped or failed; the rest was processed

BUILD_NOTE = N_("No knowledge base yet: building it from the shipped policies…")


def get_settings(**overrides: Any) -> Settings:
    """The settings, every one checked (a bad one is a ConfigError: exit 2 with a hint)."""
    from agent.core.config import load_settings

    return load_settings(**overrides)


def echo_json(data: Any) -> None:
    """``data`` as indented JSON on stdout, Chinese unescaped (dates and paths as strings)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


class BackendChoice(str, Enum):
    """The values --backend takes (typer rejects any other, exit 2)."""

    offline = "offline"
    openai = "openai"


JsonOpt = Annotated[bool, typer.Option("--json", help="Print as JSON.")]

BackendOpt = Annotated[
    BackendChoice | None,
    typer.Option(
        "--backend",
        case_sensitive=False,
        help="offline (default, deterministic) or openai (any OpenAI-compatible endpoint).",
    ),
]


def get_deps(backend: BackendChoice | None = None, *, registry: bool = False, concurrency: int = 1) -> Any:
    """The dependencies a command runs on: settings, knowledge base (built on first use, with a
    note), the chosen backend and, with ``registry``, the registry's certifications for check 6.
    ``concurrency`` > 1 (``triage --workers N``) keeps N model calls in flight unless
    CERTREVIEW_LLM_CONCURRENCY sets the limit itself."""
    from agent.report.terminal import kb_progress, note
    from agent.review.deps import build_deps

    # the option goes through the same validation as CERTREVIEW_BACKEND
    overrides: dict[str, Any] = {"backend": backend.value} if backend else {}
    settings = get_settings(**overrides)
    if concurrency > 1 and "llm_concurrency" not in settings.model_fields_set:
        settings = get_settings(**overrides, llm_concurrency=concurrency)
    with kb_progress() as progress:
        deps = build_deps(settings, progress=progress, on_build=lambda: note(_(BUILD_NOTE)), lock=kb_lock(settings))
    if settings.backend == "openai":
        from agent.llm.backend import make_backend

        deps = make_backend(deps)
    if registry:  # check 6 also reads the registry's certifications, when there is a registry
        from agent.cli.registry import attach_registry

        deps = attach_registry(deps)
    return deps


def open_kb() -> Any:
    """The knowledge base, built from the shipped policies on first use (with a note)."""
    from agent.kb.service import open_kb as open_service
    from agent.report.terminal import kb_progress, note

    settings = get_settings()  # checked before the progress bar takes the terminal
    with kb_progress() as progress:
        return open_service(settings, progress, on_build=lambda: note(_(BUILD_NOTE)), lock=kb_lock(settings))


def kb_lock(settings: Settings) -> Any:
    """Where the knowledge base's one-writer lock lives: a row of the registry database when both
    are shared (CERTREVIEW_CHROMA_URL and CERTREVIEW_DATABASE_URL), so machines sharing a chroma
    server refresh one at a time; None (a file in the data home) for a knowledge base of this
    machine's own. The registry is opened only when a refresh runs."""
    if settings.database_url is None or settings.chroma_url is None:
        return None
    from agent.registry.locks import RegistryLock
    from agent.registry.store import open_registry

    return RegistryLock(lambda: open_registry(settings), settings.kb_lock_ttl_s)
