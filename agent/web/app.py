"""The workbench's Starlette app: routes, the signed session cookie (HttpOnly, SameSite=Strict),
the login gate when reviewer accounts exist, and the Jinja2 environment (autoescape on: record
text is data)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from agent import __version__
from agent.core.resources import package_file
from agent.web.accounts import Accounts
from agent.web.batch import Batch
from agent.web.security import Guard, csrf_token, signed_in

OPEN_PATHS = ("/login", "/static/")
SESSION_HOURS = 8  # a working day; a new login after that


@dataclass
class WebConfig:
    """What the app serves and who may sign off: ``accounts`` None means loopback without
    accounts, where ``reviewer`` (``--reviewer``) signs and nobody logs in."""

    batch: Batch
    accounts: Accounts | None = None
    reviewer: str | None = None
    https: bool = False


def templates() -> Any:
    """The Jinja2 environment of the pages (autoescape everywhere)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(package_file("agent.web", "templates"))),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.globals["version"] = __version__
    return env


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """Page ``name`` with the context every page uses (reviewer, CSRF token, login state)."""
    cfg: WebConfig = request.app.state.cfg
    body = request.app.state.env.get_template(name).render(
        request=request,
        csrf=csrf_token(request),
        user=reviewer_of(request),
        accounts=cfg.accounts is not None,
        **ctx,
    )
    return HTMLResponse(body, status_code=status)


def reviewer_of(request: Request) -> str | None:
    """Who signs off from this session: the login with accounts, else ``--reviewer``."""
    cfg: WebConfig = request.app.state.cfg
    return signed_in(request) if cfg.accounts is not None else cfg.reviewer


class LoginGate:
    """ASGI middleware (inside the session one): with accounts, every page but the login page and
    the stylesheet needs a signed-in reviewer; a GET is sent to the login page, anything else is 403."""

    def __init__(self, app: ASGIApp, cfg: WebConfig) -> None:
        self.app = app
        self.cfg = cfg

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.cfg.accounts is None or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        self.cfg.accounts.reload_if_changed()
        user = scope.get("session", {}).get("user")
        if isinstance(user, str) and user in self.cfg.accounts.users:
            await self.app(scope, receive, send)
            return
        response: Response
        if scope["method"] in ("GET", "HEAD"):
            response = RedirectResponse("/login", status_code=303)
        else:
            response = HTMLResponse("login required", status_code=403)
        await response(scope, receive, send)


def create_app(cfg: WebConfig) -> Starlette:
    """The workbench app over ``cfg``'s batch (already loaded)."""
    from agent.web import pages

    routes = [
        Route("/", pages.queue),
        Route("/case/{case_id:path}/decide", pages.decide, methods=["POST"]),
        Route("/case/{case_id:path}", pages.case),
        Route("/renewals", pages.renewals_page),
        Route("/person", pages.person),
        Route("/login", pages.login, methods=["GET", "POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=str(package_file("agent.web", "static"))), name="static"),
    ]
    middleware = [
        Middleware(Guard),
        Middleware(
            SessionMiddleware,
            secret_key=secrets.token_urlsafe(32),  # per process: a restart signs everybody out
            session_cookie="certreview_session",
            max_age=SESSION_HOURS * 3600,
            same_site="strict",
            https_only=cfg.https,
        ),
        Middleware(LoginGate, cfg=cfg),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.cfg = cfg
    app.state.env = templates()
    return app
