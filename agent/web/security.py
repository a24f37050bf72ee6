"""What keeps the workbench safe by default: security headers on every response, an access log
that names the method, path and status only (never a query string, a form or record text), the
CSRF token every form carries, and who is signed in."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.core.i18n import N_

log = logging.getLogger("certreview.web")

# no script at all, styles from our own stylesheet only, no framing, forms post only to us
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),  # pages hold patient data: never kept by a shared cache
]
CSRF_FIELD = "csrf_token"
# translated where they are shown (_()): the language is read on each call
CSRF_MESSAGE = N_("The form's CSRF token is missing or wrong; nothing was recorded")
CSRF_HINT = N_("Reload the page and submit the form again.")


def is_loopback(host: str) -> bool:
    """Whether ``host`` binds to this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    """ASGI middleware: security headers on every response, and one log line per request with
    the path only (a case id is fine there; query strings carry search terms, forms carry reasons)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [500]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        started = [False]

        async def tracked(message: Message) -> None:
            started[0] = started[0] or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # a defect: its kind is logged, never its message (it may quote a record)
            log.error("internal error on %s: %s", scope["path"], type(exc).__name__)
            status[0] = 500
            if not started[0]:
                await PlainTextResponse("internal error; the server log names its kind", 500)(scope, receive, tracked)
        finally:
            ms = (time.perf_counter() - t0) * 1000
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status[0], ms)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, form: Any) -> bool:
    """Whether ``form`` carries the session's CSRF token (constant-time comparison)."""
    sent = form.get(CSRF_FIELD)
    want = request.session.get("csrf")
    return isinstance(sent, str) and isinstance(want, str) and hmac.compare_digest(sent, want)


def signed_in(request: Request) -> str | None:
    """The reviewer signed in on this session, if any."""
    user = request.session.get("user")
    return user if isinstance(user, str) else None
