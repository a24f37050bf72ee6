"""The registry on a real database: SQLite in a temp data home, and PostgreSQL when
CERTREVIEW_TEST_POSTGRES_URL names a server (scripts/start_postgres.sh starts one; .ci/run does)."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from agent.core.config import Settings
from agent.registry.certs import RegistryCertifications, import_certifications, valid_until
from agent.registry.errors import RegistryError
from agent.registry.events import import_events
from agent.registry.queries import export, renewals, show_person, stats
from agent.registry.store import Registry, open_registry

PG_ENV = "CERTREVIEW_TEST_POSTGRES_URL"
D = dt.date.fromisoformat


def _postgres_db() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test on (scripts/start_postgres.sh starts one)")
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None (the embedded SQLite default in the data home) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
    else:
        yield from _postgres_db()


@pytest.fixture()
def reg_settings(db_url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings of a fresh registry (also exported for CLI runs)."""
    if db_url:
        monkeypatch.setenv("CERTREVIEW_DATABASE_URL", db_url)
    else:
        monkeypatch.delenv("CERTREVIEW_DATABASE_URL", raising=False)
    return Settings(home=tmp_path / "reghome", database_url=db_url)


@pytest.fixture()
def reg(reg_settings: Settings) -> Iterator[Registry]:
    r = open_registry(reg_settings)
    yield r
    r.close()


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """Lines as given: dicts as JSON, strings verbatim (to plant bad lines)."""
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


P1, P2, P3 = "440106196505123456", "440106197001011234", "110105198003031111"


def cert(id_number: str = P1, **over: Any) -> dict[str, Any]:
    row = {
        "certification_id": f"CERT-{id_number[-4:]}",
        "id_number": id_number,
        "name": "张某某",
        "scheme": "职工医保",
        "region_code": "440300",
        "disease": "恶性肿瘤门诊治疗",
        "icd10": "C34.1",
        "valid_from": "2025-06-03",
        "institution": "某肿瘤医院",
        "case_id": None,
    }
    return row | over


