"""A thin async client of the Zalo Official Account API (OAuth v4, OA API v2/v3), its one
table of error codes and what each means for bantin, and PKCE.

Hand-written on httpx, like :mod:`bot.channels.zalo_api`: the OA clients on PyPI are old
(OAuth v3, access tokens in the query string, where httpx logs them) and read ``error`` only
on HTTP errors, whereas the OA API answers every failure **with HTTP 200** and a negative
``error``. Facts and their sources: ``../shared/zalo-oa-api.md`` (section numbers below).
Imports nothing of the bot.

Errors of the client::

    OAError               root; str() never holds a token; ``outcome`` says what to do
    ├── OAApiError        Zalo answered with a failure (negative ``error``, HTTP >= 400,
    │                     an empty or non-JSON body)
    └── OANetworkError    no answer (connection refused, timed out)
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import httpx

OAUTH_BASE_URL = "https://oauth.zaloapp.com"
OPENAPI_BASE_URL = "https://openapi.zalo.me"
BUSINESS_BASE_URL = "https://business.openapi.zalo.me"
#: access tokens live 25 h, refresh tokens 3 months (section 2, third-party quoting official)
ACCESS_LIFETIME = timedelta(hours=25)
REFRESH_LIFETIME = timedelta(days=90)
#: most followers one getlist page holds, and the highest offset it takes (section 5)
FOLLOWERS_PAGE = 50
FOLLOWERS_MAX_OFFSET = 9951


class Outcome(StrEnum):
    """What an answer means for bantin: one value per row of :data:`ERRORS`."""

    RETRY = "retry"  # transient (rate limit, server): back off and try again
    REFRESH = "refresh"  # the access token: refresh it, then try once more
    UNREACHABLE = "unreachable"  # this member cannot receive from the OA
    REJECTED = "rejected"  # our request is wrong: this message can never go
    PARK = "park"  # the OA or app is refused as a whole: park the channel, alert the admins
    BILLING = "billing"  # paid sends are refused (no balance, no quota): hold them, alert
    NIGHT = "night"  # not at night (22:00-06:00): after the night
    TOMORROW = "tomorrow"  # a daily cap (the OA's or this member's): tomorrow
    WINDOW = "window"  # the member's 7-day window is closed: a template, or wait
    RECONSENT = "reconsent"  # OAuth refused (refresh token dead): an admin must reconnect


#: code -> (outcome, the message as published). Section 8: the OA table is third-party
#: (hoangnd25 and an integration spec, both quoting docs ``phu-luc/ma-loi``); ZNS -100..-112
#: are official (zalo.cloud/zns/guidelines/handle-error-code); the -14xxx OAuth codes are
#: third-party quoting ``bat-dau/xac-thuc-va-uy-quyen-cho-ung-dung-new`` and test fixtures.
ERRORS: dict[int, tuple[Outcome, str]] = {
    -32: (Outcome.RETRY, "application or OA reached its API call limit"),
    -100: (Outcome.RETRY, "attachment expired / unknown error (ZNS)"),
    -108: (Outcome.REJECTED, "phone number invalid"),
    -109: (Outcome.PARK, "template id invalid"),
    -131: (Outcome.PARK, "template not approved"),
    -111: (Outcome.REJECTED, "template data empty"),
    -1121: (Outcome.REJECTED, "template parameter exceeds its max length"),
    -1122: (Outcome.REJECTED, "template parameter missing"),
    -115: (Outcome.BILLING, "ZNS balance insufficient"),
    -114: (Outcome.UNREACHABLE, "user cannot receive"),
    -118: (Outcome.UNREACHABLE, "Zalo account does not exist"),
    -119: (Outcome.UNREACHABLE, "account cannot receive"),
    -124: (Outcome.REFRESH, "access token invalid (ZNS host)"),
    -133: (Outcome.NIGHT, "template cannot be sent at night"),
    -144: (Outcome.TOMORROW, "OA exceeded its daily template limit"),
    -201: (Outcome.REJECTED, "a parameter is invalid"),
    -204: (Outcome.PARK, "Official Account is disabled"),
    -205: (Outcome.PARK, "Official Account does not exist"),
    -209: (Outcome.PARK, "API not supported (app not activated)"),
    -212: (Outcome.PARK, "app has not registered this API"),
    -210: (Outcome.REJECTED, "parameter exceeds the allowed limit"),
    -211: (Outcome.BILLING, "out of quota"),
    -213: (Outcome.UNREACHABLE, "user has not followed the OA"),
    -216: (Outcome.REFRESH, "access token is invalid"),
    -217: (Outcome.UNREACHABLE, "user has blocked invitations from the OA"),
    -218: (Outcome.TOMORROW, "this member's receive quota is used up"),
    -219: (Outcome.PARK, "app is removed or disabled"),
    -220: (Outcome.REFRESH, "access token is expired or removed"),
    -221: (Outcome.PARK, "the OA needs to be verified"),
    -224: (Outcome.PARK, "the OA needs a higher tier package"),
    -223: (Outcome.PARK, "the OA has not authorised this API"),
    -227: (Outcome.UNREACHABLE, "user is banned or inactive for over 45 days"),
    -230: (Outcome.WINDOW, "user has not interacted with the OA in the past 7 days"),
    -232: (Outcome.WINDOW, "the last interaction has expired"),
    -233: (Outcome.REJECTED, "message type invalid or not supported"),
    -234: (Outcome.NIGHT, "message cannot be sent at night (22:00-06:00)"),
    -240: (Outcome.REJECTED, "message v2 API shut down"),
    -242: (Outcome.PARK, "invalid appsecret_proof"),
    -244: (Outcome.REJECTED, "user restricted this message type from the OA"),
    -248: (Outcome.REJECTED, "violates the platform standards"),
    -320: (Outcome.BILLING, "app needs a Zalo Cloud Account"),
    -321: (Outcome.BILLING, "the Zalo Cloud Account is out of money"),
    -14002: (Outcome.RECONSENT, "invalid app id"),
    -14003: (Outcome.RECONSENT, "invalid redirect uri"),
    -14014: (Outcome.RECONSENT, "invalid refresh token"),
}


def outcome_of(code: int | None) -> Outcome:
    """The outcome of an error code; an unknown or missing one is transient."""
    if code is None:
        return Outcome.RETRY
    known = ERRORS.get(code)
    if known is not None:
        return known[0]
    # An unlisted OAuth code is still a refusal to grant: only an admin can fix it.
    return Outcome.RECONSENT if -14999 <= code <= -14000 else Outcome.RETRY


# ------------------------------------------------------------------------------------------
# Errors


class OAError(Exception):
    """Root of the client's errors; ``outcome`` is what the channel does about it."""

    outcome: Outcome = Outcome.RETRY
    code: int | None = None


