"""A thin async client of the Zalo Bot API over httpx, and its errors.

No Zalo SDK: the clients on PyPI hide the API's errors or need Python 3.14, and the API is a
handful of JSON POSTs (``POST {base}/bot{token}/{method}``). Imports nothing of the bot.

Errors of the client::

    ZaloError                 root; str() never contains the token or a URL
    ├── ZaloApiError          Zalo answered with an error (HTTP >= 400, or ``ok: false``)
    │   └── ZaloAuthError     401: the bot token is wrong or revoked
    └── ZaloNetworkError      no answer: connection failed, timed out (httpx errors are wrapped)

What each code means is :data:`ERROR_TABLE`, Zalo's own table, and nothing else.
"""

from __future__ import annotations

import contextlib
import logging
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
REDACTED = "***"


class Meaning(StrEnum):
    """What an error code says about the request, the bot or Zalo."""

    BAD_REQUEST = "bad request"  # ours: sent again it fails again
    TOKEN = "token"  # the bot token is expired or invalid: nothing works until it is fixed
    SERVER = "server"  # Zalo's trouble: try again later
    NOT_FOUND = "not found"  # "invalid access request": ambiguous, the chat may be gone
    TIMEOUT = "timeout"  # Zalo took too long (getUpdates: no update came)
    QUOTA = "quota"  # the plan's messages are spent until the period rolls over


#: The Zalo Bot Platform's error table, as published ("Bảng mã lỗi",
#: https://bot.zaloplatforms.com/docs): the code comes in the answer's ``error_code``, with
#: ``ok: false`` and a ``description``. Note 403 (a server error there, not "forbidden") and
#: 429 (the plan's quota, not a rate limit that passes in seconds).
ERROR_TABLE: dict[int, tuple[Meaning, str]] = {
    400: (Meaning.BAD_REQUEST, "Bad request: wrong path or invalid API name"),
    401: (Meaning.TOKEN, "Unauthorized: token expired or invalid"),
    403: (Meaning.SERVER, "Internal server error"),
    404: (Meaning.NOT_FOUND, "Not found: invalid access request"),
    408: (Meaning.TIMEOUT, "Request timeout: processing time exceeded"),
    429: (Meaning.QUOTA, "Quota exceeded: exceeded the allowed API usage limit"),
}


def meaning(code: int | None) -> Meaning:
    """What ``code`` means: the table's row; any other 5xx, or no code at all (an answer
    that was not Zalo's, a proxy's page), is Zalo's trouble; any other code is ours."""
    if code in ERROR_TABLE:
        return ERROR_TABLE[code][0]
    if code is None or code >= 500:
        return Meaning.SERVER
    return Meaning.BAD_REQUEST


# ------------------------------------------------------------------------------------------
# Errors


class ZaloError(Exception):
    """Root of the client's errors. Messages are built here, never from a URL."""


class ZaloApiError(ZaloError):
    """Zalo answered ``method`` with an error.

    ``status`` is the HTTP status (200 when the body said ``ok: false``), ``error_code`` the
    body's code if it had one, ``retry_after`` the seconds Zalo asked us to wait, if it said.
    """

    def __init__(
        self,
        method: str,
        *,
        status: int,
        error_code: int | None,
        description: str,
        retry_after: float | None = None,
    ) -> None:
        self.method = method
        self.status = status
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        super().__init__(f"{method}: HTTP {status}, error_code {error_code}: {description}")

    @property
    def code(self) -> int | None:
        """The code that decides what the error means: the body's ``error_code``, where the
        docs put it (with HTTP 200 or an error status), else an error HTTP status."""
        if self.error_code is not None:
            return self.error_code
        return self.status if self.status >= 400 else None

    @property
    def meaning(self) -> Meaning:
        """What the code means, by :data:`ERROR_TABLE`."""
        return meaning(self.code)


class ZaloAuthError(ZaloApiError):
    """Zalo refused the bot token (401)."""


class ZaloNetworkError(ZaloError):
    """No answer from Zalo for ``method``; ``timed_out`` tells a timeout from a refusal."""

    def __init__(self, method: str, detail: str, *, timed_out: bool = False) -> None:
        self.method = method
        self.timed_out = timed_out
        super().__init__(f"{method}: cannot reach Zalo ({detail})")


# ------------------------------------------------------------------------------------------
# The client


class _RedactToken(logging.Filter):
    """Removes the token from records of httpx's logger, which logs request URLs at INFO.

    The application raises that logger to WARNING and redacts tokens in its formatter; this
    keeps the promise even where neither is set up (a script, a test at DEBUG).
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        if self.token in message:
            record.msg = message.replace(self.token, REDACTED)
            record.args = ()
        return True


def _retry_after(response: httpx.Response, body: Any) -> float | None:
    """Seconds to wait, from a Retry-After header (seconds or HTTP date) or the body."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
        with contextlib.suppress(TypeError, ValueError, IndexError):
            when = parsedate_to_datetime(header)
            date = response.headers.get("date")
            now = parsedate_to_datetime(date) if date else None
            if now is not None:
                return max(0.0, (when - now).total_seconds())
    if isinstance(body, dict):
        params = body.get("parameters")
        value = params.get("retry_after") if isinstance(params, dict) else None
        if value is None:
            value = body.get("retry_after")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return max(0.0, float(value))
    return None


