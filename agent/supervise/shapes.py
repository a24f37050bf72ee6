"""The rule shapes: one template of SQL per shape, filled with a rule's parameters from
knowledge_base/supervision.yaml. The SQL is written portable — the same text runs on DuckDB and
on Spark SQL (no sqlglot): integer day numbers instead of date functions, ``substr``, ``LAG``
over windows, ``GROUP BY … HAVING COUNT(DISTINCT …)``, joins and ``LEFT JOIN … IS NULL`` instead
of dialect-specific anti-joins. Each query returns one row per (claim, detail) with
``claim_id`` and ``id_number`` first; agent.supervise.flags groups rows into findings.

Tables (agent.supervise.tables): claims, items, certs, events, item_table, item_diseases."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from agent.core.supervision import (
    CitiesParams,
    ClassParams,
    EventParams,
    ExitParams,
    HospitalsParams,
    ItemFilter,
    OversupplyParams,
    RefillParams,
    Rule,
)

# the claims a certification of (person, disease) covers on the service date (CLAIMS.md §2)
COVERED = """
SELECT DISTINCT c.claim_id FROM claims c JOIN certs k
  ON k.id_number = c.id_number AND k.disease = c.disease
 AND k.valid_from <= c.service_day AND c.service_day <= k.valid_until
 AND (k.exit_day IS NULL OR c.service_day < k.exit_day)"""


def _quote(values: list[str]) -> str:
    # names are checked at load to hold no quote or backslash, so this literal means the same
    # on DuckDB and on Spark (whose literals read backslash escapes)
    return ", ".join(f"'{v}'" for v in values)


def item_filter(p: ItemFilter) -> str:
    """``AND …`` conditions on items ``i``, the item table ``t`` and claims ``c``."""
    out = ""
    if p.generics:
        out += f" AND i.generic IN ({_quote(p.generics)})"
    if p.groups:
        out += f" AND t.grp IN ({_quote(p.groups)})"
    if p.diseases:
        out += f" AND c.disease IN ({_quote(p.diseases)})"
    return out


def _not_covered(_: Rule) -> str:
    return f"""
SELECT c.claim_id, c.id_number, c.service_day, c.disease FROM claims c
LEFT JOIN ({COVERED}) v ON v.claim_id = c.claim_id
WHERE v.claim_id IS NULL"""


def _after_event(rule: Rule) -> str:
    p = rule.p
    assert isinstance(p, EventParams)
    return f"""
SELECT c.claim_id, c.id_number, c.service_day, c.disease, MIN(e.day) AS event_day, MIN(e.type) AS event_type
FROM claims c JOIN events e
  ON e.id_number = c.id_number AND e.type IN ({_quote(list(p.event_types))}) AND e.day <= c.service_day
GROUP BY c.claim_id, c.id_number, c.service_day, c.disease"""


def _after_exit(rule: Rule) -> str:
    p = rule.p
    assert isinstance(p, ExitParams)
    return f"""
SELECT c.claim_id, c.id_number, c.service_day, c.disease, MAX(k.exit_day) AS exit_day,
       MAX(k.exit_reason) AS exit_reason
FROM claims c
JOIN certs k ON k.id_number = c.id_number AND k.disease = c.disease
 AND k.valid_from <= c.service_day AND c.service_day <= k.valid_until
 AND k.exit_day IS NOT NULL AND k.exit_day <= c.service_day AND k.exit_reason IN ({_quote(list(p.exit_reasons))})
LEFT JOIN ({COVERED}) v ON v.claim_id = c.claim_id
WHERE v.claim_id IS NULL
GROUP BY c.claim_id, c.id_number, c.service_day, c.disease"""


_ITEMS = "items i JOIN claims c ON c.claim_id = i.claim_id"


def _mismatch(rule: Rule) -> str:
    p = rule.p
    assert isinstance(p, ItemFilter)
    return f"""
SELECT DISTINCT c.claim_id, c.id_number, c.service_day, c.disease, i.generic
FROM {_ITEMS} JOIN item_table t ON t.generic = i.generic
LEFT JOIN item_diseases d ON d.generic = i.generic AND d.disease = c.disease
WHERE d.generic IS NULL{item_filter(p)}"""


def _oversupply(rule: Rule) -> str:
    p = rule.p
    assert isinstance(p, OversupplyParams)
    return f"""
SELECT c.claim_id, c.id_number, c.service_day, c.disease, i.generic, MAX(i.days_supply) AS days_supply
FROM {_ITEMS} LEFT JOIN item_table t ON t.generic = i.generic
WHERE i.days_supply > {int(p.max_days)}{item_filter(p)}
GROUP BY c.claim_id, c.id_number, c.service_day, c.disease, i.generic"""


def _early_refill(rule: Rule) -> str:
    p = rule.p
    assert isinstance(p, RefillParams)
    ratio = Decimal(p.ratio).normalize()
    w = "OVER (PARTITION BY id_number, generic ORDER BY service_day, claim_id)"
    return f"""
