"""``run_bot.py demo``: the bot against a bundled portal snapshot on 127.0.0.1, console chat.

No internet and no token: the simulated portal publishes a few new articles during the first
minute, and the console chat (subscribed to every topic) shows them arrive.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.app import App
from bot.channels.console import CONSOLE_CHAT_ID, ConsoleChannel
from bot.config import Config, load_settings
from bot.demo.portal import DemoPortal, demo_config_text, load_site
from bot.ops.httpserver import serve
from bot.ops.logs import setup_logging
from storage.records import SubscriptionKind

INTRO = """\
bantin demo: a snapshot of the portal is served at {base_url}
The bot has subscribed this console chat to every topic. During the first minute{speed} the
portal publishes {later} new articles; they are pushed here as the bot finds them.
Type /help, /latest, /topics, /sources... /web prints a sign-in link to the web console.
Ctrl-C stops.
"""


async def run_demo(args: argparse.Namespace) -> int:
    settings = load_settings()
    data_dir = settings.database.data_dir
    db_path = data_dir / "demo.sqlite3"
    database = settings.database.model_copy(update={"url": f"sqlite+aiosqlite:///{db_path}"})
    update: dict[str, object] = {"database": database}
    if settings.http.mode == "auto" and not settings.http.public_url:
        # The web console for the console user (/web prints its sign-in link): on loopback,
        # on a free port unless one was chosen.
        port = settings.http.port if "port" in settings.http.model_fields_set else 0
        update["http"] = settings.http.model_copy(
            update={"mode": "on", "host": "127.0.0.1", "port": port}
        )
    settings = settings.model_copy(update=update)
    # Quiet by default: the demo is about the chat, not the log (BANTIN_LOG_LEVEL still wins).
    level = settings.logging.level if "level" in settings.logging.model_fields_set else "WARNING"
    setup_logging(level)
    data_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)  # every demo starts from first sight

    speed = max(args.speed, 0.01)
    t0 = time.monotonic()
    articles = load_site()
    portal = DemoPortal(articles, clock=lambda: t0 + (time.monotonic() - t0) * speed)
    server = await serve(portal.app)
    try:
        base = Config(settings, (), (), Path("demo.toml"))
        config = base.with_sources_text(
            demo_config_text(server.base_url), filename="demo.toml (bundled)"
        )
        console = ConsoleChannel()
        app = App(config, channels=[console])
        await app.open()
        chat = await app.store.upsert_chat("console", CONSOLE_CHAT_ID, app.clock(), kind="console")
        for topic in config.topics:
            await app.store.subscribe(
                chat, SubscriptionKind.TOPIC, topic.slug, topic.slug, app.clock()
            )
        later = sum(1 for a in articles if a.appear_after > 0)
        print(
            INTRO.format(
                base_url=server.base_url,
                later=later,
                speed=f" (x{speed:g} speed)" if speed != 1 else "",
            ),
            flush=True,
        )
        await app.run_until_signal(duration=args.duration)
    finally:
        await server.stop()
    return 0
