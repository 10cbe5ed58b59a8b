"""Retention: finished deliveries older than a cutoff are deleted in small batches and
counted by hour and status in ``delivery_counts``, which the figures of /stats add back."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import delete, select

from storage.base import StoreBase
from storage.records import DeliveryStatus
from storage.tables import DELIVERY_COUNT_T, DELIVERY_T

#: statuses that never change again, so their rows may go
FINISHED = (
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.CANCELLED,
    DeliveryStatus.UNREACHABLE,
)


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class RetentionMixin(StoreBase):
    """Pruning the outbox without losing its figures."""

    async def prune_deliveries(self, before: datetime, *, batch: int = 1000) -> int:
        """Delete up to ``batch`` finished deliveries last changed before ``before``, adding
        them to the hourly counts in the same transaction; how many were deleted.

        The rows are counted from what the DELETE returned, so two instances pruning at
        once never count a row twice.
        """
        d = DELIVERY_T
        k = DELIVERY_COUNT_T
        async with self.engine.begin() as conn:
            ids = [
                r[0]
                for r in await conn.execute(
                    select(d.c.id)
                    .where(d.c.status.in_(FINISHED), d.c.updated_at < before)
                    .order_by(d.c.updated_at)
                    .limit(batch)
                )
            ]
            if not ids:
                return 0
            gone = (
                await conn.execute(
                    delete(d)
                    .where(d.c.id.in_(ids), d.c.status.in_(FINISHED))
                    .returning(d.c.status, d.c.sent_at, d.c.updated_at)
                )
            ).all()
            counts = Counter(
                (_hour(sent_at if status == DeliveryStatus.SENT and sent_at else updated), status)
                for status, sent_at, updated in gone
            )
            for (hour, status), n in sorted(counts.items()):
                insert = self._insert(k).values(hour=hour, status=status, count=n)
                await conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=["hour", "status"], set_={"count": k.c.count + n}
                    )
                )
        return len(gone)
