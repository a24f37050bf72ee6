"""One reliable structured call to an OpenAI-compatible endpoint (langchain-openai ChatOpenAI).

Transport retries are tenacity's (``Retrying``): timeouts, connection errors, 429 and 5xx are
retried with exponential backoff and jitter, a 429's Retry-After is honoured, and all attempts of
one call stay within a total time bound; anything else fails at once. A schema error gets one
re-ask. Answers are cached on disk by (prompt id@version, model, method, hash of the response
model's JSON schema, masked input). Every failure is an LLMError whose message says why
(``timeout after 3 attempts``, ``schema invalid after re-ask``): it becomes the reason of the
LLM_FALLBACK flag."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay
from tenacity.wait import wait_base, wait_exponential_jitter

from agent.core.config import Settings
from agent.core.errors import LLMError
from agent.core.i18n import N_, _

T = TypeVar("T", bound=BaseModel)
MAX_RETRY_AFTER_S = 30.0
SCHEMA_INVALID = N_("schema invalid after re-ask")


@dataclass
class Usage:
    """Model calls, tokens and cache hits of one case (or of the whole process)."""

    calls: int = 0
    tokens: int = 0
    cache_hits: int = 0
    seconds: float = 0.0  # wall time of the case's model phases (set by the backend)

    def timings(self) -> dict[str, float]:
        """The counts as provenance timings."""
        return {
            "llm_calls": float(self.calls),
            "llm_tokens": float(self.tokens),
            "llm_cache_hits": float(self.cache_hits),
            "llm_ms": round(self.seconds * 1000, 2),
        }


def _retryable(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _describe(exc: BaseException | None) -> str:
    """What went wrong, in words a reviewer reads (no request or record text)."""
    import openai

    if isinstance(exc, openai.APITimeoutError):  # a subclass of APIConnectionError: first
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    if isinstance(exc, openai.RateLimitError):
        return "rate limited (HTTP 429)"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    return type(exc).__name__


def _attempts(n: int) -> str:
    return _("{n} attempt", n=n) if n == 1 else _("{n} attempts", n=n)


def _retry_after(exc: BaseException | None) -> float | None:
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


class _RetryAfterOrBackoff(wait_base):
    """The server's Retry-After when it gives one (capped), else exponential backoff with jitter."""

    def __init__(self) -> None:
        self.backoff = wait_exponential_jitter(multiplier=0.5, max=8.0, jitter=0.5)

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        asked = _retry_after(outcome.exception() if outcome is not None else None)
        return min(asked, MAX_RETRY_AFTER_S) if asked is not None else float(self.backoff(retry_state))


