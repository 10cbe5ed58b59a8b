"""The ``zalo_oa`` channel: a Zalo Official Account, through our client
(:mod:`.zalo_oa_api`).

Members reach the OA by following it and writing to it; their events arrive by webhook
(signed, see :mod:`.zalo_oa_events`), are answered 200 at once and handled in order by one
dispatcher: a follow registers the chat and greets it with the topic menu (as ``/start``), an
unfollow stops it, a text runs the same commands as every other channel. Every send is priced
first (:mod:`.zalo_oa_pricing`): a free or billed consultation message inside the member's
window, else a template for an article, else :class:`Held` until the member's next
interaction (which releases it). OA user ids are per OA, so an OA chat is its own chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.channels.base import (
    Capabilities,
    ChannelDown,
    ChatUnreachable,
    DeliveryError,
    Held,
    Incoming,
    OnMessage,
    OutMessage,
    Rejected,
    RetryLater,
)
from bot.channels.common import (
    Bounded,
    NumberedChoices,
    replier,
    webhook_path,
    with_numbered_choices,
)
from bot.channels.zalo_oa_api import OAError, Outcome, ZaloOAClient
from bot.channels.zalo_oa_events import SIGNATURE_HEADER, Event, Verifier, parse, read
from bot.channels.zalo_oa_pricing import FREE_WINDOW, Kind, Plan, Pricing, Window, decide
from bot.channels.zalo_oa_tokens import NotConnected, TokenKeeper

log = logging.getLogger(__name__)

#: consultation texts are at most 2,000 characters (section 3.1)
#: (a member's chat with the OA only: an OA is not in groups)
CAPABILITIES = Capabilities(
    title="Zalo OA", text_limit=2000, markup="plain", rate=10.0, chat_kinds=("private",)
)
#: a held message is looked at again after this long at the latest
HOLD_RECHECK = timedelta(hours=12)
#: a send Zalo found outside the window is priced again after this long
WINDOW_RETRY = timedelta(seconds=60)
#: seconds before sends are tried again after the OA or app was refused as a whole
PARK_RETRY = 300.0
#: how often the token keeper looks at the expiry
MAINTAIN_EVERY = 600.0
SEEN_MEMORY = 10_000
QUEUE_SIZE = 1000
PHOTO_NOTE = "(biểu đồ chỉ có trên Telegram)"
#: VND of a standard template (section 3.4), until template/info says otherwise
FALLBACK_TEMPLATE_PRICE = 200
#: the template's parameters, as the organisation registers it (README)
TEMPLATE_PARAMS = ("title", "date", "summary", "link")


class Ledger(Protocol):
    """The members' windows and the month's paid sends (the database, wired by the app)."""

    async def window(self, user_id: str) -> Window:
        """What is known of the member (an empty Window for a stranger)."""

    async def interacted(self, user_id: str, at: datetime, msg_id: str) -> None:
        """The member wrote (or followed): a new window; their held messages go now."""

    async def seen(self, user_id: str, at: datetime) -> None:
        """Zalo reports an interaction we did not receive (a menu click): newer wins."""

    async def closed(self, user_id: str) -> None:
        """Zalo says the member's window is closed, whatever we thought."""

    async def record(self, user_id: str, plan: Plan, at: datetime) -> None:
        """Count a send: free replies used, templates today, the month's cost by kind."""

    async def spent(self, at: datetime) -> int:
        """VND spent on paid sends in the month of ``at``."""

    async def unfollowed(self, user_id: str, at: datetime) -> None:
        """The member left the OA: stop the chat."""

    async def alert(self, key: str, values: dict[str, object]) -> None:
        """Tell the admins (paid sends refused by Zalo's billing)."""


def render(message: OutMessage) -> str:
    """The message as OA plain text: the photo note, then numbered choices."""
    text = message.text.rstrip()
    if message.photo is not None:
        text = f"{text}\n\n{PHOTO_NOTE}" if text else PHOTO_NOTE
    return with_numbered_choices(text, message)


