"""Composition root: builds the store, HTTP client, channels, poller, scheduler and worker.

Only this module knows the concrete channel adapters. :class:`App` is started and stopped
by the CLI (``run``, ``demo``) and by tests; ``poll_once`` serves ``run_bot.py poll-once``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.base import Channel, Incoming, OutMessage, Reply
from bot.commands import Commands
from bot.config import Config
from bot.delivery import DeliveryWorker, Limits
from bot.httpserver import RunningServer, serve
from bot.i18n import t
from bot.leader import Lease
from bot.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.poller import Poller, PollReport, PollSettings
from bot.render import local_date
from bot.timeofday import parse_quiet_hours
from feeds.fetch import DEFAULT_USER_AGENT, make_client
from feeds.models import Source
from storage.store import Store, open_store

log = logging.getLogger(__name__)

#: fraction of a source's interval added or removed at random, so sources drift apart
JITTER = 0.1
#: percent of a monthly quota at which the admins are warned, and at which instant pushes
#: become a daily digest so the month does not run dry
QUOTA_WARN = 80
QUOTA_DIGEST = 95


def utcnow() -> datetime:
    return datetime.now(UTC)


class App:
    """The running bot. ``channels`` defaults to the console when no platform token is set."""

    def __init__(
        self,
        config: Config,
        *,
        channels: Sequence[Channel] | None = None,
        clock: Callable[[], datetime] = utcnow,
        client: httpx.AsyncClient | None = None,
        store: Store | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self._channels_arg = channels
        self._client_arg = client
        self._store_arg = store
        self.channels: dict[str, Channel] = {}
        self.store: Store
        self.client: httpx.AsyncClient
        self.poller: Poller
        self.commands: Commands
        self.worker: DeliveryWorker
        self.scheduler: AsyncIOScheduler | None = None
        self._opened = False
        self._background: set[asyncio.Task[None]] = set()
        self.http: RunningServer | None = None
        self.instance_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.metrics = Metrics()
        settings = config.settings
        #: monthly message quotas per channel (Zalo's free plan); 0 = unlimited
        self.quotas = (
            {"zalo": settings.zalo_monthly_quota} if settings.zalo_bot_token and settings.zalo_monthly_quota else {}
        )
        self._quota_state: dict[str, tuple[str, bool]] = {}
        self._rng = random.Random()

    # -- wiring ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Everything except the long-running parts (scheduler, worker, channel listeners)."""
        if self._opened:
            return
        self._opened = True
        settings = self.config.settings
        self.store = self._store_arg or await open_store(self.config.database_url)
        await self.store.sync_sources(self.config.sources, self.clock())
        self.client = self._client_arg or make_client(
            user_agent=settings.bantin_user_agent or DEFAULT_USER_AGENT,
            timeout=settings.bantin_http_timeout,
        )
        self.poller = Poller(
            self.store, self.client, self.config.topics, clock=self.clock,
            settings=PollSettings(
                max_bytes=settings.bantin_max_response_bytes,
                fetch_timeout=settings.bantin_http_timeout * 2,
                fetch_concurrency=settings.bantin_fetch_concurrency,
                alert_after=settings.bantin_alert_after_failures,
                max_backoff=settings.bantin_max_backoff,
            ),
            alert=self.alert_admins,
            on_report=lambda r: self.metrics.record_poll(r.source_id, r.ok, r.not_modified, r.new),
        )
        channels = self._channels_arg if self._channels_arg is not None else self._default_channels()
        self.channels = {c.name: c for c in channels}
        self.commands = Commands(
            self.store, self.config.topics, admins=self.admin_chats(), tz=self.config.tz, clock=self.clock,
            poll_now=self.poll_once, source_names={s.id: s.name for s in self.config.sources},
            quiet_hours=settings.bantin_quiet_hours,
            quotas=self.quotas,
        )
        self.worker = DeliveryWorker(
            self.store, self.channels, clock=self.clock, tz=self.config.tz,
            topic_names={tp.slug: tp.name for tp in self.config.topics},
            link_previews={s.id: s.link_preview for s in self.config.sources},
            limits={
                "telegram": Limits(rate=settings.telegram_rate),
                "zalo": Limits(rate=settings.zalo_rate),
                "console": Limits(rate=1000.0, private_interval=0.0),
            },
            quiet_hours=parse_quiet_hours(settings.bantin_quiet_hours),
            concurrency=settings.bantin_send_concurrency,
            alert=self.alert_admins,
            owner=self.instance_id,
            lease_ttl=settings.bantin_lease_seconds,
            metrics=self.metrics,
            forced_digest={"zalo": lambda: self._quota_digest("zalo")},
        )
        for channel in self.quotas:
            sent, _ = await self.store.usage(channel, self._month())
            self._quota_state[channel] = (self._month(), sent >= self.quotas[channel] * QUOTA_DIGEST / 100)
        self.poll_lease = Lease(self.store, "poll", self.instance_id, clock=self.clock,
                                ttl=settings.bantin_lease_seconds)
        now = self.clock()
        for channel, chat_id in self.admin_chats():
            if channel in self.channels:
                await self.store.upsert_chat(channel, chat_id, now)

    def _default_channels(self) -> list[Channel]:
        """Telegram when its token is set; the console chat when no platform is."""
        settings = self.config.settings
        channels: list[Channel] = []
        if settings.telegram_bot_token:
            from bot.channels.telegram import TelegramChannel
            from bot.i18n import MENU

            channels.append(
                TelegramChannel(
                    settings.telegram_bot_token,
                    base_url=settings.telegram_api_base_url,
                    webhook_url=settings.telegram_webhook_url or None,
                    webhook_secret=settings.telegram_webhook_secret or None,
                    menu=MENU,
                    pool_size=max(settings.bantin_send_concurrency * 2, 16),
                )
            )
        if settings.zalo_bot_token:
            from bot.channels.zalo import ZaloChannel

            channels.append(
                ZaloChannel(
                    settings.zalo_bot_token,
                    base_url=settings.zalo_api_base_url,
                    webhook_url=settings.zalo_webhook_url or None,
                    webhook_secret=settings.zalo_webhook_secret or None,
                    on_api_send=lambda n: self._count_usage("zalo", n),
                )
            )
        if not channels:
            from bot.channels.console import ConsoleChannel

            channels.append(ConsoleChannel())
        return channels

    def http_routes(self) -> list[Route]:
        """Routes of the bot's HTTP server: health, metrics, and the channels' webhooks.

        Empty (no server) for a console-only run unless BANTIN_HTTP=on; always served when
        a platform channel runs (BANTIN_HTTP=auto), since orchestrators probe /healthz.
        """
        mode = self.config.settings.bantin_http
        webhooks = []
        for channel in self.channels.values():
            path = getattr(channel, "webhook_path", None)
            if path:
                webhooks.append(Route(path, channel.webhook_endpoint, methods=["POST"]))  # type: ignore[attr-defined]
        platform = any(name != "console" for name in self.channels)
        if mode == "off" or (mode == "auto" and not platform and not webhooks):
            return webhooks
        return [Route("/healthz", self.healthz), Route("/metrics", self.metrics_endpoint), *webhooks]

    async def health(self) -> tuple[bool, dict[str, object]]:
        """(healthy, details): the database answers and the scheduler runs."""
        db_ok = await self.store.ping()
        scheduler_ok = self.scheduler is not None and self.scheduler.running
        last = await self.store.last_success() if db_ok else None
        age = round((self.clock() - last).total_seconds(), 1) if last else None
        body: dict[str, object] = {
            "status": "ok" if db_ok and scheduler_ok else "unhealthy",
            "database": "ok" if db_ok else "unreachable",
            "scheduler": "running" if scheduler_ok else "stopped",
            "last_successful_poll_age_seconds": age,
            "instance": self.instance_id,
            "poll_leader": self.poll_lease.held,
            "send_leader": {name: s.lease.held for name, s in self.worker.senders.items()},
        }
        return db_ok and scheduler_ok, body

    async def healthz(self, request: Request) -> Response:
        healthy, body = await self.health()
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def metrics_endpoint(self, request: Request) -> Response:
        try:
            rows, due = await self.store.outbox_counts(self.clock())
            self.metrics.set_outbox(rows, due)
            last = await self.store.last_success()
            if last is not None:
                self.metrics.last_poll_age.set((self.clock() - last).total_seconds())
        except Exception:
            log.exception("metrics: database figures unavailable")
        leases = {"poll": self.poll_lease.held}
        leases.update({f"send:{name}": s.lease.held for name, s in self.worker.senders.items()})
        self.metrics.set_leases(leases)
        return Response(self.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    def admin_chats(self) -> frozenset[tuple[str, str]]:
        admins = set(self.config.admins)
        if "console" in self.channels or self._channels_arg is None:
            from bot.channels.console import CONSOLE_CHAT_ID

            admins.add(("console", CONSOLE_CHAT_ID))
        return frozenset(admins)

    async def close(self) -> None:
        if not self._opened:
            return
        self._opened = False
        if self._client_arg is None and hasattr(self, "client"):
            await self.client.aclose()
        if self._store_arg is None and hasattr(self, "store"):
            await self.store.close()

    # -- alerts and messages --------------------------------------------------------------

    async def alert_admins(self, key: str, values: dict[str, object]) -> None:
        """Queue an alert to every admin chat on an enabled channel, in the outbox."""
        values = {k: (local_date(v, self.config.tz, with_time=True) if isinstance(v, datetime) else v)
                  for k, v in values.items()}
        targets = [(ch, cid) for ch, cid in self.admin_chats() if ch in self.channels]
        for lang in ("vi", "en"):
            chats = []
            for ch, cid in targets:
                chat = await self.store.get_chat(ch, cid)
                if chat is not None and chat.language == lang:
                    chats.append((ch, cid))
            if chats:
                await self.store.enqueue_message("alert", t(lang, key, **values), self.clock(), chats=chats)
        if hasattr(self, "worker"):
            self.worker.wake()

    # -- monthly quotas ------------------------------------------------------------------

    def _month(self) -> str:
        return self.clock().astimezone(self.config.tz).strftime("%Y-%m")

    def _quota_digest(self, channel: str) -> str | None:
        """The forced digest time while ``channel`` is above QUOTA_DIGEST % of its quota."""
        month, over = self._quota_state.get(channel, ("", False))
        if over and month == self._month():
            return self.config.settings.bantin_quota_digest_time
        return None

    async def _count_usage(self, channel: str, count: int = 1) -> None:
        quota = self.quotas.get(channel)
        if not quota:
            return
        month = self._month()
        total = await self.store.add_usage(channel, month, count)
        percent = total * 100 / quota
        self._quota_state[channel] = (month, percent >= QUOTA_DIGEST)
        for threshold, key in ((QUOTA_WARN, "alert_quota_warn"), (QUOTA_DIGEST, "alert_quota_digest")):
            if percent >= threshold and await self.store.mark_usage_warned(channel, month, threshold):
                await self.alert_admins(key, {"channel": channel, "sent": total, "quota": quota,
                                              "percent": int(percent),
                                              "time": self.config.settings.bantin_quota_digest_time})

    async def on_message(self, msg: Incoming, reply: Reply) -> None:
        if msg.migrate_to_chat_id:
            await self.store.migrate_chat(msg.channel, msg.chat_id, msg.migrate_to_chat_id, self.clock())
            log.info("%s chat %s migrated to %s", msg.channel, msg.chat_id, msg.migrate_to_chat_id)
            return
        for out in await self.commands.handle(msg):
            sent_id = await reply(out)
            if out.track_broadcast is not None and sent_id is not None:
                task = asyncio.create_task(
                    self._track_broadcast(msg.channel, msg.chat_id, sent_id, out.track_broadcast),
                    name=f"broadcast-progress:{out.track_broadcast}",
                )
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        self.worker.wake()  # a command may have queued a broadcast

    async def _track_broadcast(self, channel_name: str, chat_id: str, message_id: str, broadcast_id: int,
                               every: float = 2.0) -> None:
        """Keep the admin's progress message up to date until the broadcast is finished."""
        channel = self.channels.get(channel_name)
        chat = await self.store.get_chat(channel_name, chat_id)
        if channel is None or chat is None:
            return
        last = ""
        can_edit = getattr(channel, "can_edit", True)
        while True:
            await asyncio.sleep(every)
            p = await self.store.broadcast_progress(broadcast_id)
            key = "broadcast_done" if p.pending == 0 else "broadcast_progress"
            text = t(chat.language, key, done=p.total - p.pending, total=p.total, sent=p.sent,
                     failed=p.failed + p.cancelled, unreachable=p.unreachable)
            if can_edit and text != last:
                await channel.edit(chat_id, message_id, OutMessage(text))
                last = text
            if p.pending == 0:
                if not can_edit:  # no edits on this platform: one message with the final count
                    with contextlib.suppress(Exception):
                        await channel.send(chat_id, OutMessage(text))
                return

    # -- polling --------------------------------------------------------------------------

    def enabled_sources(self) -> list[Source]:
        return [s for s in self.config.sources if s.enabled]

    async def poll_once(self) -> list[PollReport]:
        reports = await self.poller.poll_all(self.enabled_sources())
        if hasattr(self, "worker"):
            self.worker.wake()
        return reports

    def _jittered(self, seconds: float) -> float:
        return max(1.0, seconds * (1 + self._rng.uniform(-JITTER, JITTER)))

    async def _poll_job(self, source_id: str) -> None:
        source = self.config.source(source_id)
        if source is None or self.scheduler is None:
            return
        held, _ = await self.poll_lease.check()
        if not held:
            # Another instance polls; look again soon, to take over if it dies.
            self._schedule(source_id, min(5.0, self.poll_lease.ttl / 4))
            return
        state = await self.store.source_state(source_id)
        if state is not None and state.next_check_at is not None:
            ahead = (state.next_check_at - self.clock()).total_seconds()
            if ahead > 1.0:  # polled recently (by us or the previous leader): not yet due
                self._schedule(source_id, ahead)
                return
        report = await self.poller.poll(source)
        log.info("poll %s", report.line())
        if report.queued:
            self.worker.wake()
        state = await self.store.source_state(source_id)
        delay: float = source.interval
        if state is not None and state.next_check_at is not None:
            delay = max(1.0, (state.next_check_at - self.clock()).total_seconds())
        self._schedule(source_id, self._jittered(delay))

    def _schedule(self, source_id: str, delay: float) -> None:
        assert self.scheduler is not None
        self.scheduler.add_job(
            self._poll_job, "date", run_date=utcnow() + timedelta(seconds=delay), args=[source_id],
            id=f"poll:{source_id}", replace_existing=True, misfire_grace_time=None, coalesce=True,
        )

    async def _start_scheduler(self) -> None:
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.scheduler.start()
        now = self.clock()
        states = {s.id: s for s in await self.store.source_states()}
        for i, source in enumerate(self.enabled_sources()):
            state = states.get(source.id)
            due = state.next_check_at if state and state.next_check_at else now
            # Spread the first polls a little so a restart does not hit the portal at once.
            delay = max(0.0, (due - now).total_seconds()) + 0.2 * i
            self._schedule(source.id, delay)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.open()
        requeued = await self.store.requeue_expired(self.clock())
        if requeued:
            log.info("%d deliveries were in flight at a crash; they will be retried", requeued)
        routes = self.http_routes()
        if routes:
            settings = self.config.settings
            self.http = await serve(Starlette(routes=routes), host=settings.bantin_http_host,
                                    port=settings.bantin_http_port)
            log.info("HTTP server on %s:%d", settings.bantin_http_host, self.http.port)
        for channel in self.channels.values():
            await channel.start(self.on_message)
        self.worker.start()
        await self._start_scheduler()
        log.info(
            "bantin running: %d sources, channels %s, database %s",
            len(self.enabled_sources()), ", ".join(self.channels), self.store.engine.url.render_as_string(),
        )

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
            await self.poll_lease.release()
        for task in list(self._background):
            task.cancel()
        if hasattr(self, "worker"):
            await self.worker.stop()
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.stop()
        if self.http is not None:
            await self.http.stop()
            self.http = None
        await self.close()

    async def run_until_signal(self, *, duration: float | None = None) -> None:
        """Start, run until SIGINT/SIGTERM (or ``duration`` seconds), stop cleanly."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            if duration is None:
                await stop.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(duration):
                        await stop.wait()
        finally:
            log.info("stopping")
            async with asyncio.timeout(10):
                await self.stop()
