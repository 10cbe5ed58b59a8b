"""What one poll of a parsed listing should do, decided without I/O: :func:`plan_poll`.

Pure: no storage, no network, no clock. :class:`bot.poller.Poller` executes the plan.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from feeds.models import Entry, Source

#: article pages fetched when a source is seen for the first time (the rest: listing data only)
SEED_PAGES = 10


class PriorState(Protocol):
    """What the plan needs of a source's stored state (``storage``'s ``SourceState`` has it)."""

    @property
    def seeded_at(self) -> datetime | None: ...

    @property
    def last_item_count(self) -> int: ...


@dataclass(frozen=True)
class PollPlan:
    """The decisions for one listing. ``failure`` set: nothing is stored, the poll failed.

    Fresh entries keep the listing's order: ``fetch_pages`` first, then ``listing_only``.
    """

    first_sight: bool
    #: keyed entries on the listing (what the state records as its item count)
    item_count: int
    failure: str | None = None
    #: fresh entries whose article page is fetched
    fetch_pages: tuple[tuple[str, Entry], ...] = ()
    #: fresh entries stored from the listing alone (seeded history, or fetch_articles off)
    listing_only: tuple[tuple[str, Entry], ...] = ()
    #: whether an entry stored without its page (never fetched, or failed) is summarised;
    #: seeded history is not: it is never pushed, and its "body" is only the listing's lead
    summarise_without_page: bool = True
    #: whether fresh articles are matched against the chats' keywords (not for seeded history)
    match_keywords: bool = False

    @property
    def fresh(self) -> tuple[tuple[str, Entry], ...]:
        """Every entry to store, in listing order."""
        return self.fetch_pages + self.listing_only


def plan_poll(
    source: Source,
    state: PriorState | None,
    keyed: Sequence[tuple[str, Entry]],
    known_keys: Collection[str],
) -> PollPlan:
    """Decide what to do with a listing's entries (``keyed``: unique keys, listing order, as
    :func:`feeds.reader.keyed_entries` gives them) given the keys already stored."""
    first_sight = state is None or state.seeded_at is None
    # Zero items is never "no news": a listing always shows its latest articles, so
    # selectors broke, the layout changed, or the feed is damaged.
    if not keyed:
        was = state.last_item_count if state else 0
        failure = (
            f"listing yielded no items (it had {was}): selectors or link_pattern no longer match"
            if was
            else f"{source.kind} listing yielded no items: check the URL, selectors or link_pattern"
        )
        return PollPlan(first_sight, 0, failure=failure)
    fresh = tuple((k, e) for k, e in keyed if k not in known_keys)
    # On first sight only the newest entries get their page (what /latest will show); the
    # rest is history, stored from the listing alone.
    with_pages = (SEED_PAGES if first_sight else len(fresh)) if source.fetch_articles else 0
    return PollPlan(
        first_sight=first_sight,
        item_count=len(keyed),
        fetch_pages=fresh[:with_pages],
        listing_only=fresh[with_pages:],
        summarise_without_page=not first_sight,
        match_keywords=bool(fresh) and not first_sight,
    )
