"""``run_bot.py links``: every topic's deep link (private chat and group) and a QR code PNG
per topic, for the portal's section pages and printed notices.

The bot's username comes from the Bot API's getMe (or ``--username`` offline). The token is
only ever part of the request URL, which is never printed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import segno

from bot.chat.deeplinks import PayloadError, make_payload, start_link
from feeds.models import Topic


class LinksError(Exception):
    """The bot's username could not be found (no token, or getMe refused)."""


@dataclass(frozen=True)
class TopicLink:
    """One topic's links and the QR code written for its private-chat link."""

    slug: str
    name: str
    link: str
    group_link: str
    qr_path: Path


async def bot_username(base_url: str, token: str, client: httpx.AsyncClient) -> str:
    """The bot's ``@username`` (without the @) from getMe."""
    if not token:
        raise LinksError("TELEGRAM_BOT_TOKEN is not set (or pass --username)")
    try:
        response = await client.get(f"{base_url.rstrip('/')}/bot{token}/getMe", timeout=20)
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        # The message of an httpx error may hold the URL, and so the token: say less.
        raise LinksError(f"getMe failed: {type(exc).__name__}") from None
    if not data.get("ok") or not data.get("result", {}).get("username"):
        raise LinksError(f"getMe refused: {data.get('description', 'no username')}")
    return str(data["result"]["username"])


def write_links(topics: Sequence[Topic], username: str, out_dir: Path) -> list[TopicLink]:
    """Write ``<slug>.png`` (QR of the private-chat link) per topic into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    links = []
    for topic in topics:
        payload = make_payload([topic.slug])
        link = start_link(username, payload)
        name = re.sub(r"[^A-Za-z0-9_-]", "_", topic.slug)
        path = out_dir / f"{name}.png"
        segno.make(link, error="m").save(str(path), kind="png", scale=8, border=4)
        links.append(
            TopicLink(topic.slug, topic.name, link, start_link(username, payload, group=True), path)
        )
    return links


def all_topics_link(topics: Sequence[Topic], username: str) -> str | None:
    """One link for every topic, when the payload fits Telegram's 64 characters."""
    try:
        return start_link(username, make_payload([t.slug for t in topics]))
    except PayloadError:
        return None
