"""The console's broadcast composer: preview (each platform's messages, split as its adapter
sends them), targets (everyone, topics, channels), send now or at a date and time, live
progress and the history. The scheduled ones are queued when due by
:class:`bot.chat.broadcasts.BroadcastDispatcher` (started by the app)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.channels.base import Capabilities
from bot.web.params import row_id, schedule_time
from storage.records import BroadcastProgress

if TYPE_CHECKING:
    from bot.web.site import Ctx, WebConsole

MAX_TEXT = 20_000


def preview(text: str, platforms: Mapping[str, Capabilities]) -> dict[str, list[str]]:
    """What each platform will show, message by message, split exactly as its adapter sends
    it (:meth:`Capabilities.preview`): on an HTML platform the text goes out escaped, so a
    typed ``<b>`` stays visible, never bold. The pages set these as text, never as markup."""
    return {name: caps.preview(text) for name, caps in platforms.items()}


def shown(p: BroadcastProgress) -> dict[str, int]:
    """The figures of a broadcast the history shows: those of the chat's progress message."""
    return {
        "total": p.total,
        "sent": p.sent,
        "failed": p.undelivered,
        "unreachable": p.unreachable,
        "pending": p.pending,
    }


class BroadcastPages:
    def __init__(self, console: WebConsole) -> None:
        self.console = console
        self.store = console.store
        self.deps = console.deps

    def routes(self) -> list[Route]:
        g = self.console.guard
        return [
            Route("/broadcasts", g(self.page)),
            Route("/broadcasts", g(self.create), methods=["POST"]),
            Route("/broadcasts/preview", g(self.preview), methods=["POST"]),
            Route("/broadcasts/progress", g(self.progress)),
            Route("/broadcasts/{id:int}/cancel", g(self.cancel), methods=["POST"]),
        ]

    async def page(
        self, request: Request, ctx: Ctx, *, error: str = "", status: int = 200, **form: Any
    ) -> Response:
        text = form.get("text", "")
        return self.console.render(
            request,
            ctx.lang,
            "broadcasts.html",
            session=ctx.session,
            status=status,
            topics=self.deps.topics,
            channels=self.deps.channels,
            scheduled=[
                b for b in await self.store.scheduled_broadcasts() if b.status == "scheduled"
            ],
            history=[(r, shown(r.counts)) for r in await self.store.broadcast_history()],
            error=error,
            text=text,
            target=form.get("target", "all"),
            chosen=set(form.get("values", ())),
            when=form.get("when", ""),
            platforms=self.deps.platforms,
            pv=preview(text, self.deps.platforms) if text else None,
        )

    async def preview(self, request: Request, ctx: Ctx) -> Response:
        return JSONResponse(preview(ctx.field("text")[:MAX_TEXT], self.deps.platforms))

    async def progress(self, request: Request, ctx: Ctx) -> Response:
        rows = await self.store.broadcast_history(20)
        return JSONResponse({str(r.message_id): shown(r.counts) for r in rows})

    async def create(self, request: Request, ctx: Ctx) -> Response:
        text = ctx.field("text").strip()
        target = ctx.field("target", "all")
        values = ctx.fields("values")
        when = ctx.field("when").strip()
        form: dict[str, Any] = {"text": text, "target": target, "values": values, "when": when}
        if ctx.field("action") == "preview":
            return await self.page(request, ctx, **form)
        known = {
            "all": set(),
            "topics": {tp.slug for tp in self.deps.topics},
            "channels": set(self.deps.channels),
        }
        if not text or len(text) > MAX_TEXT:
            return await self.page(request, ctx, error="web_bc_error_text", status=400, **form)
        if target not in known or (target != "all" and not values):
            return await self.page(request, ctx, error="web_bc_error_target", status=400, **form)
        if target != "all" and not set(values) <= known[target]:
            return await self.page(request, ctx, error="web_bc_error_target", status=400, **form)
        now = self.deps.clock()
        send_at = now
        if ctx.field("schedule") == "1":
            parsed = schedule_time(when, self.deps.tz, now)
            if isinstance(parsed, str):  # why it cannot be the time
                return await self.page(request, ctx, error=parsed, status=400, **form)
            send_at = parsed
        values = values if target != "all" else []
        if send_at > now:
            broadcast_id = await self.store.schedule_broadcast(
                text, target, values, ctx.session.admin, now, send_at
            )
            detail = f"#{broadcast_id} {target} {' '.join(values)} at {send_at.isoformat()}"
        else:  # the very queueing of ``/broadcast``
            queued = await self.store.enqueue_message(
                "broadcast", text, now, target=target, values=values, created_by=ctx.session.admin
            )
            self.deps.wake()
            detail = f"message #{queued.message_id} {target} {' '.join(values)} now"
        await self.console.audit(ctx, "broadcast", detail)
        return RedirectResponse("/admin/broadcasts", status_code=303)

    async def cancel(self, request: Request, ctx: Ctx) -> Response:
        broadcast_id = row_id(request)
        if broadcast_id is not None and await self.store.cancel_broadcast(broadcast_id):
            await self.console.audit(ctx, "cancel-broadcast", f"#{broadcast_id}")
        return RedirectResponse("/admin/broadcasts", status_code=303)
