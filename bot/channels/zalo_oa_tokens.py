"""The OA's access and refresh tokens: loaded from the database, rotated before they expire
by one instance only, the new pair stored before it is used.

The refresh token is single use (``../shared/zalo-oa-api.md`` section 2): a refresh whose new
pair were lost would lock the OA out until an admin consents again. So the refresher holds a
lease, reads the pair again under it (another instance may just have rotated it), and stores
the new pair with a compare-and-swap on the old refresh token before anything uses it. A
refused refresh (-14014, or an empty answer) marks the channel down and tells the admins,
once, how to reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.channels.zalo_oa_api import OAError, Outcome, Tokens, ZaloOAClient, tokens_from

log = logging.getLogger(__name__)

#: rotate when the access token has less than this left (25 h tokens: at about 20 h)
REFRESH_BEFORE = timedelta(hours=5)


class TokenStore(Protocol):
    """Where the pair lives (the database, wired by the application)."""

    async def load_tokens(self) -> Tokens | None:
        """The stored pair, or None before the OA was connected."""

    async def replace_tokens(self, new: Tokens, old_refresh: str | None) -> bool:
        """Store ``new`` if the stored refresh token is still ``old_refresh`` (None: in any
        case, a fresh connect); False when another writer came first."""

    async def refresh_lease(self) -> bool:
        """Take or renew the refresher's lease; True while this instance holds it."""

    async def reconnect_needed(self, reason: str) -> None:
        """Tell the admins (once per loss) that the OA must be connected again."""


class NotConnected(Exception):
    """No usable token: the OA was never connected, or its refresh token was refused."""


class TokenKeeper:
    """The current access token for sends, and its rotation."""

    def __init__(
        self,
        client: ZaloOAClient,
        store: TokenStore,
        *,
        clock: Callable[[], datetime],
        refresh_before: timedelta = REFRESH_BEFORE,
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        self.refresh_before = refresh_before
        self._tokens: Tokens | None = None
        self._lock = asyncio.Lock()
        #: why there is no usable token (None while there is one)
        self.down: str | None = None

    @property
    def oa_id(self) -> str:
        return self._tokens.oa_id if self._tokens is not None else ""

    async def load(self) -> Tokens | None:
        """Read the stored pair (a restart, or another instance rotated it)."""
        tokens = await self.store.load_tokens()
        if tokens is not None and (self._tokens is None or tokens != self._tokens):
            self._tokens = tokens
            if tokens.refresh_expires_at > self.clock():
                self.down = None
        elif tokens is None:
            self.down = self.down or "the Official Account is not connected"
        return tokens

    async def access_token(self) -> str:
        """A token to send with; rotated first when it is about to expire."""
        tokens = self._tokens or await self.load()
        if tokens is None or self.down is not None:
            raise NotConnected(self.down or "the Official Account is not connected")
        if tokens.access_expires_at - self.clock() < self.refresh_before:
            tokens = await self.rotate() or tokens
        if tokens.access_expires_at <= self.clock():
            raise NotConnected("the access token expired and was not renewed yet")
        return tokens.access_token

    async def rotate(self, *, force: bool = False) -> Tokens | None:
        """Refresh the pair if this instance holds the lease and it is (still) due; else read
        what the refresher stored. ``force``: the API refused the current access token."""
        async with self._lock:
            if not await self.store.refresh_lease():
                return await self.load()
            before = self._tokens
            current = await self.load()
            if current is None:
                return None
            rotated_meanwhile = before is not None and current.refresh_token != before.refresh_token
            due = current.access_expires_at - self.clock() < self.refresh_before
            if rotated_meanwhile or not (due or force):
                return current
            return await self._refresh(current)

    async def _refresh(self, current: Tokens) -> Tokens | None:
        try:
            body = await self.client.refresh(current.refresh_token)
        except OAError as exc:
            if exc.outcome is not Outcome.RECONSENT:
                log.warning("zalo_oa: token refresh failed, trying again later: %s", exc)
                return current
            self.down = f"the refresh token was refused ({exc})"
            log.error("zalo_oa: %s; an admin must connect the OA again", self.down)
            await self.store.reconnect_needed(self.down)
            return None
        new = tokens_from(body, self.clock(), oa_id=current.oa_id)
        if not await self.store.replace_tokens(new, current.refresh_token):
            # Cannot happen under the lease unless it lapsed mid-call; the stored pair wins.
            log.error("zalo_oa: another instance stored a pair during our refresh")
            return await self.load()
        self._tokens = new
        log.info("zalo_oa: tokens rotated; access token valid until %s", new.access_expires_at)
        return new

    async def connect(self, code: str, verifier: str, oa_id: str) -> Tokens:
        """The first pair, from the callback's code; stored before anything uses it."""
        body = await self.client.exchange_code(code, verifier)
        new = tokens_from(body, self.clock(), oa_id=oa_id)
        await self.store.replace_tokens(new, None)
        async with self._lock:
            self._tokens = new
            self.down = None
        return new

    async def maintain(self) -> None:
        """One round of the background rotation (the lease decides who rotates)."""
        if self.down is not None and self._tokens is not None:
            await self.load()  # an admin may have reconnected on another instance
            return
        await self.rotate()
