"""Settings, read from the environment (prefix ``CERTREVIEW_``) with sensible defaults, and
checked once at start (``load_settings``): a bad value is a ConfigError naming the variable and
what it takes, never a traceback and never a silent default."""

from __future__ import annotations

import difflib
import os
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.core.errors import CertreviewError
from agent.core.i18n import DEFAULT_LANG, N_, _, validation_message
from agent.core.resources import data_folder

# The source tree's root, for tests and the dev tools in eval/ only: product code finds its data
# through agent.core.resources, which also works from an installed wheel.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_home() -> Path:
    """Per-user data home: ``$XDG_DATA_HOME/certreview`` or ``~/.local/share/certreview``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "certreview"


class Settings(BaseSettings):
    """Everything certreview can be configured with; every field can be set as ``CERTREVIEW_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CERTREVIEW_", extra="ignore")

    home: Path = Field(default_factory=default_home, description=N_("Data home for indexes, caches and logs."))
    policies_dir: Path = Field(
        default_factory=lambda: data_folder("knowledge_base") / "policies",
        description=N_("Folder of policy documents (.md/.txt/.pdf/.docx) the knowledge base is built from."),
    )
    catalog_path: Path = Field(
        default_factory=lambda: data_folder("knowledge_base") / "catalog.yaml",
        description=N_("Disease catalogue: qualifying codes, evidence criteria, parameters, clause ids."),
    )
    prompts_dir: Path = Field(
        default_factory=lambda: data_folder("prompts"), description=N_("Prompt files for LLM tasks.")
    )
    embedder: Literal["use", "openai"] = Field(
        default="use",
        description=N_("Dense embedder: 'use' (USE-multilingual v3 shipped in its package, offline) or 'openai'."),
    )
    embedding_model: str = Field(
        default="text-embedding-3-small", description=N_("Embedding model name when embedder is 'openai'.")
    )
    backend: Literal["offline", "openai"] = Field(
        default="offline", description=N_("Extraction/rationale backend: 'offline' (deterministic) or 'openai'.")
    )
    llm_base_url: str | None = Field(
        default=None, description=N_("OpenAI-compatible base URL (falls back to OPENAI_BASE_URL).")
    )
    llm_model: str = Field(default="gpt-4o-mini", description=N_("Chat model name at the endpoint."))
    llm_api_key: str | None = Field(default=None, description=N_("API key (falls back to OPENAI_API_KEY)."))
    llm_timeout_s: float = Field(default=60.0, description=N_("Timeout of one model request, seconds."))
    llm_total_timeout_s: float = Field(
        default=180.0, description=N_("Bound on all retries of one model call, seconds.")
    )
    llm_max_retries: int = Field(default=4, description=N_("Transport retries (timeouts, 429, 5xx) per call."))
    llm_structured_method: Literal["json_schema", "json_mode", "function_calling"] = Field(
        default="json_schema", description=N_("How structured output is requested from the model.")
    )
    llm_max_tokens: int = Field(default=1024, description=N_("Upper bound on one answer's length (tokens)."))
    llm_mask: bool = Field(default=True, description=N_("Mask personal identifiers before any model request."))
    lang: Literal["zh", "en"] = Field(
        default=DEFAULT_LANG,
        description=N_("Language of messages, hints and --help: 'zh' (Chinese, the default) or 'en' (English)."),
    )
    llm_concurrency: int = Field(
        default=4, description=N_("Model calls in flight at once, per process (triage --workers N raises it to N).")
    )
    llm_token_budget: int | None = Field(
        default=None,
        description=N_(
            "Tokens one batch may spend at the endpoint; once spent, cases fall back to the offline "
            "result (LLM_FALLBACK says why). Default: no budget."
        ),
    )
    chroma_url: str | None = Field(
        default=None,
        description=N_(
            "A shared chroma server (http://host:port) for the knowledge base; default: a local index in the data home."
        ),
    )
    kb_lock_ttl_s: float = Field(
        default=120.0,
        description=N_(
            "Seconds a knowledge-base refresh's lock row lives without renewal (renewed every third "
            "of it); a holder silent for longer is taken to have died and its lock is taken over."
        ),
    )
    database_url: str | None = Field(
        default=None,
        description=N_(
            "Registry database (SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db); "
            "default: a SQLite file in the data home."
        ),
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

    # ------------------------------------------------------------ validators
    @field_validator("llm_timeout_s", "llm_total_timeout_s", "kb_lock_ttl_s")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError(_("must be more than 0 seconds"))
        return v

    @field_validator("llm_max_retries")
    @classmethod
    def _not_negative(cls, v: int) -> int:
        if v < 0:
            raise ValueError(_("must be 0 or more"))
        return v

    @field_validator("llm_max_tokens", "llm_concurrency")
    @classmethod
    def _at_least_one(cls, v: int) -> int:
        if v < 1:
            raise ValueError(_("must be 1 or more"))
        return v

    @field_validator("llm_token_budget")
    @classmethod
    def _budget(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(_("must be 1 or more tokens (unset it for no budget)"))
        return v

    @field_validator("llm_base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(_("must start with http:// or https://"))
        return v

    @field_validator("chroma_url")
    @classmethod
    def _chroma_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from urllib.parse import urlsplit

        u = urlsplit(v)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(_("must be http://host:port or https://host:port"))
        try:
            u.port  # noqa: B018  # raises on a port that is no number
        except ValueError:
            raise ValueError(_("its port must be a number")) from None
        if u.path not in ("", "/"):
            raise ValueError(_("must name only a host and port, no path"))
        return v.rstrip("/")

    def check(self) -> None:
        """What a value alone cannot say: folders that are files, an endpoint the backend needs."""
        _check_home(self.home)
        for name in ("policies_dir", "prompts_dir"):
            path: Path = getattr(self, name)
            if path.exists() and not path.is_dir():
                raise ConfigError(
                    _("{name}={path} is a file, not a folder", name=env_name(name), path=path), _hint(name)
                )
        if self.catalog_path.is_dir():
            raise ConfigError(
                _("{name}={path} is a folder, not a file", name=env_name("catalog_path"), path=self.catalog_path),
                _hint("catalog_path"),
            )
        if self.backend == "openai" and not (self.resolved_llm_base_url() or self.resolved_llm_api_key()):
            raise ConfigError(
                _("backend 'openai' has no endpoint: neither a base URL nor an API key is set"),
                _(
                    "Set CERTREVIEW_LLM_BASE_URL (e.g. http://127.0.0.1:8080/v1 from `certreview llm serve`) "
                    "or OPENAI_API_KEY; or use --backend offline."
                ),
            )


class ConfigError(CertreviewError):
    """A setting (a ``CERTREVIEW_*`` variable or a command-line option) that cannot be used."""

    exit_code = 2


def env_name(field: str) -> str:
    """The environment variable of a setting: ``backend`` -> ``CERTREVIEW_BACKEND``."""
    return "CERTREVIEW_" + field.upper()


def _hint(field: str) -> str:
    """What a setting takes: its choices when it has them, and its description."""
    info = Settings.model_fields[field]
    choices = typing.get_args(info.annotation) if typing.get_origin(info.annotation) is Literal else ()
    takes = _("{name} takes one of: {choices}. ", name=env_name(field), choices=", ".join(map(str, choices)))
    return (takes if choices else "") + (_(info.description) if info.description else "")


def _check_home(home: Path) -> None:
    """The data home is a folder, or can be created: no part of its path is a file."""
    for part in (home, *home.parents):
        if part.exists():
            if not part.is_dir():
                raise ConfigError(
                    _("data home {home} is not a folder", home=home)
                    if part == home
                    else _("data home {home} is not a folder ({part} is a file)", home=home, part=part),
                    _("Set CERTREVIEW_HOME (or XDG_DATA_HOME) to a folder; it is created when missing."),
                )
            return


def _check_unknown_env(environ: typing.Mapping[str, str]) -> None:
    """A ``CERTREVIEW_*`` variable that is no setting is a typo: say so instead of ignoring it.
    ``CERTREVIEW_TEST_*`` belongs to the test suite (e.g. the PostgreSQL server it may use)."""
    known = {env_name(f) for f in Settings.model_fields}
    for var in sorted(environ):
        name = var.upper()
        if name.startswith("CERTREVIEW_") and not name.startswith("CERTREVIEW_TEST_") and name not in known:
            close = difflib.get_close_matches(var.upper(), sorted(known), n=1)
            raise ConfigError(
                _("unknown setting {var}", var=var),
                (_("Did you mean {name}? ", name=close[0]) if close else "")
                + _("Settings: {names}", names=", ".join(sorted(known))),
            )


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with ``overrides`` (command-line options) on top, every value
    checked; raises ConfigError naming the setting, the value and what it takes."""
    _check_unknown_env(os.environ)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        e = exc.errors()[0]
        field = str(e["loc"][0]) if e["loc"] else ""
        name = f"--{field}" if field in overrides else env_name(field)
        msg = validation_message(e)
        value = repr(e.get("input"))
        raise ConfigError(
            _("{name}={value} is not valid: {reason}", name=name, value=value, reason=msg), _hint(field)
        ) from None
    settings.check()
    return settings
