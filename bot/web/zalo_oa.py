"""The console's Zalo OA page: *connect* (OAuth v4 with PKCE and a CSRF ``state``), the
callback that stores the tokens, and the month's sends by kind, their cost and the budget.

The callback is the one console page without a session: Zalo's redirect is a cross-site
navigation, on which the browser withholds our ``SameSite=Strict`` cookie. The ``state``
stands in for it: random, stored (hashed) with its verifier and the admin who asked, used
once, for 10 minutes, on whichever instance the callback lands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.channels.zalo_oa_api import challenge_of, new_verifier
from bot.web.auth import new_token

if TYPE_CHECKING:
    from bot.web.site import Ctx, WebConsole

#: an authorisation code lives 10 minutes; so does our half of the exchange
STATE_TTL = timedelta(minutes=10)
CALLBACK_PATH = "/admin/zalo-oa/callback"
KINDS = ("consultation_free", "consultation_billed", "template")


@dataclass(frozen=True)
class OAConnect:
    """What the page needs of the running OA channel (wired by the application)."""

    #: (redirect_uri, code_challenge, state) -> the permission URL on Zalo
    permission_url: Callable[[str, str, str], str]
    #: (code, verifier, oa_id): exchange the code and store the pair
    connect: Callable[[str, str, str], Awaitable[object]]
    #: what to show: oa_id, access_expires_at, down
    status: Callable[[], Awaitable[Mapping[str, Any]]]
    monthly_budget: int = 0
    #: the verifier whose challenge is saved in Zalo's developer console; "": one per connect
    fixed_verifier: str = ""


class OAPages:
    def __init__(self, console: WebConsole, oa: OAConnect) -> None:
        self.console = console
        self.store = console.store
        self.deps = console.deps
        self.oa = oa

    def routes(self) -> list[Route]:
        g = self.console.guard
        return [
            Route("/zalo-oa", g(self.page)),
            Route("/zalo-oa/connect", g(self.start_connect), methods=["POST"]),
            Route("/zalo-oa/callback", self.callback),
        ]

    def _months(self, now: datetime) -> list[str]:
        local = now.astimezone(self.deps.tz)
        months, year, month = [], local.year, local.month
        for _ in range(3):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return months

    async def page(self, request: Request, ctx: Ctx) -> Response:
        now = self.deps.clock()
        months = self._months(now)
        sends = await self.store.oa_sends(months)
        table = {m: {k: (0, 0) for k in KINDS} for m in months}
        for row in sends:
            if row.kind in KINDS:
                table[row.month][row.kind] = (row.count, row.cost_vnd)
        spent = {m: sum(cost for _, cost in table[m].values()) for m in months}
        return self.console.render(
            request,
            ctx.lang,
            "zalo_oa.html",
            session=ctx.session,
            oa_status=await self.oa.status(),
            months=months,
            table=table,
            spent=spent,
            budget=self.oa.monthly_budget,
            kinds=KINDS,
        )

    def redirect_uri(self) -> str:
        return self.deps.public_url.rstrip("/") + CALLBACK_PATH

    async def start_connect(self, request: Request, ctx: Ctx) -> Response:
        """Remember a state and verifier, then send the admin to Zalo's consent page."""
        state = new_token()
        verifier = self.oa.fixed_verifier or new_verifier()
        now = self.deps.clock()
        await self.store.add_oa_auth(state, verifier, ctx.session.admin, now + STATE_TTL)
        await self.console.audit(ctx, "zalo-oa-connect")
        url = self.oa.permission_url(self.redirect_uri(), challenge_of(verifier), state)
        return RedirectResponse(url, status_code=303)

    async def callback(self, request: Request) -> Response:
        """Zalo's redirect back: ``code``, ``oa_id`` and our ``state``."""
        lang = self.console.lang_of(request)
        query = request.query_params
        state, code = query.get("state", ""), query.get("code", "")
        now = self.deps.clock()
        taken = await self.store.take_oa_auth(state, now) if state and len(state) <= 200 else None
        if taken is None or not code:
            # Counted as a failed sign-in: a scan of states is answered 429 like one of links.
            return self.console.signin_failed(request, lang, 400, "web_oa_callback_bad")
        verifier, admin = taken.verifier, taken.admin
        try:
            await self.oa.connect(code[:1000], verifier, query.get("oa_id", "")[:40])
        except Exception as exc:  # the reason is Zalo's (or the network's); no token in it
            await self.store.audit(admin, "zalo-oa-refused", str(exc)[:200], now)
            return self.console.render(
                request, lang, "zalo_oa_done.html", status=502, ok=False, reason=str(exc)[:200]
            )
        await self.store.audit(admin, "zalo-oa-connected", query.get("oa_id", "")[:40], now)
        return self.console.render(request, lang, "zalo_oa_done.html", ok=True, reason="")
