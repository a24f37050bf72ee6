"""Prompt files (prompts/*.md): YAML front matter (id, version, variables) and a Jinja body
with a ``## system`` and a ``## user`` part. Variables are checked when a prompt is loaded and
when it is rendered; versions go into provenance."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from agent.core.errors import CertreviewError
from agent.core.i18n import _

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", re.S)
_PARTS = re.compile(r"^##\s*(system|user)\s*$", re.M)


@dataclass(frozen=True)
class Prompt:
    """One versioned prompt."""

    id: str
    version: str
    variables: tuple[str, ...]
    system: Any  # jinja2.Template
    user: Any

    def render(self, **values: Any) -> tuple[str, str]:
        """(system, user) messages; every declared variable must be given, no other."""
        missing = set(self.variables) - set(values)
        extra = set(values) - set(self.variables)
        if missing or extra:
            raise CertreviewError(
                _(
                    "prompt {id}: missing {missing}, unexpected {extra}",
                    id=self.id,
                    missing=sorted(missing),
                    extra=sorted(extra),
                )
            )
        return self.system.render(**values).strip(), self.user.render(**values).strip()


def load_prompt(path: Path) -> Prompt:
    """Parse and check one prompt file."""
    from jinja2 import Environment, StrictUndefined, meta

    text = path.read_text(encoding="utf-8")
    m = _FRONT.match(text)
    if not m:
        raise CertreviewError(_("{path}: prompt files start with YAML front matter (---)", path=path))
    front = yaml.safe_load(m.group(1)) or {}
    for key in ("id", "version", "variables"):
        if key not in front:
            raise CertreviewError(_("{path}: front matter lacks '{key}'", path=path, key=key))
    pieces = _PARTS.split(m.group(2))
    bodies = dict(zip(pieces[1::2], pieces[2::2], strict=True))
    if set(bodies) != {"system", "user"}:
        raise CertreviewError(_("{path}: the body needs a '## system' and a '## user' part", path=path))
    env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    used = set()
    for body in bodies.values():
        used |= meta.find_undeclared_variables(env.parse(body))
    declared = set(front["variables"])
    if used != declared:
        raise CertreviewError(
            _(
                "{path}: variables declared {declared} but used {used}",
                path=path,
                declared=sorted(declared),
                used=sorted(used),
            ),
            _("Keep the front matter's variables list in step with the template."),
        )
    return Prompt(
        id=str(front["id"]),
        version=str(front["version"]),
        variables=tuple(front["variables"]),
        system=env.from_string(bodies["system"]),
        user=env.from_string(bodies["user"]),
    )


@lru_cache(maxsize=8)
def load_prompts(folder: str) -> dict[str, Prompt]:
    """Every prompt in ``folder`` by id."""
    out = {}
    for p in sorted(Path(folder).glob("*.md")):
        pr = load_prompt(p)
        out[pr.id] = pr
    return out
