"""Errors of the registry a user can act on (``cli.py`` maps them to exit codes)."""

from __future__ import annotations

from agent.core.errors import CertreviewError, InvalidInputError

EXIT_REGISTRY = 7  # the registry database cannot be opened or migrated


class RegistryError(CertreviewError):
    """The registry database cannot be reached, opened or migrated."""

    exit_code = EXIT_REGISTRY


class DecisionRefusedError(InvalidInputError):
    """A sign-off that cannot be recorded as given (override without a reason, second decision)."""


class DecisionConflictError(CertreviewError):
    """Another reviewer's decision on the same case was recorded first."""

    exit_code = 2
