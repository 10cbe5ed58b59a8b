"""Numbers and times an admin (or anyone with a link) puts in a console request: a page
number, a row id, a broadcast's date and time. Each is read here, within the range the
database and the clock can take, so a wrong one gets a clear page or form error, never a 500.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from bot.web.site import WebConsole

#: the highest ``?page=`` of a list (50 rows a page: 5 million rows deep)
MAX_PAGE = 100_000
#: the highest row id (BIGINT on PostgreSQL, INTEGER on SQLite)
MAX_ROW_ID = 2**63 - 1
#: how far ahead a broadcast may be scheduled
MAX_SCHEDULE_AHEAD = timedelta(days=366)

_DIGITS = re.compile(r"[0-9]{1,9}")


def page_number(request: Request, name: str = "page") -> int | None:
    """The query parameter ``name`` as a page number: 0 when absent or empty, None when it
    is not a whole number from 0 to :data:`MAX_PAGE`."""
    raw = request.query_params.get(name, "")
    if not raw:
        return 0
    if not _DIGITS.fullmatch(raw) or int(raw) > MAX_PAGE:
        return None
    return int(raw)


def row_id(request: Request, name: str = "id") -> int | None:
    """The path parameter ``name`` (an ``{id:int}``) when the database can hold it, else None."""
    value = request.path_params[name]
    return value if isinstance(value, int) and 0 <= value <= MAX_ROW_ID else None


def bad_page(console: WebConsole, request: Request, lang: str) -> Response:
    """The 400 page for a page number out of range."""
    return console.render(
        request,
        lang,
        "error.html",
        status=400,
        message_key="web_error_page",
        message_values={"max": MAX_PAGE},
    )


def schedule_time(when: str, tz: tzinfo, now: datetime) -> datetime | str:
    """The instant of a ``datetime-local`` value (in ``tz`` unless it names its offset), in
    ``now``'s zone; or the catalogue key of why it cannot be a broadcast's time: not a date
    (``web_bc_error_when``), not in the future (same key), over
    :data:`MAX_SCHEDULE_AHEAD` ahead (``web_bc_error_when_far``)."""
    try:
        local = datetime.fromisoformat(when)
    except ValueError:
        return "web_bc_error_when"
    if local.tzinfo is None:
        local = local.replace(tzinfo=tz)
    try:
        at = local.astimezone(now.tzinfo)
    except OverflowError:  # "0001-01-01T00:00" in UTC+7 is before year 1 in UTC
        return "web_bc_error_when" if local.year == 1 else "web_bc_error_when_far"
    if at <= now:
        return "web_bc_error_when"
    if at - now > MAX_SCHEDULE_AHEAD:
        return "web_bc_error_when_far"
    return at