# ---------------------------------------------------------------- store
def _head() -> str:
    """The newest revision of the shipped migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from agent.registry.store import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(cfg).get_current_head())


def test_open_migrates_once_and_ships_every_table(reg: Registry, reg_settings: Settings) -> None:
    names = set(inspect(reg.engine).get_table_names())
    assert {"persons", "certifications", "decisions", "events", "audit_anchor", "locks", "alembic_version"} <= names
    with reg.read() as s:
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == _head()
    again = open_registry(reg_settings)  # a second open finds the schema current and changes nothing
    with again.read() as s:
        assert s.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    again.close()
    if reg_settings.database_url is None:
        assert (reg_settings.home / "registry.sqlite3").is_file()


def test_bad_database_urls_are_named(tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as e:
        open_registry(Settings(home=tmp_path, database_url="mysql://x@127.0.0.1/db"))
    assert e.value.message == "unsupported database 'mysql' in CERTREVIEW_DATABASE_URL"
    assert e.value.exit_code == 7 and "postgresql+psycopg://" in (e.value.hint or "")
    with pytest.raises(RegistryError) as e:
        open_registry(Settings(home=tmp_path, database_url="not a url"))
    assert e.value.message == "not a database URL: 'not a url'"
    with pytest.raises(RegistryError) as e:
        open_registry(Settings(home=tmp_path, database_url="postgresql+psycopg2://u@127.0.0.1:1/db"))
    assert e.value.message == "unsupported PostgreSQL driver 'postgresql+psycopg2'"
    with pytest.raises(RegistryError) as e:  # nothing listens on port 1 of the loopback
        open_registry(Settings(home=tmp_path, database_url="postgresql+psycopg://u:secret@127.0.0.1:1/db"))
    assert e.value.message.startswith("cannot open the registry database postgresql+psycopg://u:***@127.0.0.1:1/db: ")
    assert "secret" not in e.value.message


def test_validity_is_the_day_before_the_same_date_24_months_later() -> None:
    assert valid_until(D("2025-06-03")) == D("2027-06-02")
    assert valid_until(D("2025-01-01")) == D("2026-12-31")
    assert valid_until(D("2024-02-29")) == D("2026-02-27")  # 2026-02-29 does not exist: clipped to the 28th


# ---------------------------------------------------------------- imports
def test_import_is_idempotent_and_names_bad_lines(reg: Registry, tmp_path: Path) -> None:
    f = write_jsonl(
        tmp_path / "c.jsonl",
        [
            cert(),
            cert(P2, certification_id=None, disease="恶性肿瘤", valid_until="2026-01-31", extra="kept out"),
            "{not json",
            cert(P3, valid_from="2025-13-01"),
            cert(P3, region_code="44030"),
            "",
            ["a list"],
            cert(P3, valid_from="2025-06-03", valid_until="2025-01-01"),
            {"id_number": P3, "valid_from": "2025-01-01"},
        ],
    )
    rep = import_certifications(reg, f)
    assert (rep.added, rep.unchanged) == (2, 0)
    assert [str(b) for b in rep.bad] == [
        "line 3: not valid JSON (Expecting property name enclosed in double quotes)",
        "line 4, field 'valid_from': Input should be a valid date or datetime, "
        "month value is outside expected range of 1-12",
        "line 5, field 'region_code': Value error, must be a 6-digit administrative code",
        "line 7: not a JSON object",
        "line 8, field 'valid_until': is before valid_from",
        "line 9, field 'disease': Field required",
    ]
    again = import_certifications(reg, f)
    assert (again.added, again.unchanged) == (0, 2)
    p2 = show_person(reg, P2, D("2025-07-01"))
    assert p2 is not None
    [c2] = p2["certifications"]
    assert c2["certification_id"].startswith("CERT-") and c2["valid_until"] == "2026-01-31"
    p1 = show_person(reg, P1, D("2025-07-01"))
    assert p1 is not None and p1["certifications"][0]["valid_until"] == "2027-06-02"  # 24 months by default


def test_missing_file_and_bad_encoding_are_named(reg: Registry, tmp_path: Path) -> None:
    from agent.core.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as e:
        import_certifications(reg, tmp_path / "nope.jsonl")
    assert e.value.message == f"no such file: {tmp_path / 'nope.jsonl'}"
    gbk = tmp_path / "gbk.jsonl"
    gbk.write_bytes(json.dumps(cert(), ensure_ascii=False).encode("gbk"))
    with pytest.raises(InvalidInputError) as e:
        import_certifications(reg, gbk)
    assert e.value.message == f"{gbk}: not UTF-8 text"


# ---------------------------------------------------------------- events
def test_events_end_certifications_in_date_order_once(reg: Registry, tmp_path: Path) -> None:
    import_certifications(
        reg,
        write_jsonl(
            tmp_path / "c.jsonl",
            [
                cert(),
                cert(certification_id="CERT-OLD", valid_from="2022-01-01"),  # expired before the events
                cert(P2),
                cert(P3, certification_id="CERT-P3", valid_from="2025-06-03"),
            ],
        ),
    )
    f = write_jsonl(
        tmp_path / "e.jsonl",
        [
            {"event_id": "EV-3", "type": "death", "id_number": P1, "date": "2026-03-01"},
            {"event_id": "EV-1", "type": "insurance_stopped", "id_number": P1, "date": "2026-01-15"},
            {"event_id": "EV-2", "type": "insurance_resumed", "id_number": P2, "date": "2025-12-01"},
            {"event_id": "EV-9", "type": "moved_out", "id_number": "999999199001011234", "date": "2026-01-01"},
            {"event_id": "EV-X", "type": "married", "id_number": P1, "date": "2026-01-01"},
            {"event_id": "EV-1", "type": "death", "id_number": P1, "date": "2025-07-01"},
        ],
    )
    rep = import_events(reg, f)
    assert (rep.added, rep.unchanged, rep.unmatched) == (4, 1, ["EV-9"])
    assert [str(b) for b in rep.bad] == [
        "line 5, field 'type': Input should be 'death', 'insurance_stopped', 'moved_out' or 'insurance_resumed'"
    ]
    p1 = show_person(reg, P1, D("2026-06-01"))
    assert p1 is not None
    by_id = {c["certification_id"]: c for c in p1["certifications"]}
    # the earlier event ended it; the later death found nothing valid left to end
    assert (by_id["CERT-3456"]["status"], by_id["CERT-3456"]["exit_reason"]) == ("exited", "insurance_stopped")
    assert by_id["CERT-3456"]["exit_date"] == "2026-01-15"
    assert (by_id["CERT-OLD"]["status"], by_id["CERT-OLD"]["exit_reason"]) == ("expired", None)
    assert [e["event_id"] for e in p1["events"]] == ["EV-1", "EV-3"]
    before = show_person(reg, P1, D("2026-01-14"))
    assert before is not None and before["certifications"][1]["status"] == "active"  # covers days before exit_date
    p2 = show_person(reg, P2, D("2026-06-01"))
    assert p2 is not None and p2["certifications"][0]["status"] == "active"  # insurance_resumed ends nothing
    # a later feed with an earlier death: applied as if in date order, the exit moves back
    f2 = write_jsonl(
        tmp_path / "e2.jsonl", [{"event_id": "EV-0", "type": "death", "id_number": P1, "date": "2025-12-01"}]
    )
    import_events(reg, f2)
    p1 = show_person(reg, P1, D("2026-06-01"))
    assert p1 is not None
    c = next(c for c in p1["certifications"] if c["certification_id"] == "CERT-3456")
    assert (c["exit_reason"], c["exit_date"], c["exit_event_id"]) == ("death", "2025-12-01", "EV-0")
    assert import_events(reg, f).added == 0  # the same feed again changes nothing
    src = RegistryCertifications(reg)
    assert src.active_for(P1, "恶性肿瘤门诊治疗", D("2025-11-30"))
    assert src.active_for(P1, "恶性肿瘤门诊治疗", D("2025-12-01")) == []


# ---------------------------------------------------------------- renewals, exports, stats
def test_renewals_oldest_first_and_not_once_renewed(reg: Registry, tmp_path: Path) -> None:
    import_certifications(
        reg,
        write_jsonl(
            tmp_path / "c.jsonl",
            [
                cert(P1, certification_id="A", valid_from="2024-09-01"),  # until 2026-08-31
                cert(P2, certification_id="B", valid_from="2024-08-01"),  # until 2026-07-31
                cert(P3, certification_id="C", valid_from="2025-06-03"),  # until 2027-06-02: outside 6 months
                cert(P3, certification_id="D", valid_from="2024-07-01", disease="尿毒症透析"),  # renewed by E
                cert(P3, certification_id="E", valid_from="2026-06-01", disease="尿毒症透析"),
            ],
        ),
    )
    total, rows = renewals(reg, D("2026-03-01"), 6)
    assert total == 2 and [r["certification_id"] for r in rows] == ["B", "A"]
    assert rows[0]["days_left"] == (D("2026-07-31") - D("2026-03-01")).days
    total, rows = renewals(reg, D("2026-03-01"), 6, limit=1)
    assert total == 2 and len(rows) == 1
    assert renewals(reg, D("2026-03-01"), 2)[0] == 0
    # a renewal imported later takes A off the list; a successor revoked on its first day does not count
    import_certifications(
        reg, write_jsonl(tmp_path / "r.jsonl", [cert(P1, certification_id="A2", valid_from="2026-08-01")])
    )
    assert [r["certification_id"] for r in renewals(reg, D("2026-03-01"), 6)[1]] == ["B"]
    import_events(
        reg,
        write_jsonl(tmp_path / "e.jsonl", [{"event_id": "X", "type": "death", "id_number": P1, "date": "2026-08-01"}]),
    )
    assert [r["certification_id"] for r in renewals(reg, D("2026-03-01"), 6)[1]] == ["B", "A"]


def test_exports_2503_csv_and_jsonl_round_trip(reg: Registry, tmp_path: Path, reg_settings: Settings) -> None:
    from agent.core.catalog import load_catalog

    catalog = load_catalog(reg_settings.catalog_path)
    import_certifications(
        reg,
        write_jsonl(
            tmp_path / "c.jsonl",
            [cert(), cert(P2, scheme="居民医保", valid_from="2020-01-01", certification_id="OLD")],
        ),
    )
    filing = [json.loads(x) for x in "".join(export(reg, "2503", D("2026-01-01"), catalog)).splitlines()]
    assert filing == [
        {
            "psn_no": P1,
            "insutype": "310",
            "opsp_dise_code": "M00500",
            "opsp_dise_name": "恶性肿瘤门诊治疗",
            "insu_optins": "440300",
            "ide_fixmedins_no": None,
            "ide_fixmedins_name": "某肿瘤医院",
            "hosp_ide_date": "2025-06-03",
            "diag_dr_codg": None,
            "diag_dr_name": None,
            "begndate": "2025-06-03",
            "enddate": "2027-06-02",
        }
    ]
    csv_text = "".join(export(reg, "csv", D("2026-01-01"), catalog)).splitlines()
    assert csv_text[0].endswith("status,exit_date,exit_reason") and len(csv_text) == 3
    assert any(line.startswith("OLD,") and ",expired,," in line for line in csv_text)
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(export(reg, "jsonl", D("2026-01-01"), catalog)), encoding="utf-8")
    rep = import_certifications(reg, dump)
    assert (rep.added, rep.unchanged, rep.bad) == (0, 2, [])
    s = stats(reg, D("2026-01-01"))
    assert s["persons"] == 2 and s["certifications"] == {
        "total": 2,
        "active": 1,
        "expired": 1,
        "exited": 0,
        "pending": 0,
        "exited_by_reason": {},
    }
