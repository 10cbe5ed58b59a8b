"""The Zalo OA channel's state in the database, for the adapter's two seams
(:class:`bot.channels.zalo_oa_tokens.TokenStore` and :class:`bot.channels.zalo_oa.Ledger`):
the token pair (sealed), the refresher's lease, members' windows, the month's paid sends,
held deliveries released on an interaction, and the admins' alerts.

Sealing: the pair must live in the database (every instance uses it, and a restart must keep
the single-use refresh token), but a database dump alone should not hand out the OA. So it is
sealed with a key derived from the app secret, which stays in the environment: a SHA-256
counter-mode keystream and an HMAC-SHA256 tag over nonce and ciphertext (the standard
library has no AEAD; the lock has no cryptography package). A changed app secret makes the
stored pair unreadable, which is the same as not connected: an admin connects again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, tzinfo

from bot.channels.zalo_oa_api import Tokens
from bot.channels.zalo_oa_pricing import Kind, Plan, Window, local_day
from bot.ops.alerts import Alert
from bot.ops.leader import Lease
from storage.records import OATokenRecord
from storage.store import Store

LEASE = "refresh:zalo_oa"
CHANNEL = "zalo_oa"
_SEAL = "v1:"


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"bantin zalo_oa token seal\0" + secret.encode()).digest()


def _stream(key: bytes, nonce: bytes, size: int) -> bytes:
    blocks = (
        hashlib.sha256(key + nonce + i.to_bytes(8, "big")).digest() for i in range(size // 32 + 1)
    )
    return b"".join(blocks)[:size]


def seal(text: str, secret: str) -> str:
    """``text`` sealed with ``secret`` (see the module docstring)."""
    key, nonce, plain = _key(secret), secrets.token_bytes(16), text.encode()
    body = bytes(a ^ b for a, b in zip(plain, _stream(key, nonce, len(plain)), strict=True))
    tag = hmac.new(key, nonce + body, hashlib.sha256).digest()[:16]
    return _SEAL + base64.urlsafe_b64encode(nonce + body + tag).decode()


def unseal(sealed: str, secret: str) -> str | None:
    """The text, or None when it was sealed with another secret or altered."""
    if not sealed.startswith(_SEAL):
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed[len(_SEAL) :])
    except ValueError:
        return None
    if len(raw) < 32:
        return None
    key, nonce, body, tag = _key(secret), raw[:16], raw[16:-16], raw[-16:]
    if not hmac.compare_digest(tag, hmac.new(key, nonce + body, hashlib.sha256).digest()[:16]):
        return None
    return bytes(a ^ b for a, b in zip(body, _stream(key, nonce, len(body)), strict=True)).decode()


class ZaloOAState:
    """Both seams of the adapter, on the store. ``wake`` tells the delivery engine that held
    deliveries became due; ``reconnect_url`` is where an admin connects the OA again."""

    def __init__(
        self,
        store: Store,
        *,
        secret: str,
        owner: str,
        clock: Callable[[], datetime],
        tz: tzinfo,
        alert: Alert,
        wake: Callable[[], None] = lambda: None,
        reconnect_url: Callable[[], str] = lambda: "",
        lease_ttl: float = 20.0,
    ) -> None:
        self.store = store
        self._secret = secret
        self.clock = clock
        self.tz = tz
        self._alert = alert
        self.wake = wake
        self.reconnect_url = reconnect_url
        self.lease = Lease(store, LEASE, owner, clock=clock, ttl=lease_ttl)

    def month(self, at: datetime) -> str:
        return at.astimezone(self.tz).strftime("%Y-%m")

    # -- TokenStore -----------------------------------------------------------------------

    async def load_tokens(self) -> Tokens | None:
        record = await self.store.oa_tokens()
        if record is None:
            return None
        access = unseal(record.access_token, self._secret)
        refresh = unseal(record.refresh_token, self._secret)
        if access is None or refresh is None:
            return None  # sealed with another app secret: connect again
        return Tokens(
            access, refresh, record.access_expires_at, record.refresh_expires_at, record.oa_id
        )

    async def replace_tokens(self, new: Tokens, old_refresh: str | None) -> bool:
        record = OATokenRecord(
            oa_id=new.oa_id,
            access_token=seal(new.access_token, self._secret),
            refresh_token=seal(new.refresh_token, self._secret),
            access_expires_at=new.access_expires_at,
            refresh_expires_at=new.refresh_expires_at,
            updated_at=self.clock(),
        )
        return await self.store.replace_oa_tokens(
            record, refresh_plain=new.refresh_token, old_refresh_plain=old_refresh
        )

    async def refresh_lease(self) -> bool:
        return (await self.lease.check()).held

    async def reconnect_needed(self, reason: str) -> None:
        await self._alert(
            "alert_zalo_oa_reconnect", {"reason": reason, "url": self.reconnect_url()}
        )

    # -- Ledger ---------------------------------------------------------------------------

    async def window(self, user_id: str) -> Window:
        member = await self.store.oa_member(user_id)
        if member is None:
            return Window()
        return Window(
            member.last_interaction_at,
            member.last_msg_id,
            member.free_used,
            member.templates_day,
            member.templates_today,
        )

    async def interacted(self, user_id: str, at: datetime, msg_id: str) -> None:
        await self.store.oa_interacted(user_id, at, msg_id)
        if await self.store.release_held(CHANNEL, user_id, at):
            self.wake()

    async def seen(self, user_id: str, at: datetime) -> None:
        await self.store.oa_interacted(user_id, at, "", newer_only=True)

    async def closed(self, user_id: str) -> None:
        await self.store.oa_window_closed(user_id, self.clock())

    async def record(self, user_id: str, plan: Plan, at: datetime) -> None:
        if plan.kind is Kind.TEMPLATE:
            counts = [(Kind.TEMPLATE.value, 1, plan.price)]
        else:
            counts = [(Kind.FREE.value, plan.free, 0), (Kind.BILLED.value, plan.billed, plan.price)]
        await self.store.oa_record_send(
            user_id,
            at,
            month=self.month(at),
            day=local_day(at, self.tz),
            counts=counts,
            free=plan.free,
            template=plan.kind is Kind.TEMPLATE,
        )

    async def spent(self, at: datetime) -> int:
        return await self.store.oa_spent(self.month(at))

    async def alert(self, key: str, values: dict[str, object]) -> None:
        await self._alert(key, values)

    async def unfollowed(self, user_id: str, at: datetime) -> None:
        await self.store.stop_chat(CHANNEL, user_id, "unfollowed the Official Account", at)
