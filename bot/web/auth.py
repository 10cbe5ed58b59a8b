"""Sign-in and sessions of the web console: one-time links (``/web``), session cookies,
CSRF tokens, a limit on failed sign-ins, and the security headers of every page.

Only SHA-256 hashes of links and cookies reach the database, so a leaked table signs no one in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage.store import Store

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)
COOKIE = "bantin_session"
LANG_COOKIE = "bantin_lang"

#: no inline script or style, nothing from elsewhere, no framing, forms post only here
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # The sign-in link carries its token in the path: never hand it on as a referrer.
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def admin_key(channel: str, chat_id: str) -> str:
    return f"{channel}:{chat_id}"


async def issue_link(store: Store, admin: str, base_url: str, now: datetime) -> str:
    """A new one-time sign-in link for ``admin`` ("channel:id"), valid :data:`LINK_TTL`."""
    token = new_token()
    await store.add_web_link(digest(token), admin, now, now + LINK_TTL)
    return f"{base_url.rstrip('/')}/admin/login/{token}"


class SigninLimit:
    """Failed sign-in attempts (unknown, used or expired links) per ``window`` seconds: at most
    ``per_client`` from one client key and ``total`` from everyone (a client's failures
    beyond its own limit do not count towards the total).

    Only failures count, and a valid link signs in whatever others did: behind a proxy many
    admins share one address, and ten junk requests must not lock them all out. A link is
    256 random bits, so the limit is not what stops guessing; it tells a scanner nothing (a
    failure over the limit is answered 429, not 404 or 410) and makes a scan visible.
    """

    def __init__(
        self,
        per_client: int = 10,
        total: int = 100,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client = per_client
        self.total = total
        self.window = window
        self.clock = clock
        self._by_client: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def failed(self, key: str) -> bool:
        """Count a failed attempt from ``key``; False when it is over either limit."""
        now = self.clock()
        since = now - self.window
        if len(self._by_client) > 10_000:  # forget idle clients rather than grow without end
            self._by_client = {k: v for k, v in self._by_client.items() if v and v[-1] > since}
        mine = self._by_client.setdefault(key, deque())
        for hits in (mine, self._all):
            while hits and hits[0] <= since:
                hits.popleft()
        if len(mine) >= self.per_client:
            return False  # not counted in the total: one client cannot use it all up
        mine.append(now)
        if len(self._all) >= self.total:
            return False
        self._all.append(now)
        return True


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every response of the console."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
