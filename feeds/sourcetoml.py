"""The one writer of a ``[[sources]]`` TOML block: a :class:`Source` in, the text an admin pastes
into ``bantin.toml`` out. ``bot.config.parse_sources_toml`` reads it back to the same source.

Every field that differs from the default is written; nothing else, so a block stays short.
No blank line inside a block: ``check-source`` prints blocks separated by blank lines.
Regexes and selectors go into literal strings (``'...'``: no escapes, read as written) where
they can, and into basic strings otherwise. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import fields

from feeds.models import ArticleRules, ListRules, Source

_DEFAULT = Source(id="", name="", kind="rss", url="")


def basic(value: str) -> str:
    """A TOML basic string (a JSON string is one: same escapes, ``\\uXXXX`` included)."""
    return json.dumps(value, ensure_ascii=False)


def literal(value: str) -> str:
    """A TOML literal string where the value allows it, else a basic string."""
    if "'" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return basic(value)
    return f"'{value}'"


def _array(values: Iterable[str]) -> str:
    return "[" + ", ".join(basic(v) for v in values) + "]"


def source_toml(
    source: Source, *, notes: Sequence[str] = (), list_notes: Sequence[str] = ()
) -> str:
    """The ``[[sources]]`` block of ``source``; ``notes`` become comments under the header,
    ``list_notes`` comments at the end of ``[sources.list]``.
    """
    lines = ["[[sources]]", *(f"# {note}" for note in notes)]
    lines += [
        f"id = {basic(source.id)}",
        f"name = {basic(source.name)}",
        f"kind = {basic(source.kind)}",
        f"url = {basic(source.url)}",
        f"topics = {_array(source.topics)}",
        f"interval = {source.interval}",
    ]
    for name in ("enabled", "fetch_articles", "link_preview", "allow_private"):
        value = getattr(source, name)
        if value != getattr(_DEFAULT, name):
            lines.append(f"{name} = {'true' if value else 'false'}")
    if source.id_pattern:
        lines.append(f"id_pattern = {literal(source.id_pattern)}")
    if source.article_hosts:
        lines.append(f"article_hosts = {_array(source.article_hosts)}")
    if source.list is not None or list_notes:
        lines += ["[sources.list]", *_rules(source.list or ListRules())]
        lines += [f"# {note}" for note in list_notes]
    if source.article is not None:
        lines += ["[sources.article]", *_rules(source.article)]
    return "\n".join(lines)


def _rules(rules: ListRules | ArticleRules) -> list[str]:
    out = []
    for field in fields(rules):
        value = getattr(rules, field.name)
        if isinstance(value, tuple):
            if value:
                out.append(f"{field.name} = {_array(value)}")
        elif value:
            out.append(f"{field.name} = {literal(value)}")
    return out
