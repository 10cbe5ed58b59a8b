"""What a message to one OA member costs, decided before it goes: a free consultation
message, a billed one, a paid template, or none (it waits). Pure: no I/O, ``now`` passed in.

The rules (``../shared/zalo-oa-api.md`` 3.2 and 3.4): consultation messages reach only a
member who interacted within 7 days; within 48 h of the member's last message the first
``free_replies`` are free (8 by the support centre's rule, unlimited by the 2026 docs: a
setting), when they quote the member's message; the rest of the 7 days is billed (about 55
VND). Past 7 days only a pre-approved
template (about 200 VND) reaches the member, and only with templates on, within the monthly
budget and at most ``templates_per_day`` a day; else the message waits for the member's next
interaction (or the next day, for the daily template).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

#: free consultation messages follow a member's message for this long
FREE_WINDOW = timedelta(hours=48)
#: consultation messages reach a member who interacted within this long
CS_WINDOW = timedelta(days=7)


class Kind(StrEnum):
    """How a send goes out, as the console counts it per month."""

    FREE = "consultation_free"
    BILLED = "consultation_billed"
    TEMPLATE = "template"


@dataclass(frozen=True)
class Window:
    """What is known of a member's interaction with the OA (kept in the database)."""

    #: the member's last message, follow or button press (None: never seen)
    last_interaction_at: datetime | None = None
    #: that message's msg_id: replies quote it, so Zalo counts them as replies
    last_msg_id: str = ""
    #: free consultation messages sent since that interaction
    free_used: int = 0
    #: the local date (YYYY-MM-DD) of ``templates_today``
    templates_day: str = ""
    templates_today: int = 0


@dataclass(frozen=True)
class Pricing:
    """The organisation's choices (settings ZALO_OA_*)."""

    #: free consultation messages per 48 h after a member's message; None: unlimited
    free_replies: int | None = 8
    #: consultation messages outside the free allowance (within 7 days) may be billed
    billed_consultation: bool = False
    consultation_price: int = 55
    templates_enabled: bool = False
    template_price: int = 200
    templates_per_day: int = 1
    #: VND a month for billed and template sends together
    monthly_budget: int = 0


@dataclass(frozen=True)
class Plan:
    """The decision for one message of ``pieces`` texts: its kind, price and counts; or, with
    ``kind`` None, why it waits and until when at the latest (None: the next interaction)."""

    kind: Kind | None
    price: int = 0
    free: int = 0
    billed: int = 0
    reply_to: str = ""
    reason: str = ""
    until: datetime | None = None


def local_day(now: datetime, tz: tzinfo) -> str:
    return now.astimezone(tz).strftime("%Y-%m-%d")


def _next_local_day(now: datetime, tz: tzinfo) -> datetime:
    local = now.astimezone(tz) + timedelta(days=1)
    return datetime(local.year, local.month, local.day, tzinfo=tz)


def decide(
    window: Window,
    now: datetime,
    *,
    pieces: int,
    spent: int,
    pricing: Pricing,
    can_template: bool,
    tz: tzinfo,
) -> Plan:
    """The plan for a message of ``pieces`` consultation texts (or one template when
    ``can_template``: it carries an article) to a member, ``spent`` VND gone this month."""
    last = window.last_interaction_at
    age = now - last if last is not None else None
    left = pricing.monthly_budget - spent
    if age is not None and age < CS_WINDOW:
        free = 0
        # Only a send quoting the member's message is a reply; by user id alone Zalo counts
        # it as proactive (billed), even inside 48 h (freshdesk 64000261136). A follow has
        # no message to quote, so the greeting is billed.
        if age < FREE_WINDOW and window.last_msg_id:
            allowance = pricing.free_replies
            free = (
                pieces if allowance is None else max(0, min(pieces, allowance - window.free_used))
            )
        billed = pieces - free
        price = billed * pricing.consultation_price
        reply_to = window.last_msg_id if age < FREE_WINDOW else ""
        if billed == 0:
            return Plan(Kind.FREE, free=free, reply_to=reply_to)
        if pricing.billed_consultation and price <= left:
            return Plan(Kind.BILLED, price=price, free=free, billed=billed, reply_to=reply_to)
    return _template_or_wait(
        window, now, left=left, pricing=pricing, can_template=can_template, tz=tz
    )


def _template_or_wait(
    window: Window,
    now: datetime,
    *,
    left: int,
    pricing: Pricing,
    can_template: bool,
    tz: tzinfo,
) -> Plan:
    if not can_template:
        return Plan(None, reason="outside the free window; waits for the member")
    if not pricing.templates_enabled:
        return Plan(None, reason="outside the window and templates are off")
    if pricing.template_price > left:
        return Plan(None, reason="the monthly budget is spent")
    today = local_day(now, tz)
    sent_today = window.templates_today if window.templates_day == today else 0
    if sent_today >= pricing.templates_per_day:
        return Plan(None, reason="today's template went", until=_next_local_day(now, tz))
    return Plan(Kind.TEMPLATE, price=pricing.template_price)
