"""The Zalo OA channel against our fake OA server (tests/fake_zalo_oa.py): tokens (connect,
rotation, a reused refresh token, one refresher), windows and their prices, templates and the
budget, error codes with HTTP 200, signed webhooks and follower paging."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fake_zalo_oa import FakeOA
from helpers import eventually, wait_for
from starlette.applications import Starlette
from starlette.routing import Route

from bot.channels.base import Card, ChannelDown, Held, Incoming, OutMessage, Reply
from bot.channels.zalo_oa import ZaloOAChannel
from bot.channels.zalo_oa_api import (
    OAApiError,
    Outcome,
    ZaloOAClient,
    challenge_of,
    new_verifier,
    outcome_of,
)
from bot.channels.zalo_oa_events import Verifier
from bot.channels.zalo_oa_pricing import Pricing
from bot.channels.zalo_oa_tokens import TokenKeeper
from bot.chat.timeofday import parse_quiet_hours
from bot.delivery.holding import HoldPolicy
from bot.ops.httpserver import serve
from bot.ops.zalo_oa_state import ZaloOAState, seal, unseal
from storage.store import Store, open_store

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CARD = Card(title="Hội nghị Dân vận", date="26/11/2026", summary="Tóm tắt.", link="https://x.vn/a")


@dataclass
class Rig:
    fake: FakeOA
    url: str
    store: Store
    clock: Any
    alerts: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    def client(self) -> ZaloOAClient:
        f = self.fake
        return ZaloOAClient(
            f.app_id,
            f.app_secret,
            oauth_base=self.url,
            openapi_base=self.url,
            business_base=self.url,
        )

    def keeper(self, owner: str = "instance-1") -> tuple[TokenKeeper, ZaloOAState]:
        async def alert(key: str, values: dict[str, object]) -> None:
            self.alerts.append((key, values))

        state = ZaloOAState(
            self.store,
            secret=self.fake.app_secret,
            owner=owner,
            clock=self.clock,
            tz=VN,
            alert=alert,
        )
        return TokenKeeper(self.client(), state, clock=self.clock), state

    def channel(
        self, pricing: Pricing | None = None, template_id: str = "tpl-news"
    ) -> ZaloOAChannel:
        keeper, state = self.keeper()
        night = HoldPolicy(VN, parse_quiet_hours("22:00-06:05"))
        return ZaloOAChannel(
            keeper.client,
            keeper,
            state,
            pricing or Pricing(),
            verifier=Verifier(
                self.fake.app_id,
                oa_secret_key=self.fake.oa_secret_key,
                app_secret=self.fake.app_secret,
            ),
            webhook_url="http://127.0.0.1/zalo_oa/webhook",
            tz=VN,
            template_id=template_id,
            night_end=night.quiet_end,
            clock=self.clock,
        )

    async def connect(self, keeper: TokenKeeper) -> None:
        verifier = new_verifier()
        code = self.fake.authorize(challenge_of(verifier))
        await keeper.connect(code, verifier, self.fake.oa_id)


@pytest.fixture
async def rig(database_url: str, clock: Any) -> AsyncIterator[Rig]:
    fake = FakeOA(clock)
    store = await open_store(database_url)
    try:
        async with fake.running() as url:
            yield Rig(fake, url, store, clock)
    finally:
        await store.close()


# -- pure parts ---------------------------------------------------------------------------


def test_pkce_pair_is_43_characters_and_its_challenge_is_base64url_sha256() -> None:
    verifier = new_verifier()
    assert len(verifier) == 43 and "=" not in verifier
    # RFC 7636 appendix B's example pair
    assert challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_the_error_table_maps_the_documented_codes() -> None:
    assert outcome_of(-216) is Outcome.REFRESH and outcome_of(-220) is Outcome.REFRESH
    assert outcome_of(-230) is Outcome.WINDOW and outcome_of(-234) is Outcome.NIGHT
    assert outcome_of(-213) is Outcome.UNREACHABLE and outcome_of(-201) is Outcome.REJECTED
    assert outcome_of(-14014) is Outcome.RECONSENT and outcome_of(-14099) is Outcome.RECONSENT
    assert outcome_of(-32) is Outcome.RETRY and outcome_of(-99999) is Outcome.RETRY


def test_tokens_are_sealed_with_the_app_secret() -> None:
    sealed = seal("access-abc", "secret-1")
    assert "access-abc" not in sealed
    assert unseal(sealed, "secret-1") == "access-abc"
    assert unseal(sealed, "secret-2") is None
    assert unseal(sealed[:-2] + "AA", "secret-1") is None


# -- tokens -------------------------------------------------------------------------------


async def test_connect_stores_the_pair_and_rotation_spends_the_refresh_token(rig: Rig) -> None:
    keeper, state = rig.keeper()
    await rig.connect(keeper)
    first = await state.load_tokens()
    assert first is not None and first.oa_id == rig.fake.oa_id
    assert first.access_expires_at == rig.clock() + timedelta(hours=25)  # "90000", a string
    stored = await rig.store.oa_tokens()
    assert stored is not None and first.refresh_token not in stored.refresh_token  # sealed
    rig.clock.advance(19 * 3600)
    await keeper.maintain()
    assert rig.fake.refresh_calls == 0  # 6 h left: not yet
    rig.clock.advance(2 * 3600)
    await keeper.maintain()
    second = await state.load_tokens()
    assert rig.fake.refresh_calls == 1 and second is not None
    form = [c["body"] for c in rig.fake.calls if c["path"] == "/v4/oa/access_token"][-1]
    assert set(form) == {"app_id", "grant_type", "refresh_token"}  # section 2.5
    assert second.refresh_token != first.refresh_token
    assert await keeper.access_token() == second.access_token
    # the old refresh token is spent: Zalo refuses it (HTTP 200, error -14014)
    with pytest.raises(OAApiError) as refused:
        await rig.client().refresh(first.refresh_token)
    assert refused.value.code == -14014 and refused.value.outcome is Outcome.RECONSENT


@pytest.mark.parametrize("answer", ["error", "empty"])
async def test_a_refused_refresh_parks_the_channel_and_tells_the_admins_once(
    rig: Rig, answer: str
) -> None:
    keeper, state = rig.keeper()
    await rig.connect(keeper)
    tokens = await state.load_tokens()
    assert tokens is not None
    await rig.client().refresh(tokens.refresh_token)  # someone else spent it
    rig.fake.reuse_answer = answer
    rig.clock.advance(21 * 3600)
    await keeper.maintain()
    await keeper.maintain()
    assert keeper.down is not None
    assert [key for key, _ in rig.alerts] == ["alert_zalo_oa_reconnect"]
    channel = rig.channel()
    channel.keeper = keeper
    with pytest.raises(ChannelDown):
        await channel.send("u1", OutMessage(text="hello"))
    await rig.connect(keeper)  # an admin connects again
    assert keeper.down is None


async def test_two_instances_racing_refresh_once(rig: Rig) -> None:
    one, _ = rig.keeper("instance-1")
    two, state = rig.keeper("instance-2")
    await rig.connect(one)
    rig.clock.advance(21 * 3600)
    await asyncio.gather(one.maintain(), two.maintain(), one.maintain(), two.maintain())
    assert rig.fake.refresh_calls == 1
    stored = await state.load_tokens()
    assert stored is not None
    await two.load()
    assert await one.access_token() == await two.access_token() == stored.access_token


async def test_an_expired_access_token_is_refreshed_on_send(rig: Rig) -> None:
    channel = rig.channel()
    await rig.connect(channel.keeper)
    await _member_writes(rig, channel)
    rig.fake.expire_access_tokens()  # Zalo answers -220 with HTTP 200
    await channel.send("u1", OutMessage(text="tin mới"))
    assert rig.fake.refresh_calls == 1 and rig.fake.sent[-1].text == "tin mới"


# -- windows and prices -------------------------------------------------------------------


async def _member_writes(rig: Rig, channel: ZaloOAChannel, user: str = "u1") -> str:
    raw, _ = rig.fake.event("user_send_text", user, "xin chào")
    msg_id = list(rig.fake.members[user].messages)[-1]
    await channel.ledger.interacted(user, rig.clock(), msg_id)
    return msg_id


async def test_inside_48_hours_the_first_replies_are_free_then_billed_or_held(rig: Rig) -> None:
    channel = rig.channel(Pricing(free_replies=8, billed_consultation=False))
    await rig.connect(channel.keeper)
    await _member_writes(rig, channel)
    for i in range(8):
        await channel.send("u1", OutMessage(text=f"tin {i}"))
    with pytest.raises(Held):  # the 9th would be billed, and billing is off
        await channel.send("u1", OutMessage(text="tin 9"))
    assert [s.kind for s in rig.fake.sent] == ["reply"] * 8  # the fake agrees: all free
    channel.pricing = Pricing(free_replies=8, billed_consultation=True, monthly_budget=1000)
    await channel.send("u1", OutMessage(text="tin 9"))
    assert rig.fake.sent[-1].kind == "billed" and rig.fake.sent[-1].price == 55
    sends = {s.kind: (s.count, s.cost_vnd) for s in await rig.store.oa_sends(["2026-11"])}
    assert sends == {"consultation_free": (8, 0), "consultation_billed": (1, 55)}
    await _member_writes(rig, channel)  # a new message: 8 free again
    await channel.send("u1", OutMessage(text="tin 10"))
    assert rig.fake.sent[-1].kind == "reply"


async def test_unlimited_free_replies_is_the_2026_rule(rig: Rig) -> None:
    rig.fake.free_replies = None
    channel = rig.channel(Pricing(free_replies=None))
    await rig.connect(channel.keeper)
    await _member_writes(rig, channel)
    for i in range(12):
        await channel.send("u1", OutMessage(text=f"tin {i}"))
    assert [s.kind for s in rig.fake.sent] == ["reply"] * 12


async def test_between_48_hours_and_7_days_sends_are_billed_per_setting(rig: Rig) -> None:
    channel = rig.channel(Pricing(billed_consultation=True, monthly_budget=110))
    await rig.connect(channel.keeper)
    await _member_writes(rig, channel)
    rig.clock.advance(3 * 86400)
    await channel.keeper.access_token()
    await channel.send("u1", OutMessage(text="tin"))
    assert rig.fake.sent[-1].kind == "billed"
    await channel.send("u1", OutMessage(text="tin 2"))  # 110: the budget is spent
    with pytest.raises(Held, match="outside"):
        await channel.send("u1", OutMessage(text="tin 3"))
    assert len(rig.fake.sent) == 1 + 1


async def test_past_7_days_an_article_goes_as_a_template_within_budget(rig: Rig) -> None:
    pricing = Pricing(templates_enabled=True, template_price=0, monthly_budget=450)
    channel = rig.channel(pricing)
    await rig.connect(channel.keeper)
    await channel._check_oa()  # reads template/info: limits and price_uid
    assert channel.pricing.template_price == 200 and channel.param_limits["summary"] == 400
    await _member_writes(rig, channel)
    rig.clock.advance(8 * 86400)
    await channel.keeper.access_token()
    with pytest.raises(Held):  # an announcement has no article: it waits
        await channel.send("u1", OutMessage(text="thông báo"))
    long = dataclasses.replace(CARD, summary="x" * 500)
    await channel.send("u1", OutMessage(text="tin", cards=(long, CARD)))
    sent = rig.fake.sent[-1]
    assert sent.kind == "template" and sent.price == 200 and sent.template_id == "tpl-news"
    assert sent.data["title"] == CARD.title and sent.data["link"] == CARD.link
    assert len(sent.data["summary"]) == 400 and sent.data["date"] == CARD.date
    with pytest.raises(Held, match="today"):  # one template a member a day
        await channel.send("u1", OutMessage(text="tin", cards=(CARD,)))
    rig.clock.advance(86400)
    await channel.keeper.access_token()
    await channel.send("u1", OutMessage(text="tin", cards=(CARD,)))
    rig.clock.advance(86400)
    with pytest.raises(Held, match="budget"):  # 400 spent, 200 more would pass 450
        await channel.send("u1", OutMessage(text="tin", cards=(CARD,)))
    assert await rig.store.oa_spent("2026-12") + await rig.store.oa_spent("2026-11") == 400


async def test_templates_off_or_at_night_wait(rig: Rig) -> None:
    channel = rig.channel(Pricing(templates_enabled=False, monthly_budget=10_000))
    await rig.connect(channel.keeper)
    with pytest.raises(Held, match="templates are off"):
        await channel.send("stranger", OutMessage(text="tin", cards=(CARD,)))
    channel.pricing = Pricing(templates_enabled=True, monthly_budget=10_000)
    rig.clock.advance(15 * 3600)  # 23:00 in Hanoi
    with pytest.raises(Held) as held:
        await channel.send("stranger", OutMessage(text="tin", cards=(CARD,)))
    assert held.value.until.astimezone(VN).strftime("%H:%M") == "06:05"
    assert rig.fake.sent == []


async def test_a_closed_window_answered_with_http_200_is_priced_again(rig: Rig) -> None:
    channel = rig.channel()
    await rig.connect(channel.keeper)
    rig.fake.event("user_send_text", "u1", "cũ")
    msg_id = list(rig.fake.members["u1"].messages)[-1]
    rig.clock.advance(8 * 86400)
    await channel.keeper.access_token()
    await channel.ledger.interacted("u1", rig.clock(), msg_id)  # we think so, Zalo does not
    with pytest.raises(Held):
        await channel.send("u1", OutMessage(text="tin"))
    assert (await channel.ledger.window("u1")).last_interaction_at is None
    assert rig.fake.calls[-1]["path"] == "/v3.0/oa/message/cs"


# -- webhooks and the API's shapes ---------------------------------------------------------


async def _serve_webhook(channel: ZaloOAChannel) -> tuple[str, Any]:
    assert channel.webhook_path is not None
    app = Starlette(
        routes=[Route(channel.webhook_path, channel.webhook_endpoint, methods=["POST"])]
    )
    server = await serve(app)
    return server.base_url + channel.webhook_path, server


async def test_signed_webhooks_follow_text_unfollow(rig: Rig) -> None:
    channel = rig.channel(Pricing(billed_consultation=True, monthly_budget=1000))
    await rig.connect(channel.keeper)
    got: list[Incoming] = []

    async def on_message(incoming: Incoming, reply: Reply) -> None:
        got.append(incoming)
        await reply(OutMessage(text=f"đáp {incoming.text}"))

    await channel.start(on_message)
    url, server = await _serve_webhook(channel)
    try:
        assert (await rig.fake.deliver(url, "follow", "u7")).status_code == 200
        await wait_for(lambda: len(rig.fake.sent) == 1)
        assert got[0].text == "/start" and got[0].chat_id == "u7"
        assert rig.fake.sent[0].kind == "billed"  # a follow has no message to quote
        raw, headers = rig.fake.event("user_send_text", "u7", "/topics")
        async with httpx.AsyncClient() as http:
            assert (await http.post(url, content=raw, headers=headers)).status_code == 200
            assert (await http.post(url, content=raw, headers=headers)).status_code == 200  # retry
            bad = {**headers, "X-ZEvent-Signature": "mac=" + "0" * 64}
            assert (await http.post(url, content=raw, headers=bad)).status_code == 403
            nosig = {"Content-Type": "application/json"}
            assert (await http.post(url, content=raw, headers=nosig)).status_code == 401
        await wait_for(lambda: len(rig.fake.sent) == 2)
        await asyncio.sleep(0.2)
        assert [i.text for i in got] == ["/start", "/topics"]  # the retry was deduplicated
        assert rig.fake.sent[-1].kind == "reply" and rig.fake.sent[-1].text == "đáp /topics"
        rig.fake.signature_first, rig.fake.signature_key = "oa_id", "app_secret"
        assert (await rig.fake.deliver(url, "user_send_text", "u7", "/help")).status_code == 200
        await wait_for(lambda: len(got) == 3)
        await rig.store.upsert_chat("zalo_oa", "u7", rig.clock())
        assert (await rig.fake.deliver(url, "unfollow", "u7")).status_code == 200

        async def stopped() -> bool:
            chat = await rig.store.get_chat("zalo_oa", "u7")
            return chat is not None and not chat.active

        await eventually(stopped)
    finally:
        await server.stop()
        await channel.stop()


async def test_follower_paging_and_the_data_query_parameter(rig: Rig) -> None:
    for i in range(120):
        rig.fake.member(f"f{i:03d}")
    keeper, _ = rig.keeper()
    await rig.connect(keeper)
    client, token = keeper.client, await keeper.access_token()
    seen: list[str] = []
    offset = 0
    while True:
        page = await client.followers(token, offset, count=500)  # capped at 50
        seen += [u["user_id"] for u in page["users"]]
        offset += page["count"]
        if offset >= page["total"]:
            break
    assert len(seen) == 120 == len(set(seen))
    gets = [c for c in rig.fake.calls if c["path"] == "/v3.0/oa/user/getlist"]
    assert len(gets) == 3 and all(set(c["query"]) == {"data"} for c in gets)
    assert all("access_token" not in c["query"] for c in rig.fake.calls)
    oa = await client.get_oa(token)
    assert oa["oaid"] == rig.fake.oa_id and oa["num_follower"] == 120
    with pytest.raises(OAApiError) as bad:  # HTTP 200, negative error
        await client.followers("not-a-token")
    assert bad.value.code == -216 and bad.value.status == 200


def test_settings_of_the_oa_channel() -> None:
    from bot.config import load_settings
    from bot.settings import ConfigError

    base = {"ZALO_OA_APP_ID": "1", "ZALO_OA_APP_SECRET": "s", "BANTIN_PUBLIC_URL": "https://b.vn"}
    s = load_settings({**base, "ZALO_OA_FREE_REPLIES": "Unlimited"})
    assert s.zalo_oa.free_reply_count is None and s.zalo_oa.monthly_budget_vnd == 0
    assert "s" in s.secrets()
    assert load_settings(base).zalo_oa.free_reply_count == 8
    for bad, name in (
        ({"BANTIN_PUBLIC_URL": ""}, "BANTIN_PUBLIC_URL"),
        ({"ZALO_OA_FREE_REPLIES": "some"}, "ZALO_OA_FREE_REPLIES"),
        ({"ZALO_OA_TEMPLATES_ENABLED": "true"}, "ZALO_OA_TEMPLATE_ID"),
        ({"ZALO_OA_PKCE_VERIFIER": "short"}, "ZALO_OA_PKCE_VERIFIER"),
        ({"ZALO_OA_NIGHT_HOURS": "25:00-06:00"}, "ZALO_OA_NIGHT_HOURS"),
    ):
        with pytest.raises(ConfigError, match=name):
            load_settings({**base, **bad})
