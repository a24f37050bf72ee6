"""Settings, read from the environment (prefix ``CERTREVIEW_``) with sensible defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_home() -> Path:
    """Per-user data home: ``$XDG_DATA_HOME/certreview`` or ``~/.local/share/certreview``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "certreview"


class Settings(BaseSettings):
    """Everything certreview can be configured with; every field can be set as ``CERTREVIEW_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CERTREVIEW_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="Data home for indexes, caches and logs.")
    policies_dir: Path = Field(
        default=PROJECT_ROOT / "knowledge_base" / "policies",
        description="Folder of policy documents (.md/.txt/.pdf/.docx) the knowledge base is built from.",
    )
    catalog_path: Path = Field(
        default=PROJECT_ROOT / "knowledge_base" / "catalog.yaml",
        description="Disease catalogue: qualifying codes, evidence criteria, parameters, clause ids.",
    )
    prompts_dir: Path = Field(default=PROJECT_ROOT / "prompts", description="Prompt files for LLM tasks.")
    embedder: Literal["use", "openai"] = Field(
        default="use",
        description="Dense embedder: 'use' (USE-multilingual v3 shipped in its package, offline) or 'openai'.",
    )
    embedding_model: str = Field(
        default="text-embedding-3-small", description="Embedding model name when embedder is 'openai'."
    )
    backend: Literal["offline", "openai"] = Field(
        default="offline", description="Extraction/rationale backend: 'offline' (deterministic) or 'openai'."
    )
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL (falls back to OPENAI_BASE_URL)."
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Chat model name at the endpoint.")
    llm_api_key: str | None = Field(default=None, description="API key (falls back to OPENAI_API_KEY).")
    llm_timeout_s: float = Field(default=60.0, description="Timeout of one model request, seconds.")
    llm_total_timeout_s: float = Field(default=180.0, description="Bound on all retries of one model call, seconds.")
    llm_max_retries: int = Field(default=4, description="Transport retries (timeouts, 429, 5xx) per call.")
    llm_structured_method: Literal["json_schema", "json_mode", "function_calling"] = Field(
        default="json_schema", description="How structured output is requested from the model."
    )
    llm_max_tokens: int = Field(default=1024, description="Upper bound on one answer's length (tokens).")
    llm_mask: bool = Field(default=True, description="Mask personal identifiers before any model request.")
    llm_concurrency: int = Field(default=4, description="Concurrent model calls during triage.")
    database_url: str | None = Field(
        default=None,
        description="Registry database (SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db); "
        "default: a SQLite file in the data home.",
    )

    @property
    def kb_home(self) -> Path:
        """Folder holding the knowledge-base builds and the pointer to the live one."""
        return self.home / "kb"

    @property
    def audit_log(self) -> Path:
        """Append-only audit log of recommendations."""
        return self.home / "audit.jsonl"

    @property
    def registry_url(self) -> str:
        """The registry's database: ``database_url``, else ``registry.sqlite3`` in the data home."""
        return self.database_url or f"sqlite:///{self.home / 'registry.sqlite3'}"

    @property
    def cache_dir(self) -> Path:
        """On-disk cache of model answers."""
        return self.home / "cache"

    def resolved_llm_base_url(self) -> str | None:
        """The endpoint base URL, falling back to ``OPENAI_BASE_URL``."""
        return self.llm_base_url or os.environ.get("OPENAI_BASE_URL")

    def resolved_llm_api_key(self) -> str | None:
        """The API key, falling back to ``OPENAI_API_KEY``."""
        return self.llm_api_key or os.environ.get("OPENAI_API_KEY")
