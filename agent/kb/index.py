"""One knowledge-base build on disk: a chromadb collection (dense) and a bm25s index (sparse)
over the same clauses, searched alone or fused by reciprocal rank fusion."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from agent.core.errors import KBError
from agent.core.i18n import _
from agent.core.models import Clause, SearchHit

COLLECTION = "clauses"
RRF_K = 60
Mode = Literal["hybrid", "bm25", "dense"]


def chroma_client(path: Path) -> Any:
    """A persistent chromadb client with telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    )


def index_text(c: Clause) -> str:
    """What gets indexed for a clause: its document title, chapter and text."""
    return "\n".join(x for x in (c.title, c.chapter or "", c.text) if x)


def _metadata(c: Clause) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "doc_id": c.doc_id,
        "title": c.title,
        "article": c.article,
        "chapter": c.chapter or "",
        "page": c.page or 0,
        "topics": ",".join(c.topics),
    }
    for t in c.topics:
        meta[f"t_{t}"] = True
    return meta


def build_index(
    folder: Path,
    clauses: Sequence[Clause],
    embedder: Any,
    reuse: dict[str, list[float]],
    progress: Callable[[int], None] | None = None,
    batch: int = 32,
) -> int:
    """Write chroma + BM25 + clauses.jsonl under ``folder``; returns how many clauses were embedded.

    ``reuse`` maps clause_id to an embedding from the previous build for clauses whose text did not
    change, so a refresh embeds only new or changed clauses.
    """
    folder.mkdir(parents=True, exist_ok=True)
    client = chroma_client(folder / "chroma")
    col = client.get_or_create_collection(COLLECTION, embedding_function=embedder, metadata={"hnsw:space": "cosine"})
    embedded = fill_collection(col, clauses, embedder, reuse, progress, batch)
    save_bm25(folder / "bm25", clauses)
    with (folder / "clauses.jsonl").open("w", encoding="utf-8") as fh:
        for c in clauses:
            fh.write(c.model_dump_json() + "\n")
    return embedded


def fill_collection(
    col: Any,
    clauses: Sequence[Clause],
    embedder: Any,
    reuse: dict[str, list[float]],
    progress: Callable[[int], None] | None = None,
    batch: int = 32,
    extra: Callable[[int, Clause], dict[str, Any]] | None = None,
) -> int:
    """Add ``clauses`` to a chromadb collection (local or on a server), embedding only those not in
    ``reuse``; ``extra(position, clause)`` adds metadata. Returns how many were embedded."""
    embedded = 0
    for i in range(0, len(clauses), batch):
        part = list(clauses[i : i + batch])
        todo = [c for c in part if c.clause_id not in reuse]
        fresh = embedder([index_text(c) for c in todo]) if todo else []
        vec = dict(zip([c.clause_id for c in todo], fresh, strict=True))
        embeddings = [np.asarray(vec.get(c.clause_id, reuse.get(c.clause_id)), dtype=np.float32) for c in part]
        col.add(
            ids=[c.clause_id for c in part],
            embeddings=embeddings,
            documents=[c.text for c in part],
            metadatas=[_metadata(c) | (extra(i + k, c) if extra else {}) for k, c in enumerate(part)],
        )
        embedded += len(todo)
        if progress:
            progress(len(part))
    return embedded


def save_bm25(folder: Path, clauses: Sequence[Clause]) -> None:
    """The BM25 side index of ``clauses`` (jieba tokens of title, chapter and text) into ``folder``."""
    import bm25s

    from agent.kb.tokenize import tokenize

    retriever = bm25s.BM25()
    retriever.index([tokenize(index_text(c)) or [""] for c in clauses], show_progress=False)
    retriever.save(str(folder))


