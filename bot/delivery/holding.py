"""When an article may go to a chat: digest chats at their time, others outside quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from datetime import time as dtime

from bot.chat.timeofday import parse_hhmm
from storage.records import DeliveryJob


def _at(day: datetime, when: dtime, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, when.hour, when.minute, tzinfo=tz)


class HoldPolicy:
    """When an article may go to a chat: digest chats at their time, others outside quiet hours."""

    def __init__(self, tz: tzinfo, quiet_hours: tuple[dtime, dtime] | None = None) -> None:
        self.tz = tz
        self.quiet_hours = quiet_hours

    def last_digest_slot(self, digest_time: str, now: datetime) -> datetime:
        """The latest occurrence of the chat's digest time at or before ``now``."""
        local = now.astimezone(self.tz)
        slot = _at(local, parse_hhmm(digest_time), self.tz)
        if slot > local:
            slot = _at(local - timedelta(days=1), parse_hhmm(digest_time), self.tz)
        return slot

    def quiet_end(self, now: datetime) -> datetime | None:
        """The end of the quiet period ``now`` falls in, or None outside quiet hours."""
        if self.quiet_hours is None:
            return None
        start, end = self.quiet_hours
        local = now.astimezone(self.tz)
        t_now = local.time()
        if start < end:
            inside = start <= t_now < end
            end_day = local
        else:  # across midnight, e.g. 22:00-06:00
            inside = t_now >= start or t_now < end
            end_day = local + timedelta(days=1) if t_now >= start else local
        return _at(end_day, end, self.tz) if inside else None

    def hold_until(
        self, job: DeliveryJob, now: datetime, *, forced_digest: str | None = None
    ) -> datetime | None:
        """None to send now, else when to look at this job again. Only articles are held.

        ``forced_digest`` (HH:MM) turns instant pushes into a daily digest at that time (a
        channel about to run out of its monthly quota).
        """
        if not job.articles:
            return None
        chat = job.chat
        digest_time = chat.digest_time or forced_digest
        if digest_time:
            slot = self.last_digest_slot(digest_time, now)
            if chat.last_digest_at is None or chat.last_digest_at < slot:
                return None  # the digest is due: everything pending goes now
            return self.last_digest_slot(digest_time, slot + timedelta(days=1, minutes=1))
        if chat.quiet_hours:
            return self.quiet_end(now)
        return None
