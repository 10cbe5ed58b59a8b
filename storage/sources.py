"""Sources: the configured feeds, their poll state (validators, failure streak, alerts), and
the ones an admin paused in the console."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from storage.base import StoreBase, row_to_state
from storage.records import PausedSource, SourceState
from storage.tables import PAUSED_SOURCE_T, SOURCE_T


class SourcesMixin(StoreBase):
    """Rows of ``sources`` (created from the configuration, updated after every poll) and of
    ``paused_sources``."""

    async def sync_sources(self, sources: Iterable[Any], now: datetime) -> None:
        """Create rows for configured sources; refresh name/kind/url of existing ones.

        A source whose URL changed keeps its history but loses its validators (etag).
        """
        t = SOURCE_T
        # The name is for people: cut to its column (VARCHAR(300)) rather than fail the sync.
        sources = list(sources)
        names = {s.id: s.name[:300] for s in sources}
        async with self.engine.begin() as conn:
            existing = {r.id: r for r in (await conn.execute(select(t.c.id, t.c.url))).all()}
            for s in sources:
                if s.id not in existing:
                    await conn.execute(
                        t.insert().values(
                            id=s.id,
                            name=names[s.id],
                            kind=s.kind,
                            url=s.url,
                            consecutive_failures=0,
                            last_item_count=0,
                            alerted=False,
                            created_at=now,
                        )
                    )
                else:
                    values: dict[str, Any] = {"name": names[s.id], "kind": s.kind, "url": s.url}
                    if existing[s.id].url != s.url:
                        values.update(etag=None, last_modified=None, listing_hash=None)
                    await conn.execute(update(t).where(t.c.id == s.id).values(**values))

    async def source_state(self, source_id: str) -> SourceState | None:
        t = SOURCE_T
        async with self.engine.connect() as conn:
            r = (await conn.execute(select(t).where(t.c.id == source_id))).first()
        return row_to_state(r) if r else None

    async def source_states(self) -> list[SourceState]:
        t = SOURCE_T
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(t).order_by(t.c.id))).all()
        return [row_to_state(r) for r in rows]

    async def record_poll_success(
        self,
        source_id: str,
        now: datetime,
        *,
        next_check_at: datetime,
        etag: str | None,
        last_modified: str | None,
        item_count: int | None,
        seeded: bool = False,
        listing_hash: str | None | bool = False,
    ) -> None:
        """Reset the failure streak; ``item_count`` None means 304 (keep the last count).

        ``listing_hash``: the hash of the listing just parsed (``None`` forgets it, so the next
        poll parses again); ``False`` keeps the stored one (nothing was parsed)."""
        t = SOURCE_T
        values: dict[str, Any] = {
            "last_success_at": now,
            "next_check_at": next_check_at,
            "consecutive_failures": 0,
            "etag": etag,
            "last_modified": last_modified,
        }
        if item_count is not None:
            values["last_item_count"] = item_count
        if seeded:
            values["seeded_at"] = now
        if listing_hash is not False:
            values["listing_hash"] = listing_hash
        async with self.engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == source_id).values(**values))

    async def record_poll_failure(
        self, source_id: str, now: datetime, *, error: str, next_check_at: datetime
    ) -> SourceState:
        """Count one more failure in a row and remember the error; return the new state."""
        t = SOURCE_T
        async with self.engine.begin() as conn:
            r = (
                await conn.execute(
                    update(t)
                    .where(t.c.id == source_id)
                    .values(
                        consecutive_failures=t.c.consecutive_failures + 1,
                        last_error=error[:2000],
                        last_error_at=now,
                        next_check_at=next_check_at,
                    )
                    .returning(*t.c)
                )
            ).one()
        return row_to_state(r)

    async def set_source_alerted(self, source_id: str, alerted: bool) -> None:
        t = SOURCE_T
        async with self.engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == source_id).values(alerted=alerted))

    async def last_success(self) -> datetime | None:
        """The most recent successful poll of any source."""
        t = SOURCE_T
        async with self.engine.connect() as conn:
            return (await conn.execute(select(func.max(t.c.last_success_at)))).scalar()

    # -- paused in the console --------------------------------------------------------------

    async def set_source_paused(
        self, source_id: str, paused: bool, admin: str, now: datetime
    ) -> None:
        p = PAUSED_SOURCE_T
        async with self.engine.begin() as conn:
            await conn.execute(delete(p).where(p.c.source_id == source_id))
            if paused:
                await conn.execute(
                    p.insert().values(source_id=source_id, paused_by=admin, paused_at=now)
                )

    async def paused_sources(self) -> dict[str, PausedSource]:
        """source id -> who paused it, and when."""
        p = PAUSED_SOURCE_T
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(p))
            return {r.source_id: PausedSource(r.paused_by, r.paused_at) for r in rows}

    async def is_source_paused(self, source_id: str) -> bool:
        p = PAUSED_SOURCE_T
        async with self.engine.connect() as conn:
            row = await conn.execute(select(p.c.source_id).where(p.c.source_id == source_id))
            return row.first() is not None
