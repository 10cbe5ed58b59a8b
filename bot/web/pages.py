"""The console's reading pages: the dashboard, the articles archive and an article's page,
and the chats list with deactivate / reactivate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.delivery.quota import plan_usage
from bot.i18n import t
from bot.web.params import bad_page, page_number, row_id
from bot.web.svg import bar_chart
from storage.records import DeliveryStatus

if TYPE_CHECKING:
    from bot.web.site import Ctx, WebConsole

PAGE = 50
#: the dashboard counts whole tables: its figures are reused this long
log = logging.getLogger(__name__)

FIGURES_TTL = timedelta(seconds=30)


class ContentPages:
    """Dashboard, archive, article, chats."""

    def __init__(self, console: WebConsole) -> None:
        self.console = console
        self.store = console.store
        self.deps = console.deps
        self._figures: tuple[datetime, dict[str, Any]] | None = None
        self._refresh: asyncio.Task[None] | None = None

    def routes(self) -> list[Route]:
        g = self.console.guard
        return [
            Route("/", g(self.dashboard)),
            Route("/articles", g(self.articles)),
            Route("/articles/{id:int}", g(self.article)),
            Route("/chats", g(self.chats)),
            Route("/chats/{id:int}/active", g(self.set_active), methods=["POST"]),
        ]

    def prefetch(self) -> None:
        """Count the dashboard's figures in the background (at start, and when a sign-in link
        is opened), so the first dashboard does not wait for whole-table counts."""
        if self._refresh is None:
            now = self.deps.clock()
            self._refresh = asyncio.create_task(self._recompute(now), name="web-figures")

    async def close(self, grace: float = 5.0) -> None:
        """Let a background count finish (within ``grace``), then cancel it. Before the store
        closes: a count cut off inside its query could leave its connection checked out, and
        on PostgreSQL its open transaction then blocks later DDL on those tables."""
        task = self._refresh
        if task is None or task.done():
            return
        await asyncio.wait([task], timeout=grace)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def dashboard(self, request: Request, ctx: Ctx) -> Response:
        now = self.deps.clock()
        if self._figures is None and self._refresh is not None:
            with contextlib.suppress(Exception):  # a failed count is counted again below
                await asyncio.shield(self._refresh)
        if self._figures is None:
            self._figures = (now, await self._compute_figures(now))
        elif now - self._figures[0] >= FIGURES_TTL and self._refresh is None:
            # Stale: show these while fresh ones are counted in the background.
            self._refresh = asyncio.create_task(self._recompute(now), name="web-figures")
        figures = self._figures[1]
        charts = []
        days = figures["days"]
        for n in (14, 90):
            recent = days[-n:]
            charts.append(
                bar_chart(
                    [d for d, _, _ in recent],
                    [
                        (t(ctx.lang, "stats_chart_articles"), [a for _, a, _ in recent], "a"),
                        (t(ctx.lang, "stats_chart_deliveries"), [s for _, _, s in recent], "d"),
                    ],
                    title=t(ctx.lang, "web_chart_days", days=n),
                )
            )
        return self.console.render(
            request,
            ctx.lang,
            "dashboard.html",
            session=ctx.session,
            charts=charts,
            computed_at=self._figures[0],
            **{k: v for k, v in figures.items() if k != "days"},
        )

    async def _recompute(self, now: datetime) -> None:
        try:
            self._figures = (now, await self._compute_figures(now))
        except Exception:  # the next dashboard counts again, in the request
            log.warning("web console: dashboard figures not counted", exc_info=True)
        finally:
            self._refresh = None

    async def _compute_figures(self, now: datetime) -> dict[str, Any]:
        """The dashboard's figures: whole-table counts, so they are kept for FIGURES_TTL."""
        deps = self.deps
        local = now.astimezone(deps.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        week_start = midnight - timedelta(days=local.weekday())
        stats = await self.store.dashboard_counts()
        due = (await self.store.outbox_counts(now)).due
        plans = await plan_usage(self.store, deps.plans, local.strftime("%Y-%m"))
        return {
            "stats": stats,
            "by_channel": await self.store.active_chats_by_channel(),
            "today": await self.store.articles_since(midnight.astimezone(now.tzinfo)),
            "week": await self.store.articles_since(week_start.astimezone(now.tzinfo)),
            "queue": sum(n for _, n in due),
            "pending": stats["deliveries_by_status"].get(DeliveryStatus.PENDING, 0),
            "plans": plans,
            # 90 days once; the 14-day chart is its tail
            "days": await self.store.daily_activity(now, deps.tz, days=90),
        }

    async def articles(self, request: Request, ctx: Ctx) -> Response:
        q = request.query_params.get("q", "").strip()[:200]
        page = page_number(request)
        if page is None:
            return bad_page(self.console, request, ctx.lang)
        if q:
            # The same search as /search: title hits first, then body hits, newest first.
            found = await self.store.search(q, limit=PAGE)
            more = False
        else:
            found = await self.store.archive(limit=PAGE + 1, offset=page * PAGE)
            more = len(found) > PAGE
            found = found[:PAGE]
        names = {s.id: s.name for s in self.deps.sources}
        return self.console.render(
            request,
            ctx.lang,
            "articles.html",
            session=ctx.session,
            q=q,
            articles=found,
            page=page,
            more=more,
            source_names=names,
        )

    async def article(self, request: Request, ctx: Ctx) -> Response:
        article_id = row_id(request)
        found = await self.store.article_detail(article_id) if article_id is not None else None
        if found is None:
            return self.console.error(request, ctx.lang, 404, "web_not_found")
        topics = {tp.slug: tp.name for tp in self.deps.topics}
        return self.console.render(
            request,
            ctx.lang,
            "article.html",
            session=ctx.session,
            article=found.article,
            body=found.body,
            sent=found.sent_to,
            topic_names=topics,
        )

    async def chats(self, request: Request, ctx: Ctx) -> Response:
        qp = request.query_params
        q = qp.get("q", "").strip()[:100]
        channel = qp.get("channel", "")
        state = qp.get("state", "")
        active = {"active": True, "inactive": False}.get(state)
        page = page_number(request)
        if page is None:
            return bad_page(self.console, request, ctx.lang)
        found = await self.store.list_chats(
            query=q, channel=channel, active=active, limit=PAGE, offset=page * PAGE
        )
        return self.console.render(
            request,
            ctx.lang,
            "chats.html",
            session=ctx.session,
            rows=found.chats,
            total=found.total,
            q=q,
            channel=channel,
            state=state,
            channels=self.deps.channels,
            page=page,
            more=(page + 1) * PAGE < found.total,
        )

    async def set_active(self, request: Request, ctx: Ctx) -> Response:
        chat_pk = row_id(request)
        active = ctx.field("active") == "1"
        now: datetime = self.deps.clock()
        if chat_pk is not None and await self.store.set_chat_active(chat_pk, active, now):
            await self.console.audit(
                ctx, "reactivate-chat" if active else "deactivate-chat", str(chat_pk)
            )
        back = ctx.field("back")
        return RedirectResponse(
            back if back.startswith("/admin/chats") else "/admin/chats", status_code=303
        )
