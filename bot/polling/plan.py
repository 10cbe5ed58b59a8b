"""What one poll of a parsed listing should do, decided without I/O: :func:`plan_poll`.

Pure: no storage, no network, no clock. :class:`bot.polling.poller.Poller` executes the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from feeds.kinds import source_type
from feeds.models import Entry, ExtractedArticle, FieldOrigin, Source, SourceKind

#: article pages fetched when a source is seen for the first time (the rest: listing data only)
SEED_PAGES = 10
#: article pages fetched per source and poll at most (BANTIN_MAX_PAGES_PER_POLL)
MAX_PAGES_PER_POLL = 30
#: entries taken from one listing at most, the first ones (BANTIN_MAX_ENTRIES_PER_LISTING)
MAX_ENTRIES_PER_LISTING = 500


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
    ``deferred``: fresh entries over the page budget. They are not stored (nor marked in any
    way): still fresh on the next poll, which takes the next newest ones. The poller makes
    sure that next poll parses the listing again even if its bytes did not change.
    """

    first_sight: bool
    #: keyed entries on the listing (what the state records as its item count)
    item_count: int
    failure: str | None = None
    #: fresh entries whose article page is fetched
    fetch_pages: tuple[tuple[str, Entry], ...] = ()
    #: fresh entries stored from the listing alone (seeded history, fetch_articles off, or a
    #: link whose page the outbound policy does not let the bot fetch)
    listing_only: tuple[tuple[str, Entry], ...] = ()
    #: fresh entries left for a later poll (over ``max_pages``), newest first
    deferred: tuple[tuple[str, Entry], ...] = ()
    #: entries not stored at all, with why: a link naming a non-public address in a source
    #: that does not allow those (its URL names an internal host)
    dropped: tuple[tuple[str, Entry, str], ...] = ()
    #: of ``listing_only``, the entries whose page the outbound policy does not let the bot
    #: fetch (they would have had it otherwise)
    unfetched: int = 0
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
    *,
    max_pages: int = MAX_PAGES_PER_POLL,
    max_entries: int = MAX_ENTRIES_PER_LISTING,
    fetchable: Callable[[Entry], bool] | None = None,
    drop: Callable[[Entry], str | None] | None = None,
) -> PollPlan:
    """Decide what to do with a listing's entries (``keyed``: unique keys, listing order, as
    :func:`feeds.reader.keyed_entries` gives them) given the keys already stored (and those
    skipped for good). Budgets: only the first ``max_entries`` entries of the listing are
    considered, and at most ``max_pages`` article pages are fetched, the newest first.
    ``fetchable`` (default: every entry) says whose page may be fetched at all; the others
    are stored from the listing alone, never deferred (they cost no request). ``drop``
    (default: none) says why an entry is not stored at all."""
    first_sight = state is None or state.seeded_at is None
    keyed = keyed[:max_entries]
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
    why = {k: w for k, e in fresh if drop is not None and (w := drop(e)) is not None}
    dropped = tuple((k, e, why[k]) for k, e in fresh if k in why)
    fresh = tuple((k, e) for k, e in fresh if k not in why)
    can_fetch = fetchable or (lambda _: True)
    deferred: tuple[tuple[str, Entry], ...] = ()
    if first_sight or not source.fetch_articles:
        # On first sight only the newest entries get their page (what /latest will show); the
        # rest is history, stored from the listing alone.
        with_pages = min(SEED_PAGES, max_pages) if source.fetch_articles else 0
        fetch = tuple(ke for ke in fresh[:with_pages] if can_fetch(ke[1]))
        unfetched = min(len(fresh), with_pages) - len(fetch)
        taken = {k for k, _ in fetch}
        listing_only = tuple(ke for ke in fresh if ke[0] not in taken)
    else:
        ordered = newest_first(fresh)
        wanted = tuple(ke for ke in ordered if can_fetch(ke[1]))
        fetch, deferred = wanted[:max_pages], wanted[max_pages:]
        unfetched = len(fresh) - len(wanted)
        taken = {k for k, _ in wanted}
        listing_only = tuple(ke for ke in fresh if ke[0] not in taken)
    return PollPlan(
        first_sight=first_sight,
        item_count=len(keyed),
        fetch_pages=fetch,
        listing_only=listing_only,
        deferred=deferred,
        dropped=dropped,
        unfetched=unfetched,
        summarise_without_page=not first_sight,
        match_keywords=bool(fresh) and not first_sight,
    )


def newest_first(entries: Sequence[tuple[str, Entry]]) -> tuple[tuple[str, Entry], ...]:
    """By publication date, newest first, when every entry has one; else the listing's own
    order (portals list the newest first; a partial order would mix two orders)."""
    if entries and all(e.published_at is not None for _, e in entries):
        return tuple(sorted(entries, key=_published, reverse=True))
    return tuple(entries)


def _published(item: tuple[str, Entry]) -> datetime:
    published = item[1].published_at
    assert published is not None
    return published


def article_date(
    kind: SourceKind, entry: Entry, page: ExtractedArticle | None
) -> tuple[datetime | None, FieldOrigin]:
    """The date an article is stored with, and where it came from: the one precedence rule.

    Whether the listing's date or the article page's comes first is the source type's
    (:attr:`feeds.kinds.SourceType.listing_date_wins`): a feed declares a date-time, an HTML
    listing usually the day only.
    """
    found: list[tuple[datetime | None, FieldOrigin]] = []
    if page is not None and page.published_at:
        found.append((page.published_at, page.date_from))
    if entry.published_at:
        first = source_type(kind).listing_date_wins
        found.insert(0 if first else len(found), (entry.published_at, "listing"))
    return found[0] if found else (None, "")
