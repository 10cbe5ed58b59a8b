"""What the store returns: frozen dataclasses, the delivery statuses, the subscription kinds
and the errors.

Plain values with no SQLAlchemy in sight, so any layer above storage may hold them.

Errors::

    StoreError            root of this package's errors
    └── MigrationError    the schema could not be brought to the current revision
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DeliveryStatus(StrEnum):
    """Where one outbox row stands. Stored as its value in ``deliveries.status``."""

    PENDING = "pending"  # queued, waiting for its ``next_attempt_at``
    SENDING = "sending"  # claimed by a worker (``claimed_by``) and being sent
    SENT = "sent"
    FAILED = "failed"  # the platform rejected it for good
    UNREACHABLE = "unreachable"  # the chat blocked the bot, left, or no longer exists
    CANCELLED = "cancelled"  # never sent: its chat was deactivated or merged away


#: not finished yet: still waiting or in flight
UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class CancelReason(StrEnum):
    """Why a delivery was cancelled. Stored as its value in ``deliveries.cancel_reason``."""

    UNREACHABLE = "unreachable"  # its chat was deactivated for being unreachable
    MIGRATED = "migrated"  # its chat moved and the new chat already had this message


class SubscriptionKind(StrEnum):
    """What a subscription follows. Stored as its value in ``subscriptions.kind``."""

    TOPIC = "topic"  # a configured topic, by slug
    KEYWORD = "keyword"  # a keyword, by match key
    MUTE = "mute"  # a keyword whose articles are never pushed to the chat


class StoreError(Exception):
    """Root of the storage errors."""


class MigrationError(StoreError):
    """The database schema could not be upgraded."""


@dataclass(frozen=True)
class SourceState:
    """Poll state of one source."""

    id: str
    name: str
    kind: str
    url: str
    etag: str | None
    last_modified: str | None
    next_check_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    last_item_count: int
    seeded_at: datetime | None
    alerted: bool
    #: SHA-256 of the last listing parsed in full (see feeds.parsepool.listing_hash)
    listing_hash: str | None = None


@dataclass(frozen=True)
class EntryFailure:
    """An entry that failed on its own: retried until ``attempts`` reaches the limit."""

    source_id: str
    key: str
    url: str
    reason: str
    attempts: int
    last_at: datetime


@dataclass(frozen=True)
class NewArticle:
    """An article to store, with the keyword subscriptions it matched (as match keys)."""

    source_id: str
    key: str
    url: str
    title: str
    published_at: datetime | None
    body: str
    summary: str
    topics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredArticle:
    id: int
    source_id: str
    key: str
    url: str
    title: str
    published_at: datetime | None
    summary: str
    topics: tuple[str, ...]
    first_seen_at: datetime


@dataclass(frozen=True)
class ArticleDetail:
    """One article as its console page shows it: with its body and how many chats got it."""

    article: StoredArticle
    body: str
    sent_to: int


@dataclass(frozen=True)
class SaveResult:
    """What ``Store.save_articles`` did: ids of new articles and deliveries queued."""

    new_ids: tuple[int, ...]
    deliveries: int


@dataclass(frozen=True)
class Chat:
    id: int
    channel: str
    chat_id: str
    title: str
    kind: str
    language: str
    active: bool
    paused: bool
    digest_time: str | None
    last_digest_at: datetime | None = None
    quiet_hours: bool = True
    format: str = "full"  # "full" | "compact" | "titles"
    added_by: str | None = None  # a Telegram channel: who registered it


@dataclass(frozen=True)
class Subscription:
    kind: SubscriptionKind
    value: str
    key: str
    thread_id: str | None = None  # the forum topic its pushes go to


@dataclass(frozen=True)
class ImportResult:
    """What ``Store.import_chats`` did: chats created or updated, subscriptions added."""

    chats: int
    subscriptions: int


@dataclass(frozen=True)
class ChatPage:
    """A page of the console's chat list, and how many chats match its filters in all."""

    chats: list[ChatListing]
    total: int


