"""Sign-off: a reviewer's decision recorded beside the AI recommendation it was shown (its
decision and a provenance hash); an approve issues the certification. One current decision per
case is the database's guarantee (a partial unique index), not a check in this code."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from agent.core.catalog import Catalog
from agent.core.i18n import _
from agent.core.models import CaseInfo, Decision, Recommendation
from agent.registry.certs import (
    VALIDITY_MONTHS,
    canonical_disease,
    catalog_months,
    current_decision_row,
    mark_renewed,
    valid_until,
)
from agent.registry.errors import DecisionConflictError, DecisionRefusedError, RegistryError
from agent.registry.store import Registry
from agent.registry.tables import Certification, Person, ReviewDecision

DECISIONS: tuple[Decision, ...] = ("approve", "reject", "need_info")


class _Lost(Exception):
    """Another reviewer took the case's current slot first."""


_TIMINGS = ("elapsed_ms", "timings")


def _untimed(data: Any) -> Any:
    """``data`` without timings at any depth (the form's provenance has its own elapsed_ms)."""
    if isinstance(data, dict):
        return {k: _untimed(v) for k, v in data.items() if k not in _TIMINGS}
    if isinstance(data, list):
        return [_untimed(v) for v in data]
    return data


def recommendation_hash(rec: Recommendation) -> str:
    """sha256 of the recommendation as shown, without its timings at any depth (they differ run to
    run): the same case reviewed again on the same registry gives the same hash."""
    body = json.dumps(_untimed(rec.model_dump(mode="json")), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class SignOff:
    """What the reviewer decides on one case."""

    decision: Decision
    reviewer: str
    reason: str | None = None
    supersede: bool = False


@dataclass
class Recorded:
    """The decision as stored, and the certification it issued (if any)."""

    decision_id: int
    case_id: str
    decision: str
    reviewer: str
    reason: str | None
    recommendation_decision: str | None
    recommendation_sha256: str
    override: bool
    superseded: int | None
    certification_id: str | None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.__dict__.items()}


def _describe(d: ReviewDecision) -> str:
    when = d.created_at.strftime("%Y-%m-%d %H:%M") if d.created_at else "?"
    return _(
        "{decision} by {reviewer} at {when} (decision #{id})",
        decision=d.decision,
        reviewer=d.reviewer,
        when=when,
        id=d.id,
    )


def _validate(rec: Recommendation, sign: SignOff) -> None:
    if sign.decision not in DECISIONS:
        raise DecisionRefusedError(
            _("unknown decision {decision}", decision=repr(sign.decision)), _("Use --approve, --reject or --need-info.")
        )
    if not sign.reviewer.strip():
        raise DecisionRefusedError(_("no reviewer given"), _("Pass --reviewer ID (your reviewer id)."))
    reason = (sign.reason or "").strip()
    if sign.decision != rec.decision and not reason:
        raise DecisionRefusedError(
            _(
                "case {case}: the decision {decision} differs from the recommendation {recommended}; "
                "an override needs a reason",
                case=rec.case_id,
                decision=sign.decision,
                recommended=rec.decision,
            ),
            _('Pass --reason "…" saying why the recommendation is overridden.'),
        )
    if sign.supersede and not reason:
        raise DecisionRefusedError(
            _("case {case}: superseding a decision needs a reason", case=rec.case_id),
            _('Pass --supersede --reason "…" saying why the earlier decision is replaced.'),
        )


def _retire(s: Any, old: ReviewDecision) -> None:
    """Take ``old`` out of the current slot (pointing at itself until its successor exists);
    zero rows means another reviewer superseded it first."""
    done = s.execute(
        update(ReviewDecision)
        .where(ReviewDecision.id == old.id, ReviewDecision.superseded_by.is_(None))
        .values(superseded_by=old.id)
    )
    if done.rowcount != 1:
        raise _Lost
    # the certification the old approve issued no longer stands: it covers no day at all
    s.execute(
        update(Certification)
        .where(Certification.decision_id == old.id, Certification.exit_date.is_(None))
        .values(exit_date=Certification.valid_from, exit_reason="superseded")
    )
    if old.id_number:
        mark_renewed(s, [old.id_number])


