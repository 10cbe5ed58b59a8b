"""Channel-agnostic rendering of articles and lists into :class:`OutMessage` (text + HTML).

Plain text serves the console and Zalo; the HTML form (every dynamic string escaped) serves
Telegram. Dates are shown in the configured local zone.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from bot.channels.base import Card, OutMessage
from bot.i18n import t
from storage.records import StoredArticle


def local_date(value: datetime | None, tz: tzinfo, *, with_time: bool = False) -> str:
    if value is None:
        return ""
    local = value.astimezone(tz)
    return local.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")


def cards(articles: Sequence[StoredArticle], tz: tzinfo) -> tuple[Card, ...]:
    """The articles as fields (an OA template takes title, date, summary and link)."""
    return tuple(
        Card(
            title=a.title,
            date=local_date(a.published_at or a.first_seen_at, tz),
            summary=a.summary or "",
            link=a.url,
        )
        for a in articles
    )


def _topic_tags(article: StoredArticle, topic_names: Mapping[str, str]) -> list[str]:
    return ["#" + slug.replace("-", "_") for slug in article.topics if slug in topic_names]


def article_message(
    article: StoredArticle,
    *,
    lang: str,
    tz: tzinfo,
    topic_names: Mapping[str, str],
    link_preview: bool = False,
) -> OutMessage:
    """One pushed article: title, date and tags, summary, read-more link."""
    date = local_date(
        article.published_at or article.first_seen_at,
        tz,
        with_time=article.published_at is not None,
    )
    tags = " ".join(_topic_tags(article, topic_names))
    meta = " · ".join(p for p in (date, tags) if p)
    read_more = t(lang, "read_more")
    lines = [f"📰 {article.title}"]
    if meta:
        lines.append(meta)
    if article.summary:
        lines.append(article.summary)
    lines.append(f"{read_more}: {article.url}")
    text = "\n".join(lines)

    e = html.escape
    hlines = [f"<b>{e(article.title)}</b>"]
    if meta:
        hlines.append(f"<i>{e(meta)}</i>")
    if article.summary:
        hlines.append(e(article.summary))
    hlines.append(f'<a href="{e(article.url, quote=True)}">{e(read_more)}</a>')
    return OutMessage(text=text, html="\n".join(hlines), link_preview=link_preview)


def article_list(articles: Sequence[StoredArticle], *, header: str, tz: tzinfo) -> OutMessage:
    """A numbered list of articles (``/latest``, search results)."""
    lines = [header]
    hlines = [f"<b>{html.escape(header)}</b>"]
    for i, a in enumerate(articles, 1):
        date = local_date(a.published_at or a.first_seen_at, tz)
        lines.append(f"{i}. {a.title} ({date})\n   {a.url}")
        hlines.append(
            f'{i}. <a href="{html.escape(a.url, quote=True)}">{html.escape(a.title)}</a> '
            f"<i>({html.escape(date)})</i>"
        )
    return OutMessage(text="\n".join(lines), html="\n".join(hlines))


def articles_message(
    articles: Sequence[StoredArticle],
    *,
    lang: str,
    tz: tzinfo,
    topic_names: Mapping[str, str],
    header: str,
) -> OutMessage:
    """Several articles in one message (a group of new ones, or a digest)."""
    read_more = t(lang, "read_more")
    e = html.escape
    text_parts = [header]
    html_parts = [f"<b>{e(header)}</b>"]
    for i, a in enumerate(articles, 1):
        date = local_date(a.published_at or a.first_seen_at, tz)
        tags = " ".join(_topic_tags(a, topic_names))
        meta = " · ".join(p for p in (date, tags) if p)
        lines = [f"{i}. {a.title}"] + ([meta] if meta else []) + ([a.summary] if a.summary else [])
        lines.append(f"{read_more}: {a.url}")
        text_parts.append("\n".join(lines))
        hl = [f"{i}. <b>{e(a.title)}</b>"] + ([f"<i>{e(meta)}</i>"] if meta else [])
        hl += [e(a.summary)] if a.summary else []
        hl.append(f'<a href="{e(a.url, quote=True)}">{e(read_more)}</a>')
        html_parts.append("\n".join(hl))
    return OutMessage(text="\n\n".join(text_parts), html="\n\n".join(html_parts))


#: the message formats a chat can pick with ``/format``
FORMATS = ("full", "compact", "titles")


def compact_message(articles: Sequence[StoredArticle], *, header: str | None) -> OutMessage:
    """Title and link per article (``/format compact``)."""
    e = html.escape
    lines = [header] if header else []
    hlines = [f"<b>{e(header)}</b>"] if header else []
    numbered = len(articles) > 1
    for i, a in enumerate(articles, 1):
        mark = f"{i}. " if numbered else "📰 "
        lines.append(f"{mark}{a.title}\n{a.url}")
        hlines.append(f'{mark}<a href="{e(a.url, quote=True)}">{e(a.title)}</a>')
    return OutMessage(text="\n".join(lines), html="\n".join(hlines))


def titles_message(articles: Sequence[StoredArticle], *, header: str | None) -> OutMessage:
    """A list of titles (``/format titles``); on Telegram each title is its link."""
    e = html.escape
    lines = [header] if header else []
    hlines = [f"<b>{e(header)}</b>"] if header else []
    for a in articles:
        lines.append(f"• {a.title}")
        hlines.append(f'• <a href="{e(a.url, quote=True)}">{e(a.title)}</a>')
    return OutMessage(text="\n".join(lines), html="\n".join(hlines))


def formatted(
    articles: Sequence[StoredArticle],
    *,
    fmt: str,
    lang: str,
    tz: tzinfo,
    topic_names: Mapping[str, str],
    header: str,
    link_preview: bool = False,
    grouped: bool = False,
) -> OutMessage:
    """Articles in a chat's format; ``header`` heads a group of several, or any number when
    ``grouped`` (a backfill)."""
    grouped = grouped or len(articles) > 1
    if fmt == "compact":
        return compact_message(articles, header=header if grouped else None)
    if fmt == "titles":
        return titles_message(articles, header=header)
    if not grouped:
        return article_message(
            articles[0], lang=lang, tz=tz, topic_names=topic_names, link_preview=link_preview
        )
    return articles_message(articles, lang=lang, tz=tz, topic_names=topic_names, header=header)


def article_card(article: StoredArticle, *, lang: str, tz: tzinfo) -> OutMessage:
    """One article as a shareable card (inline search): title, date, summary, link."""
    card = article_message(article, lang=lang, tz=tz, topic_names={}, link_preview=True)
    return OutMessage(text=card.text, html=card.html, link_preview=True, title=article.title[:256])