class OAApiError(OAError):
    """Zalo answered ``call`` with a failure (``code``: its ``error``, None when it gave none)."""

    def __init__(self, call: str, code: int | None, description: str, *, status: int = 200):
        self.call = call
        self.code = code
        self.status = status
        self.description = description
        self.outcome = outcome_of(code) if code is not None else self._outcome_without_code()
        super().__init__(f"{call}: error {code} (HTTP {status}): {description}")

    def _outcome_without_code(self) -> Outcome:
        # An empty HTTP-200 body is how one project saw a consumed refresh token (section 2).
        if self.call.startswith("oauth") and self.status < 400:
            return Outcome.RECONSENT
        return Outcome.RETRY


class OANetworkError(OAError):
    """No answer from Zalo for ``call``."""

    def __init__(self, call: str, detail: str) -> None:
        self.call = call
        super().__init__(f"{call}: cannot reach Zalo ({detail})")


# ------------------------------------------------------------------------------------------
# PKCE and tokens (section 2, official: PHP ``PKCEUtil.php``)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_verifier() -> str:
    """base64url of 32 random bytes without padding: 43 characters."""
    return b64url(secrets.token_bytes(32))


def challenge_of(verifier: str) -> str:
    """base64url(SHA-256(ASCII verifier)) without padding (no ``code_challenge_method``)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class Tokens:
    """An OA's token pair as OAuth gave it, with when each expires."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    oa_id: str = ""

    def __repr__(self) -> str:  # never a token in a log line or a traceback
        return f"Tokens(oa_id={self.oa_id!r}, access_expires_at={self.access_expires_at})"


def tokens_from(body: dict[str, Any], now: datetime, oa_id: str = "") -> Tokens:
    """The pair of an OAuth answer; ``expires_in`` is a string of seconds (section 2.6)."""
    try:
        seconds = float(str(body.get("expires_in", "")).strip())
    except ValueError:
        seconds = ACCESS_LIFETIME.total_seconds()
    return Tokens(
        access_token=str(body["access_token"]),
        refresh_token=str(body["refresh_token"]),
        access_expires_at=now + timedelta(seconds=seconds),
        refresh_expires_at=now + REFRESH_LIFETIME,
        oa_id=oa_id,
    )


# ------------------------------------------------------------------------------------------
# The client