class ZaloOAChannel:
    """The ``zalo_oa`` channel. ``night_end(now)`` is the end of the night ``now`` falls in,
    or None by day: templates wait for it (the quiet-hours machinery, wired by the app)."""

    name = "zalo_oa"
    capabilities = CAPABILITIES

    def __init__(
        self,
        client: ZaloOAClient,
        keeper: TokenKeeper,
        ledger: Ledger,
        pricing: Pricing,
        *,
        verifier: Verifier,
        webhook_url: str,
        tz: tzinfo,
        template_id: str = "",
        night_end: Callable[[datetime], datetime | None] = lambda now: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rate: float | None = None,
    ) -> None:
        if rate is not None:
            self.capabilities = dataclasses.replace(CAPABILITIES, rate=rate)
        #: a price of 0 means "read price_uid from template/info"; until it is read, the
        #: published price stands in, so a template is never taken for free
        self._price_from_api = pricing.template_price == 0
        if self._price_from_api:
            pricing = dataclasses.replace(pricing, template_price=FALLBACK_TEMPLATE_PRICE)
        self.client = client
        self.keeper = keeper
        self.ledger = ledger
        self.pricing = pricing
        self.verifier = verifier
        self.webhook_url = webhook_url
        self.tz = tz
        self.template_id = template_id
        self.night_end = night_end
        self.clock = clock
        #: template parameter -> its max length (from template/info)
        self.param_limits: dict[str, int] = {}
        self._on_message: OnMessage | None = None
        self._queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._seen = Bounded(SEEN_MEMORY)
        self._choices = NumberedChoices()
        self._tasks: list[asyncio.Task[None]] = []
        self._billing_alerted: datetime | None = None

    @property
    def webhook_path(self) -> str | None:
        return webhook_path(self.webhook_url)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, on_message: OnMessage) -> None:
        """Load the tokens (the OA may still have to be connected), then start the dispatcher
        and the token rotation."""
        self._on_message = on_message
        tokens = await self.keeper.load()
        if tokens is None:
            log.warning("zalo_oa: not connected yet: an admin connects the OA in the web console")
        else:
            await self._check_oa()
        self._tasks.append(asyncio.create_task(self._dispatch_loop(), name="zalo_oa-dispatch"))
        self._tasks.append(asyncio.create_task(self._maintain_loop(), name="zalo_oa-tokens"))

    async def _check_oa(self) -> None:
        """Log which OA the tokens belong to; read the template's prices and limits."""
        try:
            token = await self.keeper.access_token()
            oa = await self.client.get_oa(token)
            log.info(
                "zalo_oa: connected to %s (verified: %s)", oa.get("name"), oa.get("is_verified")
            )
            if self.template_id and self.pricing.templates_enabled:
                await self._read_template(token)
        except (OAError, NotConnected) as exc:
            log.warning("zalo_oa: cannot read the OA yet: %s", exc)

    async def _read_template(self, token: str) -> None:
        info = await self.client.template_info(token, self.template_id)
        for param in info.get("listParams") or []:
            if isinstance(param, dict) and param.get("name"):
                with contextlib.suppress(TypeError, ValueError):
                    self.param_limits[str(param["name"])] = int(param.get("maxLength") or 0)
        price = info.get("price_uid") or info.get("price")
        if self._price_from_api and price is not None:
            with contextlib.suppress(TypeError, ValueError):
                self.pricing = dataclasses.replace(self.pricing, template_price=int(float(price)))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.client.aclose()

    async def _maintain_loop(self) -> None:
        while True:
            try:
                await self.keeper.maintain()
                if self.template_id and self.pricing.templates_enabled and not self.param_limits:
                    await self._check_oa()  # connected since start: read the template now
            except Exception:  # the loop must outlive a database hiccup
                log.exception("zalo_oa: token maintenance failed")
            await asyncio.sleep(MAINTAIN_EVERY)

    # -- receiving ------------------------------------------------------------------------

    async def webhook_endpoint(self, request: Request) -> Response:
        """Zalo's event POSTs: signature first, then queue and answer at once (Zalo wants a
        200 within 2 s and retries otherwise; the msg_id dedupes its retries)."""
        body = await request.body()
        event = parse(body)
        header = request.headers.get(SIGNATURE_HEADER, "")
        if not header:
            return JSONResponse({"error": "missing signature"}, status_code=401)
        if event is None or self.verifier.variant(header, body, event) is None:
            return JSONResponse({"error": "wrong signature"}, status_code=403)
        incoming = read(event)
        if incoming is None or incoming.key in self._seen:
            return JSONResponse({"error": 0})
        try:
            self._queue.put_nowait(incoming)
        except asyncio.QueueFull:
            return JSONResponse({"error": "busy"}, status_code=503)
        self._seen.put(incoming.key)
        return JSONResponse({"error": 0})

    async def _dispatch_loop(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self.handle(event)
            except Exception:
                log.exception("zalo_oa: error while handling an event")

    async def handle(self, event: Event) -> None:
        """One event: the window first (so the reply is priced on it), then the command."""
        now = self.clock()
        if event.name == "unfollow":
            await self.ledger.unfollowed(event.user_id, now)
            return
        msg_id = event.msg_id
        await self.ledger.interacted(event.user_id, now, msg_id)
        text = "/start" if event.name == "follow" else event.text
        if not text or self._on_message is None:
            return
        incoming = Incoming(
            channel=self.name,
            chat_id=event.user_id,
            text=text,
            user_id=event.user_id,
            user_name=event.display_name,
            chat_kind="private",
        )
        reply = replier(functools.partial(self._send, reply_to=msg_id or None), event.user_id, log)
        await self._choices.dispatch(incoming, reply, self._on_message)

    # -- sending --------------------------------------------------------------------------

    async def send(self, chat_id: str, message: OutMessage) -> str | None:
        """Price the message, then send it as that kind; raises the outcomes of base."""
        return await self._send(chat_id, message)

    async def _send(
        self, chat_id: str, message: OutMessage, *, reply_to: str | None = None
    ) -> str | None:
        text = render(message)
        if not text.strip():
            raise Rejected("Zalo OA: empty message")
        pieces = self.capabilities.split(text)[0]
        now = self.clock()
        token = await self._token()
        window = await self._window(token, chat_id, now)
        can_template = bool(message.cards and self.template_id)
        plan = decide(
            window,
            now,
            pieces=len(pieces),
            spent=await self.ledger.spent(now),
            pricing=self.pricing,
            can_template=can_template,
            tz=self.tz,
        )
        if plan.kind is None:
            raise Held(f"Zalo OA: {plan.reason}", until=plan.until or now + HOLD_RECHECK)
        if plan.kind is Kind.TEMPLATE:
            sent_id = await self._send_template(chat_id, message, now)
            await self.ledger.record(chat_id, plan, now)
            return sent_id
        sent_id, done = None, 0
        try:
            for piece in pieces:
                text_call = functools.partial(
                    self.client.send_text,
                    text=piece,
                    user_id=chat_id,
                    reply_to=reply_to or plan.reply_to or None,
                )
                data = await self._call(chat_id, text_call)
                sent_id = str(data.get("message_id") or "") or None
                done += 1
        finally:
            if done:
                await self.ledger.record(chat_id, _part(plan, done), now)
        self._choices.offer(chat_id, message)
        return sent_id

    async def _send_template(self, chat_id: str, message: OutMessage, now: datetime) -> str | None:
        end = self.night_end(now)
        if end is not None:
            raise Held("Zalo OA: templates wait for the end of the night", until=end)
        data = self.template_data(message)
        answer = await self._call(
            chat_id, lambda tok: self.client.send_template(tok, chat_id, self.template_id, data)
        )
        return str(answer.get("message_id") or answer.get("msg_id") or "") or None

    def template_data(self, message: OutMessage) -> dict[str, str]:
        """The template's parameters from the newest article; more articles are named in
        the summary (one template a day carries them all)."""
        first = message.cards[0]
        summary = first.summary
        if len(message.cards) > 1:
            summary = f"{summary} (+{len(message.cards) - 1} tin khác: gửi /latest)".strip()
        values = {"title": first.title, "date": first.date, "summary": summary, "link": first.link}
        out = {}
        for name in TEMPLATE_PARAMS:
            value = values[name] or "-"
            limit = self.param_limits.get(name, 0)
            out[name] = (
                value if not limit or len(value) <= limit else value[: max(1, limit - 1)] + "…"
            )
        return out

    async def _token(self) -> str:
        try:
            return await self.keeper.access_token()
        except NotConnected as exc:
            raise ChannelDown(f"Zalo OA: {exc}", after=PARK_RETRY) from None

    async def _window(self, token: str, user_id: str, now: datetime) -> Window:
        """The member's window; past 48 h Zalo is asked too (a menu click we never saw)."""
        window = await self.ledger.window(user_id)
        last = window.last_interaction_at
        if last is not None and now - last < FREE_WINDOW:
            return window
        try:
            quota = await self.client.quota(token, user_id)
            ms = int(str(quota.get("last_interaction") or "0"))
        except (OAError, ValueError) as exc:
            log.debug("zalo_oa: quota of %s not read: %s", user_id, exc)
            return window
        if ms <= 0:
            return window
        at = datetime.fromtimestamp(ms / 1000, UTC)
        if last is None or at > last:
            await self.ledger.seen(user_id, at)
            return await self.ledger.window(user_id)
        return window

    async def _call(
        self, chat_id: str, call: Callable[[str], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """One API call with the current token; a refused token is refreshed once."""
        token = await self._token()
        try:
            return await call(token)
        except OAError as exc:
            if exc.outcome is not Outcome.REFRESH:
                raise await self._outcome(chat_id, exc) from exc
        await self.keeper.rotate(force=True)
        token = await self._token()
        try:
            return await call(token)
        except OAError as exc:
            if exc.outcome is Outcome.REFRESH:
                raise ChannelDown(
                    f"Zalo OA refused a fresh token: {exc}", after=PARK_RETRY
                ) from exc
            raise await self._outcome(chat_id, exc) from exc

    async def _outcome(self, chat_id: str, exc: OAError) -> DeliveryError:
        """Translate an error of the table into one of the outcomes of base."""
        now = self.clock()
        match exc.outcome:
            case Outcome.RETRY:
                after = 60.0 if exc.code == -32 else None
                return RetryLater(
                    f"Zalo OA: {exc}", after=after, scope="channel" if after else "chat"
                )
            case Outcome.UNREACHABLE:
                return ChatUnreachable(f"Zalo OA: {exc}")
            case Outcome.REJECTED:
                return Rejected(f"Zalo OA: {exc}")
            case Outcome.WINDOW:
                # Priced again shortly (a template, or wait), not at once: should Zalo's quota
                # check keep reporting a recent interaction, this must not spin.
                await self.ledger.closed(chat_id)
                return Held(f"Zalo OA: {exc}", until=now + WINDOW_RETRY)
            case Outcome.NIGHT:
                end = self.night_end(now) or now + timedelta(hours=8)
                return Held(f"Zalo OA: {exc}", until=end)
            case Outcome.TOMORROW:
                return Held(f"Zalo OA: {exc}", until=now + timedelta(hours=24))
            case Outcome.BILLING:
                await self._billing_alert(now, str(exc))
                return Held(f"Zalo OA: {exc}", until=now + HOLD_RECHECK)
            case _:  # PARK, RECONSENT, REFRESH: the OA or app as a whole
                return ChannelDown(f"Zalo OA: {exc}", after=PARK_RETRY)

    async def _billing_alert(self, now: datetime, reason: str) -> None:
        if self._billing_alerted is not None and now - self._billing_alerted < timedelta(hours=12):
            return
        self._billing_alerted = now
        await self.ledger.alert("alert_zalo_oa_billing", {"reason": reason[:200]})

    async def edit(self, chat_id: str, message_id: str, message: OutMessage) -> None:
        """The OA cannot edit a sent message, and each new one may cost: nothing."""


def _part(plan: Plan, done: int) -> Plan:
    """The plan of the first ``done`` pieces (a send cut short is counted as far as it got)."""
    free = min(plan.free, done)
    billed = done - free
    price = plan.price * billed // plan.billed if plan.billed else 0
    return dataclasses.replace(plan, free=free, billed=billed, price=price)
