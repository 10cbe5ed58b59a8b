"""Part of the composition root: the Zalo OA channel built from its settings, with its
database state, and the console's connect page wired to it (:mod:`bot.app` calls these)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.channels.base import Channel
from bot.channels.zalo_oa import ZaloOAChannel
from bot.channels.zalo_oa_api import ZaloOAClient
from bot.channels.zalo_oa_events import Verifier
from bot.channels.zalo_oa_pricing import Pricing
from bot.channels.zalo_oa_tokens import TokenKeeper
from bot.chat.timeofday import parse_quiet_hours
from bot.delivery.holding import HoldPolicy
from bot.ops.zalo_oa_state import ZaloOAState
from bot.web.zalo_oa import OAConnect

if TYPE_CHECKING:
    from bot.app import App

#: Zalo never says in which zone its night is; Vietnam's is the only sensible guess
ZALO_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WEBHOOK_PATH = "/zalo_oa/webhook"


def zalo_oa_channel(app: App) -> ZaloOAChannel:
    """The ``zalo_oa`` channel of ``app``'s settings (ZALO_OA_APP_ID is set)."""
    s = app.config.settings
    oa = s.zalo_oa
    client = ZaloOAClient(
        oa.app_id,
        oa.app_secret,
        oauth_base=oa.oauth_base_url,
        openapi_base=oa.api_base_url,
        business_base=oa.business_base_url,
    )
    state = ZaloOAState(
        app.store,
        secret=oa.app_secret,
        owner=app.instance_id,
        clock=app.clock,
        tz=app.config.tz,
        alert=app.alert_admins,
        wake=lambda: app.worker.wake(),
        reconnect_url=lambda: app.console_url() + "/admin/zalo-oa",
        lease_ttl=s.general.lease_seconds,
    )
    pricing = Pricing(
        free_replies=oa.free_reply_count,
        billed_consultation=oa.billed_consultation,
        consultation_price=oa.consultation_price_vnd,
        templates_enabled=oa.templates_enabled,
        template_price=oa.template_price_vnd,
        templates_per_day=oa.templates_per_day,
        monthly_budget=oa.monthly_budget_vnd,
    )
    night = HoldPolicy(ZALO_TZ, parse_quiet_hours(oa.night_hours))
    return ZaloOAChannel(
        client,
        TokenKeeper(client, state, clock=app.clock),
        state,
        pricing,
        verifier=Verifier(oa.app_id, oa_secret_key=oa.secret_key, app_secret=oa.app_secret),
        webhook_url=oa.webhook_url or s.http.public_url + WEBHOOK_PATH,
        tz=app.config.tz,
        template_id=oa.template_id,
        night_end=night.quiet_end,
        clock=app.clock,
        rate=oa.rate,
    )


def oa_connect(app: App, channels: Mapping[str, Channel]) -> OAConnect | None:
    """The console's connect page for the running OA channel, if there is one."""
    channel = channels.get(ZaloOAChannel.name)
    if not isinstance(channel, ZaloOAChannel):
        return None
    keeper = channel.keeper

    async def status() -> dict[str, Any]:
        tokens = await keeper.load()
        return {
            "oa_id": tokens.oa_id if tokens is not None else "",
            "access_expires_at": tokens.access_expires_at if tokens is not None else None,
            "down": keeper.down if tokens is not None else None,
        }

    return OAConnect(
        permission_url=channel.client.permission_url,
        connect=keeper.connect,
        status=status,
        monthly_budget=app.config.settings.zalo_oa.monthly_budget_vnd,
        fixed_verifier=app.config.settings.zalo_oa.pkce_verifier,
    )
