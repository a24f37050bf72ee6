"""The disease catalogue (knowledge_base/catalog.yaml): qualifying codes, evidence criteria,
parameters, and the clause that states each rule."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from agent.core.errors import CertreviewError


class _M(BaseModel):
    model_config = ConfigDict(extra="allow")


class CodeRule(_M):
    """Which ICD-10 codes qualify for a disease."""

    qualifying: list[str] = Field(description="WHO codes or ranges (C00-C97, N18.5, Z94).")
    in_situ: list[str] = Field(default_factory=list, description="Codes that qualify only if include_in_situ.")
    with_kidney_failure: list[str] = Field(default_factory=list, description="Qualify with a kidney-failure diagnosis.")
    also: list[str] = Field(default_factory=list, description="Codes accepted beside a qualifying one.")
    clause_id: str


class Evidence(_M):
    """认定标准 parameters of a disease (keys differ by disease kind)."""

    clause_id: str
    findings: dict[str, list[str]] = Field(default_factory=dict)
    drugs: list[str] = Field(default_factory=list)


class Treatment(_M):
    """Covered treatments and whether the disease needs a plan (check 5)."""

    required: bool = False
    modalities: list[str] = Field(default_factory=list)
    clause_id: str


class Disease(_M):
    """One covered disease."""

    name: str
    kind: str
    national_code: str | None = None
    aliases: list[str] = Field(default_factory=list)
    icd10: CodeRule
    evidence: Evidence
    treatment: Treatment

    def clause_ids(self) -> list[str]:
        """Every clause this disease's rules cite."""
        return [self.icd10.clause_id, self.evidence.clause_id, self.treatment.clause_id]


class Catalog(_M):
    """The whole catalogue."""

    catalog_version: str
    region: str
    parameters: dict[str, Any]
    rules: dict[str, dict[str, Any]]
    diseases: list[Disease]
    sha256: str = ""

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
        """Clause ids cited for a check."""
        return list(self.rules.get(rule, {}).get("clause_ids", []))

    def all_clause_ids(self) -> list[tuple[str, str]]:
        """(where, clause_id) for every clause the catalogue names."""
        out = [(f"rules.{r}", c) for r, v in self.rules.items() for c in v.get("clause_ids", [])]
        for d in self.diseases:
            out += [(f"diseases[{d.name}].{k}", getattr(d, k).clause_id) for k in ("icd10", "evidence", "treatment")]
        return out

    def param(self, key: str, default: Any = None) -> Any:
        """A parameter value."""
        return self.parameters.get(key, default)


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


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Catalog:
    raw = Path(path).read_bytes()
    try:
        data = yaml.safe_load(raw)
        cat = Catalog.model_validate(data)
    except (yaml.YAMLError, ValueError) as exc:
        raise CertreviewError(
            f"catalogue {path} is invalid: {exc}", "Fix the YAML; see knowledge_base/catalog.yaml."
        ) from None
    cat.sha256 = hashlib.sha256(raw).hexdigest()
    return cat


def load_catalog(path: Path) -> Catalog:
    """Load (and cache, until the file changes) the catalogue."""
    if not path.exists():
        raise CertreviewError(f"catalogue not found: {path}", "Set CERTREVIEW_CATALOG_PATH or restore catalog.yaml.")
    return _load(str(path), path.stat().st_mtime)
