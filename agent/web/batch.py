"""The batch a workbench serves: every case reviewed once at start and kept in memory with its
record text (the page highlights quotes at their offsets), re-reviewed only when its folder
changes (a file added, removed or rewritten) or a decision made here touches its person. Sign-off
goes through the registry's ``record_decision``, the function `certreview decide` calls."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.core.deps import Deps
from agent.core.errors import CertreviewError, InvalidInputError
from agent.core.i18n import _
from agent.core.models import Case, Recommendation, SignOffState
from agent.registry.certs import RegistryCertifications
from agent.registry.decisions import Recorded, SignOff, record_decision
from agent.registry.queries import current_decisions
from agent.registry.store import Registry
from agent.review.triage import QUEUE_GROUPS, case_folders, process_one, queue_group, queue_key

Signature = tuple[tuple[str, int, int], ...]
SIGNED_STATES = ("yes", "no")
PAGE_SIZE = 100  # queue rows per page: 500 rows are 170 KB of HTML a reviewer scrolls past


class DuplicateCaseError(InvalidInputError):
    """Two case folders of the batches carry the same case id: a decision could land on the wrong one."""


class StaleRecommendationError(CertreviewError):
    """The recommendation changed between the page being shown and the sign-off."""

    exit_code = 2


class UnknownCaseError(CertreviewError):
    """A case id that is not in the batches served."""

    exit_code = 2


def _untimed(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _untimed(v) for k, v in data.items() if k not in ("elapsed_ms", "timings")}
    if isinstance(data, list):
        return [_untimed(v) for v in data]
    return data


def shown_digest(rec: Recommendation) -> str:
    """sha256 of the recommendation without any timing (its form's too): the same case reviewed
    again on the same registry gives the same digest. (``recommendation_hash`` keeps the form's
    elapsed_ms, so two reviews of one case never share it.)"""
    body = json.dumps(_untimed(rec.model_dump(mode="json")), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def folder_signature(folder: Path) -> Signature:
    """(relative path, size, mtime ns) of every file under ``folder``: any edit changes it.
    Plain strings and scandir: this runs for every folder of the batch on a queue load."""
    out: list[tuple[str, int, int]] = []
    stack = [("", str(folder))]
    while stack:
        rel, d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError:
            continue
        with it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append((f"{rel}{e.name}/", e.path))
                elif e.is_file():
                    st = e.stat()
                    out.append((rel + e.name, st.st_size, st.st_mtime_ns))
    out.sort()
    return tuple(out)


@dataclass
class Entry:
    """One case as served: its folder's signature, the loaded case, the recommendation (reviewed
    as `decide` reviews: the registry's certifications for check 6, no sign-off attached)."""

    folder: Path
    signature: Signature
    rec: Recommendation
    case: Case | None
    ms: float

    @property
    def id_number(self) -> str | None:
        """The applicant's ID number, when the case could be read."""
        return self.case.info.applicant.id_number if self.case else None


@dataclass
class Filters:
    """The queue's filters; empty strings mean no filter."""

    decision: str = ""
    flag: str = ""
    disease: str = ""
    signed: str = ""

    def active(self) -> bool:
        """Whether any filter is set."""
        return any((self.decision, self.flag, self.disease, self.signed))


@dataclass
class QueueView:
    """The ranked queue after filtering, and the counts the page shows."""

    groups: list[tuple[str, str, list[Recommendation]]]  # this page's rows, by group
    shown: int  # cases that match the filters (on every page)
    total: int
    sign_offs: dict[str, SignOffState]
    options: dict[str, Counter[str]] = field(default_factory=dict)
    group_counts: dict[str, int] = field(default_factory=dict)  # matching cases per group
    page: int = 1
    pages: int = 1
    flagged: int = 0  # cases with any flag


class Batch:
    """The served cases, keyed by case id, safe to use from the server's worker threads."""

    def __init__(self, dirs: list[Path], deps: Deps, reg: Registry, *, scan_interval_s: float = 1.0) -> None:
        self.dirs = dirs
        # the queue looks for changed folders at most this often (a case page always looks at its own)
        self.scan_interval_s = scan_interval_s
        self._scanned = 0.0
        self.reg = reg
        # as `decide` reviews: the registry's certifications; sign-offs are read separately so
        # that the hash recorded is that of the recommendation `decide` would compute
        self.deps = dataclasses.replace(deps, certifications=RegistryCertifications(reg), sign_offs=None)
        self.entries: dict[str, Entry] = {}
        self._lock = threading.RLock()
        self._version = 0  # bumped on every change of ``entries``: the ranking is cached on it
        self._ranked: tuple[int, list[tuple[Recommendation, dict[str, list[str]]]]] = (-1, [])
        self._watching = False

    # ------------------------------------------------------------ reviewing
    def _review(self, folder: Path) -> Entry:
        from agent.records.case import load_case

        sig = folder_signature(folder)
        t0 = time.perf_counter()
        case: Case | None
        try:
            case = load_case(folder)
            rec = self.deps.backend.review(case, self.deps)
        except Exception:  # the error line, as triage writes it (never the record's text)
            case, rec = None, process_one(folder, self.deps)
        return Entry(folder, sig, rec, case, (time.perf_counter() - t0) * 1000)

    def folders(self) -> list[Path]:
        """Every case folder of the batches, in order."""
        return [f for d in self.dirs for f in case_folders(d)]

    def load(self, on_progress: Callable[[int, int], None] | None = None) -> None:
        """Review every case; DuplicateCaseError when two folders carry one case id."""
        folders = self.folders()
        entries: dict[str, Entry] = {}
        for i, folder in enumerate(folders, 1):
            e = self._review(folder)
            other = entries.get(e.rec.case_id)
            if other is not None:
                raise DuplicateCaseError(
                    _(
                        "case id {case_id} is in both {first} and {second}",
                        case_id=e.rec.case_id,
                        first=other.folder,
                        second=folder,
                    ),
                    _("Serve one of them, or give each case its own case_id."),
                )
            entries[e.rec.case_id] = e
            if on_progress:
                on_progress(i, len(folders))
        with self._lock:
            self.entries = entries
            self._scanned = time.monotonic()
            self._version += 1

    def watch(self, interval_s: float = 2.0) -> threading.Event:
        """Look for changed folders every ``interval_s`` in a background thread (a page load then
        never pays for the scan); set the returned event to stop."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval_s):
                self.refresh(force=True)

        self._watching = True
        threading.Thread(target=loop, daemon=True, name="batch-watch").start()
        return stop

    def refresh(self, *, force: bool = False) -> None:
        """Pick up folders added, removed or changed since the last look (only those are reviewed);
        at most once per ``scan_interval_s`` unless ``force``."""
        if not force and time.monotonic() - self._scanned < self.scan_interval_s:
            return
        folders = self.folders()
        seen = {e.folder: e for e in self.entries.values()}
        changed = [f for f in folders if f not in seen or folder_signature(f) != seen[f].signature]
        with self._lock:
            self._scanned = time.monotonic()
            if not changed and len(folders) == len(self.entries):
                return
            redone = {f: self._review(f) for f in changed}
            now = {e.folder: e for e in self.entries.values()}  # newer than ``seen`` if a sign-off ran
            fresh: dict[str, Entry] = {}
            for folder in folders:
                e = redone.get(folder) or now.get(folder) or self._review(folder)
                key = e.rec.case_id if e.rec.case_id not in fresh else f"{e.rec.case_id}@{folder.name}"
                fresh[key] = e
            self.entries = fresh
            self._version += 1

    def entry(self, case_id: str) -> Entry:
        """The case, re-reviewed first when its folder changed; UnknownCaseError if not served."""
        with self._lock:
            e = self.entries.get(case_id)
            if e is None:
                raise UnknownCaseError(
                    _("case {case_id} is not in the batches served", case_id=case_id), _("Open it from the queue.")
                )
            if folder_signature(e.folder) != e.signature:
                self.entries[case_id] = e = self._review(e.folder)
                self._version += 1
            return e

    # ------------------------------------------------------------ reading
    def sign_offs(self, case_ids: list[str] | None = None) -> dict[str, SignOffState]:
        """Each case's current decision in the registry."""
        return current_decisions(self.reg, list(self.entries) if case_ids is None else case_ids)

    def ranked(self) -> list[tuple[Recommendation, dict[str, list[str]]]]:
        """Every case in `triage`'s order with its filter values, computed once per change."""
        with self._lock:
            if self._ranked[0] != self._version:
                recs = sorted((e.rec for e in self.entries.values()), key=queue_key)
                self._ranked = (self._version, [(r, _filter_values(r)) for r in recs])
            return self._ranked[1]

    def queue(self, flt: Filters, page: int = 1) -> QueueView:
        """The queue ranked as `triage` ranks it, filtered, with counts per filter value; one page
        of ``PAGE_SIZE`` rows."""
        if not self._watching:
            self.refresh()
        ranked = self.ranked()
        signed = self.sign_offs()
        options: dict[str, Counter[str]] = {k: Counter() for k in ("decision", "flag", "disease", "signed")}
        matching: list[Recommendation] = []
        for r, values in ranked:
            values = {**values, "signed": ["yes" if r.case_id in signed else "no"]}
            for k, vs in values.items():
                options[k].update(vs)
            if _matches(values, flt):
                matching.append(r)
        pages = max(1, -(-len(matching) // PAGE_SIZE))
        page = min(max(1, page), pages)
        rows: dict[str, list[Recommendation]] = {g: [] for g, _ in QUEUE_GROUPS}
        for r in matching[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]:
            rows[queue_group(r)].append(r)
        counts = Counter(queue_group(r) for r in matching)
        groups = [(g, title, rows[g]) for g, title in QUEUE_GROUPS]
        flagged = sum(1 for r, _ in ranked if r.flags)
        return QueueView(groups, len(matching), len(ranked), signed, options, dict(counts), page, pages, flagged)

    # ------------------------------------------------------------ sign-off
    def sign(self, case_id: str, sign: SignOff, shown_sha256: str) -> Recorded:
        """Record ``sign`` through ``record_decision`` (the rules of `certreview decide`), after
        reviewing the case again as `decide` does: StaleRecommendationError when that differs from
        the recommendation shown (``shown_sha256``), so a decision always rests on what was seen."""
        with self._lock:
            e = self.entry(case_id)
            if e.case is None:
                raise InvalidInputError(
                    _("case {case_id} could not be processed; there is nothing to sign off", case_id=case_id),
                    _("Fix the case folder (the error is on the case page); the page reviews it again."),
                )
            now = self._review(e.folder)
            self.entries[case_id] = now
            self._version += 1
            if now.case is None or shown_digest(now.rec) != shown_sha256:
                raise StaleRecommendationError(
                    _(
                        "case {case_id}: the recommendation changed since the page was shown; nothing was recorded",
                        case_id=case_id,
                    ),
                    _("Read the case again below, then decide."),
                )
            recorded = record_decision(
                self.reg,
                now.case.info,
                now.rec,
                sign,
                catalog=self.deps.catalog,
                audit_log=self.deps.settings.audit_log,
            )
            self._review_person(now.id_number, case_id)
            return recorded

    def _review_person(self, id_number: str | None, decided: str) -> None:
        """Review again the person's other cases: a certification just issued is check 6's duplicate."""
        for cid, e in list(self.entries.items()):
            if cid != decided and id_number and e.id_number == id_number:
                self.entries[cid] = self._review(e.folder)
                self._version += 1


def _filter_values(r: Recommendation) -> dict[str, list[str]]:
    return {
        "decision": [r.decision or "error"],
        "flag": list(dict.fromkeys(r.flags)),
        "disease": [r.disease] if r.disease else [],
    }


def _matches(values: dict[str, list[str]], flt: Filters) -> bool:
    wanted: dict[str, Any] = dataclasses.asdict(flt)
    return all(not want or want in values[k] for k, want in wanted.items())
