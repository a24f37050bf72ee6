"""One claim settled by CLAIMS.md §4, in decimal arithmetic rounded half-up to the cent: the
eligibility, each item's scope (就医地目录), 乙类先行自付, the deductible, the ratio (参保地政策),
the fund and its limit, the self-pay. Pure: the coverage and the accumulators are passed in, so
the same code settles one file, a resettled year and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from agent.claims.lines import ClaimLine
from agent.core.items import ItemTable
from agent.core.settlement import Settlement

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DEDUCTIBLE = "起付标准"  # the accumulator bucket of the deductible (all diseases together)

# reason codes (CLAIMS.md §4); an item's reason is one of these or a category note
NOT_CERTIFIED = "NOT_CERTIFIED"
HOSPITAL_NOT_DESIGNATED = "HOSPITAL_NOT_DESIGNATED"
ITEM_NOT_FOR_DISEASE = "ITEM_NOT_FOR_DISEASE"
ITEM_UNKNOWN = "ITEM_UNKNOWN"
FILING_MISSING_REDUCED = "FILING_MISSING_REDUCED"
LIMIT_REACHED = "LIMIT_REACHED"
CATEGORY_B_SELF_PAY = "CATEGORY_B_SELF_PAY"  # item: 乙, 先行自付 taken
CATEGORY_C = "CATEGORY_C"  # item: 丙, self-paid
NOT_PAYABLE = "NOT_PAYABLE"  # item of a claim the fund does not pay at all


def round_cent(x: Decimal) -> Decimal:
    """Half-up to 0.01 (第十条)."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def money(x: Decimal) -> str:
    """A yuan amount as the output writes it: two decimals."""
    return str(x.quantize(CENT))


@dataclass
class Accumulators:
    """Used amounts per (id_number, period, bucket): period ``2025`` (year) or ``2025-03``
    (month); bucket the deductible or a disease's fund. ``touched`` names what changed."""

    used: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)
    touched: set[tuple[str, str, str]] = field(default_factory=set)

    def get(self, key: tuple[str, str, str]) -> Decimal:
        """The amount used so far (0 when nothing yet)."""
        return self.used.get(key, ZERO)

    def add(self, key: tuple[str, str, str], amount: Decimal) -> None:
        """Add ``amount`` to ``key`` (a zero changes nothing)."""
        if amount:
            self.used[key] = self.get(key) + amount
            self.touched.add(key)


@dataclass
class _Scope:
    in_scope: Decimal = ZERO
    category_self_pay: Decimal = ZERO
    excluded: Decimal = ZERO
    codes: set[str] = field(default_factory=set)
    items: list[dict[str, Any]] = field(default_factory=list)


def _items_scope(claim: ClaimLine, disease: str, table: ItemTable, b_ratio: Decimal) -> _Scope:
    """§4.2 per item: not in the table or not for the disease, 丙 self-paid; 甲 in scope; 乙 less
    round(amount × ratio), item by item."""
    sc = _Scope()
    for it in claim.items:
        entry = table.get(it.generic)
        reason: str | None = None
        part = ZERO
        if entry is None:
            reason = ITEM_UNKNOWN
        elif disease not in entry.diseases:
            reason = ITEM_NOT_FOR_DISEASE
        elif it.category == "丙":
            reason = CATEGORY_C
        elif it.category == "乙":
            own = round_cent(it.amount * b_ratio)
            sc.category_self_pay += own
            part = it.amount - own
            reason = CATEGORY_B_SELF_PAY if own else None
        else:
            part = it.amount
        if reason in (ITEM_UNKNOWN, ITEM_NOT_FOR_DISEASE, CATEGORY_C):
            sc.excluded += it.amount
            if reason != CATEGORY_C:
                sc.codes.add(reason)
        sc.in_scope += part
        sc.items.append({"generic": it.generic, "in_scope": money(part), "reason": reason})
    return sc


def _limit_key(claim: ClaimLine, disease: str, policy: Settlement) -> tuple[tuple[str, str, str], Decimal] | None:
    """The fund limit this claim counts against: the month's quota or the year's limit."""
    p = policy.parameters
    day = claim.service_date
    if disease in p.monthly_quotas.value:
        return (claim.id_number, f"{day.year}-{day.month:02d}", disease), p.monthly_quotas.value[disease]
    if disease in p.annual_limits.value:
        return (claim.id_number, str(day.year), disease), p.annual_limits.value[disease]
    return None


