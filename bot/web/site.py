"""The web console's core (:class:`WebConsole`): its dependencies, routes, templates, the
session guard around every page, and the sign-in, sign-out, sessions and audit pages.

Every page but the sign-in ones and the static files needs a live session: a GET without one
is sent to the sign-in page, anything else gets 401. Every POST carries the session's CSRF
token or gets 403.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles

from bot.channels.base import Capabilities
from bot.delivery.quota import Plan
from bot.i18n import LANGUAGES, t
from bot.ops.httpserver import bounded_body, client_key
from bot.web.auth import (
    COOKIE,
    LANG_COOKIE,
    SESSION_TTL,
    SecurityHeaders,
    SigninLimit,
    digest,
    new_token,
    same,
)
from bot.web.zalo_oa import OAConnect, OAPages
from feeds.models import Source, Topic
from storage.records import LinkUse, WebSession
from storage.store import Store

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_FORM_BYTES = 256 * 1024
#: the sign-in form holds one token
MAX_SIGNIN_BYTES = 4096

#: a page handler: (request, context) -> response
Handler = Callable[[Request, "Ctx"], Awaitable[Response]]


@dataclass(frozen=True)
class WebConsoleDeps:
    """What the console needs from the running bot (wired by :mod:`bot.app`)."""

    store: Store
    topics: Sequence[Topic]
    sources: Sequence[Source]
    channels: Sequence[str]
    admins: frozenset[tuple[str, str]]
    tz: tzinfo
    clock: Callable[[], datetime]
    public_url: str = ""
    #: the plans of the channels that have one (Zalo's users and messages)
    plans: Mapping[str, Plan] = field(default_factory=dict)
    #: the chat platforms the broadcast composer previews, by name
    platforms: Mapping[str, Capabilities] = field(default_factory=dict)
    #: poll one source now (by id); returns a line to show
    poll_source: Callable[[str], Awaitable[str]] | None = None
    #: check-source of a URL: the values of the test page
    test_url: Callable[[str], Awaitable[dict[str, Any]]] | None = None
    #: wakes the delivery worker after something was queued
    wake: Callable[[], None] = lambda: None
    #: the Zalo OA channel's connect and usage page, when that channel runs
    zalo_oa: OAConnect | None = None


@dataclass(frozen=True)
class Ctx:
    """One request's session, form fields and language."""

    session: WebSession
    form: Mapping[str, list[str]]
    lang: str

    def field(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0] if values else default

    def fields(self, name: str) -> list[str]:
        return list(self.form.get(name, []))


