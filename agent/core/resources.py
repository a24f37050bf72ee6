"""The data files certreview ships, found with ``importlib.resources``: every reader asks here.

Inside the ``agent`` package, in every layout: ``agent/extract/lexicon.yaml``,
``agent/kb/synonyms.yaml``, ``agent/report/templates/``.

The knowledge base and the prompts are top-level folders of the repository (``knowledge_base/``,
``prompts/``) so that policy staff find them; pyproject.toml maps them into the built wheel as
``agent/knowledge_base/`` and ``agent/prompts/``. A source tree (a checkout run from its root, or
the editable install) has them beside the package instead of inside it, so a folder is looked up
inside the package first and beside it second, there only where pyproject.toml marks a source
tree. The mapped package is never imported: in a git worktree that shares another checkout's
editable install, the import system would hand back the other checkout's folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

from agent.core.errors import CertreviewError
from agent.core.i18n import _

DataFolder = Literal["knowledge_base", "prompts"]


class ResourceMissingError(CertreviewError):
    """A data file that certreview ships is not where the installation should have put it."""

    exit_code = 3


def _on_disk(package: str) -> Path:
    """The folder of an imported package; data must be real files (chromadb, jinja read paths)."""
    root = files(package)
    if not isinstance(root, Path):  # a zip import or a namespace package spread over folders
        raise ResourceMissingError(
            _("package {package} is not installed as plain files ({kind})", package=package, kind=type(root).__name__),
            _("Install certreview from its wheel with pip (not as a zip); it reads its data files from disk."),
        )
    return root


def package_file(package: str, name: str) -> Path:
    """A file or folder shipped inside ``package`` (e.g. ``agent.extract``, ``lexicon.yaml``)."""
    path = _on_disk(package) / name
    if not path.exists():
        raise ResourceMissingError(
            _("{package} lacks its data file {name}", package=package, name=name),
            _("Reinstall certreview: the installation is incomplete."),
        )
    return path


def find_data_folder(package_root: Path, name: str) -> Path:
    """``name`` inside ``package_root`` (built wheel) or beside it in a source tree (built wheel first)."""
    inside, tree = package_root / name, package_root.parent
    if inside.is_dir():
        return inside
    # only in a source tree: a folder beside an installed package (site-packages/prompts) is someone else's
    if (tree / "pyproject.toml").is_file() and (tree / name).is_dir():
        return tree / name
    raise ResourceMissingError(
        _(
            "certreview's {name} folder is missing (not in {package}, and {tree} is no source tree with one)",
            name=name,
            package=package_root,
            tree=tree,
        ),
        _("Reinstall certreview from its wheel, or run it from the root of a complete checkout."),
    )


def data_folder(name: DataFolder) -> Path:
    """The shipped ``knowledge_base`` or ``prompts`` folder."""
    return find_data_folder(_on_disk("agent"), name)
