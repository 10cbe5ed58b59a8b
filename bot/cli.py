"""Command-line interface: ``run`` (default), ``poll-once``, ``check-source``, ``demo``,
``db upgrade``, ``export``, ``import`` and ``links``.

Exit codes: 0 done (even when some sources failed), 2 bad configuration or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.ops.logs import setup_logging

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

log = logging.getLogger("bantin")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_bot.py",
        description="bantin: polls a portal's sections and feeds and pushes new articles to chats.",
    )
    p.add_argument(
        "--config", type=Path, help="sources TOML file (default: $BANTIN_CONFIG or bantin.toml)"
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run until SIGINT/SIGTERM (the default)")
    sub.add_parser(
        "poll-once",
        help="poll every enabled source once, store and queue, print one line per source",
    )
    check = sub.add_parser(
        "check-source", help="fetch and parse one source without storing; show what was extracted"
    )
    check.add_argument("source", help="a source id from the config, or a URL")
    check.add_argument(
        "--limit", type=int, default=5, help="entries whose article page is fetched (default 5)"
    )
    demo = sub.add_parser(
        "demo", help="offline demo: a bundled portal snapshot on 127.0.0.1 and the console chat"
    )
    demo.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    demo.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="make the demo's news appear this many times faster",
    )
    export = sub.add_parser("export", help="write chats and subscriptions as JSON (backup)")
    export.add_argument(
        "--output", "-o", type=Path, help="file to write (default: standard output)"
    )
    imp = sub.add_parser("import", help="read chats and subscriptions from an export (idempotent)")
    imp.add_argument("file", type=Path, help="a file written by export, or - for standard input")
    links = sub.add_parser(
        "links", help="print every topic's Telegram deep link and write a QR code PNG per topic"
    )
    links.add_argument(
        "--output", "-o", type=Path, default=Path("links"), help="folder for the PNGs (./links)"
    )
    links.add_argument("--username", help="the bot's username (default: asked with getMe)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")
    return p


def _load(args: argparse.Namespace) -> Config:
    config = load_config(config_path=args.config)
    setup_logging(
        config.settings.logging.level,
        secrets=config.settings.secrets(),
        as_json=config.settings.logging.as_json,
    )
    return config


async def _poll_once(config: Config) -> int:
    from bot.app import App

    app = App(config, channels=[])
    await app.open()
    try:
        reports = await app.poll_once()
    finally:
        await app.close()
    for r in reports:
        print(r.line(), flush=True)
    if not reports:
        print("no enabled sources", file=sys.stderr)
    return EXIT_OK


async def _db_upgrade(config: Config) -> int:
    from storage.store import Store

    store = Store.open(config.database_url)
    try:
        revision = await store.upgrade()
    finally:
        await store.close()
    print(f"database at revision {revision}")
    return EXIT_OK


async def _run(config: Config) -> int:
    from bot.app import App

    if not (config.settings.telegram.bot_token or config.settings.zalo.bot_token):
        print(
            "bantin: no chat-platform token set, so this is the console chat (you are an admin).\n"
            "Type /help. Ctrl-C stops. No internet? Try `make demo` for the offline demo.",
            flush=True,
        )
    try:
        await App(config).run_until_signal()
    except Exception as exc:
        # Through the logger, never a bare traceback: PTB puts the token in some messages
        # (InvalidToken), and only the log formatter redacts it.
        log.error("the bot could not run: %s", exc, exc_info=True)
        return EXIT_FAILED
    return EXIT_OK


EXPORT_VERSION = 1


async def _export(config: Config, output: Path | None) -> int:
    from datetime import UTC, datetime

    from storage.store import open_store

    store = await open_store(config.database_url)
    try:
        chats = await store.export_chats()
    finally:
        await store.close()
    data = {
        "bantin_export": EXPORT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "chats": chats,
    }
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"exported {len(chats)} chats to {output}", file=sys.stderr)
    return EXIT_OK


async def _import(config: Config, source: Path) -> int:
    from datetime import UTC, datetime

    from storage.store import open_store

    try:
        raw = sys.stdin.read() if str(source) == "-" else source.read_text(encoding="utf-8")
        data = json.loads(raw)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"import: cannot read {source}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from bot.app import known_channels
    from bot.chat.keyword_rules import KeywordLimits
    from bot.ops.importing import ImportProblem, validate_export

    delivery = config.settings.delivery
    limits = KeywordLimits(delivery.max_keywords, delivery.max_mutes)
    try:
        entries = validate_export(data, known_channels(), limits)
    except ImportProblem as exc:
        print(f"import: {source}: {exc}; nothing was imported", file=sys.stderr)
        return EXIT_CONFIG
    store = await open_store(config.database_url)
    try:
        result = await store.import_chats(entries, datetime.now(UTC))
    finally:
        await store.close()
    print(f"imported {result.chats} chats and {result.subscriptions} new subscriptions")
    return EXIT_OK


async def _links(config: Config, output: Path, username: str | None) -> int:
    import httpx

    from bot.chat.links import LinksError, all_topics_link, bot_username, write_links

    if not username:
        tg = config.settings.telegram
        try:
            async with httpx.AsyncClient() as client:
                username = await bot_username(tg.api_base_url, tg.bot_token, client)
        except LinksError as exc:
            print(f"links: {exc}", file=sys.stderr)
            return EXIT_FAILED
    username = username.lstrip("@")
    for item in write_links(config.topics, username, output):
        print(f"{item.slug}\t{item.name}\t{item.link}\t{item.group_link}\t{item.qr_path}")
    every = all_topics_link(config.topics, username)
    if every:
        print(f"*\t(all topics)\t{every}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "run"
    try:
        if command == "demo":
            from bot.demo.runner import run_demo

            return asyncio.run(run_demo(args))
        config = _load(args)
        if command == "run":
            return asyncio.run(_run(config))
        if command == "poll-once":
            return asyncio.run(_poll_once(config))
        if command == "check-source":
            from bot.polling.check import check_source

            return asyncio.run(check_source(config, args.source, limit=args.limit))
        if command == "db":
            return asyncio.run(_db_upgrade(config))
        if command == "export":
            return asyncio.run(_export(config, args.output))
        if command == "import":
            return asyncio.run(_import(config, args.file))
        if command == "links":
            return asyncio.run(_links(config, args.output, args.username))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK
    parser.error(f"unknown command {command}")
    return EXIT_CONFIG
