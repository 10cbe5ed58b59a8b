"""Declarative tables. Unique keys do the deduplication; see the migrations for the DDL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are UTC in the database and timezone-aware UTC in Python, on every backend.

    SQLite keeps naive text, so aware values are converted on the way in and tagged on the
    way out; PostgreSQL gets ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass UTC-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL paths on SQLite
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SourceRow(Base):
    """A configured source and its poll state (config lives in TOML; state lives here)."""

    __tablename__ = "sources"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_item_count: Mapped[int] = mapped_column(Integer, default=0)
    seeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: SHA-256 of the last listing parsed in full (unchanged bytes are not parsed again)
    listing_hash: Mapped[str | None] = mapped_column(String(64))


class EntryFailureRow(Base):
    """An entry that failed on its own (parser crash or time limit, refused save): retried a
    few times, then skipped for good. Removed once the entry is stored."""

    __tablename__ = "entry_failures"
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(100), index=True)
    url: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArticleRow(Base):
    """Every item ever seen, once. ``key`` is global so two sources never push one article twice."""

    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(100), ForeignKey("sources.id"))
    key: Mapped[str] = mapped_column(String(500), unique=True)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    topics: Mapped[str] = mapped_column(Text, default="")  # space-separated slugs, for display
    seeded: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: what "newest" means: the publish date, or first sight when there is none or it lies
    #: in the future; never null, so one index serves every "latest" query.
    sort_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_articles_first_seen_at", "first_seen_at"),
        Index("ix_articles_sort_at", "sort_at", "id"),
    )


class ArticleTopicRow(Base):
    """Topic membership computed once at ingestion; indexed for ``latest(topic)`` and fan-out."""

    __tablename__ = "article_topics"
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
    sort_at: Mapped[datetime] = mapped_column(UTCDateTime)  # copy of articles.sort_at

    __table_args__ = (Index("ix_article_topics_topic", "topic", "sort_at", "article_id"),)


class ArticleKeywordRow(Base):
    """Followed keywords (match keys) an article contained when it was ingested."""

    __tablename__ = "article_keywords"
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    keyword: Mapped[str] = mapped_column(String(300), primary_key=True)


class ChatRow(Base):
    """A chat on one channel (a member's private chat, a group, or the local console)."""

    __tablename__ = "chats"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="private")
    language: Mapped[str] = mapped_column(String(5), default="vi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" local; None = instant
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quiet_hours: Mapped[bool] = mapped_column(Boolean, default=True)  # False: opted out
    format: Mapped[str | None] = mapped_column(String(10))  # full | compact | titles; None: full
    added_by: Mapped[str | None] = mapped_column(String(100))  # who registered a channel
    unreachable_count: Mapped[int] = mapped_column(Integer, default=0)
    deactivated_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_chats_channel_chat_id"),)


class SubscriptionRow(Base):
    """A chat follows a topic (``value`` = slug) or a keyword (``value`` = text as typed)."""

    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # a SubscriptionKind value
    value: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(300))  # slug, or the keyword's match key
    thread_id: Mapped[str | None] = mapped_column(String(20))  # a forum topic of the group
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("chat_id", "kind", "key", name="uq_subscriptions_chat_kind_key"),
        Index("ix_subscriptions_kind_key", "kind", "key"),
    )


class ChatBackfillRow(Base):
    """A chat already got the latest few articles of this topic when it subscribed."""

    __tablename__ = "chat_backfills"
    chat_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("chats.id", ondelete="CASCADE"),
        primary_key=True,
    )
    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageRow(Base):
    """A text sent to many chats through the outbox: an admin broadcast or an alert."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "broadcast" | "alert"
    text: Mapped[str] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryRow(Base):
    """The outbox: one row per (chat, article) or (chat, message); the only way anything is sent."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # a storage.records.DeliveryStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(100))
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # worker holding it while 'sending'
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    thread_id: Mapped[str | None] = mapped_column(String(20))  # forum topic to post into
    # why a 'cancelled' delivery was (a storage.records.CancelReason), else NULL
    cancel_reason: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        UniqueConstraint("chat_id", "article_id", name="uq_deliveries_chat_article"),
        UniqueConstraint("chat_id", "message_id", name="uq_deliveries_chat_message"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_chat", "chat_id", "id"),
        Index("ix_deliveries_finished", "status", "updated_at"),
        # "is an earlier delivery of this chat unfinished?" (claim_due): a few seeks, not a
        # scan of every delivery the chat ever had
        Index("ix_deliveries_chat_status", "chat_id", "status", "id"),
        # a broadcast's counts by outcome (its progress, the history) from the index alone,
        # and an article's "sent to N chats" (migration 0009); each holds only its own rows
        Index(
            "ix_deliveries_message",
            "message_id",
            "status",
            "cancel_reason",
            sqlite_where=text("message_id IS NOT NULL"),
            postgresql_where=text("message_id IS NOT NULL"),
        ),
        Index(
            "ix_deliveries_article",
            "article_id",
            "status",
            sqlite_where=text("article_id IS NOT NULL"),
            postgresql_where=text("article_id IS NOT NULL"),
        ),
    )


