"""Admins' sessions of the web console: one-time sign-in links, signed-in sessions and the
audit log of what they did. Tokens are kept only as SHA-256 hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from storage.base import StoreBase
from storage.records import AuditEntry, LinkUse, WebSession
from storage.tables import AUDIT_T, WEB_LINK_T, WEB_SESSION_T


class SessionsMixin(StoreBase):
    """Rows of ``web_links``, ``web_sessions`` and ``audit_log``."""

    async def add_web_link(
        self, token_hash: str, admin: str, now: datetime, expires_at: datetime
    ) -> None:
        async with self.engine.begin() as conn:
            # Spent and expired links are no use to anyone: drop them on the way.
            await conn.execute(delete(WEB_LINK_T).where(WEB_LINK_T.c.expires_at < now))
            await conn.execute(
                WEB_LINK_T.insert().values(
                    token_hash=token_hash, admin=admin, created_at=now, expires_at=expires_at
                )
            )

    async def web_link_state(self, token_hash: str, now: datetime) -> str:
        """ "valid", "used", "expired" or "unknown", without using the link."""
        w = WEB_LINK_T
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(w).where(w.c.token_hash == token_hash))).first()
        if row is None:
            return "unknown"
        if row.used_at is not None:
            return "used"
        return "expired" if row.expires_at <= now else "valid"

    async def use_web_link(self, token_hash: str, now: datetime) -> LinkUse:
        """Marks a valid link used, atomically, so only one caller wins; says who it signs in."""
        w = WEB_LINK_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(w)
                .where(w.c.token_hash == token_hash, w.c.used_at.is_(None), w.c.expires_at > now)
                .values(used_at=now)
                .returning(w.c.admin)
            )
            admin = result.scalar()
        if admin is not None:
            return LinkUse("valid", str(admin))
        return LinkUse(await self.web_link_state(token_hash, now), None)

    async def add_web_session(
        self,
        session_hash: str,
        admin: str,
        csrf: str,
        now: datetime,
        expires_at: datetime,
        user_agent: str = "",
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                WEB_SESSION_T.insert().values(
                    id=session_hash,
                    admin=admin,
                    csrf=csrf,
                    user_agent=user_agent[:300],
                    created_at=now,
                    expires_at=expires_at,
                    last_seen_at=now,
                )
            )

    async def web_session(self, session_hash: str, now: datetime) -> WebSession | None:
        """The live session of that hash (not revoked, not expired), or None."""
        s = WEB_SESSION_T
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(s).where(
                        s.c.id == session_hash, s.c.revoked_at.is_(None), s.c.expires_at > now
                    )
                )
            ).first()
        return _session(row) if row is not None else None

    async def web_sessions(self, now: datetime) -> list[WebSession]:
        """Live sessions, newest first."""
        s = WEB_SESSION_T
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(s)
                .where(s.c.revoked_at.is_(None), s.c.expires_at > now)
                .order_by(s.c.created_at.desc())
            )
            return [_session(r) for r in rows]

    async def revoke_web_session(self, session_hash: str, now: datetime) -> bool:
        s = WEB_SESSION_T
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(s)
                .where(s.c.id == session_hash, s.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return bool(result.rowcount)

    async def audit(self, admin: str, action: str, detail: str, now: datetime) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                AUDIT_T.insert().values(at=now, admin=admin, action=action, detail=detail[:2000])
            )

    async def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        a = AUDIT_T
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(a).order_by(a.c.id.desc()).limit(limit))
            return [AuditEntry(r.at, r.admin, r.action, r.detail) for r in rows]


def _session(r: Any) -> WebSession:
    return WebSession(
        id=r.id,
        admin=r.admin,
        csrf=r.csrf,
        user_agent=r.user_agent,
        created_at=r.created_at,
        expires_at=r.expires_at,
        last_seen_at=r.last_seen_at,
    )