@lru_cache(maxsize=64)
def schema_hash(schema: type[BaseModel]) -> str:
    """Hash of the response model's JSON schema: an edited model never gets a stale cached answer."""
    text = json.dumps(schema.model_json_schema(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        self._capped: dict[int, Any] = {}  # max_tokens -> a copy of the chat model with that cap
        # the cluster's limit: cases and second-reader questions share these slots, so the
        # requests in flight never exceed it however the threads above are arranged
        self._slots = threading.BoundedSemaphore(settings.llm_concurrency)
        self.total = Usage()  # the whole process; each case also gets its own Usage

    def _chat(self, max_tokens: int | None) -> Any:
        """The chat model, or a copy with a tighter answer cap (one closed question)."""
        if max_tokens is None:
            return self.chat
        with self._lock:
            if max_tokens not in self._capped:
                self._capped[max_tokens] = self.chat.model_copy(update={"max_tokens": max_tokens})
            return self._capped[max_tokens]

    @property
    def calls(self) -> int:
        """Model requests sent by this client so far (every attempt counts)."""
        return self.total.calls

    @property
    def tokens(self) -> int:
        """Tokens the endpoint reported so far."""
        return self.total.tokens

    @property
    def cache_hits(self) -> int:
        """Answers served from the disk cache so far."""
        return self.total.cache_hits

    def _count(self, usage: Usage | None, *, calls: int = 0, tokens: int = 0, cache_hits: int = 0) -> None:
        with self._lock:
            for u in (self.total, usage):
                if u is not None:
                    u.calls += calls
                    u.tokens += tokens
                    u.cache_hits += cache_hits

    def _check_budget(self) -> None:
        """LLMError once the batch's token budget is spent: no further model call is made, and the
        case falls back with this reason. Calls already in flight may overshoot it by their size."""
        budget = self.settings.llm_token_budget
        if budget is not None and self.total.tokens >= budget:
            raise LLMError(
                _(
                    "token budget of {budget} tokens for this batch spent ({tokens} used)",
                    budget=budget,
                    tokens=self.total.tokens,
                )
            )

    # ------------------------------------------------------------ cache
    def _key(
        self, prompt_id: str, version: str, system: str, user: str, schema: type[BaseModel], cap: int | None
    ) -> str:
        h = hashlib.sha256()
        for part in (
            str(cap or self.settings.llm_max_tokens),
            prompt_id,
            version,
            self.model_name,
            self.settings.llm_structured_method,
            schema_hash(schema),
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
        # a temporary name of its own: cases in flight at once ask the same question (the same
        # rationale prompt), and a shared one would be moved away under the other writer
        tmp = p.with_name(f".{p.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(p)

    # ------------------------------------------------------------ calls
    def _invoke(self, runnable: Any, messages: list[Any], usage: Usage | None) -> Any:
        """Invoke with tenacity's retries; raise LLMError saying why when they are spent."""
        self._check_budget()  # before the re-ask too: a spent budget makes no further call
        s = self.settings
        most = s.llm_max_retries + 1
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            wait=_RetryAfterOrBackoff(),
            # stop_before_delay: never start a wait that would end past the total bound
            stop=stop_after_attempt(most) | stop_before_delay(s.llm_total_timeout_s),
            reraise=False,
        )

        def attempt() -> Any:
            with self._slots:
                self._count(usage, calls=1)
                return runnable.invoke(messages)

        try:
            return retrying(attempt)
        except RetryError as exc:
            n = exc.last_attempt.attempt_number
            what = _describe(exc.last_attempt.exception())
            if n >= most:
                raise LLMError(_("{what} after {attempts}", what=what, attempts=_attempts(n))) from None
            raise LLMError(
                _(
                    "{what}; total time bound of {bound} s reached after {attempts}",
                    what=what,
                    bound=f"{s.llm_total_timeout_s:g}",
                    attempts=_attempts(n),
                )
            ) from None
        except Exception as exc:  # not retryable: a schema error (re-asked by the caller) or a refusal
            if _schema_error(exc):
                raise _SchemaError(exc) from None
            raise LLMError(_("{what}, not retried", what=_describe(exc))) from None

    def structured(
        self,
        schema: type[T],
        system: str,
        user: str,
        *,
        prompt_id: str,
        version: str,
        usage: Usage | None = None,
        max_tokens: int | None = None,
    ) -> T:
        """A validated ``schema`` instance for (system, user), from cache when seen before; the
        calls, tokens and cache hits are also added to ``usage`` (one case's counts);
        ``max_tokens`` caps this answer below the configured bound."""
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        key = self._key(prompt_id, version, system, user, schema, max_tokens)
        cached = self._cache_get(key)
        if cached is not None:
            try:
                result = schema.model_validate(cached)
                self._count(usage, cache_hits=1)
                return result
            except ValidationError:
                pass  # a damaged cache file: ask again and overwrite it
        runnable = self._chat(max_tokens).with_structured_output(
            schema, method=self.settings.llm_structured_method, include_raw=True
        )
        messages: list[Any] = [SystemMessage(system), HumanMessage(user)]
        for ask in range(2):  # one re-ask on a schema error
            try:
                out = self._invoke(runnable, messages, usage)
            except _SchemaError as exc:  # the endpoint's answer failed to parse inside the client
                out = {"raw": None, "parsed": None, "parsing_error": exc.error}
            raw = out.get("raw")
            reported = getattr(raw, "usage_metadata", None) or {}
            self._count(usage, tokens=int(reported.get("total_tokens", 0) or 0))
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
        raise LLMError(_(SCHEMA_INVALID))


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