class ZaloOAClient:
    """One method per call bantin makes. Every answer's ``error`` is checked (failures come
    with HTTP 200); tokens travel in headers and form bodies only, never in a URL."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        oauth_base: str = OAUTH_BASE_URL,
        openapi_base: str = OPENAPI_BASE_URL,
        business_base: str = BUSINESS_BASE_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.app_id = app_id
        self._secret = app_secret
        self.oauth_base = oauth_base.rstrip("/")
        self.openapi_base = openapi_base.rstrip("/")
        self.business_base = business_base.rstrip("/")
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0))

    def __repr__(self) -> str:
        return f"ZaloOAClient(app_id={self.app_id!r})"

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    def permission_url(self, redirect_uri: str, challenge: str, state: str) -> str:
        """Where an OA admin consents (section 2.2)."""
        query = urlencode(
            {
                "app_id": self.app_id,
                "redirect_uri": redirect_uri,
                "code_challenge": challenge,
                "state": state,
            }
        )
        return f"{self.oauth_base}/v4/oa/permission?{query}"

    async def _request(self, call: str, method: str, url: str, **kw: Any) -> Any:
        try:
            response = await self._http.request(method, url, **kw)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise OANetworkError(call, type(exc).__name__) from None
        status = response.status_code
        try:
            body: Any = response.json() if response.content.strip() else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            what = "an empty answer" if not response.content.strip() else "not a Zalo answer"
            raise OAApiError(call, None, what, status=status)
        code = body.get("error")
        if isinstance(code, str) and code.lstrip("-").isdigit():
            code = int(code)
        if isinstance(code, int) and not isinstance(code, bool) and code < 0:
            text = body.get("message") or body.get("error_name") or body.get("error_reason")
            raise OAApiError(call, code, str(text or ERRORS.get(code, (None, "error"))[1]))
        if status >= 400:
            raise OAApiError(call, None, response.reason_phrase or "error", status=status)
        return body

    # -- OAuth v4 (section 2, official: PHP ``getZaloTokenFromCode``) ----------------------

    async def _oauth(self, call: str, form: dict[str, str]) -> dict[str, Any]:
        body = await self._request(
            call,
            "POST",
            f"{self.oauth_base}/v4/oa/access_token",
            data={"app_id": self.app_id, **form},
            headers={"secret_key": self._secret},
        )
        if not body.get("access_token") or not body.get("refresh_token"):
            raise OAApiError(call, None, "no token pair in the answer")
        return dict(body)

    async def exchange_code(self, code: str, verifier: str) -> dict[str, Any]:
        """The first pair, for the authorisation code of the callback (valid 10 minutes)."""
        form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
        return await self._oauth("oauth:code", form)

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new pair; ``refresh_token`` is spent by this call even when the answer is lost."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._oauth("oauth:refresh", form)

    # -- the OA API (sections 3-5) ---------------------------------------------------------

    async def _get(self, call: str, path: str, token: str, data: dict[str, Any] | None) -> Any:
        params = {"data": json.dumps(data, separators=(",", ":"))} if data is not None else None
        url = f"{self.openapi_base}{path}"
        body = await self._request(call, "GET", url, params=params, headers={"access_token": token})
        return body.get("data")

    async def _post(self, call: str, url: str, token: str, payload: dict[str, Any]) -> Any:
        body = await self._request(call, "POST", url, json=payload, headers={"access_token": token})
        return body.get("data")

    async def send_text(
        self, token: str, text: str, *, user_id: str, reply_to: str | None = None
    ) -> dict[str, Any]:
        """A consultation text (section 3.1). With ``reply_to`` (the member's msg_id) it is a
        reply; by user id alone Zalo counts it as proactive (freshdesk 64000261136)."""
        recipient = {"message_id": reply_to} if reply_to else {"user_id": user_id}
        payload = {"recipient": recipient, "message": {"text": text}}
        data = await self._post(
            "message/cs", f"{self.openapi_base}/v3.0/oa/message/cs", token, payload
        )
        return data if isinstance(data, dict) else {}

    async def send_template(
        self, token: str, user_id: str, template_id: str, template_data: dict[str, str]
    ) -> dict[str, Any]:
        """A ZBS template message by UID (section 3.4, third-party)."""
        payload = {"user_id": user_id, "template_id": template_id, "template_data": template_data}
        url = f"{self.openapi_base}/v3.0/oa/message/template"
        data = await self._post("message/template", url, token, payload)
        return data if isinstance(data, dict) else {}

    async def template_info(self, token: str, template_id: str) -> dict[str, Any]:
        """A template's parameters (``listParams``) and prices (section 3.4)."""
        url = f"{self.business_base}/template/info/v2"
        try:
            response = await self._http.get(
                url, params={"template_id": template_id}, headers={"access_token": token}
            )
        except httpx.HTTPError as exc:
            raise OANetworkError("template/info", type(exc).__name__) from None
        body: Any = response.json() if response.content.strip() else None
        if not isinstance(body, dict) or (isinstance(body.get("error"), int) and body["error"] < 0):
            code = body.get("error") if isinstance(body, dict) else None
            raise OAApiError("template/info", code if isinstance(code, int) else None, "refused")
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    async def quota(self, token: str, user_id: str) -> dict[str, Any]:
        """A member's ``last_interaction`` (ms) and replies left (section 5)."""
        url = f"{self.openapi_base}/v2.0/oa/quota/message"
        data = await self._post("quota/message", url, token, {"user_id": user_id})
        return data if isinstance(data, dict) else {}

    async def followers(
        self, token: str, offset: int = 0, count: int = FOLLOWERS_PAGE
    ) -> dict[str, Any]:
        """One page of followers: ``total``, ``users`` (section 5; count <= 50)."""
        data = {"offset": offset, "count": min(count, FOLLOWERS_PAGE), "is_follower": True}
        page = await self._get("user/getlist", "/v3.0/oa/user/getlist", token, data)
        return page if isinstance(page, dict) else {}

    async def get_oa(self, token: str) -> dict[str, Any]:
        """The OA's profile (``oaid``, ``name``, ``is_verified``...): a cheap token check."""
        data = await self._get("getoa", "/v2.0/oa/getoa", token, None)
        return data if isinstance(data, dict) else {}
