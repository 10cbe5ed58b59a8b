"""Entry failures: entries that failed on their own (parser crash or time limit, refused
save), with their reason and attempts, so one bad entry never blocks its source."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from storage.base import StoreBase
from storage.records import EntryFailure
from storage.tables import ENTRY_FAILURE_T


def _row(r: Any) -> EntryFailure:
    return EntryFailure(r.source_id, r.key, r.url, r.reason, r.attempts, r.last_at)


class EntriesMixin(StoreBase):
    """Rows of ``entry_failures``: recorded by the poller, shown by /sources and check-source."""

    async def record_entry_failure(
        self, source_id: str, key: str, url: str, reason: str, now: datetime
    ) -> int:
        """Count one more failed attempt of ``key``; returns the attempts so far."""
        t = ENTRY_FAILURE_T
        reason = reason[:1000]
        async with self.engine.begin() as conn:
            attempts = (
                await conn.execute(
                    update(t)
                    .where(t.c.key == key)
                    .values(attempts=t.c.attempts + 1, reason=reason, url=url, last_at=now)
                    .returning(t.c.attempts)
                )
            ).scalar()
            if attempts is None:
                insert = self._insert(t).on_conflict_do_nothing(index_elements=["key"])
                await conn.execute(
                    insert.values(
                        key=key,
                        source_id=source_id,
                        url=url,
                        reason=reason,
                        attempts=1,
                        last_at=now,
                    )
                )
                attempts = 1
        return int(attempts)

    async def given_up_keys(self, keys: Sequence[str], max_attempts: int) -> set[str]:
        """The subset of ``keys`` that failed ``max_attempts`` times: skipped for good."""
        t = ENTRY_FAILURE_T
        out: set[str] = set()
        async with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i : i + 500])
                rows = await conn.execute(
                    select(t.c.key).where(t.c.key.in_(chunk), t.c.attempts >= max_attempts)
                )
                out.update(r[0] for r in rows)
        return out

    async def clear_entry_failures(self, keys: Sequence[str]) -> None:
        """Forget the failures of entries now stored."""
        if not keys:
            return
        t = ENTRY_FAILURE_T
        async with self.engine.begin() as conn:
            for i in range(0, len(keys), 500):
                await conn.execute(delete(t).where(t.c.key.in_(list(keys[i : i + 500]))))

    async def entry_failures(
        self, source_id: str | None = None, *, limit: int = 20
    ) -> list[EntryFailure]:
        """The most recent entry failures, of one source or of all."""
        t = ENTRY_FAILURE_T
        q = select(t).order_by(t.c.last_at.desc(), t.c.key).limit(limit)
        if source_id is not None:
            q = q.where(t.c.source_id == source_id)
        async with self.engine.connect() as conn:
            return [_row(r) for r in (await conn.execute(q)).all()]
