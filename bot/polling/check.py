"""``check-source``: fetch and parse one source without storing anything, for tuning selectors."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TextIO

from bot.config import Config, ConfigError
from bot.ops.logs import escape_controls  # one rule for the terminal and the log
from bot.polling.adhoc import guess_source
from bot.polling.plan import article_date
from feeds.fetch import DEFAULT_USER_AGENT, FetchError, make_client
from feeds.models import Source
from feeds.parsepool import ParsePool
from feeds.reader import CheckedEntry, SourceFailure, SourceReader
from storage.records import EntryFailure

EXIT_FAILED = 1
BODY_WORDS = 40


def _say(text: str = "", *, file: TextIO | None = None) -> None:
    print(escape_controls(text), file=file or sys.stdout)


def _origin(found: str) -> str:
    return found or "none"


def _title(c: CheckedEntry) -> tuple[str, str]:
    page = c.article
    if page and page.title:
        return page.title, page.title_from
    return c.entry.title, "listing" if c.entry.title else ""


def _first_words(text: str, n: int = BODY_WORDS) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


def format_when(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%d/%m/%Y %H:%M") if value else "-"


async def check_source(config: Config, source_ref: str, *, limit: int = 5) -> int:
    source = config.source(source_ref)
    if source is None:
        source = await _guessed(config, source_ref)
        if source is None:
            return EXIT_FAILED
    _say(f"source {source.id} ({source.kind}) {source.url}")
    started = time.perf_counter()
    async with make_client(
        user_agent=config.settings.fetch.user_agent or DEFAULT_USER_AGENT,
        timeout=config.settings.fetch.timeout,
    ) as client:
        # One parser process under the same time limit as the bot's: a hostile page fails
        # its entry here too, instead of hanging the operator's terminal.
        pool = ParsePool(
            min(config.settings.fetch.parse_workers, 1),
            time_limit=config.settings.fetch.parse_timeout,
        )
        reader = SourceReader(
            client, max_bytes=config.settings.fetch.max_response_bytes, parse_pool=pool
        )
        try:
            checked, total = await reader.check(source, limit=limit)
        except SourceFailure as exc:
            _say(f"error: {exc}")
            return EXIT_FAILED
        finally:
            pool.close()
    _say(f"{total} entries in {time.perf_counter() - started:.2f}s; the first {len(checked)}:")
    _print_entries(checked, source, config.tz)
    failures = await _entry_failures(config, source.id) if config.source(source.id) else []
    if failures:
        _say()
        _say(f"entries the poller recorded as failed ({len(failures)} most recent):")
        for f in failures:
            _say(f"   {format_when(f.last_at, config.tz)} x{f.attempts} {f.url}: {f.reason}")
    if not checked:
        _say("no entries found: check the selectors or link_pattern", file=sys.stderr)
        return EXIT_FAILED
    return 0


async def _guessed(config: Config, url: str) -> Source | None:
    """A source guessed from an unconfigured URL, its proposal printed; None after an error."""
    if not url.startswith(("http://", "https://")):
        known = ", ".join(s.id for s in config.sources) or "none"
        raise ConfigError(
            f"{config.config_path}: no source {url!r} (known: {known}); or give a URL"
        )
    user_agent = config.settings.fetch.user_agent or DEFAULT_USER_AGENT
    try:
        async with make_client(user_agent=user_agent) as client:
            guess = await guess_source(
                client, url, max_bytes=config.settings.fetch.max_response_bytes
            )
    except FetchError as exc:
        _say(f"error: {exc}")
        return None
    source = guess.source
    if guess.shapes:
        _say("URL shapes on the page (kept = article links):")
        for line in guess.shapes:
            _say(f"  {line}")
    _say(
        f"(not in {config.config_path}: guessed kind={source.kind}"
        + (f", link_pattern={source.list.link_pattern!r}" if source.list else "")
        + ")"
    )
    _say(f"proposed source, to paste into {config.config_path}:")
    _say()
    for line in guess.toml.splitlines():  # one line at a time: _say escapes newlines too
        _say(line)
    _say()
    return source


def _print_entries(checked: Sequence[CheckedEntry], source: Source, tz: tzinfo) -> None:
    for i, c in enumerate(checked, 1):
        page = c.article
        title, title_from = _title(c)
        when, date_from = article_date(source.kind, c.entry, c.article)
        body, body_from = (
            (page.body, page.body_from)
            if page and page.body
            else ((c.entry.summary, "listing") if c.entry.summary else ("", ""))
        )
        _say()
        _say(f"{i}. {title or '(untitled)'}  [title: {_origin(title_from)}]")
        _say(f"   date:  {format_when(when, tz)}  [{_origin(date_from)}]")
        _say(f"   link:  {c.entry.url}")
        _say(f"   key:   {c.key}")
        if c.error:
            _say(f"   page:  ERROR {c.error}")
        _say(f"   body:  {_first_words(body) if body else '(empty)'}  [{_origin(body_from)}]")
    if checked and source.kind == "html" and source.fetch_articles:
        _say()
        _say(
            "[selector] = the source's [sources.article] rule; [generic] = found without one;"
            " [listing] = taken from the listing page. Add a selector where generic is wrong."
        )


async def _entry_failures(config: Config, source_id: str) -> list[EntryFailure]:
    """The poller's recorded entry failures of this source, read from its database when there
    is one (check-source itself stores nothing)."""
    from storage.store import Store, sqlite_file

    path = sqlite_file(config.database_url)
    if path is not None and not path.exists():
        return []  # never polled here: nothing recorded (and no file created)
    store = Store.open(config.database_url)
    try:
        return await store.entry_failures(source_id)
    except Exception:  # no schema yet, an older one, or no server: nothing to show
        return []
    finally:
        await store.close()
