"""The disease catalogue (knowledge_base/catalog.yaml): qualifying codes, evidence criteria,
parameters, and the clause that states each rule — loaded into the typed models of
``agent.core.criteria``, so that every key is read or rejected."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import PrivateAttr

from agent.core.criteria import (
    AnyDisease,
    CatalogError,
    CodeRule,
    DiabetesDisease,
    DialysisDisease,
    Disease,
    HypertensionDisease,
    Parameters,
    Rules,
    Strict,
    TransplantDisease,
    Treatment,
    TumourDisease,
)
from agent.core.i18n import _
from agent.core.yamldoc import parse_model, require_file

__all__ = [
    "Catalog",
    "CatalogError",
    "CodeRule",
    "DiabetesDisease",
    "DialysisDisease",
    "Disease",
    "HypertensionDisease",
    "TransplantDisease",
    "Treatment",
    "TumourDisease",
    "code_in",
    "load_catalog",
    "parse_catalog",
]


class Catalog(Strict):
    """The whole catalogue."""

    catalog_version: str
    region: str
    parameters: Parameters
    rules: Rules
    diseases: list[AnyDisease]
    _sha256: str = PrivateAttr(default="")

    @property
    def sha256(self) -> str:
        """Hash of the catalogue file (provenance of every recommendation)."""
        return self._sha256

    def disease(self, name: str | None) -> Disease | None:
        """The covered disease named ``name`` (exact name or alias, punctuation-insensitive)."""
        if not name:
            return None
        key = _norm(name)
        for d in self.diseases:
            if _norm(d.name) == key:
                return d
        for d in self.diseases:
            if any(_norm(a) == key for a in d.aliases):
                return d
        return None

    def rule_clauses(self, rule: str) -> list[str]:
        """Clause ids cited for a check (a rule the catalogue does not declare is a bug, not [])."""
        return list(getattr(self.rules, rule).clause_ids)

    def all_clause_ids(self) -> list[tuple[str, str]]:
        """(where, clause_id) for every clause the catalogue names."""
        out = [(f"parameters.{k}", getattr(self.parameters, k).clause_id) for k in Parameters.model_fields]
        out += [(f"rules.{r}", c) for r in Rules.model_fields for c in getattr(self.rules, r).clause_ids]
        for d in self.diseases:
            out += [(f"diseases[{d.name}].{k}", getattr(d, k).clause_id) for k in ("icd10", "evidence", "treatment")]
        return out


def _norm(s: str) -> str:
    return re.sub(r"[\s（）()、，,]", "", s)


def code_in(code: str, patterns: list[str]) -> bool:
    """Whether a WHO code (``C34.1``) falls in any of ``patterns`` (``C00-C97``, ``N18.5``, ``Z94``)."""
    code = code.upper()
    cat = code[:3]
    for p in patterns:
        p = p.upper()
        if "-" in p:
            lo, hi = p.split("-")
            if lo[:3] <= cat <= hi[:3]:
                return True
        elif code == p or (len(p) == 3 and cat == p) or code.startswith(p + ".") or code.startswith(p):
            return True
    return False


def parse_catalog(raw: bytes, path: str) -> Catalog:
    """The typed catalogue from the file's bytes; ``CatalogError`` names every bad key."""
    shape = _("the file is not a YAML mapping of catalog_version, region, parameters, …")
    return parse_model(raw, path, Catalog, shape=shape)


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Catalog:
    return parse_catalog(Path(path).read_bytes(), path)


def load_catalog(path: Path) -> Catalog:
    """Load (and cache, until the file changes) the catalogue."""
    require_file(
        path,
        _("catalogue not found: {path}", path=path),
        _("Set CERTREVIEW_CATALOG_PATH or restore knowledge_base/catalog.yaml."),
    )
    return _load(str(path), path.stat().st_mtime)
