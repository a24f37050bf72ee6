"""The knowledge base's YAML files (catalogue, item table, settlement parameters, supervision
rules) read one way: bytes parsed as YAML, validated into a strict pydantic model, every problem
named by its key, the file's sha256 kept so results can name the version they used."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from agent.core.criteria import CatalogError, problems_of
from agent.core.i18n import _

M = TypeVar("M", bound=BaseModel)
Invalid = Callable[[str, list[str]], CatalogError]


def parse_model(
    raw: bytes,
    path: str,
    model: type[M],
    *,
    shape: str,
    invalid: Invalid = CatalogError,
    check: Callable[[M], list[str]] | None = None,
) -> M:
    """``raw`` validated as ``model``; ``invalid(path, problems)`` is raised naming each problem
    (``shape`` says what the file must be when it is not a mapping; ``check`` adds the cross-key
    problems pydantic cannot see)."""
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise invalid(path, [_("not valid YAML: {error}", error=str(exc).splitlines()[0])]) from None
    if not isinstance(data, dict):
        raise invalid(path, [shape])
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        raise invalid(path, problems_of(exc, data)) from None
    if check is not None and (problems := check(obj)):
        raise invalid(path, problems)
    obj._sha256 = hashlib.sha256(raw).hexdigest()  # type: ignore[attr-defined]  # a PrivateAttr of each model
    return obj


def require_file(path: Path, message: str, hint: str) -> None:
    """``CatalogError`` (``message``, ``hint``) when the knowledge-base file ``path`` is missing."""
    if not path.exists():
        raise CatalogError(str(path), [_("file not found")], hint, message=message)
