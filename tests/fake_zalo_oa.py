"""A fake Zalo Official Account API for tests, written from ``../shared/zalo-oa-api.md``
(never from what our client sends): the three hosts on one loopback port.

What it implements, as the reference documents it:
- OAuth v4 (section 2): ``POST /v4/oa/access_token`` with form bodies and the ``secret_key``
  header; codes valid 10 minutes and single use, checked against the PKCE challenge
  (base64url SHA-256, no method parameter); refresh tokens single use (a reused one gets
  -14014, or, configurably, an empty HTTP-200 body) and 3 months long; access tokens 25 h;
  ``expires_in`` as a string; an old access token lives until its own expiry.
- Every failure is HTTP 200 with a negative ``error`` (section 1); the OA token is a bare
  ``access_token`` header; GET parameters come as one JSON ``data=`` query parameter.
- Consultation messages (3.1, 3.2): only within 7 days of the member's last interaction
  (-230); a reply quoting the member's ``message_id`` within 48 h is free up to
  ``free_replies`` (None: unlimited, the 2026 rule); after that, or by ``user_id`` alone
  (counted as proactive, freshdesk 64000261136), billed at ``consultation_price``, or, with
  ``after_free="reject"``, refused with -211. Text over 2,000 characters: -210.
- ZBS templates by UID (3.4) with their ``listParams`` (missing -1122, too long -1121) and
  ``price_uid``; tag 3 is refused at night (22:00-05:59 Asia/Ho_Chi_Minh, -133); template info
  at ``/template/info/v2`` on the business host.
- Quota check ``/v2.0/oa/quota/message`` (``last_interaction`` in ms, a string), followers
  ``/v3.0/oa/user/getlist`` (count <= 50, offset <= 9951, else -210), ``/v2.0/oa/getoa``.
- Webhooks (6): events signed ``mac=`` sha256(app_id + body + timestamp + OA secret key);
  ``signature_first="oa_id"`` or ``signature_key="app_secret"`` sign the other variants.

Codes the reference does not give, chosen here: -14001 wrong ``secret_key``, -14010 invalid
code, -14016 wrong code verifier, -201 a user the OA does not know.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.ops.httpserver import serve

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CODE_TTL = timedelta(minutes=10)
ACCESS_TTL = timedelta(hours=25)
REFRESH_TTL = timedelta(days=90)


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _ms(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


@dataclass
class Member:
    user_id: str
    follower: bool = True
    last_interaction: datetime | None = None
    #: msg_id -> when the member sent it
    messages: dict[str, datetime] = field(default_factory=dict)
    #: free replies used since the last message
    free_used: int = 0


@dataclass(frozen=True)
class Sent:
    """A message the fake accepted: its kind, price and content."""

    kind: str  # "reply" (free), "billed" (proactive / past the free ones), "template"
    user_id: str
    price: int
    text: str = ""
    template_id: str = ""
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class Template:
    tag: int = 2
    params: tuple[tuple[str, int], ...] = (
        ("title", 100),
        ("date", 20),
        ("summary", 400),
        ("link", 200),
    )
    price_uid: int = 200


class FakeOA:
    """The OA of one app. Drive it from the event loop that serves it; ``clock`` is shared
    with the bot under test."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        app_id: str = "3141592653589793",
        app_secret: str = "fake-app-secret-0123456789",
        oa_secret_key: str = "fake-oa-secret-key-abcdef",
        oa_id: str = "4294967296123456789",
    ) -> None:
        self.clock = clock
        self.app_id, self.app_secret, self.oa_secret_key, self.oa_id = (
            app_id,
            app_secret,
            oa_secret_key,
            oa_id,
        )
        # rules (section 10's "config")
        self.free_replies: int | None = 8
        self.after_free = "bill"  # or "reject"
        self.consultation_price = 55
        self.reuse_answer = "error"  # or "empty"
        self.signature_first = "app_id"  # or "oa_id"
        self.signature_key = "oa_secret"  # or "app_secret"
        self.templates: dict[str, Template] = {"tpl-news": Template()}
        # state
        self.members: dict[str, Member] = {}
        self.sent: list[Sent] = []
        self.calls: list[dict[str, Any]] = []
        self._codes: dict[str, tuple[str, datetime, bool]] = {}
        self._access: dict[str, datetime] = {}
        self._refresh: dict[str, tuple[datetime, bool]] = {}
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v4/oa/access_token", self._oauth, methods=["POST"]),
                Route("/v3.0/oa/message/cs", self._cs, methods=["POST"]),
                Route("/v3.0/oa/message/template", self._template, methods=["POST"]),
                Route("/template/info/v2", self._template_info, methods=["GET"]),
                Route("/v2.0/oa/quota/message", self._quota, methods=["POST"]),
                Route("/v3.0/oa/user/getlist", self._getlist, methods=["GET"]),
                Route("/v2.0/oa/getoa", self._getoa, methods=["GET"]),
            ]
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        """Serve on loopback; yields the root for all three base URLs."""
        server = await serve(self.app)
        try:
            yield server.base_url
        finally:
            await server.stop()

    # -- driving ---------------------------------------------------------------------------

    def authorize(self, challenge: str) -> str:
        """An OA admin consented: the code the callback receives."""
        code = f"code-{next(self._ids)}"
        self._codes[code] = (challenge, self.clock(), False)
        return code

    def expire_access_tokens(self) -> None:
        for token in self._access:
            self._access[token] = self.clock() - timedelta(seconds=1)

    def member(self, user_id: str) -> Member:
        return self.members.setdefault(user_id, Member(user_id))

    def event(self, name: str, user_id: str, text: str = "") -> tuple[bytes, dict[str, str]]:
        """A webhook body and headers, as Zalo signs them; updates the member as Zalo would."""
        now = self.clock()
        member = self.member(user_id)
        stamp = _ms(now)
        body: dict[str, Any] = {"app_id": self.app_id, "event_name": name, "timestamp": stamp}
        if name in ("follow", "unfollow"):
            body |= {"oa_id": self.oa_id, "follower": {"id": user_id}, "source": "oa_profile"}
            member.follower = name == "follow"
            if name == "follow":
                member.last_interaction, member.free_used = now, 0
        else:
            msg_id = f"msg{next(self._ids):012d}"
            body |= {
                "sender": {"id": user_id},
                "recipient": {"id": self.oa_id},
                "user_id_by_app": f"app-{user_id}",
                "message": {"msg_id": msg_id, "text": text},
            }
            member.last_interaction, member.free_used = now, 0
            member.messages[msg_id] = now
        raw = json.dumps(body, ensure_ascii=False).encode()
        first = self.app_id if self.signature_first == "app_id" else self.oa_id
        key = self.oa_secret_key if self.signature_key == "oa_secret" else self.app_secret
        mac = hashlib.sha256(first.encode() + raw + stamp.encode() + key.encode()).hexdigest()
        return raw, {"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"}

    async def deliver(self, url: str, name: str, user_id: str, text: str = "") -> httpx.Response:
        """Post an event to the bot's webhook."""
        raw, headers = self.event(name, user_id, text)
        async with httpx.AsyncClient() as http:
            return await http.post(url, content=raw, headers=headers)

    # -- answers ---------------------------------------------------------------------------

    @staticmethod
    def _error(code: int, message: str) -> Response:
        return JSONResponse({"error": code, "message": message})  # HTTP 200, as Zalo does

    @staticmethod
    def _ok(data: Any) -> Response:
        return JSONResponse({"data": data, "error": 0, "message": "Success"})

    def _log(self, request: Request, body: Any) -> None:
        self.calls.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "headers": {
                    k: v
                    for k, v in request.headers.items()
                    if k in ("access_token", "secret_key", "content-type")
                },
                "body": body,
            }
        )

    def _token_error(self, request: Request) -> Response | None:
        token = request.headers.get("access_token", "")
        expires = self._access.get(token)
        if expires is None:
            return self._error(-216, "Access token is invalid")
        if expires <= self.clock():
            return self._error(-220, "access_token is expired or removed")
        return None

    async def _json(self, request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            return None

    # -- OAuth -----------------------------------------------------------------------------

    def _new_pair(self) -> Response:
        now = self.clock()
        access, refresh = f"access-{next(self._ids)}-x", f"refresh-{next(self._ids)}-y"
        self._access[access] = now + ACCESS_TTL
        self._refresh[refresh] = (now, False)
        return JSONResponse(
            {
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": str(int(ACCESS_TTL.total_seconds())),
            }
        )

    async def _oauth(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self._log(request, form)
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return JSONResponse({"error": -14001, "error_name": "Invalid request"})
        if request.headers.get("secret_key") != self.app_secret:
            return JSONResponse({"error": -14001, "error_name": "Invalid secret key"})
        if form.get("app_id") != self.app_id:
            return JSONResponse({"error": -14002, "error_name": "Invalid appId"})
        if form.get("grant_type") == "authorization_code":
            return self._grant_code(form)
        if form.get("grant_type") == "refresh_token":
            return self._grant_refresh(form.get("refresh_token", ""))
        return JSONResponse({"error": -14001, "error_name": "Invalid grant type"})

    def _grant_code(self, form: dict[str, str]) -> Response:
        code = form.get("code", "")
        found = self._codes.get(code)
        if found is None or found[2] or self.clock() - found[1] > CODE_TTL:
            return JSONResponse({"error": -14010, "error_name": "Invalid authorization code"})
        self._codes[code] = (found[0], found[1], True)
        if _challenge(form.get("code_verifier", "")) != found[0]:
            return JSONResponse({"error": -14016, "error_name": "Invalid code verifier"})
        return self._new_pair()

    def _grant_refresh(self, token: str) -> Response:
        found = self._refresh.get(token)
        if found is not None and found[1] and self.reuse_answer == "empty":
            return Response(b"", status_code=200)
        if found is None or found[1] or self.clock() - found[0] > REFRESH_TTL:
            return JSONResponse({"error": -14014, "error_name": "Invalid refresh token."})
        self._refresh[token] = (found[0], True)
        return self._new_pair()

    @property
    def refresh_calls(self) -> int:
        return sum(
            1
            for c in self.calls
            if c["body"]
            and isinstance(c["body"], dict)
            and c["body"].get("grant_type") == "refresh_token"
        )

    # -- the OA API ------------------------------------------------------------------------

    async def _cs(self, request: Request) -> Response:
        body = await self._json(request)
        self._log(request, body)
        if (refused := self._token_error(request)) is not None:
            return refused
        recipient = body.get("recipient") if isinstance(body, dict) else None
        text = ((body or {}).get("message") or {}).get("text")
        if not isinstance(recipient, dict) or not isinstance(text, str) or not text:
            return self._error(-201, "recipient or message is invalid!")
        if len(text) > 2000:
            return self._error(-210, "Parameter exceeds allowable limit")
        member, quoted = self._recipient(recipient)
        if member is None:
            return self._error(-201, "user_id is invalid!")
        now = self.clock()
        if member.last_interaction is None or now - member.last_interaction > timedelta(days=7):
            return self._error(-230, "User has not interacted with the OA in the past 7 days")
        reply = quoted is not None and now - quoted < timedelta(hours=48)
        free_left = self.free_replies is None or member.free_used < self.free_replies
        if reply and free_left:
            member.free_used += 1
            kind, price = "reply", 0
        elif reply and self.after_free == "reject":
            return self._error(-211, "Out of quota")
        else:
            kind, price = "billed", self.consultation_price
        self.sent.append(Sent(kind, member.user_id, price, text=text))
        remain = (
            "" if self.free_replies is None else str(max(0, self.free_replies - member.free_used))
        )
        quota = {
            "quota_type": "reply" if kind == "reply" else "purchase_quota",
            "remain": remain,
            "total": str(self.free_replies or ""),
        }
        return self._ok(
            {
                "message_id": f"oa{next(self._ids)}",
                "user_id": member.user_id,
                "sent_time": _ms(now),
                "quota": quota,
            }
        )

    def _recipient(self, recipient: dict[str, Any]) -> tuple[Member | None, datetime | None]:
        if "message_id" in recipient:
            for member in self.members.values():
                at = member.messages.get(str(recipient["message_id"]))
                if at is not None:
                    return member, at
            return None, None
        return self.members.get(str(recipient.get("user_id"))), None

    async def _template(self, request: Request) -> Response:
        body = await self._json(request)
        self._log(request, body)
        if (refused := self._token_error(request)) is not None:
            return refused
        body = body if isinstance(body, dict) else {}
        template = self.templates.get(str(body.get("template_id")))
        if template is None:
            return self._error(-109, "Template ID invalid")
        data = body.get("template_data")
        if not isinstance(data, dict) or not data:
            return self._error(-111, "template data empty")
        for name, max_length in template.params:
            if not data.get(name):
                return self._error(-1122, f"missing parameter {name}")
            if len(str(data[name])) > max_length:
                return self._error(-1121, f"parameter {name} exceeds max length")
        hour = self.clock().astimezone(VN).hour
        if template.tag == 3 and (hour >= 22 or hour < 6):
            return self._error(-133, "ZNS template cannot be sent at night")
        member = self.members.get(str(body.get("user_id")))
        if member is None:
            return self._error(-118, "Zalo account not existed")
        self.sent.append(
            Sent(
                "template",
                member.user_id,
                template.price_uid,
                template_id=str(body["template_id"]),
                data={k: str(v) for k, v in data.items()},
            )
        )
        return self._ok(
            {
                "message_id": f"zbs{next(self._ids)}",
                "user_id": member.user_id,
                "sent_time": _ms(self.clock()),
                "quota": {"quota_type": "purchase_quota", "remain": "499"},
            }
        )

    async def _template_info(self, request: Request) -> Response:
        self._log(request, None)
        if (refused := self._token_error(request)) is not None:
            return refused
        tid = request.query_params.get("template_id", "")
        template = self.templates.get(tid)
        if template is None:
            return self._error(-109, "Template ID invalid")
        params = [{"name": n, "require": True, "maxLength": m} for n, m in template.params]
        return self._ok(
            {
                "templateId": tid,
                "listParams": params,
                "price": str(template.price_uid),
                "price_uid": str(template.price_uid),
                "price_sdt": str(template.price_uid + 100),
                "status": "ENABLE",
            }
        )

    async def _quota(self, request: Request) -> Response:
        body = await self._json(request)
        self._log(request, body)
        if (refused := self._token_error(request)) is not None:
            return refused
        member = self.members.get(str((body or {}).get("user_id")))
        if member is None:
            return self._error(-201, "user_id is invalid!")
        last = _ms(member.last_interaction) if member.last_interaction else ""
        remain = (
            "" if self.free_replies is None else str(max(0, self.free_replies - member.free_used))
        )
        return self._ok(
            {
                "last_interaction": last,
                "cs_reply": {"remain": remain, "total": str(self.free_replies or "")},
            }
        )

    async def _getlist(self, request: Request) -> Response:
        raw = request.query_params.get("data", "")
        self._log(request, raw)
        if (refused := self._token_error(request)) is not None:
            return refused
        try:
            data = json.loads(raw)
        except ValueError:
            return self._error(-201, "data is invalid!")
        offset, count = int(data.get("offset", 0)), int(data.get("count", 0))
        if count > 50 or count < 1 or offset > 9951 or offset < 0:
            return self._error(-210, "Parameter exceeds allowable limit")
        followers = sorted(m.user_id for m in self.members.values() if m.follower)
        page = followers[offset : offset + count]
        return self._ok(
            {
                "total": len(followers),
                "count": len(page),
                "offset": offset,
                "users": [{"user_id": u} for u in page],
            }
        )

    async def _getoa(self, request: Request) -> Response:
        self._log(request, None)
        if (refused := self._token_error(request)) is not None:
            return refused
        followers = sum(1 for m in self.members.values() if m.follower)
        return self._ok(
            {
                "oaid": self.oa_id,
                "name": "Bản tin Đảng ủy",
                "is_verified": True,
                "num_follower": followers,
                "package_name": "Nâng cao",
            }
        )
