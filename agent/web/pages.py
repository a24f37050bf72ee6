"""The workbench's pages: the queue, a case, sign-off, renewals, a person's registry file, login.
Handlers parse, call the batch or the registry's queries, and render; the rules live there."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from agent.core.errors import CertreviewError
from agent.core.i18n import N_, _
from agent.core.models import FORM_FIELDS
from agent.registry.decisions import DECISIONS, SignOff
from agent.registry.errors import DecisionConflictError
from agent.registry.queries import renewals, show_person
from agent.report.writers import FORM_ROWS
from agent.review.triage import queue_group, skipped_records
from agent.web.app import WebConfig, render, reviewer_of
from agent.web.batch import SIGNED_STATES, Filters, StaleRecommendationError, UnknownCaseError, shown_digest
from agent.web.highlight import anchor, marked, quotes_of
from agent.web.security import CSRF_HINT, CSRF_MESSAGE, csrf_ok, csrf_token

log = logging.getLogger("certreview.web")

DECISION_CN = {"approve": "批准 approve", "reject": "不予认定 reject", "need_info": "补充材料 need_info"}
# marked here, translated where shown: the language is read on each call
NO_REVIEWER = (
    N_("No reviewer for this session: nothing was recorded"),
    N_("Start the workbench with --reviewer NAME (on 127.0.0.1), or add accounts with `certreview users add NAME`."),
)
LOGIN_FAILED = N_("Wrong reviewer name or password")


def _cfg(request: Request) -> WebConfig:
    cfg: WebConfig = request.app.state.cfg
    return cfg


def problem(request: Request, status: int, message: str, hint: str | None = None) -> HTMLResponse:
    """A page that says what went wrong and what to do (the web's form of a named error)."""
    return render(request, "problem.html.j2", status=status, message=message, hint=hint)


def refused(request: Request, status: int, message: str, hint: str) -> HTMLResponse:
    """:func:`problem` for a message and hint marked with ``N_`` (translated now)."""
    return problem(request, status, _(message), _(hint))


# ---------------------------------------------------------------- queue
def queue(request: Request) -> Response:
    """The ranked queue with its filters and counts."""
    q = request.query_params
    flt = Filters(
        decision=q.get("decision", ""), flag=q.get("flag", ""), disease=q.get("disease", ""), signed=q.get("signed", "")
    )
    if flt.decision and flt.decision not in (*DECISIONS, "error"):
        hint = _("Use approve, reject, need_info or error.")
        return problem(request, 400, _("unknown decision filter {value}", value=repr(flt.decision)), hint)
    if flt.signed and flt.signed not in SIGNED_STATES:
        hint = _("Use yes or no.")
        return problem(request, 400, _("unknown signed-off filter {value}", value=repr(flt.signed)), hint)
    raw_page = q.get("page", "1")
    if not raw_page.isdigit():
        return problem(
            request, 400, _("page {value} is not a page number", value=repr(raw_page)), _("Use the queue's page links.")
        )
    view = _cfg(request).batch.queue(flt, int(raw_page))
    keep = {k: v for k, v in dataclasses.asdict(flt).items() if v}
    links = [(p, urlencode({**keep, "page": p})) for p in range(1, view.pages + 1)]
    return render(
        request, "queue.html.j2", view=view, flt=flt, links=links, skipped=skipped_records, decision_cn=DECISION_CN
    )


# ---------------------------------------------------------------- a case
def _case_context(request: Request, case_id: str) -> dict[str, Any]:
    cfg = _cfg(request)
    e = cfg.batch.entry(case_id)
    rec = e.rec
    docs = e.case.documents if e.case else []
    texts = {d.name: d.text for d in docs}
    quotes = quotes_of(rec, texts)
    kb = cfg.batch.deps.kb
    clause_ids = dict.fromkeys(c.clause_id for ch in rec.checks for c in ch.citations)
    clause_ids.update(dict.fromkeys(c.clause_id for c in rec.citations))
    return {
        "rec": rec,
        "entry": e,
        "group": queue_group(rec),
        "fields": _fields(rec),
        "documents": [(d, marked(d.text, quotes.get(d.name, []))) for d in docs],
        "unplaced": [q for qs in quotes.values() for q in qs if not q.found],
        "clauses": {cid: kb.clause(cid) for cid in clause_ids},
        "anchor": anchor,
        "sign_off": cfg.batch.sign_offs([rec.case_id]).get(rec.case_id),
        "shown_sha256": shown_digest(rec),
        "skipped": skipped_records(rec),
        "decision_cn": DECISION_CN,
        "decisions": DECISIONS,
    }


def _fields(rec: Any) -> list[tuple[str, str, Any]]:
    """Every form field as (key, 申请表 label, field): the printed form's order, then the rest."""
    if rec.form is None:
        return []
    labels = {key: label for label, key in FORM_ROWS}
    order = [*labels, *FORM_FIELDS, *rec.form.fields]
    return [(k, labels.get(k, ""), rec.form.fields[k]) for k in dict.fromkeys(order) if k in rec.form.fields]


def case(request: Request) -> Response:
    """One case: the form with its evidence, each check, the records with the quotes marked."""
    case_id = request.path_params["case_id"]
    try:
        ctx = _case_context(request, case_id)
    except UnknownCaseError as exc:
        return problem(request, 404, exc.message, exc.hint)
    recorded = request.query_params.get("recorded")
    return render(request, "case.html.j2", recorded=recorded, error=None, form_values={}, **ctx)


async def decide(request: Request) -> Response:
    """Sign off a case with the rules of `certreview decide` (``record_decision``)."""
    case_id = request.path_params["case_id"]
    form = await request.form()
    if not csrf_ok(request, form):
        return refused(request, 403, CSRF_MESSAGE, CSRF_HINT)
    reviewer = reviewer_of(request)
    if not reviewer:
        return refused(request, 403, *NO_REVIEWER)
    decision = str(form.get("decision", ""))
    values = {k: str(form.get(k, "")) for k in ("decision", "reason", "supersede")}
    if decision not in DECISIONS:
        err = CertreviewError(_("choose approve, reject or need_info"), _("Pick one of the three decisions."))
        return await _case_with_error(request, case_id, err, 400, values)
    sign = SignOff(
        decision=decision,  # checked against DECISIONS above
        reviewer=reviewer,
        reason=str(form.get("reason", "")) or None,
        supersede=form.get("supersede") == "yes",
    )
    try:
        recorded = await run_in_threadpool(_cfg(request).batch.sign, case_id, sign, str(form.get("shown_sha256", "")))
    except UnknownCaseError as exc:
        return problem(request, 404, exc.message, exc.hint)
    except (DecisionConflictError, StaleRecommendationError) as exc:
        return await _case_with_error(request, case_id, exc, 409, values)
    except CertreviewError as exc:  # DecisionRefusedError and the other named refusals
        return await _case_with_error(request, case_id, exc, 400, values)
    return RedirectResponse(f"/case/{case_id}?recorded={recorded.decision_id}", status_code=303)


async def _case_with_error(
    request: Request, case_id: str, exc: CertreviewError, status: int, values: dict[str, str]
) -> Response:
    ctx = await run_in_threadpool(_case_context, request, case_id)
    return render(request, "case.html.j2", status=status, recorded=None, error=exc, form_values=values, **ctx)


# ---------------------------------------------------------------- the registry
def renewals_page(request: Request) -> Response:
    """Active certifications due for renewal (as `registry renewals`)."""
    raw = request.query_params.get("within", "6")
    if not raw.isdigit() or not 1 <= int(raw) <= 120:
        return problem(
            request, 400, _("within {value} is not a number of months", value=repr(raw)), _("Use 1 to 120, e.g. 6.")
        )
    day = dt.date.today()
    total, rows = renewals(_cfg(request).batch.reg, day, int(raw), 200)
    return render(request, "renewals.html.j2", total=total, rows=rows, within=int(raw), as_of=day.isoformat())


def person(request: Request) -> Response:
    """A person's registry file (what `registry show` prints); the ID number travels in the query
    string, which the access log never writes."""
    id_number = request.query_params.get("id", "").strip()
    if not id_number:
        return render(request, "person.html.j2", data=None, id_number="")
    data = show_person(_cfg(request).batch.reg, id_number, dt.date.today())
    if data is None:
        return problem(
            request,
            404,
            _("the registry holds nothing on {id_number}", id_number=id_number),
            _("Check the number; a decision shows up here."),
        )
    return render(request, "person.html.j2", data=data, id_number=id_number)


# ---------------------------------------------------------------- login
async def login(request: Request) -> Response:
    """The login page (accounts only) and its form."""
    accounts = _cfg(request).accounts
    if accounts is None:
        return RedirectResponse("/", status_code=303)
    if request.method == "GET":
        return render(request, "login.html.j2", error=None)
    form = await request.form()
    if not csrf_ok(request, form):
        return refused(request, 403, CSRF_MESSAGE, CSRF_HINT)
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    if not await run_in_threadpool(accounts.check, name, password):
        log.info("login refused")  # never the name typed: it may be a password typed in the wrong box
        return render(request, "login.html.j2", status=401, error=_(LOGIN_FAILED))
    request.session.clear()  # a fresh session (and CSRF token) per login: no fixation
    request.session["user"] = name
    csrf_token(request)
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    """Sign out (a form with the CSRF token, so a foreign page cannot sign anybody out)."""
    form = await request.form()
    if not csrf_ok(request, form):
        return refused(request, 403, CSRF_MESSAGE, CSRF_HINT)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
