"""Is a knowledge-base build on disk whole? Missing or corrupt chroma, BM25 or clause files, and a
manifest that does not match them, are named, so that ``kb refresh`` rebuilds instead of saying
"up to date" (and ``--force`` rebuilds instead of crashing on the damaged index)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from agent.core.i18n import _
from agent.core.models import Clause

BM25_FILES = (
    "params.index.json",
    "vocab.index.json",
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
)
SQLITE_MAGIC = b"SQLite format 3\x00"
_MANIFEST_KEYS = ("version", "content_hash", "clause_count", "files", "source")
_SOURCE = re.compile(r'"source"\s*:\s*("(?:[^"\\]|\\.)*")')


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The build's manifest, or None when it is missing or not a whole manifest."""
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or any(k not in data for k in _MANIFEST_KEYS):
        return None
    return data


def salvage_source(folder: Path) -> str | None:
    """The policy folder named in a manifest, even one cut short (``source`` is written near the top)."""
    try:
        raw = (folder / "manifest.json").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    m = _SOURCE.search(raw)
    if not m:
        return None
    try:
        value = json.loads(m.group(1))
    except ValueError:
        return None
    return value if isinstance(value, str) and value else None


def read_clauses(folder: Path) -> list[Clause] | None:
    """The build's clauses, or None when clauses.jsonl is missing or corrupt."""
    try:
        lines = (folder / "clauses.jsonl").read_text(encoding="utf-8").splitlines()
        return [Clause.model_validate_json(ln) for ln in lines if ln.strip()]
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def quick_problems(folder: Path) -> list[str]:
    """What is visibly wrong with a build, from its files alone (cheap: no index is opened)."""
    if not folder.is_dir():
        return [_("its folder {name} is missing", name=folder.name)]
    manifest = read_manifest(folder)
    if manifest is None:
        gone = not (folder / "manifest.json").exists()
        return [_("manifest.json is missing") if gone else _("manifest.json is corrupt")]
    problems = _clause_problems(folder, manifest)
    problems += _sqlite_problems(folder / "chroma" / "chroma.sqlite3")
    problems += [_("bm25/{name} is missing", name=n) for n in BM25_FILES if not (folder / "bm25" / n).is_file()]
    return problems or _bm25_file_problems(folder / "bm25")


def _bm25_file_problems(folder: Path) -> list[str]:
    """BM25 files overwritten or cut short, seen without loading the index: each array's header
    and length, the parameters parsed, the vocabulary whole (a JSON object from ``{`` to ``}``)."""
    import numpy as np

    problems = []
    for name in BM25_FILES:
        path = folder / name
        try:
            if name.endswith(".npy"):
                with path.open("rb") as fh:
                    fmt = np.lib.format
                    read = fmt.read_array_header_1_0 if fmt.read_magic(fh) == (1, 0) else fmt.read_array_header_2_0
                    shape, _order, dtype = read(fh)
                    whole = path.stat().st_size >= fh.tell() + int(np.prod(shape)) * dtype.itemsize
            elif name == "params.index.json":
                whole = isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
            else:
                raw = path.read_bytes().strip()
                whole = raw.startswith(b"{") and raw.endswith(b"}")
        except (OSError, ValueError, UnicodeDecodeError):
            whole = False
        if not whole:
            problems.append(_("bm25/{name} is corrupt", name=name))
    return problems


def _sqlite_problems(path: Path) -> list[str]:
    """A SQLite file that is missing, empty, not SQLite (overwritten) or shorter than its header
    says (truncated): read from its first 100 bytes, so every command can afford the check."""
    name = "chroma/chroma.sqlite3"
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(100)
    except FileNotFoundError:
        return [_("{name} is missing", name=name)]
    except OSError as exc:
        return [_("{name} cannot be read: {error}", name=name, error=type(exc).__name__)]
    if size == 0:
        return [_("{name} is empty", name=name)]
    if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
        return [_("{name} is not a SQLite database", name=name)]
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    # the page count in the header is valid only while its change counters agree (SQLite file format §1.3.7)
    if head[24:28] == head[92:96] and pages and size < pages * page_size:
        return [_("{name} is truncated (shorter than its header says)", name=name)]
    return []


def build_problems(folder: Path) -> list[str]:
    """Everything wrong with a build: the cheap checks, then the BM25 and chroma indexes opened
    and their clause counts compared with the manifest."""
    problems = quick_problems(folder)
    if problems:
        return problems
    manifest = read_manifest(folder) or {}
    expected = int(manifest.get("clause_count", 0))
    problems += _bm25_problems(folder, expected)
    problems += _chroma_problems(folder, expected)
    return problems


def content_hash(clauses: list[Clause]) -> str:
    """The hash of a build's clauses (ids, topics, text), as its manifest records it."""
    h = hashlib.sha256()
    for c in sorted(clauses, key=lambda c: c.clause_id):
        h.update(f"{c.clause_id}\x1f{','.join(c.topics)}\x1f{c.text}\x1e".encode())
    return h.hexdigest()


def _clause_problems(folder: Path, manifest: dict[str, Any]) -> list[str]:
    clauses = read_clauses(folder)
    if clauses is None:
        gone = not (folder / "clauses.jsonl").exists()
        return [_("clauses.jsonl is missing") if gone else _("clauses.jsonl is corrupt")]
    expected = int(manifest.get("clause_count", -1))
    if len(clauses) != expected:
        return [_("clauses.jsonl holds {n} clauses, the manifest {expected}", n=len(clauses), expected=expected)]
    listed = [c for f in manifest["files"].values() for c in f.get("clause_ids", [])]
    if sorted(listed) != sorted(c.clause_id for c in clauses) or content_hash(clauses) != manifest["content_hash"]:
        return [_("clauses.jsonl does not match the manifest")]
    return []


def _bm25_problems(folder: Path, expected: int) -> list[str]:
    import bm25s

    try:
        retriever = bm25s.BM25.load(str(folder / "bm25"))
        count = int(retriever.scores["num_docs"])
        data, indices, indptr = (retriever.scores[k] for k in ("data", "indices", "indptr"))
        # the sparse matrix fits together: one array replaced by another build's (or any) array does not
        if not (int(indptr[-1]) == len(data) == len(indices) and (len(indices) == 0 or int(indices.max()) < count)):
            raise ValueError()  # named by its type below, as any other load failure
    except Exception as exc:  # numpy and json raise many kinds on a truncated file
        return [_("the {index} index is corrupt: {error}", index="BM25", error=type(exc).__name__)]
    if count == expected:
        return []
    return [_("the {index} index holds {n} clauses, the manifest {expected}", index="BM25", n=count, expected=expected)]


def _chroma_problems(folder: Path, expected: int) -> list[str]:
    from agent.kb.index import COLLECTION, chroma_client

    try:
        col = chroma_client(folder / "chroma").get_collection(COLLECTION, embedding_function=None)
        count = int(col.count())
        if count == expected and expected:
            # a stored vector must find itself: the vector index answers, not only the table
            first = col.get(limit=1, include=["embeddings"])
            hit = col.query(query_embeddings=[first["embeddings"][0]], n_results=min(5, count), include=[])
            if first["ids"][0] not in hit["ids"][0]:
                return [_("the chroma index does not find its own vectors")]
    except Exception as exc:  # chromadb raises its own and sqlite errors on a damaged database
        return [_("the {index} index is corrupt: {error}", index="chroma", error=type(exc).__name__)]
    if count == expected:
        return []
    return [
        _("the {index} index holds {n} clauses, the manifest {expected}", index="chroma", n=count, expected=expected)
    ]
