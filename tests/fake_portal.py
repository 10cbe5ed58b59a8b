"""The demo's portal (bot/demo/portal.py) made scriptable for tests: scripted responses
(failures, broken pages), publishing everything at once, adding articles, a request log."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.demo.portal import DemoArticle, DemoPortal


def slugify(title: str) -> str:
    """The portal's URL slug of a title: ASCII, lower case, words joined by ``-``."""
    folded = unicodedata.normalize("NFKD", title.replace("đ", "d").replace("Đ", "D"))
    ascii_text = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


@dataclass(frozen=True)
class _Override:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]


class ScriptedPortal(DemoPortal):
    """A :class:`DemoPortal` that tests drive. ``requests`` records every request as
    (method, path?query, status), scripted ones included."""

    def __init__(
        self, articles: Sequence[DemoArticle], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(articles, clock=clock)
        self._all_visible = False
        self._overrides: dict[str, _Override] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.app = _Instrument(self.app, self)

    def add(self, article: DemoArticle) -> None:
        """Add an article at runtime; its ``appear_after`` still counts from the portal's start."""
        self._add(article)

    def publish_all(self) -> None:
        """Make every article visible now, whatever its ``appear_after``."""
        self._all_visible = True

    def override(
        self,
        path: str,
        status: int,
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer ``path`` with this response until :meth:`clear_override`.

        ``path`` is matched exactly, first with its query string, then without. A non-empty
        body gets ``text/html; charset=utf-8`` unless ``headers`` set a content type.
        """
        data = body.encode("utf-8") if isinstance(body, str) else body
        hdrs = dict(headers or {})
        if data and not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = "text/html; charset=utf-8"
        self._overrides[path] = _Override(status, data, tuple(hdrs.items()))

    def clear_override(self, path: str) -> None:
        """Serve ``path`` normally again (no error if it had no override)."""
        self._overrides.pop(path, None)

    def _is_visible(self, article: DemoArticle) -> bool:
        return self._all_visible or super()._is_visible(article)

    def _scripted(self, target: str, path: str) -> _Override | None:
        return self._overrides.get(target) or self._overrides.get(path)


class _Instrument:
    """ASGI middleware: scripted overrides first, then the portal; logs every request's status."""

    def __init__(self, app: ASGIApp, portal: ScriptedPortal) -> None:
        self.app = app
        self.portal = portal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        target = f"{path}?{query}" if query else path
        logged = False

        async def logging_send(message: Message) -> None:
            nonlocal logged
            # Logged before the bytes leave, so a client that has its answer sees the entry.
            if message["type"] == "http.response.start" and not logged:
                logged = True
                self.portal.requests.append((scope["method"], target, message["status"]))
            await send(message)

        try:
            scripted = self.portal._scripted(target, path)
            if scripted is not None:
                response = Response(
                    scripted.body, status_code=scripted.status, headers=dict(scripted.headers)
                )
                await response(scope, receive, logging_send)
            else:
                await self.app(scope, receive, logging_send)
        finally:
            if not logged:  # the portal raised before answering: the server answers 500
                self.portal.requests.append((scope["method"], target, 500))
