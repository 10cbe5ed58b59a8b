"""Read-only figures: ``/stats``, the daily activity chart, the outbox gauges of ``/metrics``
and the console's dashboard. An outbox row counts as its status, except that unreachable ones
are counted with the failed ones, as they were before ``unreachable`` was a status of its own."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.base import A, StoreBase
from storage.records import DeliveryStatus, OutboxCounts, Stats, SubscriptionKind
from storage.tables import (
    ARTICLE_T,
    CHAT_T,
    DELIVERY_COUNT_T,
    DELIVERY_T,
    SOURCE_T,
    SUBSCRIPTION_T,
)


def _reported(status: str) -> str:
    """The status a figure is counted under (unreachable deliveries failed)."""
    return DeliveryStatus.FAILED if status == DeliveryStatus.UNREACHABLE else status


async def _topic_subscriptions(conn: AsyncConnection) -> dict[str, int]:
    """Subscriptions per topic slug, in slug order."""
    s = SUBSCRIPTION_T
    q = (
        select(s.c.key, func.count())
        .where(s.c.kind == SubscriptionKind.TOPIC)
        .group_by(s.c.key)
        .order_by(s.c.key)
    )
    return {r[0]: int(r[1]) for r in await conn.execute(q)}


async def _keyword_subscriptions(conn: AsyncConnection) -> int:
    s = SUBSCRIPTION_T
    q = select(func.count()).select_from(s).where(s.c.kind == SubscriptionKind.KEYWORD)
    return int((await conn.execute(q)).scalar() or 0)


async def _sources_in_error(conn: AsyncConnection) -> list[str]:
    """Ids of the sources whose last poll failed, in id order."""
    src = SOURCE_T
    q = select(src.c.id).where(src.c.consecutive_failures > 0).order_by(src.c.id)
    return [r[0] for r in await conn.execute(q)]


class StatsMixin(StoreBase):
    """Counts over every table, for people and dashboards."""

    def _local_day(self, column: Any, offset: timedelta) -> Any:
        """SQL for the local calendar day (``YYYY-MM-DD``) of a UTC column, at a fixed offset."""
        minutes = int(offset.total_seconds() // 60)
        if self.dialect == "sqlite":
            return func.date(column, f"{minutes:+d} minutes")
        # The offset is an int we computed, so it can be spelled into the SQL safely.
        return func.to_char(column + literal_column(f"interval '{minutes} minutes'"), "YYYY-MM-DD")

    async def daily_activity(
        self, now: datetime, tz: Any, days: int = 14
    ) -> list[tuple[Any, int, int]]:
        """(local date, new articles that were pushed, deliveries sent) for each of the last
        ``days`` days, counted in SQL (the zone's offset now; DST shifts are ignored)."""
        d = DELIVERY_T
        local_now = now.astimezone(tz)
        offset = local_now.utcoffset() or timedelta(0)
        first_day = local_now.date() - timedelta(days=days - 1)
        since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=tz)
        a_day = self._local_day(A.first_seen_at, offset)
        d_day = self._local_day(d.c.sent_at, offset)
        async with self.engine.connect() as conn:
            articles = {
                str(r[0]): int(r[1])
                for r in await conn.execute(
                    select(a_day, func.count())
                    .where(A.first_seen_at >= since, ARTICLE_T.c.seeded.is_(False))
                    .group_by(a_day)
                )
            }
            sent = {
                str(r[0]): int(r[1])
                for r in await conn.execute(
                    select(d_day, func.count())
                    .where(d.c.status == DeliveryStatus.SENT, d.c.sent_at >= since)
                    .group_by(d_day)
                )
            }
            # Deliveries already pruned by retention count from their hourly totals.
            k = DELIVERY_COUNT_T
            k_day = self._local_day(k.c.hour, offset)
            for day, n in await conn.execute(
                select(k_day, func.sum(k.c.count))
                .where(k.c.status == DeliveryStatus.SENT, k.c.hour >= since)
                .group_by(k_day)
            ):
                sent[str(day)] = sent.get(str(day), 0) + int(n or 0)
        out = []
        for i in range(days):
            day = first_day + timedelta(days=i)
            key = day.isoformat()
            out.append((day, articles.get(key, 0), sent.get(key, 0)))
        return out

    async def outbox_counts(self, now: datetime) -> OutboxCounts:
        """(channel, status, count) for every outbox row, and (channel, due now) for metrics."""
        d = DELIVERY_T
        c = CHAT_T
        async with self.engine.connect() as conn:
            counts: dict[tuple[str, str], int] = {}
            for channel, status, n in await conn.execute(
                select(c.c.channel, d.c.status, func.count())
                .join(c, c.c.id == d.c.chat_id)
                .group_by(c.c.channel, d.c.status)
            ):
                key = (channel, _reported(status))
                counts[key] = counts.get(key, 0) + int(n)
            rows = [(channel, status, n) for (channel, status), n in counts.items()]
            due = [
                (r[0], int(r[1]))
                for r in await conn.execute(
                    select(c.c.channel, func.count())
                    .join(c, c.c.id == d.c.chat_id)
                    .where(d.c.status == DeliveryStatus.PENDING, d.c.next_attempt_at <= now)
                    .group_by(c.c.channel)
                )
            ]
        return OutboxCounts(rows, due)

    async def stats(self, now: datetime) -> Stats:
        """The figures of ``/stats``. ``now`` is unused since the never-read per-day counts
        went; it stays so the call reads like every other query's."""
        c = CHAT_T
        d = DELIVERY_T
        async with self.engine.connect() as conn:
            active = dict(
                (bool(r[0]), int(r[1]))
                for r in await conn.execute(select(c.c.active, func.count()).group_by(c.c.active))
            )
            by_topic = await _topic_subscriptions(conn)
            keywords = await _keyword_subscriptions(conn)
            by_source = {
                r[0]: int(r[1])
                for r in await conn.execute(
                    select(A.source_id, func.count()).group_by(A.source_id).order_by(A.source_id)
                )
            }
            by_status: dict[str, int] = {}
            for status, n in await conn.execute(
                select(d.c.status, func.count()).group_by(d.c.status)
            ):
                key = _reported(status)
                by_status[key] = by_status.get(key, 0) + int(n)
            k = DELIVERY_COUNT_T
            for status, n in await conn.execute(
                select(k.c.status, func.sum(k.c.count)).group_by(k.c.status)
            ):
                key = _reported(status)
                by_status[key] = by_status.get(key, 0) + int(n or 0)
            in_error = tuple(await _sources_in_error(conn))
        return Stats(
            chats_active=active.get(True, 0),
            chats_inactive=active.get(False, 0),
            subscriptions_by_topic=by_topic,
            keyword_subscriptions=keywords,
            articles_by_source=by_source,
            deliveries_by_status=dict(sorted(by_status.items())),
            sources_in_error=in_error,
        )

    async def dashboard_counts(self) -> dict[str, Any]:
        """What the dashboard shows of ``stats`` without its per-source article count (a scan
        of the whole archive the dashboard does not show)."""
        c = CHAT_T
        d = DELIVERY_T
        async with self.engine.connect() as conn:
            inactive = (
                await conn.execute(select(func.count()).select_from(c).where(c.c.active.is_(False)))
            ).scalar()
            by_topic = await _topic_subscriptions(conn)
            keywords = await _keyword_subscriptions(conn)
            by_status = {
                r[0]: int(r[1])
                for r in await conn.execute(
                    select(d.c.status, func.count()).group_by(d.c.status).order_by(d.c.status)
                )
            }
            in_error = await _sources_in_error(conn)
        return {
            "chats_inactive": int(inactive or 0),
            "subscriptions_by_topic": by_topic,
            "keyword_subscriptions": keywords,
            "deliveries_by_status": by_status,
            "sources_in_error": in_error,
        }