class KBIndex:
    """A built knowledge base opened for search and clause lookup."""

    def __init__(
        self,
        folder: Path,
        make_embedder: Callable[[], Any],
        clauses: list[Clause] | None = None,
        collection: Any = None,
    ) -> None:
        """A local build's ``folder``; or, for a server's collection, its ``clauses`` and
        ``collection`` with ``folder`` the local cache of its BM25 side index."""
        self.folder = folder
        self._make_embedder = make_embedder
        self.clauses: list[Clause] = (
            clauses
            if clauses is not None
            else [
                Clause.model_validate_json(ln)
                for ln in (folder / "clauses.jsonl").read_text(encoding="utf-8").splitlines()
                if ln.strip()
            ]
        )
        self.by_id: dict[str, Clause] = {c.clause_id: c for c in self.clauses}
        self._pos = {c.clause_id: i for i, c in enumerate(self.clauses)}
        self._bm25: Any = None
        self._col: Any = collection

    def damaged(self, index: str, exc: BaseException) -> KBError:
        """The error for an index file that cannot be read: which build, which index, and the repair.
        Only the exception's type is named: its text can quote the file's bytes."""
        problem = _("the {index} index is corrupt: {error}", index=index, error=type(exc).__name__)
        return KBError(
            _("the knowledge base build {name} is damaged: {problems}", name=self.folder.name, problems=problem),
            _("Run `certreview kb refresh`: it rebuilds a damaged knowledge base."),
        )

    def bm25_index(self) -> Any:
        """The BM25 side index (loaded on first use: clause lookups need none)."""
        if self._bm25 is None:
            import bm25s

            try:
                self._bm25 = bm25s.BM25.load(str(self.folder / "bm25"))
            except Exception as exc:  # numpy, orjson and OSError all surface from a damaged file
                raise self.damaged("BM25", exc) from None
        return self._bm25

    def collection(self) -> Any:
        """The chromadb collection (opened lazily: clause lookups need no vectors)."""
        if self._col is None:
            try:
                client = chroma_client(self.folder / "chroma")
                self._col = client.get_collection(COLLECTION, embedding_function=self._make_embedder())
            except Exception as exc:  # chromadb raises its own and sqlite errors on a damaged database
                raise self.damaged("chroma", exc) from None
        return self._col

    def embeddings(self, ids: list[str]) -> dict[str, list[float]]:
        """Stored embeddings by clause id (to reuse them in the next build)."""
        if not ids:
            return {}
        got = self.collection().get(ids=ids, include=["embeddings"])
        return {i: list(map(float, e)) for i, e in zip(got["ids"], got["embeddings"], strict=True)}

    def _bm25_ranking(self, query: str, pool: int, topic: str | None) -> list[str]:
        from agent.kb.tokenize import tokenize

        tokens = [t for t in tokenize(query) if t in self.bm25_index().vocab_dict]
        if not tokens:
            return []
        try:
            scores = np.asarray(self.bm25_index().get_scores(tokens))
        except Exception as exc:  # arrays that load but do not fit together (a file of another build)
            raise self.damaged("BM25", exc) from None
        if len(scores) != len(self.clauses):
            raise self.damaged("BM25", IndexError())
        order = np.argsort(-scores)
        out: list[str] = []
        for i in order:
            if scores[i] <= 0 or len(out) >= pool:
                break
            c = self.clauses[int(i)]
            if topic is None or topic in c.topics:
                out.append(c.clause_id)
        return out

    def _dense_ranking(self, query: str, pool: int, topic: str | None) -> list[str]:
        col = self.collection()
        n = min(pool, len(self.clauses))
        if n == 0:
            return []
        where = {f"t_{topic}": True} if topic else None
        try:  # a topic filter that matches nothing gives no ids; an exception is a damaged index
            res = col.query(query_texts=[query], n_results=n, where=where, include=[])
        except Exception as exc:
            raise self.damaged("chroma", exc) from None
        return [cid for cid in res["ids"][0] if cid in self.by_id]

    def search(self, query: str, *, k: int = 5, topic: str | None = None, mode: Mode = "hybrid") -> list[SearchHit]:
        """Top ``k`` clauses for ``query``; ``topic`` restricts to clauses tagged with it."""
        from agent.kb.expand import expand_query

        query = expand_query(query)
        pool = max(50, k * 5)
        rankings: list[list[str]] = []
        if mode in ("hybrid", "bm25"):
            rankings.append(self._bm25_ranking(query, pool, topic))
        if mode in ("hybrid", "dense"):
            rankings.append(self._dense_ranking(query, pool, topic))
        fused: dict[str, float] = {}
        for ranking in rankings:
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = 1.0 / (RRF_K + 1) * len(rankings)
        ordered = sorted(fused.items(), key=lambda kv: (-kv[1], self._pos.get(kv[0], 0)))[:k]
        hits = []
        for cid, score in ordered:
            c = self.by_id[cid]
            hits.append(
                SearchHit(
                    clause_id=c.clause_id,
                    doc_id=c.doc_id,
                    title=c.title,
                    article=c.article,
                    topics=c.topics,
                    score=round(score / best, 4),
                    text=c.text,
                    page=c.page,
                )
            )
        return hits


def write_json(path: Path, data: Any) -> None:
    """Write JSON durably: to a temporary file, fsync, then rename over the target."""
    import os

    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
