"""A source guessed from a URL nobody configured, for ``check-source <URL>`` and the web
console's *test a URL*: a feed is a feed; a listing gets its article links found from the
page itself (feeds.propose), and either way the ``[[sources]]`` block to paste.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import httpx

from feeds import sourcetoml
from feeds.charset import decode_html
from feeds.errors import Refused
from feeds.fetch import fetch
from feeds.models import ListRules, Source
from feeds.netpolicy import OutboundPolicy, address_refusal, host_address, metadata_refusal
from feeds.propose import propose_source, source_toml
from feeds.urls import DEFAULT_ID_PATTERN

#: when no article-link shape stands out: any link whose path carries a long number
FALLBACK_PATTERN = r"/[^?#]*\d{4,}[^/]*$"


@dataclass(frozen=True)
class Guess:
    """The throw-away source, its TOML block, and the URL shapes seen (listings only)."""

    source: Source
    toml: str
    shapes: tuple[str, ...] = ()


def typed_private(url: str) -> bool:
    """Whether the operator typed a private address (their intranet, the demo) on purpose."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = host_address(host)
    return ip is not None and ip is not False and address_refusal(ip) is not None


def looks_like_feed(content: bytes, content_type: str | None) -> bool:
    """RSS/Atom by its Content-Type or its first bytes."""
    if content_type and any(k in content_type.lower() for k in ("rss", "atom", "xml")):
        return True
    head = content[:500].lstrip().lower()
    return head.startswith(b"<?xml") or head.startswith(b"<rss") or head.startswith(b"<feed")


def typed_refusal(url: str, *, allow_private: bool) -> str | None:
    """Why a typed ``url`` is not fetched at all, or None: a cloud metadata service always; a
    private address typed as such unless ``allow_private`` (the web console's setting)."""
    why = metadata_refusal(url)
    if why:
        return why
    if typed_private(url) and not allow_private:
        host = urlsplit(url).hostname or url
        return f"{host} is a private address"
    return None


async def guess_source(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, allow_private: bool = True
) -> Guess:
    """Fetch ``url`` and guess its source; raises :class:`feeds.errors.FetchError`
    (:class:`~feeds.errors.Refused` for the URLs :func:`typed_refusal` names).

    A private address is fetched only when typed as such (see :func:`typed_private`) and
    ``allow_private``: ``check-source`` at the shell allows it, the web console only when its
    operator says so. A name that resolves to one, or a redirect to one, is refused either way.
    """
    why = typed_refusal(url, allow_private=allow_private)
    if why:
        raise Refused(f"GET {url}: refused: {why}", url=url)
    private = typed_private(url)
    result = await fetch(
        client,
        url,
        max_bytes=max_bytes,
        policy=OutboundPolicy(allow_private=private, label="adhoc"),
    )
    host = urlsplit(url).hostname or "adhoc"
    source_id = re.sub(r"[^a-z0-9]+", "-", host.removeprefix("www.").split(".")[0].lower())
    source_id = source_id.strip("-") or "source"
    if looks_like_feed(result.content, result.content_type):
        source = Source(id="adhoc", name=host, kind="rss", url=url, allow_private=private)
        notes = ["the URL was typed as a private address"] if private else []
        return Guess(source, sourcetoml.source_toml(replace(source, id=source_id), notes=notes))
    # Parsing a page is CPU work (bounded: max_bytes, depth-capped): off the event loop.
    html = decode_html(result.content, result.content_type)
    proposal = await asyncio.to_thread(propose_source, html, url=result.url)
    pattern = proposal.link_pattern
    if pattern is None:
        # The portal's article links; any other site: links whose path carries a long number.
        pattern = DEFAULT_ID_PATTERN if b"-duk" in result.content else FALLBACK_PATTERN
        proposal = replace(proposal, link_pattern=pattern)
    rules = ListRules(link_pattern=pattern)
    source = Source(id="adhoc", name=host, kind="html", url=url, list=rules, allow_private=private)
    toml = source_toml(proposal, source_id=source_id, name=host, private=private)
    return Guess(source, toml, tuple(proposal.shapes))
