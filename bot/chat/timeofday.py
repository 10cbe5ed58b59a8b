"""Times of day as people type them: ``HH:MM`` and ``HH:MM-HH:MM`` ranges.

Shared by the settings (quiet hours, forced digest time), the chat commands (``/digest``),
the import of a backup and the delivery engine; imports nothing of the bot.
"""

from __future__ import annotations

from datetime import time as dtime


def parse_hhmm(text: str) -> dtime:
    """``"7:30"`` / ``"07:30"`` -> time(7, 30); ValueError otherwise."""
    hh, sep, mm = text.strip().partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2 or len(hh) > 2:
        raise ValueError(f"{text!r} is not HH:MM")
    h, m = int(hh), int(mm)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"{text!r} is not a time of day")
    return dtime(h, m)


def parse_quiet_hours(text: str) -> tuple[dtime, dtime] | None:
    """``"22:00-06:00"`` -> (22:00, 06:00); "" -> None. Raises ValueError when malformed."""
    text = text.strip()
    if not text:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM")
    a, b = parse_hhmm(start), parse_hhmm(end)
    if a == b:
        raise ValueError(f"{text!r}: start and end are the same")
    return a, b
