"""The console's broadcast composer: preview (Telegram HTML, Zalo plain text split at 2,000
characters), targets (everyone, topics, channels), send now or at a date and time, live
progress and the history. :class:`BroadcastDispatcher` queues due broadcasts into the outbox
in the background: the store flips each one once, so it goes out once, across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.channels.base import split_text
from storage.store import Store

if TYPE_CHECKING:
    from bot.web.console import Console, Ctx

log = logging.getLogger(__name__)

TELEGRAM_MAX = 4096
ZALO_MAX = 2000
MAX_TEXT = 20_000


def preview(text: str) -> dict[str, list[str]]:
    """What each platform will show, message by message: on Telegram the text goes out
    escaped as HTML (as ``/broadcast`` sends it), split at 4,096 characters of that HTML, and
    shows as written (a typed ``<b>`` stays visible, never bold); on Zalo it is plain text
    split at 2,000 characters. The pages set these as text, never as markup."""
    text = text.strip()
    if not text:
        return {"telegram": [], "zalo": []}
    sent = split_text(html.escape(text, quote=False), TELEGRAM_MAX)
    return {
        "telegram": [html.unescape(piece) for piece in sent],
        "zalo": split_text(text, ZALO_MAX),
    }


class BroadcastDispatcher:
    """Every ``every`` seconds, queue the scheduled broadcasts that are due, then wake the
    delivery worker. Safe on several instances at once (see ``queue_due_broadcasts``)."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        wake: Callable[[], None],
        every: float = 5.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.wake = wake
        self.every = every
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        done = await self.store.queue_due_broadcasts(self.clock())
        for broadcast_id, message_id, count in done:
            log.info(
                "broadcast %d queued as message %d to %d chats", broadcast_id, message_id, count
            )
        if done:
            self.wake()
        return len(done)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="web-broadcasts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("scheduled broadcasts: queueing failed; trying again")
            await asyncio.sleep(self.every)


class BroadcastPages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.store = console.store
        self.deps = console.deps
        self.dispatcher = BroadcastDispatcher(
            console.store, clock=console.deps.clock, wake=console.deps.wake
        )

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
            history=await self.store.broadcast_history(),
            error=error,
            text=text,
            target=form.get("target", "all"),
            chosen=set(form.get("values", ())),
            when=form.get("when", ""),
            pv=preview(text) if text else None,
        )

    async def preview(self, request: Request, ctx: Ctx) -> Response:
        return JSONResponse(preview(ctx.field("text")[:MAX_TEXT]))

    async def progress(self, request: Request, ctx: Ctx) -> Response:
        rows = await self.store.broadcast_history(20)
        return JSONResponse(
            {
                str(r.message_id): {
                    "total": r.total,
                    "sent": r.sent,
                    "failed": r.failed,
                    "unreachable": r.unreachable,
                    "pending": r.pending,
                }
                for r in rows
            }
        )

    def _send_at(self, when: str) -> datetime | None:
        """The UTC instant of a ``datetime-local`` value in the bot's time zone."""
        try:
            local = datetime.fromisoformat(when)
        except ValueError:
            return None
        if local.tzinfo is None:
            local = local.replace(tzinfo=self.deps.tz)
        return local.astimezone(self.deps.clock().tzinfo)

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
            parsed = self._send_at(when)
            if parsed is None or parsed <= now:
                return await self.page(request, ctx, error="web_bc_error_when", status=400, **form)
            send_at = parsed
        values = values if target != "all" else []
        broadcast_id = await self.store.schedule_broadcast(
            text, target, values, ctx.session.admin, now, send_at
        )
        detail = f"#{broadcast_id} {target} {' '.join(values)} at {send_at.isoformat()}"
        await self.console.audit(ctx, "broadcast", detail)
        if send_at <= now:
            await self.dispatcher.run_once()
        return RedirectResponse("/admin/broadcasts", status_code=303)

    async def cancel(self, request: Request, ctx: Ctx) -> Response:
        broadcast_id = request.path_params["id"]
        if await self.store.cancel_broadcast(broadcast_id):
            await self.console.audit(ctx, "cancel-broadcast", f"#{broadcast_id}")
        return RedirectResponse("/admin/broadcasts", status_code=303)
