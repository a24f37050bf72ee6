"""One reliable structured call to an OpenAI-compatible endpoint (langchain-openai ChatOpenAI):
tenacity retries on timeouts, connection errors, 429 (Retry-After honoured) and 5xx, with
exponential backoff, jitter and a total time bound; one re-ask on a schema error; answers cached
on disk by (prompt id@version, model, hash of the masked input)."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agent.core.config import Settings
from agent.core.errors import LLMError

T = TypeVar("T", bound=BaseModel)
MAX_RETRY_AFTER_S = 30.0


def _retryable(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _retry_after(exc: BaseException) -> float | None:
    """Seconds a 429 asks us to wait (Retry-After / retry-after-ms headers)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except (TypeError, ValueError):
        return None
    return None


class LLMClient:
    """Structured calls with retries, a re-ask, a disk cache and usage counters (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        from langchain_openai import ChatOpenAI

        self.settings = settings
        self.model_name = settings.llm_model
        # the client's own retries are off so they do not stack with tenacity's
        self.chat = ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.resolved_llm_base_url(),
            api_key=settings.resolved_llm_api_key() or "not-needed",  # type: ignore[arg-type]
            timeout=settings.llm_timeout_s,
            max_retries=0,
            temperature=0,
            max_tokens=settings.llm_max_tokens,  # type: ignore[call-arg]  # bounds a small model looping in a grammar
        )
        self.cache_dir = settings.cache_dir / "llm"
        self._lock = threading.Lock()
        self.calls = 0
        self.tokens = 0
        self.cache_hits = 0

    # ------------------------------------------------------------ cache
    def _key(self, prompt_id: str, version: str, system: str, user: str, schema: type[BaseModel]) -> str:
        h = hashlib.sha256()
        for part in (
            prompt_id,
            version,
            self.model_name,
            self.settings.llm_structured_method,
            schema.__name__,
            system,
            user,
        ):
            h.update(part.encode("utf-8") + b"\x1f")
        return h.hexdigest()

    def _cache_get(self, key: str) -> dict[str, Any] | None:
        p = self.cache_dir / key[:2] / f"{key}.json"
        if p.exists():
            try:
                data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
                return data
            except ValueError:
                return None
        return None

    def _cache_put(self, key: str, data: dict[str, Any]) -> None:
        p = self.cache_dir / key[:2] / f"{key}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(p)

    # ------------------------------------------------------------ calls
    def _invoke(self, runnable: Any, messages: list[Any]) -> Any:
        """Invoke with retries; raise LLMError when they are exhausted."""
        deadline = time.monotonic() + self.settings.llm_total_timeout_s
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._lock:
                    self.calls += 1
                return runnable.invoke(messages)
            except Exception as exc:
                if _schema_error(exc):
                    raise _SchemaError(exc) from None
                if not _retryable(exc) or attempt > self.settings.llm_max_retries:
                    raise LLMError(f"model request failed: {type(exc).__name__}") from None
                wait = _retry_after(exc)
                if wait is None:
                    wait = min(8.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)  # backoff with jitter
                wait = min(wait, MAX_RETRY_AFTER_S)
                if time.monotonic() + wait > deadline:
                    raise LLMError("model request failed: total time bound reached") from None
                time.sleep(wait)

    def structured(self, schema: type[T], system: str, user: str, *, prompt_id: str, version: str) -> T:
        """A validated ``schema`` instance for (system, user), from cache when seen before."""
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        key = self._key(prompt_id, version, system, user, schema)
        cached = self._cache_get(key)
        if cached is not None:
            with self._lock:
                self.cache_hits += 1
            return schema.model_validate(cached)
        runnable = self.chat.with_structured_output(
            schema, method=self.settings.llm_structured_method, include_raw=True
        )
        messages: list[Any] = [SystemMessage(system), HumanMessage(user)]
        for ask in range(2):  # one re-ask on a schema error
            try:
                out = self._invoke(runnable, messages)
            except _SchemaError as exc:  # the endpoint's answer failed to parse inside the client
                out = {"raw": None, "parsed": None, "parsing_error": exc.error}
            raw = out.get("raw")
            usage = getattr(raw, "usage_metadata", None) or {}
            with self._lock:
                self.tokens += int(usage.get("total_tokens", 0) or 0)
            parsed = out.get("parsed")
            error = out.get("parsing_error")
            if parsed is not None and error is None:
                result = parsed if isinstance(parsed, schema) else schema.model_validate(parsed)
                self._cache_put(key, result.model_dump(mode="json"))
                return result
            if ask == 0:
                content = getattr(raw, "content", "") if raw is not None else ""
                messages = [
                    *messages,
                    AIMessage(str(content)[:4000]),
                    HumanMessage(
                        "上一次的输出不符合要求的 JSON 结构（" + _short_error(error) + "）。请只输出符合结构的 JSON。"
                    ),
                ]
        raise LLMError("model answer did not match the schema after one re-ask")


class _SchemaError(Exception):
    """The answer arrived but did not parse into the schema."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(type(error).__name__)
        self.error = error


def _schema_error(exc: BaseException) -> bool:
    from langchain_core.exceptions import OutputParserException

    return isinstance(exc, (ValidationError, OutputParserException, json.JSONDecodeError))


def _short_error(error: Any) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:3])
    return type(error).__name__ if error is not None else "empty answer"