class ZaloClient:
    """A thin async client of the Zalo Bot API: one method per call we use, plus :meth:`call`.

    Every method returns the answer's ``result``. Errors: :class:`ZaloApiError` (or
    :class:`ZaloAuthError`) when Zalo answers with one, :class:`ZaloNetworkError` wrapping any
    httpx error (raised ``from None``: httpx exceptions carry the URL, and with it the token).
    An ``http`` client handed in is used as is and not closed by :meth:`aclose`.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = 20.0,
    ) -> None:
        if not token:
            raise ValueError("the Zalo bot token is empty")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._prefix = f"{self.base_url}/bot{token}/"
        self._timeout = timeout
        self._own_http = http is None
        self._http = (
            http
            if http is not None
            else httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)))
        )
        self._log_filter = _RedactToken(token)
        logging.getLogger("httpx").addFilter(self._log_filter)

    def __repr__(self) -> str:
        return f"ZaloClient(base_url={self.base_url!r})"

    def _redact(self, text: str) -> str:
        return text.replace(self._token, REDACTED)

    async def call(
        self, method: str, payload: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """POST ``payload`` as JSON to ``method``; return ``result`` or raise a ZaloError."""
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = httpx.Timeout(timeout, connect=min(10.0, timeout))
        try:
            response = await self._http.post(self._prefix + method, json=payload or {}, **extra)
        except httpx.TimeoutException as exc:
            raise ZaloNetworkError(method, self._describe(exc), timed_out=True) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ZaloNetworkError(method, self._describe(exc)) from None
        return self._result(method, response)

    def _describe(self, exc: Exception) -> str:
        detail = str(exc)
        name = type(exc).__name__
        return self._redact(f"{name}: {detail}" if detail else name)

    def _result(self, method: str, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True and status < 400:
            return body.get("result")
        error_code: int | None = None
        description = ""
        if isinstance(body, dict):
            code = body.get("error_code")
            if isinstance(code, int) and not isinstance(code, bool):
                error_code = code
            description = str(body.get("description") or body.get("message") or "")
        if not description:
            fallback = "not a Zalo answer" if status < 400 else "error"
            description = response.reason_phrase or fallback
        code = error_code if error_code is not None else status
        kind = ZaloAuthError if meaning(code) is Meaning.TOKEN else ZaloApiError
        raise kind(
            method,
            status=status,
            error_code=error_code,
            description=self._redact(description),
            retry_after=_retry_after(response, body),
        )

    async def get_me(self) -> dict[str, Any]:
        """The bot's account (id, account_name, display_name, ...); checks the token."""
        result = await self.call("getMe")
        return result if isinstance(result, dict) else {}

    async def get_updates(self, timeout: int) -> dict[str, Any] | None:
        """Wait up to ``timeout`` seconds for one update; None when none arrived (408)."""
        try:
            # ``timeout`` is a String in getUpdates' parameter table. The HTTP read must
            # outlast the server's own wait.
            result = await self.call(
                "getUpdates", {"timeout": str(int(timeout))}, timeout=timeout + 10.0
            )
        except ZaloApiError as exc:
            if exc.meaning is Meaning.TIMEOUT:
                return None
            raise
        if result is None or isinstance(result, dict):
            return result or None
        log.warning(
            "zalo: getUpdates answered a %s, not one update; ignored", type(result).__name__
        )
        return None

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """Send a text of at most 2,000 characters; returns Zalo's message (message_id, date)."""
        result = await self.call("sendMessage", {"chat_id": chat_id, "text": text})
        return result if isinstance(result, dict) else {}

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> dict[str, Any]:
        """Send the image at ``photo_url`` (Zalo fetches it; uploads are not possible)."""
        payload: dict[str, Any] = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            payload["caption"] = caption
        result = await self.call("sendPhoto", payload)
        return result if isinstance(result, dict) else {}

    async def set_webhook(self, url: str, secret: str) -> Any:
        """Have Zalo POST updates to ``url``, ``secret`` in the X-Bot-Api-Secret-Token header."""
        return await self.call("setWebhook", {"url": url, "secret_token": secret})

    async def delete_webhook(self) -> Any:
        """Back to getUpdates."""
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> Any:
        """The webhook Zalo knows of."""
        return await self.call("getWebhookInfo")

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        """Show "typing..." in the chat."""
        return await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def aclose(self) -> None:
        """Close the HTTP client if it is ours and stop redacting httpx's records."""
        logging.getLogger("httpx").removeFilter(self._log_filter)
        if self._own_http:
            await self._http.aclose()
