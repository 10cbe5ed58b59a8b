"""The Zalo Official Account channel's rows: its token pair, its members' windows, the
month's sends by kind and cost, and the OAuth states of a "connect" under way."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update

from storage.base import StoreBase
from storage.records import OAAuthState, OAMember, OASends, OATokenRecord
from storage.tables import ZALO_OA_AUTH_T, ZALO_OA_MEMBER_T, ZALO_OA_SEND_T, ZALO_OA_TOKEN_T

ROW = "oa"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ZaloOAMixin(StoreBase):
    """Rows of ``zalo_oa_tokens``, ``zalo_oa_members``, ``zalo_oa_sends``, ``zalo_oa_auth``."""

    # -- tokens ---------------------------------------------------------------------------

    async def oa_tokens(self) -> OATokenRecord | None:
        t = ZALO_OA_TOKEN_T
        async with self.engine.connect() as conn:
            r = (await conn.execute(select(t).where(t.c.name == ROW))).first()
        if r is None:
            return None
        return OATokenRecord(
            r.oa_id,
            r.access_token,
            r.refresh_token,
            r.access_expires_at,
            r.refresh_expires_at,
            r.updated_at,
        )

    async def replace_oa_tokens(
        self, record: OATokenRecord, *, refresh_plain: str, old_refresh_plain: str | None
    ) -> bool:
        """Store the pair in one statement: unconditionally (``old_refresh_plain`` None, a
        connect), else only while the stored refresh token is still the old one."""
        t = ZALO_OA_TOKEN_T
        values: dict[str, Any] = {
            "oa_id": record.oa_id,
            "access_token": record.access_token,
            "refresh_token": record.refresh_token,
            "refresh_hash": _hash(refresh_plain),
            "access_expires_at": record.access_expires_at,
            "refresh_expires_at": record.refresh_expires_at,
            "updated_at": record.updated_at,
        }
        async with self.engine.begin() as conn:
            if old_refresh_plain is None:
                await conn.execute(
                    self._insert(t)
                    .values(name=ROW, **values)
                    .on_conflict_do_update(index_elements=["name"], set_=values)
                )
                return True
            result = await conn.execute(
                update(t)
                .where(t.c.name == ROW, t.c.refresh_hash == _hash(old_refresh_plain))
                .values(**values)
            )
            return bool(result.rowcount)

    # -- members --------------------------------------------------------------------------

    async def oa_member(self, user_id: str) -> OAMember | None:
        m = ZALO_OA_MEMBER_T
        async with self.engine.connect() as conn:
            r = (await conn.execute(select(m).where(m.c.user_id == user_id))).first()
        if r is None:
            return None
        return OAMember(
            r.user_id,
            r.last_interaction_at,
            r.last_msg_id,
            int(r.free_used),
            r.templates_day,
            int(r.templates_today),
        )

    async def _member_row(self, conn: Any, user_id: str, now: datetime) -> None:
        m = ZALO_OA_MEMBER_T
        await conn.execute(
            self._insert(m)
            .values(
                user_id=user_id,
                last_interaction_at=None,
                last_msg_id="",
                free_used=0,
                templates_day="",
                templates_today=0,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["user_id"])
        )

    async def oa_interacted(
        self, user_id: str, at: datetime, msg_id: str, *, newer_only: bool = False
    ) -> None:
        """A new window from ``at``: its msg_id (may be empty), no free reply used yet.
        ``newer_only``: only when ``at`` is newer than what is stored (a report from Zalo)."""
        m = ZALO_OA_MEMBER_T
        async with self.engine.begin() as conn:
            await self._member_row(conn, user_id, at)
            where = [m.c.user_id == user_id]
            if newer_only:
                where.append(or_(m.c.last_interaction_at.is_(None), m.c.last_interaction_at < at))
            await conn.execute(
                update(m)
                .where(*where)
                .values(
                    last_interaction_at=at, last_msg_id=msg_id[:100], free_used=0, updated_at=at
                )
            )

    async def oa_window_closed(self, user_id: str, now: datetime) -> None:
        m = ZALO_OA_MEMBER_T
        async with self.engine.begin() as conn:
            await conn.execute(
                update(m)
                .where(m.c.user_id == user_id)
                .values(last_interaction_at=None, last_msg_id="", updated_at=now)
            )

    async def oa_record_send(
        self,
        user_id: str,
        now: datetime,
        *,
        month: str,
        day: str,
        counts: Sequence[tuple[str, int, int]],
        free: int,
        template: bool,
    ) -> None:
        """Count a send in one transaction: the member's free replies and templates today,
        and per kind (``counts``: kind, messages, VND) the month's sends."""
        m, s = ZALO_OA_MEMBER_T, ZALO_OA_SEND_T
        async with self.engine.begin() as conn:
            await self._member_row(conn, user_id, now)
            values: dict[str, Any] = {"free_used": m.c.free_used + free, "updated_at": now}
            if template:
                values["templates_today"] = case(
                    (m.c.templates_day == day, m.c.templates_today + 1), else_=1
                )
                values["templates_day"] = day
            await conn.execute(update(m).where(m.c.user_id == user_id).values(**values))
            for kind, count, cost in counts:
                if not count:
                    continue
                await conn.execute(
                    self._insert(s)
                    .values(month=month, kind=kind, count=0, cost_vnd=0)
                    .on_conflict_do_nothing(index_elements=["month", "kind"])
                )
                await conn.execute(
                    update(s)
                    .where(s.c.month == month, s.c.kind == kind)
                    .values(count=s.c.count + count, cost_vnd=s.c.cost_vnd + cost)
                )

    async def oa_sends(self, months: Sequence[str]) -> list[OASends]:
        s = ZALO_OA_SEND_T
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(s).where(s.c.month.in_(list(months))).order_by(s.c.month.desc(), s.c.kind)
            )
            return [
                OASends(m["month"], m["kind"], int(m["count"]), int(m["cost_vnd"]))
                for m in (r._mapping for r in rows)
            ]

    async def oa_spent(self, month: str) -> int:
        s = ZALO_OA_SEND_T
        async with self.engine.connect() as conn:
            total = (
                await conn.execute(
                    select(func.coalesce(func.sum(s.c.cost_vnd), 0)).where(s.c.month == month)
                )
            ).scalar_one()
        return int(total)

    # -- connecting -----------------------------------------------------------------------

    async def add_oa_auth(
        self, state: str, verifier: str, admin: str, expires_at: datetime
    ) -> None:
        a = ZALO_OA_AUTH_T
        async with self.engine.begin() as conn:
            await conn.execute(
                a.insert().values(
                    state_hash=_hash(state), verifier=verifier, admin=admin, expires_at=expires_at
                )
            )

    async def take_oa_auth(self, state: str, now: datetime) -> OAAuthState | None:
        """The verifier and admin of a state, once, while it is fresh; expired ones are dropped."""
        a = ZALO_OA_AUTH_T
        async with self.engine.begin() as conn:
            await conn.execute(delete(a).where(a.c.expires_at <= now))
            r = (await conn.execute(select(a).where(a.c.state_hash == _hash(state)))).first()
            if r is None:
                return None
            taken = await conn.execute(delete(a).where(a.c.state_hash == r.state_hash))
            if not taken.rowcount:
                return None
            return OAAuthState(r.verifier, r.admin)
