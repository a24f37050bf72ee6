"""What the command groups share: exit codes, the checked settings, JSON output, the --backend
option, the dependencies a command runs on, and the mapping of user-fixable errors to a message, a
hint and an exit code. typer only at import time: everything heavy is imported inside."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from agent.core.config import Settings
    from agent.core.errors import CertreviewError

EXIT_PARTIAL = 5  # some inputs were skipped or failed; the rest was processed
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports it

BUILD_NOTE = "No knowledge base yet: building it from the shipped policies…"


def report_error(exc: CertreviewError) -> int:
    """Print ``exc`` as the user sees it (message and hint, never a traceback); its exit code."""
    from agent.report.terminal import render_error

    render_error(exc)
    return exc.exit_code


class ErrorGroup(TyperGroup):
    """Turns user-fixable errors into a message, a hint and an exit code (never a traceback)."""

    def invoke(self, ctx: Any) -> Any:  # click.Context; typer vendors its own click
        from agent.core.errors import CertreviewError

        try:
            return super().invoke(ctx)
        except CertreviewError as exc:
            ctx.exit(report_error(exc))


def run_app(app: typer.Typer) -> None:
    """Run ``app`` as the console entry point: errors become messages and exit codes."""
    from agent.core.errors import CertreviewError

    try:
        app()
    except CertreviewError as exc:
        sys.exit(report_error(exc))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)


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


def get_deps(backend: BackendChoice | None = None, *, registry: bool = False) -> Any:
    """The dependencies a command runs on: settings, knowledge base (built on first use, with a
    note), the chosen backend and, with ``registry``, the registry's certifications for check 6."""
    from agent.report.terminal import kb_progress, note
    from agent.review.deps import build_deps

    # the option goes through the same validation as CERTREVIEW_BACKEND
    settings = get_settings(**({"backend": backend.value} if backend else {}))
    with kb_progress() as progress:
        deps = build_deps(settings, progress=progress, on_build=lambda: note(BUILD_NOTE))
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
        return open_service(settings, progress, on_build=lambda: note(BUILD_NOTE))