def _clauses(*ids: str | None) -> list[str]:
    """Distinct clause ids in the order of the policy (第二条 before 第十条)."""
    return sorted({c for c in ids if c}, key=_article)


_CN = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


@lru_cache(maxsize=256)
def _article(cid: str) -> int:
    """第十一条 -> 11 (clause ids sort by article number)."""
    num = cid.split("第")[-1].rstrip("条")
    if num.startswith("十"):
        return 10 + _CN.get(num[1:], 0)
    if "十" in num:
        tens, _, ones = num.partition("十")
        return _CN.get(tens, 0) * 10 + _CN.get(ones, 0)
    return _CN.get(num, 0)


def not_payable(claim: ClaimLine, codes: list[str], policy: Settlement) -> dict[str, Any]:
    """§4.1: nothing payable — in scope 0, no deductible, ratio null, everything self-paid."""
    total = claim.total
    items = [{"generic": it.generic, "in_scope": money(ZERO), "reason": NOT_PAYABLE} for it in claim.items]
    return _result(claim, total, ZERO, ZERO, total, ZERO, None, ZERO, codes, [policy.clauses.eligibility], items)


def _result(
    claim: ClaimLine,
    total: Decimal,
    in_scope: Decimal,
    b_self: Decimal,
    excluded: Decimal,
    deductible: Decimal,
    ratio: Decimal | None,
    fund: Decimal,
    codes: list[str],
    clause_ids: list[str],
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "claim_id": claim.claim_id,
        "payable": fund > 0,
        "total": money(total),
        "in_scope": money(in_scope),
        "category_self_pay": money(b_self),
        "excluded": money(excluded),
        "deductible": money(deductible),
        "ratio": None if ratio is None else str(ratio),
        "fund": money(fund),
        "self_pay": money(total - fund),
        "reason_codes": codes,
        "clause_ids": clause_ids,
        "items": items,
    }


CODE_ORDER = (
    NOT_CERTIFIED,
    HOSPITAL_NOT_DESIGNATED,
    ITEM_UNKNOWN,
    ITEM_NOT_FOR_DISEASE,
    FILING_MISSING_REDUCED,
    LIMIT_REACHED,
)


def settle_claim(
    claim: ClaimLine, disease: str, covered: bool, policy: Settlement, table: ItemTable, acc: Accumulators
) -> dict[str, Any]:
    """Settle one claim (CLAIMS.md §4), taking its deductible and limit from ``acc``; ``disease``
    is the claim's disease by the catalogue's name, ``covered`` whether a certification covers
    the service date."""
    codes = [
        c for c, bad in ((NOT_CERTIFIED, not covered), (HOSPITAL_NOT_DESIGNATED, not claim.hospital.designated)) if bad
    ]
    if codes:
        return not_payable(claim, codes, policy)
    p = policy.parameters
    sc = _items_scope(claim, disease, table, p.category_b_self_pay_ratio.value)
    year = claim.service_date.year
    ded_key = (claim.id_number, str(year), DEDUCTIBLE)
    left = max(policy.deductible_for(claim.scheme, year) - acc.get(ded_key), ZERO)
    deductible = min(left, sc.in_scope)
    acc.add(ded_key, deductible)
    ratio = p.ratio.value[claim.scheme]
    filing = claim.cross_region_filing
    reduced = claim.cross_province and not (filing is not None and filing.covers(claim.service_date))
    if reduced:
        ratio = max(ratio - p.cross_province_reduction.value, ZERO)
        sc.codes.add(FILING_MISSING_REDUCED)
    fund = round_cent((sc.in_scope - deductible) * ratio)
    limit = _limit_key(claim, disease, policy)
    limit_clause = None
    if limit is not None:
        key, cap = limit
        limit_clause = p.monthly_quotas.clause_id if key[1].count("-") else p.annual_limits.clause_id
        remaining = max(cap - acc.get(key), ZERO)
        if fund > remaining:
            fund = remaining
            sc.codes.add(LIMIT_REACHED)
        acc.add(key, fund)
    clause_ids = _clauses(
        policy.clauses.item_scope if sc.excluded else None,
        policy.clauses.category,
        p.deductible.clause_id,
        p.ratio.clause_id,
        p.cross_province_reduction.clause_id if reduced else None,
        limit_clause,
        policy.clauses.rounding,
    )
    codes = [c for c in CODE_ORDER if c in sc.codes]
    return _result(
        claim,
        claim.total,
        sc.in_scope,
        sc.category_self_pay,
        sc.excluded,
        deductible,
        ratio,
        fund,
        codes,
        clause_ids,
        sc.items,
    )