SELECT claim_id, id_number, service_day, generic, prev_claim_id, prev_day AS prev_service_day,
       prev_ds AS prev_days_supply, service_day - prev_day AS gap_days
FROM (
  SELECT f.claim_id, f.id_number, f.service_day, f.generic,
         LAG(f.claim_id) {w} AS prev_claim_id, LAG(f.service_day) {w} AS prev_day, LAG(f.ds) {w} AS prev_ds
  FROM (
    SELECT c.claim_id, c.id_number, c.service_day, i.generic, MAX(i.days_supply) AS ds
    FROM {_ITEMS} LEFT JOIN item_table t ON t.generic = i.generic
    WHERE 1 = 1{item_filter(p)}
    GROUP BY c.claim_id, c.id_number, c.service_day, i.generic
  ) f
) w
WHERE prev_ds IS NOT NULL AND service_day - prev_day < {ratio:f} * prev_ds"""


def _multi_hospital(rule: Rule) -> str:
    p = rule.p
    assert isinstance(p, HospitalsParams)
    hv = " AND t.high_value" if p.high_value_only else ""
    span = int(p.window_days)
    fills = f"""
SELECT DISTINCT c.claim_id, c.id_number, c.service_day, c.hospital_code, i.generic
FROM {_ITEMS} JOIN item_table t ON t.generic = i.generic
WHERE 1 = 1{hv}{item_filter(p)}"""
    # a window of (window_days + 1) days starting at each fill: a range join on (person, generic),
    # since COUNT(DISTINCT) over a window frame is not portable between DuckDB and Spark
    return f"""
SELECT DISTINCT b.claim_id, b.id_number, b.service_day, b.generic, b.hospital_code
FROM (
  SELECT a.id_number, a.generic, a.service_day AS start_day
  FROM ({fills}) a JOIN ({fills}) b
    ON b.id_number = a.id_number AND b.generic = a.generic
   AND b.service_day >= a.service_day AND b.service_day <= a.service_day + {span}
  GROUP BY a.id_number, a.generic, a.service_day
  HAVING COUNT(DISTINCT b.hospital_code) >= {int(p.min_hospitals)}
) w JOIN ({fills}) b
  ON b.id_number = w.id_number AND b.generic = w.generic
 AND b.service_day >= w.start_day AND b.service_day <= w.start_day + {span}"""


def _same_day_cities(rule: Rule) -> str:
    p = rule.p
    assert isinstance(p, CitiesParams)
    city = f"substr(hospital_region, 1, {int(p.city_digits)})"
    return f"""
SELECT c.claim_id, c.id_number, c.service_day, substr(c.hospital_region, 1, {int(p.city_digits)}) AS city
FROM claims c JOIN (
  SELECT id_number, service_day FROM claims GROUP BY id_number, service_day HAVING COUNT(DISTINCT {city}) >= 2
) d ON d.id_number = c.id_number AND d.service_day = c.service_day"""


def _duplicate_class(rule: Rule) -> str:
    p = rule.p
    assert isinstance(p, ClassParams)
    pairs = f"""
SELECT DISTINCT c.claim_id, c.id_number, c.service_day, t.grp, i.generic
FROM {_ITEMS} JOIN item_table t ON t.generic = i.generic
WHERE t.grp IS NOT NULL{item_filter(p)}"""
    return f"""
SELECT g.claim_id, g.id_number, g.service_day, g.grp AS class_group, g.generic
FROM ({pairs}) g JOIN (
  SELECT claim_id, grp FROM ({pairs}) x GROUP BY claim_id, grp HAVING COUNT(DISTINCT generic) >= {int(p.min_generics)}
) h ON h.claim_id = g.claim_id AND h.grp = g.grp"""


SQL: dict[str, Callable[[Rule], str]] = {
    "not_covered": _not_covered,
    "after_event": _after_event,
    "after_exit": _after_exit,
    "item_disease_mismatch": _mismatch,
    "oversupply": _oversupply,
    "early_refill": _early_refill,
    "multi_hospital": _multi_hospital,
    "same_day_cities": _same_day_cities,
    "duplicate_class": _duplicate_class,
}


def rule_sql(rule: Rule) -> str:
    """The SQL of ``rule``: its shape's template with its parameters."""
    return SQL[rule.shape](rule)


def unless_sql(rule: Rule, view: str) -> str:
    """Rows of ``view`` (the rule's own result) whose claim no rule of ``rule.unless`` flagged."""
    conds = "".join(
        f" LEFT JOIN (SELECT DISTINCT claim_id FROM r_{u}) u{n} ON u{n}.claim_id = q.claim_id"
        for n, u in enumerate(rule.unless)
    )
    nulls = " AND ".join(f"u{n}.claim_id IS NULL" for n in range(len(rule.unless))) or "1 = 1"
    return f"SELECT q.* FROM {view} q{conds} WHERE {nulls}"
