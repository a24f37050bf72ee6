"""Status events (CLAIMS.md §2, dynamic exit): death, insurance stopped and moved out end every
certification of the person that is valid on the event's date; applied in date order, each
``event_id`` once; an event for a person the registry does not know is kept and reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, or_, update

from agent.registry.certs import ImportReport, _existing, bulk_insert, mark_renewed
from agent.registry.lines import EXIT_TYPES, EventLine, read_lines
from agent.registry.store import Registry
from agent.registry.tables import Certification, Person, StatusEvent


def _exit_statement() -> Any:
    """End the person's certifications that cover the event date (an earlier exit stays)."""
    table: Any = Certification.__table__
    c = table.c
    d = bindparam("d", type_=c.valid_from.type)
    return (
        update(table)
        .where(
            and_(
                c.id_number == bindparam("p"),
                c.valid_from <= d,
                c.valid_until >= d,
                or_(c.exit_date.is_(None), c.exit_date > d),
            )
        )
        .values(exit_date=d, exit_reason=bindparam("t"), exit_event_id=bindparam("e"))
    )


def import_events(reg: Registry, path: Path) -> ImportReport:
    """Import and apply an ``events.jsonl``; returns added / unchanged / bad / unmatched."""
    good, bad = read_lines(path, EventLine)
    report = ImportReport(bad=bad)
    fresh: dict[str, EventLine] = {}
    for _, ev in good:
        if ev.event_id in fresh:
            report.unchanged += 1
            continue
        fresh[ev.event_id] = ev
    now = dt.datetime.now(dt.timezone.utc)
    with reg.write() as s, s.begin():
        seen = _existing(s, StatusEvent.event_id, list(fresh))
        new = sorted((e for k, e in fresh.items() if k not in seen), key=lambda e: (e.date, e.event_id))
        report.unchanged += len(fresh) - len(new)
        known = _existing(s, Person.id_number, sorted({e.id_number for e in new}))
        exits: list[dict[str, Any]] = [
            {"p": e.id_number, "d": e.date, "t": e.type, "e": e.event_id}
            for e in new
            if e.type in EXIT_TYPES and e.id_number in known
        ]
        if exits:
            # date order: a later event never overrides the earlier exit it follows
            s.connection().execute(_exit_statement(), exits)
            # an exit on a certification's first day makes it no successor of an earlier one
            mark_renewed(s, sorted({str(x["p"]) for x in exits}))
        rows = [
            {
                "event_id": e.event_id,
                "type": e.type,
                "id_number": e.id_number,
                "date": e.date,
                "matched": e.id_number in known,
                "imported_at": now,
            }
            for e in new
        ]
        bulk_insert(s, StatusEvent, rows)
    report.added = len(new)
    report.unmatched = [e.event_id for e in new if e.id_number not in known]
    return report
