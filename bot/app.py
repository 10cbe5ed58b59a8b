"""Composition root: builds the store, HTTP client, channels, poller, scheduler and worker.

Only this module (with the demo) knows the concrete channel adapters. :class:`App` builds
every part at construction; ``open`` does the async set-up (migrations, sources), ``start``
runs the long-running parts and ``stop`` ends them. ``poll_once`` serves ``poll-once``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from bot.channels.base import Capabilities, Channel, Incoming, OutMessage, Reply
from bot.channels.console import CONSOLE_CHAT_ID, ConsoleChannel
from bot.chat.broadcasts import BroadcastDispatcher, BroadcastTracker
from bot.chat.commands import Commands
from bot.chat.keyword_rules import KeywordLimits
from bot.chat.timeofday import parse_quiet_hours
from bot.config import Config
from bot.delivery.allowance import allowances
from bot.delivery.quota import QuotaTracker, plans_of
from bot.delivery.ratelimit import CommandBudget
from bot.delivery.replies import limiter_of, paced
from bot.delivery.retention import Retention
from bot.delivery.worker import DeliveryWorker
from bot.i18n import pick_language, t
from bot.jobs import Job
from bot.ops.admins import AdminAlerts
from bot.ops.health import Health
from bot.ops.httpserver import RunningServer, ServerLimits, serve
from bot.ops.leader import Lease, instance_id
from bot.ops.metrics import Metrics
from bot.ops.redact import register_secret
from bot.polling.poller import Poller, PollReport, PollSettings
from bot.polling.scheduling import PollScheduler
from bot.settings import HttpSettings, parse_networks
from bot.web.command import web_command
from bot.web.site import WebConsole, WebConsoleDeps
from bot.web.zalo_oa import OAConnect
from feeds.fetch import DEFAULT_USER_AGENT, make_client
from storage.store import Store

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def platforms() -> dict[str, Capabilities]:
    """The chat platforms the bot can run on, by name: the web console previews each."""
    from bot.channels.telegram import TelegramChannel
    from bot.channels.zalo import ZaloChannel
    from bot.channels.zalo_oa import ZaloOAChannel

    return {c.name: c.capabilities for c in (TelegramChannel, ZaloChannel, ZaloOAChannel)}


def server_limits(http: HttpSettings) -> ServerLimits:
    """What one client may cost the bot's HTTP server, from the settings."""
    return ServerLimits(
        request_timeout=http.request_timeout,
        idle_timeout=http.keepalive_timeout,
        max_connections=http.max_connections,
        per_client=http.max_connections_per_client,
        trusted_proxies=parse_networks(http.trusted_proxies),
    )


def known_channels() -> dict[str, Capabilities]:
    """Every channel the bot has: the platforms and the terminal chat (``import`` takes each)."""
    return {**platforms(), ConsoleChannel.name: ConsoleChannel.capabilities}