class WebConsole:
    """The ``/admin`` application."""

    def __init__(self, deps: WebConsoleDeps, *, signin_limit: SigninLimit | None = None) -> None:
        self.deps = deps
        self.store = deps.store
        self.signin_limit = signin_limit or SigninLimit(per_client=10, total=100, window=60.0)
        self.secure = deps.public_url.startswith("https://")
        self.env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = self._when
        self.env.filters["http_only"] = _http_only
        from bot.web.broadcasts import BroadcastPages
        from bot.web.pages import ContentPages
        from bot.web.sources import SourcePages

        self.content = ContentPages(self)
        self.sources = SourcePages(self)
        self.broadcasts = BroadcastPages(self)
        self.zalo_oa = OAPages(self, deps.zalo_oa) if deps.zalo_oa is not None else None
        self.env.globals["zalo_oa"] = self.zalo_oa is not None

    async def close(self) -> None:
        """End the console's background work (the dashboard's counts) before the store closes."""
        await self.content.close()

    # -- routes ---------------------------------------------------------------------------

    def mount(self) -> Mount:
        """The whole console as one route of the bot's HTTP server."""
        return Mount("/admin", app=SecurityHeaders(Router(routes=self.routes())))

    def routes(self) -> list[BaseRoute]:
        g = self.guard
        return [
            Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
            Route("/login", self.login_help),
            Route("/login", self.login, methods=["POST"]),
            Route("/login/{token}", self.login_link),
            Route("/logout", g(self.logout), methods=["POST"]),
            Route("/sessions", g(self.sessions_page)),
            Route("/sessions/revoke", g(self.revoke), methods=["POST"]),
            Route("/audit", g(self.audit_page)),
            *self.content.routes(),
            *self.sources.routes(),
            *self.broadcasts.routes(),
            *(self.zalo_oa.routes() if self.zalo_oa is not None else ()),
        ]

    # -- the guard ------------------------------------------------------------------------

    def guard(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint of a page that needs a session (and, for a POST, the CSRF token)."""

        async def endpoint(request: Request) -> Response:
            lang = self.lang_of(request)
            session = await self.session_of(request)
            if session is None:
                if request.method == "GET":
                    return RedirectResponse("/admin/login", status_code=303)
                return self.error(request, lang, 401, "web_error_no_session")
            form: dict[str, list[str]] = {}
            if request.method == "POST":
                body = await bounded_body(request, MAX_FORM_BYTES)
                if body is None:
                    return self.error(request, lang, 413, "web_error_too_large")
                form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                sent = (form.get("csrf") or [""])[0] or request.headers.get("x-csrf-token", "")
                if not sent or not same(sent, session.csrf):
                    return self.error(request, lang, 403, "web_error_csrf")
            return await handler(request, Ctx(session, form, lang))

        return endpoint

    async def session_of(self, request: Request) -> WebSession | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        session = await self.store.web_session(digest(token), self.deps.clock())
        if session is None:
            return None
        admin = tuple(session.admin.split(":", 1))
        if admin not in self.deps.admins:
            return None  # no longer an admin: the session dies with the right
        return session

    def lang_of(self, request: Request) -> str:
        asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE, "")
        return asked if asked in LANGUAGES else "vi"

    # -- rendering ------------------------------------------------------------------------

    def _when(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        return value.astimezone(self.deps.tz).strftime("%d/%m/%Y %H:%M")

    def render(
        self,
        request: Request,
        lang: str,
        template: str,
        *,
        session: WebSession | None = None,
        status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        def tr(key: str, **kw: Any) -> str:
            return t(lang, key, **kw)

        html = self.env.get_template(template).render(
            _=tr,
            lang=lang,
            session=session,
            csrf=session.csrf if session else "",
            path=request.url.path,
            **values,
        )
        response = HTMLResponse(html, status_code=status)
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=365 * 86400,
                path="/admin",
                httponly=True,
                samesite="strict",
                secure=self.secure,
            )
        return response

    def error(self, request: Request, lang: str, status: int, key: str) -> HTMLResponse:
        return self.render(request, lang, "error.html", status=status, message_key=key)

    async def audit(self, ctx: Ctx, action: str, detail: str = "") -> None:
        await self.store.audit(ctx.session.admin, action, detail, self.deps.clock())

    # -- sign-in --------------------------------------------------------------------------

    async def login_help(self, request: Request) -> Response:
        return self.render(request, self.lang_of(request), "login.html")

    async def login_link(self, request: Request) -> Response:
        """The page of a sign-in link: a button that uses it (GET alone never uses a link, so
        a link preview fetched by the chat app cannot spend it)."""
        lang = self.lang_of(request)
        token = request.path_params["token"]
        state = await self.store.web_link_state(digest(token), self.deps.clock())
        if state != "valid":
            return self.signin_failed(request, lang, _LINK_STATUS[state], f"web_link_{state}")
        self.content.prefetch()  # the dashboard comes next: count its figures meanwhile
        return self.render(request, lang, "login_confirm.html", token=token)

    async def login(self, request: Request) -> Response:
        lang = self.lang_of(request)
        body = await bounded_body(request, MAX_SIGNIN_BYTES)
        if body is None:
            return self.error(request, lang, 413, "web_error_too_large")
        token = (parse_qs(body.decode("utf-8", "replace")).get("token") or [""])[0]
        now = self.deps.clock()
        used = await self.store.use_web_link(digest(token), now) if token else LinkUse("", None)
        admin = used.admin
        if admin is None:
            status = _LINK_STATUS.get(used.state, 400)
            return self.signin_failed(request, lang, status, f"web_link_{used.state}")
        if tuple(admin.split(":", 1)) not in self.deps.admins:
            return self.signin_failed(request, lang, 403, "web_link_not_admin")
        cookie = new_token()
        await self.store.add_web_session(
            digest(cookie),
            admin,
            new_token(),
            now,
            now + SESSION_TTL,
            user_agent=request.headers.get("user-agent", ""),
        )
        await self.store.audit(admin, "sign-in", self._client(request), now)
        response = RedirectResponse("/admin/", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(SESSION_TTL.total_seconds()),
            path="/admin",
            httponly=True,
            samesite="strict",
            secure=self.secure,
        )
        return response

    async def logout(self, request: Request, ctx: Ctx) -> Response:
        await self.store.revoke_web_session(ctx.session.id, self.deps.clock())
        await self.audit(ctx, "sign-out")
        response = RedirectResponse("/admin/login?bye=1", status_code=303)
        response.delete_cookie(COOKIE, path="/admin")
        return response

    def signin_failed(self, request: Request, lang: str, status: int, key: str) -> HTMLResponse:
        """The answer to a failed sign-in, counted: its own page, or 429 over the limit."""
        if not self.signin_limit.failed(client_key(self._client(request))):
            return self.error(request, lang, 429, "web_error_rate")
        return self.error(request, lang, status, key)

    @staticmethod
    def _client(request: Request) -> str:
        """The client's address (the one a trusted proxy names, see BANTIN_HTTP_TRUSTED_PROXIES)."""
        return request.client.host if request.client else "?"

    # -- sessions and audit ---------------------------------------------------------------

    async def sessions_page(self, request: Request, ctx: Ctx) -> Response:
        sessions = await self.store.web_sessions(self.deps.clock())
        return self.render(
            request, ctx.lang, "sessions.html", session=ctx.session, sessions=sessions
        )

    async def revoke(self, request: Request, ctx: Ctx) -> Response:
        target = ctx.field("id")
        if await self.store.revoke_web_session(target, self.deps.clock()):
            await self.audit(ctx, "revoke-session", target[:12])
        if target == ctx.session.id:
            response = RedirectResponse("/admin/login", status_code=303)
            response.delete_cookie(COOKIE, path="/admin")
            return response
        return RedirectResponse("/admin/sessions", status_code=303)

    async def audit_page(self, request: Request, ctx: Ctx) -> Response:
        entries = await self.store.audit_log(200)
        return self.render(request, ctx.lang, "audit.html", session=ctx.session, entries=entries)


def _http_only(url: str) -> str:
    """A link target only when it is http(s): never ``javascript:`` from a feed."""
    return url if url.startswith(("http://", "https://")) else "#"


_LINK_STATUS = {"unknown": 404, "used": 410, "expired": 410, "": 400}