class LeaseRow(Base):
    """A named lease (``poll``, ``send:telegram``...): who holds it and until when.

    Several instances on one database elect one poller and one sender per channel this way;
    a dead holder's lease simply expires.
    """

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelUsageRow(Base):
    """Messages a channel sent in one calendar month (Zalo's free plan counts them)."""

    __tablename__ = "channel_usage"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "YYYY-MM", local time
    sent: Mapped[int] = mapped_column(Integer, default=0)
    warned: Mapped[int] = mapped_column(Integer, default=0)  # highest threshold (percent) alerted


class DeliveryCountRow(Base):
    """Deliveries deleted by retention, counted by UTC hour (of sending, or of the last
    change) and status, so /stats and its daily chart still count them."""

    __tablename__ = "delivery_counts"
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class WebLinkRow(Base):
    """A one-time sign-in link of the web console (only its SHA-256 is kept)."""

    __tablename__ = "web_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin: Mapped[str] = mapped_column(String(200))  # "channel:id"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSessionRow(Base):
    """A signed-in browser: ``id`` is the SHA-256 of its cookie; ``csrf`` guards its forms."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin: Mapped[str] = mapped_column(String(200))
    csrf: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditRow(Base):
    """One admin action taken in the web console."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    admin: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_audit_log_at", "at"),)


class ScheduledBroadcastRow(Base):
    """A broadcast composed in the console, queued into the outbox once ``send_at`` comes."""

    __tablename__ = "scheduled_broadcasts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(String(10))  # "all" | "topics" | "channels"
    target_values: Mapped[str] = mapped_column(Text, default="")  # space-separated
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  # "scheduled" | "queued" | "cancelled"
    message_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("messages.id", ondelete="SET NULL"),
    )
    queued: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_scheduled_broadcasts_status", "status", "send_at"),)


class PausedSourceRow(Base):
    """A source an admin paused: the scheduler skips it until it is resumed."""

    __tablename__ = "paused_sources"
    source_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    paused_by: Mapped[str] = mapped_column(String(200))
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ZaloOATokenRow(Base):
    """The Zalo Official Account's token pair (one row, ``name = 'oa'``), sealed by the
    application; ``refresh_hash`` (SHA-256 of the refresh token) lets a rotation replace
    exactly the pair it read."""

    __tablename__ = "zalo_oa_tokens"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    oa_id: Mapped[str] = mapped_column(String(40), default="")
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    refresh_hash: Mapped[str] = mapped_column(String(64))
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ZaloOAMemberRow(Base):
    """One OA member's window: last interaction, its msg_id, free replies used since, and
    templates sent on one local day."""

    __tablename__ = "zalo_oa_members"
    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_msg_id: Mapped[str] = mapped_column(String(100), default="")
    free_used: Mapped[int] = mapped_column(Integer, default=0)
    templates_day: Mapped[str] = mapped_column(String(10), default="")
    templates_today: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ZaloOASendRow(Base):
    """Sends on the OA per local month and kind (free, billed, template) and their cost."""

    __tablename__ = "zalo_oa_sends"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_vnd: Mapped[int] = mapped_column(BigInteger, default=0)


class ZaloOAAuthRow(Base):
    """A "connect" under way: the OAuth ``state`` (its SHA-256) and its PKCE verifier, single
    use, for 10 minutes, so the callback may land on any instance."""

    __tablename__ = "zalo_oa_auth"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    verifier: Mapped[str] = mapped_column(Text)
    admin: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The tables as Core ``Table`` objects (what the store's queries use), typed as such.
ENTRY_FAILURE_T = cast(Table, EntryFailureRow.__table__)
SOURCE_T = cast(Table, SourceRow.__table__)
ARTICLE_T = cast(Table, ArticleRow.__table__)
ARTICLE_TOPIC_T = cast(Table, ArticleTopicRow.__table__)
ARTICLE_KEYWORD_T = cast(Table, ArticleKeywordRow.__table__)
CHAT_T = cast(Table, ChatRow.__table__)
SUBSCRIPTION_T = cast(Table, SubscriptionRow.__table__)
MESSAGE_T = cast(Table, MessageRow.__table__)
DELIVERY_T = cast(Table, DeliveryRow.__table__)
LEASE_T = cast(Table, LeaseRow.__table__)
CHAT_BACKFILL_T = cast(Table, ChatBackfillRow.__table__)
CHANNEL_USAGE_T = cast(Table, ChannelUsageRow.__table__)
DELIVERY_COUNT_T = cast(Table, DeliveryCountRow.__table__)
WEB_LINK_T = cast(Table, WebLinkRow.__table__)
WEB_SESSION_T = cast(Table, WebSessionRow.__table__)
AUDIT_T = cast(Table, AuditRow.__table__)
SCHEDULED_BROADCAST_T = cast(Table, ScheduledBroadcastRow.__table__)
PAUSED_SOURCE_T = cast(Table, PausedSourceRow.__table__)
ZALO_OA_TOKEN_T = cast(Table, ZaloOATokenRow.__table__)
ZALO_OA_MEMBER_T = cast(Table, ZaloOAMemberRow.__table__)
ZALO_OA_SEND_T = cast(Table, ZaloOASendRow.__table__)
ZALO_OA_AUTH_T = cast(Table, ZaloOAAuthRow.__table__)