@dataclass(frozen=True)
class DeliveryJob:
    """Claimed deliveries to one chat, sent as one message: a broadcast or alert, one
    article, or several articles due together (grouped, or a digest)."""

    ids: tuple[int, ...]
    attempts: int
    chat: Chat
    articles: tuple[StoredArticle, ...]
    message_kind: str | None
    message_text: str | None
    message_id: int | None = None
    thread_id: str | None = None  # forum topic of the chat to post into

    @property
    def id(self) -> int:
        return self.ids[0]

    @property
    def article(self) -> StoredArticle | None:
        return self.articles[0] if len(self.articles) == 1 else None


@dataclass(frozen=True)
class Queued:
    """A message queued to its targets: its id and how many deliveries it got."""

    message_id: int
    deliveries: int


@dataclass(frozen=True)
class BroadcastProgress:
    """A broadcast's deliveries counted by outcome, the one count the chat's progress and the
    console's history both show. ``unreachable`` holds the deliveries to chats found
    unreachable and those cancelled because their chat had become so; ``cancelled`` the
    others that were cancelled (a chat merged away)."""

    total: int
    sent: int
    failed: int
    unreachable: int
    cancelled: int
    pending: int

    @property
    def done(self) -> int:
        """Deliveries finished, one way or another."""
        return self.total - self.pending

    @property
    def undelivered(self) -> int:
        """Failed for good or cancelled: what both screens show as failed."""
        return self.failed + self.cancelled


@dataclass(frozen=True)
class OutboxCounts:
    """The outbox gauges of ``/metrics``: (channel, status, rows) for every row, and
    (channel, rows due now)."""

    by_status: list[tuple[str, str, int]]
    due: list[tuple[str, int]]


@dataclass(frozen=True)
class Usage:
    """Messages a channel sent in one month, and the highest warning percentage announced."""

    sent: int
    warned: int


@dataclass(frozen=True)
class Stats:
    chats_active: int
    chats_inactive: int
    subscriptions_by_topic: dict[str, int]
    keyword_subscriptions: int
    articles_by_source: dict[str, int]
    deliveries_by_status: dict[str, int]
    sources_in_error: tuple[str, ...] = ()


# -- the web console ------------------------------------------------------------------------


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser of the web console (``id`` is the SHA-256 of its cookie)."""

    id: str
    admin: str
    csrf: str
    user_agent: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class LinkUse:
    """What using a sign-in link gave: its state ("valid", "used", "expired", "unknown") and,
    when valid, the admin it signs in."""

    state: str
    admin: str | None


@dataclass(frozen=True)
class PausedSource:
    """A source an admin paused in the console: who, and when."""

    paused_by: str
    paused_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    admin: str
    action: str
    detail: str


@dataclass(frozen=True)
class ScheduledBroadcast:
    id: int
    text: str
    target: str  # "all" | "topics" | "channels"
    target_values: tuple[str, ...]
    created_by: str
    created_at: datetime
    send_at: datetime
    status: str  # "scheduled" | "queued" | "cancelled"
    message_id: int | None
    queued: int


@dataclass(frozen=True)
class BroadcastRecord:
    """A sent broadcast (console or ``/broadcast``) with its delivery counts."""

    message_id: int
    text: str
    created_by: str
    created_at: datetime
    counts: BroadcastProgress


@dataclass(frozen=True)
class ChatListing:
    """A chat as the console lists it: settings and subscriptions."""

    chat: Chat
    topics: tuple[str, ...]
    keywords: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class OATokenRecord:
    """The Zalo OA's stored token pair, sealed as the application stored it."""

    oa_id: str
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OAAuthState:
    """A pending OA connect (its one-time state taken): the PKCE verifier and who asked."""

    verifier: str
    admin: str


@dataclass(frozen=True)
class OAMember:
    """What is known of one OA member's interaction (its window) and templates today."""

    user_id: str
    last_interaction_at: datetime | None
    last_msg_id: str
    free_used: int
    templates_day: str
    templates_today: int


@dataclass(frozen=True)
class OASends:
    """Sends of one kind in one month on the OA, and what they cost (VND)."""

    month: str
    kind: str
    count: int
    cost_vnd: int
