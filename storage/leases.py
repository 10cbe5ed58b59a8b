"""Leases (which instance polls, which sends on a channel) and the monthly message count of
each channel (its quota)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from storage.base import StoreBase
from storage.records import Usage
from storage.tables import CHANNEL_USAGE_T, LEASE_T


class LeasesMixin(StoreBase):
    """Rows of ``leases`` and ``channel_usage``."""

    async def acquire_lease(self, name: str, holder: str, now: datetime, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``ttl`` seconds; False while another holds it.

        One conditional statement, so two instances racing for a free lease cannot both win.
        """
        t = LEASE_T
        expires = now + timedelta(seconds=ttl)
        async with self.engine.begin() as conn:
            taken = await conn.execute(
                update(t)
                .where(t.c.name == name, or_(t.c.holder == holder, t.c.expires_at <= now))
                .values(holder=holder, expires_at=expires)
            )
            if taken.rowcount:
                return True
            inserted = await conn.execute(
                self._insert(t)
                .values(name=name, holder=holder, expires_at=expires)
                .on_conflict_do_nothing()
            )
            return bool(inserted.rowcount)

    async def release_lease(self, name: str, holder: str) -> None:
        t = LEASE_T
        async with self.engine.begin() as conn:
            await conn.execute(delete(t).where(t.c.name == name, t.c.holder == holder))

    async def lease_holders(self, now: datetime) -> dict[str, str]:
        """Current (unexpired) holders by lease name."""
        t = LEASE_T
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(t.c.name, t.c.holder).where(t.c.expires_at > now))
            return {r.name: r.holder for r in rows}

    # -- channel usage (quotas) ---------------------------------------------------------

    async def add_usage(self, channel: str, month: str, count: int = 1) -> int:
        """Count ``count`` more messages sent on ``channel`` in ``month``; the new total."""
        u = CHANNEL_USAGE_T
        async with self.engine.begin() as conn:
            await conn.execute(
                self._insert(u)
                .values(channel=channel, month=month, sent=0, warned=0)
                .on_conflict_do_nothing(index_elements=["channel", "month"])
            )
            return int(
                (
                    await conn.execute(
                        update(u)
                        .where(u.c.channel == channel, u.c.month == month)
                        .values(sent=u.c.sent + count)
                        .returning(u.c.sent)
                    )
                ).scalar_one()
            )

    async def usage(self, channel: str, month: str) -> Usage:
        """Messages sent in ``month``, and the highest warning threshold already announced."""
        u = CHANNEL_USAGE_T
        async with self.engine.connect() as conn:
            r = (
                await conn.execute(
                    select(u.c.sent, u.c.warned).where(u.c.channel == channel, u.c.month == month)
                )
            ).first()
        return Usage(int(r.sent), int(r.warned)) if r else Usage(0, 0)

    async def mark_usage_warned(self, channel: str, month: str, percent: int) -> bool:
        """Record that ``percent`` was announced; False if it (or a higher one) already was."""
        u = CHANNEL_USAGE_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(u)
                .where(u.c.channel == channel, u.c.month == month, u.c.warned < percent)
                .values(warned=percent)
            )
        return bool(result.rowcount)
