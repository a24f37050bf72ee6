"""Errors of supervision a user can act on (``cli.py`` maps them to exit codes)."""

from __future__ import annotations

from agent.core.errors import CertreviewError, InvalidInputError


class EngineError(CertreviewError):
    """The chosen engine cannot run here (Spark without pyspark or Java, an unknown name)."""

    exit_code = 2


class ClaimsFileError(InvalidInputError):
    """The claims file cannot be supervised at all (not a file, no valid line)."""
