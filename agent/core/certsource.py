"""The read-only view of certifications that check 6 (duplicate) and the renewal window consult
beside ``case.json``'s ``existing_certifications``. The registry implements it; review only sees
this protocol (through ``Deps``), so it never imports the registry."""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from agent.core.models import ExistingCertification, SignOffState


@runtime_checkable
class CertificationSource(Protocol):
    """Certifications a person holds, as recorded outside the case folder."""

    def active_for(
        self, id_number: str, disease: str, on_date: dt.date, *, case_id: str | None = None
    ) -> list[ExistingCertification]:
        """Certifications of ``id_number`` for ``disease`` that cover ``on_date`` (started on or
        before it, not yet expired, not ended early by an exit event), except the one issued on
        ``case_id`` itself (a case reviewed again is not its own duplicate)."""
        ...


@runtime_checkable
class SignOffSource(Protocol):
    """Reviewers' decisions recorded outside the case folder (the registry)."""

    def current_decision(self, case_id: str) -> SignOffState | None:
        """The case's current (not superseded) decision, or None before sign-off."""
        ...
