"""Is the shop open now, and when does it open next? In the shop's own time zone.

Handles ranges that run past midnight and holidays (closed, or special hours) from shop.yml.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import List, Tuple

from actions.services.shop_profile import WEEKDAYS, ShopProfile

_LOOKAHEAD_DAYS = 21


@dataclass(frozen=True)
class OpeningStatus:
    now: dt.datetime                      # in the shop's time zone
    open_until: dt.datetime | None     # set when open now
    next_open: dt.datetime | None      # set when closed now (None: no opening in sight)

    @property
    def is_open(self) -> bool:
        return self.open_until is not None


def _intervals(shop: ShopProfile, around: dt.date) -> List[Tuple[dt.datetime, dt.datetime]]:
    """Absolute opening intervals from the day before ``around`` to a few weeks ahead, merged."""
    tz = shop.timezone
    spans = []
    for offset in range(-1, _LOOKAHEAD_DAYS):
        day = around + dt.timedelta(days=offset)
        for hours in shop.hours_on(day):
            start = dt.datetime.combine(day, hours.start, tz)
            end_day = day + dt.timedelta(days=1) if hours.overnight else day
            spans.append((start, dt.datetime.combine(end_day, hours.end, tz)))
    spans.sort()
    merged: List[Tuple[dt.datetime, dt.datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def opening_status(shop: ShopProfile, now: dt.datetime) -> OpeningStatus:
    local = now.astimezone(shop.timezone)
    for start, end in _intervals(shop, local.date()):
        if start <= local < end:
            return OpeningStatus(local, end, None)
        if start > local:
            return OpeningStatus(local, None, start)
    return OpeningStatus(local, None, None)


def reply_due(shop: ShopProfile, now: dt.datetime) -> dt.datetime:
    """When an offline message must have its answer: the end of the next opening that starts after now
    (Monday 04:30 -> Monday's closing; Monday 10:00 or 21:30 -> Tuesday's closing)."""
    local = now.astimezone(shop.timezone)
    upcoming = [end for start, end in _intervals(shop, local.date()) if start > local]
    return upcoming[0] if upcoming else local + dt.timedelta(days=1)


def _day_word(moment: dt.datetime, now: dt.datetime) -> str:
    days = (moment.date() - now.date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days < 7:
        return f"on {moment:%A}"
    return f"on {moment:%A} {moment.day} {moment:%B}"


def describe_status(shop: ShopProfile, status: OpeningStatus) -> str:
    """One sentence a customer understands: open until when, or when we open next."""
    now = status.now
    holiday = shop.holiday_on(now.date())
    prefix = f"Today is {holiday.name}: " if holiday else ""
    if status.open_until is not None and status.open_until - now > dt.timedelta(days=1):
        return f"{prefix}We're open now, around the clock."
    if status.open_until is not None:
        until = status.open_until
        # A night that runs past midnight is "tonight" on both sides of it.
        when = "tonight" if until.hour < 6 else "today" if until.date() == now.date() else "tomorrow"
        return f"{prefix}We're open now, until {until:%H:%M} {when}."
    if status.next_open is None:
        return f"{prefix}We're closed now, and no opening hours are set for the coming weeks."
    next_open = status.next_open
    return f"{prefix}We're closed right now; we open {_day_word(next_open, now)} at {next_open:%H:%M}."


def header_status(shop: ShopProfile, status: OpeningStatus) -> str:
    """A few words for the chat header: "Open now until 18:00", "Closed · opens tomorrow at 08:00"."""
    if status.open_until is not None and status.open_until - status.now > dt.timedelta(days=1):
        return "Open now"
    if status.open_until is not None:
        return f"Open now until {status.open_until:%H:%M}"
    if status.next_open is None:
        return "Closed"
    return f"Closed · opens {_day_word(status.next_open, status.now)} at {status.next_open:%H:%M}"


def weekly_schedule(shop: ShopProfile) -> str:
    """"Mon–Thu 08:00–18:00 · Fri 08:00–19:00 · Sun closed", grouping equal neighbouring days."""
    groups: List[Tuple[int, int, str]] = []
    for index, day in enumerate(WEEKDAYS):
        hours = shop.opening_hours[day]
        text = ", ".join(str(r) for r in hours) if hours else "closed"
        if groups and groups[-1][2] == text and groups[-1][1] == index - 1:
            groups[-1] = (groups[-1][0], index, text)
        else:
            groups.append((index, index, text))
    short = [d[:3].capitalize() for d in WEEKDAYS]
    parts = [
        f"{short[a]}–{short[b]} {text}" if a != b else f"{short[a]} {text}" for a, b, text in groups
    ]
    return " · ".join(parts)


def upcoming_holidays(shop: ShopProfile, now: dt.datetime, days: int = 14) -> str:
    local = now.astimezone(shop.timezone).date()
    notes = []
    for holiday in shop.holidays:
        if local <= holiday.date <= local + dt.timedelta(days=days):
            hours = ", ".join(str(r) for r in holiday.hours) if holiday.hours else "closed"
            notes.append(f"{holiday.name} ({holiday.date.day} {holiday.date:%B}): {hours}")
    return "; ".join(notes)
