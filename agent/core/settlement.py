"""The settlement parameters (knowledge_base/settlement.yaml, CLAIMS.md §4): 乙类先行自付, the
deductible per scheme and year, the ratios per scheme, the cross-province reduction, the annual
limits and the monthly quotas — each with the clause that states it, loaded into typed models so
that every key is read or rejected (an unknown or missing key stops the load, named), beside the
catalogue and the item table."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, PrivateAttr

from agent.core.criteria import CatalogError, Strict
from agent.core.i18n import _
from agent.core.yamldoc import parse_model, require_file

SETTLEMENT_FILE = "settlement.yaml"
SchemeName = Literal["职工医保", "居民医保"]


def _decimal(v: object) -> Decimal:
    """A decimal written as a string or an integer (a float would carry binary noise)."""
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise ValueError(_('must be a decimal written as a string, e.g. "0.80" or "200"'))
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        raise ValueError(_("not a decimal: {value}", value=repr(str(v)[:20]))) from None
    if not d.is_finite() or d < 0:
        raise ValueError(_("must be a finite decimal ≥ 0"))
    return d


def _ratio(v: object) -> Decimal:
    d = _decimal(v)
    if d > 1:
        raise ValueError(_("a ratio is a fraction between 0 and 1"))
    return d


def _yuan(v: object) -> Decimal:
    d = _decimal(v)
    if d != d.quantize(Decimal("0.01")):
        raise ValueError(_("has more than 2 decimals"))
    return d


Ratio = Annotated[Decimal, BeforeValidator(_ratio)]
Yuan = Annotated[Decimal, BeforeValidator(_yuan)]


class RatioParam(Strict):
    """One ratio and its clause."""

    value: Ratio
    clause_id: str


class SchemeRatios(Strict):
    """A ratio per scheme and its clause."""

    value: dict[SchemeName, Ratio] = Field(min_length=2)
    clause_id: str


class Deductible(Strict):
    """起付标准 per scheme, with the years whose standard differs."""

    value: dict[SchemeName, Yuan] = Field(min_length=2)
    by_year: dict[int, dict[SchemeName, Yuan]] = Field(default_factory=dict)
    clause_id: str


class Limits(Strict):
    """A fund limit per disease (a year's or a month's) and its clause."""

    value: dict[str, Yuan]
    clause_id: str


class SettlementParameters(Strict):
    """The parameters of CLAIMS.md §4."""

    category_b_self_pay_ratio: RatioParam = Field(description="乙类先行自付, per item.")
    deductible: Deductible
    ratio: SchemeRatios
    cross_province_reduction: RatioParam
    annual_limits: Limits
    monthly_quotas: Limits


class SettlementClauses(Strict):
    """Clauses every settlement cites beside its parameters'."""

    eligibility: str
    item_scope: str
    category: str
    rounding: str


class Settlement(Strict):
    """The whole file."""

    settlement_version: str
    clauses: SettlementClauses
    parameters: SettlementParameters
    _sha256: str = PrivateAttr(default="")

    @property
    def sha256(self) -> str:
        """sha256 of the file it was read from (part of each stored settlement's inputs hash)."""
        return self._sha256

    def deductible_for(self, scheme: str, year: int) -> Decimal:
        """The deductible of ``scheme`` in ``year`` (the year's own standard when one is given)."""
        d = self.parameters.deductible
        return d.by_year.get(year, {}).get(scheme, d.value[scheme])  # type: ignore[index,call-overload]

    def all_clause_ids(self) -> list[tuple[str, str]]:
        """(where, clause_id) for every clause the file names (``kb check`` resolves them)."""
        out = [(f"clauses.{k}", getattr(self.clauses, k)) for k in SettlementClauses.model_fields]
        out += [(f"parameters.{k}", getattr(self.parameters, k).clause_id) for k in SettlementParameters.model_fields]
        return out


def _invalid(path: str, problems: list[str]) -> CatalogError:
    """The error of a settlement file whose keys are wrong, each one named."""
    return CatalogError(
        path,
        problems,
        _(
            "Correct the key named in the settlement parameters: every key is read, so an unknown or misspelt one "
            "is an error, not a default. `certreview kb check` lists every problem."
        ),
        message=_("settlement parameters {path} are invalid: {problems}", path=path, problems="; ".join(problems)),
    )


def parse_settlement(raw: bytes, path: str) -> Settlement:
    """The typed parameters from the file's bytes; ``CatalogError`` names every bad key."""
    shape = _("the file must be a mapping of settlement_version, clauses, parameters")
    return parse_model(raw, path, Settlement, shape=shape, invalid=_invalid)


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Settlement:
    return parse_settlement(Path(path).read_bytes(), path)


def settlement_path(catalog_path: Path) -> Path:
    """The parameters live beside the catalogue, so one knowledge-base folder holds the policy."""
    return catalog_path.parent / SETTLEMENT_FILE


def load_settlement(path: Path) -> Settlement:
    """Load (and cache, until the file changes) the settlement parameters."""
    require_file(
        path,
        _("settlement parameters not found: {path}", path=path),
        _("Restore knowledge_base/settlement.yaml beside the catalogue (CERTREVIEW_CATALOG_PATH's folder)."),
    )
    return _load(str(path), path.stat().st_mtime)
