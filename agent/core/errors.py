"""Errors a user can act on. Only ``cli.py`` turns them into messages and exit codes. Messages and
hints are passed in already translated (``agent.core.i18n._``)."""

from __future__ import annotations

from agent.core.i18n import _


class CertreviewError(Exception):
    """An error with a message for the user, a hint on what to do, and an exit code."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class InvalidInputError(CertreviewError):
    """A case folder, record or argument that cannot be used as given."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message, hint)
        self.field = field


class DocumentError(CertreviewError):
    """One record or policy document that cannot be read (the rest goes on)."""

    exit_code = 2

    def __init__(self, path: str, reason: str, hint: str | None = None) -> None:
        super().__init__(_("{path}: {reason}", path=path, reason=reason), hint)
        self.path = path
        self.reason = reason


class KBBusyError(CertreviewError):
    """Another process holds the knowledge-base write lock."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class KBError(CertreviewError):
    """The knowledge base is missing, inconsistent or cannot be built."""

    exit_code = 3


class LLMError(CertreviewError):
    """The language-model endpoint failed after retries or answered out of schema."""

    exit_code = 4