class App:
    """The running bot. ``channels`` defaults to the platforms whose token is set, else the
    console. An App runs once: after :meth:`stop` (or :meth:`close`) build a new one."""

    def __init__(
        self,
        config: Config,
        *,
        channels: Sequence[Channel] | None = None,
        clock: Callable[[], datetime] = utcnow,
        client: httpx.AsyncClient | None = None,
        store: Store | None = None,
    ) -> None:
        s = config.settings
        for secret in s.secrets():  # before any error text is made
            register_secret(secret)
        self.config = config
        self.clock = clock
        self.instance_id = instance_id()
        self.metrics = Metrics()
        self._owns_store, self._owns_client = store is None, client is None
        self.store = store or Store.open(config.database_url)
        self.client = client or make_client(
            user_agent=s.fetch.user_agent or DEFAULT_USER_AGENT, timeout=s.fetch.timeout
        )
        self._opened = False
        self.http: RunningServer | None = None
        #: the plans of the channels that have one (Zalo's free plan: users, messages a month)
        self.quota = QuotaTracker(
            self.store,
            plans_of(s),
            clock=clock,
            tz=config.tz,
            digest_time=s.delivery.quota_digest_time,
            alert=self.alert_admins,
        )
        self._wire_channels(channels)
        self.poller = Poller(
            self.store,
            self.client,
            config.topics,
            clock=clock,
            settings=PollSettings.from_settings(s),
            alert=self.alert_admins,
            on_report=self.metrics.record_poll_report,
        )
        self.commands = Commands(
            self.store,
            config.topics,
            admins=self.admins,
            tz=config.tz,
            clock=clock,
            poll_now=self.poll_once,
            source_names={src.id: src.name for src in config.sources},
            quiet_hours=s.delivery.quiet_hours,
            plan_usage=self.quota.report,
            extra_admin={"web": web_command(self.store, self.admins, self.console_url, clock)},
            keyword_limits=KeywordLimits(s.delivery.max_keywords, s.delivery.max_mutes),
        )
        self.worker = self._delivery_worker()
        self.broadcasts = BroadcastTracker(
            self.store,
            self.channels,
            pace=lambda channel, chat_id, group, send: paced(
                send, limiter_of(self.worker.senders, channel), chat_id, group=group
            ),
        )
        self.command_budget = CommandBudget(s.delivery.reply_rate_per_minute)
        #: the background jobs, started in this order and stopped in reverse
        self.jobs: list[Job] = self._jobs()
        self.console = self._web_console()
        self.health_check = Health(
            self.store,
            self.metrics,
            jobs=self.jobs,
            poll_lease=self.poll_lease,
            send_leases={name: sender.lease for name, sender in self.worker.senders.items()},
            instance_id=self.instance_id,
            clock=clock,
            token=s.http.metrics_token,
        )

    def _wire_channels(self, channels: Sequence[Channel] | None) -> None:
        """The channels (given, else from the settings), the admins and their alerts, and
        what members may cost a channel with a plan (user cap, daily replies, push reserve)."""
        chosen = list(channels) if channels is not None else self._default_channels()
        self.channels: dict[str, Channel] = {c.name: c for c in chosen}
        admins = set(self.config.admins)
        if "console" in self.channels or channels is None:
            admins.add(("console", CONSOLE_CHAT_ID))  # the console user is always an admin
        self.admins = frozenset(admins)
        self.alerts = AdminAlerts(
            self.store,
            self.admins,
            self.channels,
            tz=self.config.tz,
            clock=self.clock,
            on_queued=lambda: self.worker.wake(),
        )
        self.rations = allowances(
            self.quota,
            self.channels,
            store=self.store,
            clock=self.clock,
            tz=self.config.tz,
            alert=self.alert_admins,
            is_admin=lambda msg: self.commands.is_admin(msg),
            join_link=lambda: self.config.settings.zalo.overflow_url or self._telegram_link(),
            metrics=self.metrics,
        )

    def _delivery_worker(self) -> DeliveryWorker:
        s = self.config.settings
        return DeliveryWorker(
            self.store,
            self.channels,
            clock=self.clock,
            tz=self.config.tz,
            topic_names={tp.slug: tp.name for tp in self.config.topics},
            link_previews={src.id: src.link_preview for src in self.config.sources},
            quiet_hours=parse_quiet_hours(s.delivery.quiet_hours),
            concurrency=s.delivery.send_concurrency,
            alert=self.alert_admins,
            owner=self.instance_id,
            lease_ttl=s.general.lease_seconds,
            metrics=self.metrics,
            forced_digest=self.quota.digest_hooks(),
            quota_resets_in=self.quota.resets_in,
        )

    def _jobs(self) -> list[Job]:
        """The background jobs, in starting order (the worker first: the others wake it)."""
        s = self.config.settings
        self.poll_lease = Lease(
            self.store, "poll", self.instance_id, clock=self.clock, ttl=s.general.lease_seconds
        )
        self.scheduler = PollScheduler(
            self.store,
            self.poller,
            self.config.sources,
            self.poll_lease,
            clock=self.clock,
            on_queued=self.worker.wake,
            metrics=self.metrics,
        )
        self.broadcast_dispatcher = BroadcastDispatcher(
            self.store, clock=self.clock, wake=lambda: self.worker.wake(), metrics=self.metrics
        )
        self.retention = Retention(
            self.store, s.delivery.delivery_retention_days, clock=self.clock, metrics=self.metrics
        )
        return [self.worker, self.scheduler, self.retention, self.broadcast_dispatcher]

    def _web_console(self) -> WebConsole:
        s = self.config.settings
        return WebConsole(
            WebConsoleDeps(
                store=self.store,
                topics=self.config.topics,
                sources=[src for src in self.config.sources if src.enabled],
                channels=tuple(self.channels),
                platforms=platforms(),
                admins=self.admins,
                tz=self.config.tz,
                clock=self.clock,
                public_url=s.http.public_url,
                plans=self.quota.plans,
                poll_source=self.poll_source,
                test_url=self._test_url,
                wake=lambda: self.worker.wake(),
                zalo_oa=self._oa_connect(),
            )
        )

    def _oa_connect(self) -> OAConnect | None:
        if "zalo_oa" not in self.channels:
            return None
        from bot.oa_wiring import oa_connect

        return oa_connect(self, self.channels)

    def _default_channels(self) -> list[Channel]:
        """Telegram, Zalo and the Zalo OA when set up; the console chat when none is."""
        s = self.config.settings
        channels: list[Channel] = []
        if s.telegram.bot_token:
            from bot.channels.telegram import TelegramChannel
            from bot.i18n import MENU

            channels.append(
                TelegramChannel(
                    s.telegram.bot_token,
                    base_url=s.telegram.api_base_url,
                    webhook_url=s.telegram.webhook_url or None,
                    webhook_secret=s.telegram.webhook_secret or None,
                    menu=MENU,
                    pool_size=max(s.delivery.send_concurrency * 2, 16),
                    rate=s.telegram.rate,
                    on_update_skipped=self.metrics.skipped_update("telegram"),
                )
            )
        if s.zalo.bot_token:
            from bot.channels.zalo import ZaloChannel

            channels.append(
                ZaloChannel(
                    s.zalo.bot_token,
                    base_url=s.zalo.api_base_url,
                    webhook_url=s.zalo.webhook_url or None,
                    webhook_secret=s.zalo.webhook_secret or None,
                    on_api_send=self.quota.counter("zalo"),
                    rate=s.zalo.rate,
                )
            )
        if s.zalo_oa.app_id:
            from bot.oa_wiring import zalo_oa_channel

            channels.append(zalo_oa_channel(self))
        if not channels:
            channels.append(ConsoleChannel())
        return channels

    # -- HTTP -----------------------------------------------------------------------------

    def http_routes(self) -> list[BaseRoute]:
        """Routes of the bot's HTTP server: health, metrics, the channels' webhooks and the
        web console (``/admin``).

        Empty (no server) for a console-only run unless BANTIN_HTTP=on or BANTIN_PUBLIC_URL
        is set; always served when a platform channel runs (BANTIN_HTTP=auto), since
        orchestrators probe /healthz.
        """
        mode = self.config.settings.http.mode
        webhooks: list[BaseRoute] = [
            Route(c.webhook_path, c.webhook_endpoint, methods=["POST"])
            for c in self.channels.values()
            if c.webhook_path
        ]
        platform = any(name != "console" for name in self.channels)
        wanted = platform or webhooks or self.config.settings.http.public_url
        if mode == "off" or (mode == "auto" and not wanted):
            return webhooks
        return [*self.health_check.routes(), *webhooks, self.console.mount()]

    def console_url(self) -> str:
        """The web console's base URL: BANTIN_PUBLIC_URL, else the server's own address."""
        public = self.config.settings.http.public_url
        if public:
            return public
        if self.http is not None:
            host = self.http.host if self.http.host not in ("0.0.0.0", "::") else "127.0.0.1"
            return f"http://{host}:{self.http.port}"
        return f"http://127.0.0.1:{self.config.settings.http.port}"

    async def poll_source(self, source_id: str) -> str:
        """Poll one source now (the console's *poll now*); the report's line."""
        source = next(src for src in self.config.sources if src.id == source_id)
        report = await self.poller.poll(source)
        self.worker.wake()
        return report.line()

    async def _test_url(self, url: str) -> dict[str, object]:
        from bot.web.checker import test_url

        return await test_url(self.client, self.config, url, parse_pool=self.poller.parse_pool)

    async def health(self) -> tuple[bool, dict[str, object]]:
        """(healthy, details): see :meth:`bot.ops.health.Health.check`."""
        healthy, body = await self.health_check.check()
        return healthy, {**body, **self.health_check.details()}

    # -- messages -------------------------------------------------------------------------

    async def alert_admins(self, key: str, values: dict[str, object]) -> None:
        """Queue an alert to every admin chat on an enabled channel, in the outbox."""
        await self.alerts(key, values)

    async def on_message(self, msg: Incoming, reply: Reply) -> None:
        """Handle one incoming message: a group migration, or a command and its replies
        (within the channel's plan where it has one, :mod:`bot.delivery.allowance`)."""
        if msg.migrate_to_chat_id:
            await self.store.migrate_chat(
                msg.channel, msg.chat_id, msg.migrate_to_chat_id, self.clock()
            )
            log.info("%s chat %s migrated to %s", msg.channel, msg.chat_id, msg.migrate_to_chat_id)
            return
        answered = bool(msg.chat_kind != "group" or msg.text.startswith("/") or msg.callback_data)
        answered = answered or msg.unreadable
        rationed = msg.channel != "console" and answered  # the local operator is not rationed
        if rationed:
            group = msg.chat_kind == "group"
            reply = paced(
                reply, limiter_of(self.worker.senders, msg.channel), msg.chat_id, group=group
            )
        ration = self.rations.get(msg.channel) if answered else None
        ticket = await ration.admit(msg, reply) if ration is not None else None
        if ration is not None and ticket is None:
            return  # not answered: the plan says so (the chat was told why, once a day)
        if rationed and (verdict := self.command_budget.take(msg.channel, msg.chat_id)) != "ok":
            outs = [await self._slow_down(msg)] if verdict == "warn" else []
        else:
            outs = await self.commands.handle(msg)
        if ration is not None and ticket is not None:
            outs = await ration.spend(ticket, outs)  # one message of at most two parts
        for out in outs:
            sent_id = await reply(out)
            if out.track_broadcast is not None and sent_id is not None:
                self.broadcasts.track(msg.channel, msg.chat_id, sent_id, out.track_broadcast)
        self.worker.wake()  # a command may have queued a broadcast

    def _telegram_link(self) -> str:
        """The Telegram bot's own link (``t.me/<bot>``) while Telegram runs, else ""."""
        from bot.channels.telegram import TelegramChannel

        telegram = self.channels.get("telegram")
        if isinstance(telegram, TelegramChannel) and telegram.username:
            return f"https://t.me/{telegram.username}"
        return ""

    async def _slow_down(self, msg: Incoming) -> OutMessage:
        """The one polite answer to a chat over its command budget."""
        chat = await self.store.get_chat(msg.channel, msg.chat_id)
        lang = chat.language if chat is not None else pick_language(msg.language_code)
        seconds = self.command_budget.seconds_to_next(msg.channel, msg.chat_id)
        return OutMessage(text=t(lang, "replies_slow_down", seconds=seconds))

    async def poll_once(self) -> list[PollReport]:
        paused = await self.store.paused_sources()  # paused in the web console
        enabled = [s for s in self.config.sources if s.enabled and s.id not in paused]
        reports = await self.poller.poll_all(enabled)
        self.worker.wake()
        return reports

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """The async set-up: migrations, sources, quota usage, the admins' chats."""
        if self._opened:
            return
        self._opened = True
        if self._owns_store:
            await self.store.upgrade()
        await self.store.sync_sources(self.config.sources, self.clock())
        await self.quota.load()
        await self.alerts.register()
        await self.poller.parse_pool.warm_up()  # parser processes ready before the first poll

    async def close(self) -> None:
        """Close the HTTP client and the store, when they are ours; stop the parser processes."""
        self.poller.close()
        if not self._opened:
            return
        self._opened = False
        if self._owns_client:
            await self.client.aclose()
        if self._owns_store:
            await self.store.close()

    async def start(self) -> None:
        await self.open()
        requeued = await self.store.requeue_expired(self.clock())
        if requeued:
            log.info("%d deliveries were in flight at a crash; they will be retried", requeued)
        routes = self.http_routes()
        if routes:
            http = self.config.settings.http
            self.http = await serve(
                Starlette(routes=routes), host=http.host, port=http.port, limits=server_limits(http)
            )
            log.info("HTTP server on %s:%d", http.host, self.http.port)
        for channel in self.channels.values():
            await channel.start(self.on_message)
        for job in self.jobs:
            await job.start()
        self.console.content.prefetch()
        log.info(
            "bantin running: %d sources, channels %s, database %s",
            len(self.scheduler.sources),
            ", ".join(self.channels),
            self.store.engine.url.render_as_string(),
        )

    async def stop(self) -> None:
        await self.broadcasts.stop()
        # Each job ends after the round under way (a cancelled transaction could hold a lock).
        for job in reversed(self.jobs):
            await job.stop()
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.stop()
        if self.http is not None:
            await self.http.stop()
            self.http = None
        await self.console.close()
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
