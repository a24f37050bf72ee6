"""The item table of the reference 门特 scope (knowledge_base/items.yaml): what each drug or
service is — its class group, the diseases it serves, its modality, whether it is high-value —
loaded into typed models so that every key is read or rejected, and flattened into one lookup
by generic name. Settlement, supervision and the extractor's drug lexicon read this one list."""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import Field, PrivateAttr

from agent.core.criteria import Modality, Strict
from agent.core.i18n import _
from agent.core.yamldoc import parse_model, require_file

HIGH_VALUE_MARK = "★"
ITEMS_FILE = "items.yaml"


class Section(Strict):
    """One section of the table: its items share a modality and the diseases they serve."""

    name: str
    modality: Modality | None = Field(description="The section's treatment modality; null for adjuvant drugs.")
    diseases: list[str] = Field(min_length=1, description="Disease codes (keys of ItemTable.diseases).")
    groups: dict[str, list[str]] = Field(default_factory=dict, description="class group -> generics")
    ungrouped: list[str] = Field(default_factory=list, description="Items with no class group (services).")


class Item(Strict):
    """One generic drug or service as the rules use it."""

    generic: str
    group: str | None
    diseases: frozenset[str]  # full catalogue disease names
    modality: Modality | None
    high_value: bool
    section: str


class ItemTable(Strict):
    """The whole table; ``items`` is the lookup by generic name."""

    table_version: str
    clause_id: str = Field(description="The clause of the policy that states the table.")
    diseases: dict[str, str] = Field(min_length=1, description="code -> catalogue disease name")
    sections: list[Section] = Field(min_length=1)
    _sha256: str = PrivateAttr(default="")

    @property
    def sha256(self) -> str:
        """sha256 of the file it was read from (results name the table version they used)."""
        return self._sha256

    @cached_property
    def items(self) -> dict[str, Item]:
        """Every item by generic name."""
        out: dict[str, Item] = {}
        for sec in self.sections:
            names = {code: self.diseases[code] for code in sec.diseases}
            pairs = [(g, n) for g, ns in sec.groups.items() for n in ns] + [(None, n) for n in sec.ungrouped]
            for group, raw in pairs:
                generic = raw.rstrip(HIGH_VALUE_MARK).strip()
                out[generic] = Item(
                    generic=generic,
                    group=group,
                    diseases=frozenset(names.values()),
                    modality=sec.modality,
                    high_value=raw.endswith(HIGH_VALUE_MARK),
                    section=sec.name,
                )
        return out

    def get(self, generic: str) -> Item | None:
        """The item of a generic name (exact, after trimming spaces), or None when not in the table."""
        return self.items.get(generic.strip())


def _problems(table: ItemTable) -> list[str]:
    """Cross-key problems pydantic cannot see: unknown disease codes, an item listed twice."""
    problems, seen = [], set()
    for i, sec in enumerate(table.sections):
        for code in sec.diseases:
            if code not in table.diseases:
                problems.append(f"sections[{i}].diseases: unknown disease code {code!r}")
        for raw in [n for ns in sec.groups.values() for n in ns] + sec.ungrouped:
            generic = raw.rstrip(HIGH_VALUE_MARK).strip()
            if generic in seen:
                problems.append(f"sections[{i}]: {generic} is listed twice")
            seen.add(generic)
    return problems


def parse_items(raw: bytes, path: str) -> ItemTable:
    """Parse the item table; every problem is named by its key (``CatalogError``)."""
    return parse_model(raw, path, ItemTable, shape=_("the file must be a mapping of keys"), check=_problems)


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> ItemTable:
    return parse_items(Path(path).read_bytes(), path)


def items_path(catalog_path: Path) -> Path:
    """The item table lives beside the catalogue, so one knowledge-base folder holds both."""
    return catalog_path.parent / ITEMS_FILE


def load_items(path: Path) -> ItemTable:
    """Load (and cache, until the file changes) the item table."""
    require_file(
        path,
        _("item table not found: {path}", path=path),
        _("Restore knowledge_base/items.yaml beside the catalogue (CERTREVIEW_CATALOG_PATH's folder)."),
    )
    return _load(str(path), path.stat().st_mtime)
