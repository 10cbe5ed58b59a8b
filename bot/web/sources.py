"""The console's sources page: the health table, poll now, pause / resume (kept in the
database and honoured by the scheduler, ``/poll`` and poll now, which a paused source
refuses), and *test a URL* (``check-source`` in the browser)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.i18n import t

if TYPE_CHECKING:
    from bot.web.site import Ctx, WebConsole

COUNTS_TTL = timedelta(seconds=30)


class SourcePages:
    def __init__(self, console: WebConsole) -> None:
        self.console = console
        self.store = console.store
        self.deps = console.deps
        self._cached: tuple[datetime, dict[str, int]] | None = None

    def routes(self) -> list[Route]:
        g = self.console.guard
        return [
            Route("/sources", g(self.page)),
            Route("/sources/{id}/poll", g(self.poll), methods=["POST"]),
            Route("/sources/{id}/pause", g(self.pause), methods=["POST"]),
            Route("/sources/test", g(self.test), methods=["POST"]),
        ]

    async def page(
        self,
        request: Request,
        ctx: Ctx,
        *,
        message: str = "",
        test: dict | None = None,
        status: int = 200,
    ) -> Response:
        states = {s.id: s for s in await self.store.source_states()}
        counts = await self._counts()
        paused = await self.store.paused_sources()
        rows = [
            (src, states.get(src.id), paused.get(src.id), counts.get(src.id, 0))
            for src in self.deps.sources
        ]
        return self.console.render(
            request,
            ctx.lang,
            "sources.html",
            session=ctx.session,
            status=status,
            rows=rows,
            message=message,
            test=test,
            test_url=ctx.field("url"),
        )

    async def _counts(self) -> dict[str, int]:
        """Articles per source: a whole-table count, reused for COUNTS_TTL."""
        now = self.deps.clock()
        if self._cached is None or now - self._cached[0] >= COUNTS_TTL:
            self._cached = (now, await self.store.articles_by_source())
        return self._cached[1]

    def _known(self, source_id: str) -> bool:
        return any(s.id == source_id for s in self.deps.sources)

    async def poll(self, request: Request, ctx: Ctx) -> Response:
        source_id = request.path_params["id"]
        if not self._known(source_id) or self.deps.poll_source is None:
            return self.console.error(request, ctx.lang, 404, "web_not_found")
        if await self.store.is_source_paused(source_id):
            # Paused means not polled, by anyone: resuming is one click away.
            message = t(ctx.lang, "web_src_poll_paused", source=source_id)
            return await self.page(request, ctx, message=message, status=409)
        await self.console.audit(ctx, "poll-source", source_id)
        line = await self.deps.poll_source(source_id)
        self.deps.wake()
        return await self.page(request, ctx, message=line)

    async def pause(self, request: Request, ctx: Ctx) -> Response:
        source_id = request.path_params["id"]
        if not self._known(source_id):
            return self.console.error(request, ctx.lang, 404, "web_not_found")
        paused = ctx.field("paused") == "1"
        await self.store.set_source_paused(source_id, paused, ctx.session.admin, self.deps.clock())
        await self.console.audit(ctx, "pause-source" if paused else "resume-source", source_id)
        return RedirectResponse("/admin/sources", status_code=303)

    async def test(self, request: Request, ctx: Ctx) -> Response:
        url = ctx.field("url").strip()
        if not url.startswith(("http://", "https://")) or self.deps.test_url is None:
            return await self.page(request, ctx, test={"error": "URL: http(s)://…"})
        await self.console.audit(ctx, "test-url", url[:300])
        try:
            result = await self.deps.test_url(url)
        except Exception as exc:  # a bad site must give a message, not a 500
            result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        if result.get("refused") in ("private", "metadata"):
            # The outbound rules said no: say so in the admin's language, with the reason.
            key = f"web_src_test_refused_{result['refused']}"
            result = {**result, "error": t(ctx.lang, key, reason=result.get("reason", ""))}
        return await self.page(request, ctx, test=result)