def _issue(s: Any, info: CaseInfo, rec: Recommendation, d: ReviewDecision, months: int) -> Certification:
    ins = info.applicant.insurance
    person = s.get(Person, info.applicant.id_number)
    if person is None:
        s.add(
            Person(
                id_number=info.applicant.id_number,
                name=info.applicant.name,
                scheme=ins.scheme,
                region_code=ins.region_code,
            )
        )
    else:  # the case is the newest word on who the person is
        person.name, person.scheme, person.region_code = info.applicant.name, ins.scheme, ins.region_code
    taken = set(s.scalars(select(Certification.certification_id).where(Certification.case_id == info.case_id)))
    cid, n = f"CERT-{info.case_id}", 1
    while cid in taken:
        n += 1
        cid = f"CERT-{info.case_id}-{n}"
    start = info.application_date
    icd = rec.form.fields.get("icd10") if rec.form else None
    cert = Certification(
        certification_id=cid,
        id_number=info.applicant.id_number,
        disease=d.disease or "",
        icd10=str(icd.value) if icd is not None and icd.value else None,
        valid_from=start,
        valid_until=valid_until(start, months),
        institution=info.hospital.name,
        case_id=info.case_id,
        reviewer=d.reviewer,
        decision_id=d.id,
    )
    s.add(cert)
    s.flush()
    mark_renewed(s, [cert.id_number])
    return cert


def _winner(reg: Registry, case_id: str) -> str:
    with reg.read() as s:
        cur = current_decision_row(s, case_id)
        return _describe(cur) if cur else "another reviewer's decision"


def _write(
    s: Any, info: CaseInfo, rec: Recommendation, sign: SignOff, disease: str | None, digest: str, months: int
) -> Recorded:
    """Inside the write transaction: retire the current decision (when superseding), add this one,
    issue the certification of an approve."""
    old = current_decision_row(s, info.case_id)
    if old is not None and not sign.supersede:
        raise DecisionRefusedError(
            _("case {case} is already decided: {decision}", case=info.case_id, decision=_describe(old)),
            _('Pass --supersede --reason "…" to replace that decision.'),
        )
    if old is not None:
        _retire(s, old)
    d = ReviewDecision(
        case_id=info.case_id,
        id_number=info.applicant.id_number,
        disease=disease,
        decision=sign.decision,
        reviewer=sign.reviewer.strip(),
        reason=(sign.reason or "").strip() or None,
        recommendation_decision=rec.decision,
        recommendation_sha256=digest,
    )
    s.add(d)
    s.flush()  # the unique index on the current decision is checked here
    if old is not None:
        old.superseded_by = d.id
    cert = _issue(s, info, rec, d, months) if sign.decision == "approve" else None
    s.flush()
    return Recorded(
        decision_id=d.id,
        case_id=d.case_id,
        decision=d.decision,
        reviewer=d.reviewer,
        reason=d.reason,
        recommendation_decision=rec.decision,
        recommendation_sha256=digest,
        override=sign.decision != rec.decision,
        superseded=old.id if old else None,
        certification_id=cert.certification_id if cert else None,
        valid_from=cert.valid_from if cert else None,
        valid_until=cert.valid_until if cert else None,
    )


def record_decision(
    reg: Registry,
    info: CaseInfo,
    rec: Recommendation,
    sign: SignOff,
    *,
    catalog: Catalog | None = None,
    audit_log: Path | None = None,
) -> Recorded:
    """Record ``sign`` on the case ``rec`` recommends; an approve issues its certification.
    Nothing is written when the sign-off is refused or loses a race."""
    _validate(rec, sign)
    disease = rec.disease or canonical_disease(catalog, info.requested_disease)
    if sign.decision == "approve" and not disease:
        raise DecisionRefusedError(
            _("case {case}: no disease to certify", case=info.case_id), _("Check requested_disease in case.json.")
        )
    months = catalog_months(catalog, "validity_months", VALIDITY_MONTHS)
    try:
        with reg.write() as s, s.begin():
            out = _write(s, info, rec, sign, disease, recommendation_hash(rec), months)
            if audit_log is not None:  # in the transaction: a decision the chain lacks is never committed
                _audit(audit_log, rec, out)
    except (IntegrityError, _Lost):
        raise DecisionConflictError(
            _(
                "case {case}: another decision was recorded at the same moment: {winner}",
                case=info.case_id,
                winner=_winner(reg, info.case_id),
            ),
            _(
                "Nothing of yours was written. Run `certreview registry show` for the person, then decide again "
                "with --supersede --reason if that decision must be replaced."
            ),
        ) from None
    except OperationalError as exc:
        raise RegistryError(
            _("the registry database failed while recording: {error}", error=type(exc.orig).__name__)
        ) from None
    return out


def _audit(log: Path, rec: Recommendation, out: Recorded) -> None:
    from agent.registry import audit

    # the entry carries the human decision; its result digest is that of the recommendation shown
    entry = rec.model_copy(update={"decision": out.decision})
    audit.append(log, [entry], actor=f"reviewer:{out.reviewer}")
