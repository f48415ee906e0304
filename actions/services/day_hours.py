"""Opening hours for the days a customer asks about: "Tomorrow (Sunday 29 November) we're closed."

Holidays and special hours from shop.yml come first, then the weekday's hours, in the shop's time zone.
A range past midnight belongs to the day it starts on (as in opening_hours.py); the day it runs into
mentions it ("closed, apart from Friday night's opening until 02:00"). Every answer names the date, so
"next Monday" leaves no doubt which Monday.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional, Sequence

from actions.services.day_words import AskedDay, days_asked_about
from actions.services.opening_hours import opening_status
from actions.services.shop_profile import ShopProfile

_LOOKAHEAD_DAYS = 21
_RELATIVE = ("today", "tomorrow", "the day after tomorrow")
_MIDNIGHT = dt.time(0, 0)
# Countries that write the month first (12/24); everyone else writes the day first (24/12).
_MONTH_FIRST_COUNTRIES = {"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "VI", "UM"}
_US_TIME_ZONES = {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
                  "America/Phoenix", "America/Anchorage", "America/Adak", "America/Boise",
                  "America/Detroit", "America/Juneau", "America/Menominee", "America/Metlakatla",
                  "America/Nome", "America/Sitka", "America/Yakutat", "America/Puerto_Rico",
                  "Pacific/Honolulu", "Pacific/Guam"}


def dates_month_first(shop: ShopProfile) -> bool:
    """Whether "12/24" means 24 December: shop.yml's locale says, else the time zone (US: yes)."""
    if shop.locale:
        parts = re.split(r"[-_]", shop.locale)
        return len(parts) > 1 and parts[1].upper() in _MONTH_FIRST_COUNTRIES
    zone = shop.timezone.key
    return zone in _US_TIME_ZONES or zone.startswith(("US/", "America/Indiana/", "America/Kentucky/",
                                                      "America/North_Dakota/"))


def hours_on_asked_days(shop: ShopProfile, text: str, now: dt.datetime) -> Optional[str]:
    """The answer for the days ``text`` names, or None when it names none (then "open now?" answers)."""
    local = now.astimezone(shop.timezone)
    named = [(holiday.name, holiday.date) for holiday in shop.holidays]
    days = days_asked_about(text, local.date(), named, dates_month_first(shop))
    return describe_days(shop, days, local) if days else None


def describe_days(shop: ShopProfile, days: Sequence[AskedDay], now: dt.datetime) -> str:
    """One sentence per day; after a closed day, when we open again (unless the next day asked says)."""
    local = now.astimezone(shop.timezone)
    today = local.date()
    sentences = []
    for index, asked in enumerate(days):
        hours, opens = _hours(shop, asked.date)
        sentences.append(f"{_when(shop, asked, today)} {hours}.")
        if asked.date == today and opens:
            now_sentence, opens = _right_now(shop, local)
            sentences.append(now_sentence)
        following = days[index + 1].date if index + 1 < len(days) else None
        if not opens and following != asked.date + dt.timedelta(days=1):
            sentences.append(_open_again(shop, asked.date, today))
    if len(days) == 1 and days[0].name == "tomorrow" and local.hour < 5:
        # Past midnight, "tomorrow" often still means the coming daytime: answer that too.
        sentences.append(f"If you meant later today ({_date(today, today)}): {_hours(shop, today)[0]}.")
    return " ".join(s for s in sentences if s)


def _date(day: dt.date, today: dt.date) -> str:
    text = f"{day:%A} {day.day} {day:%B}"
    return f"{text} {day.year}" if (day - today).days > 300 else text


def _when(shop: ShopProfile, asked: AskedDay, today: dt.date) -> str:
    """"Tomorrow (Sunday 29 November)", "On Christmas Eve (Thursday 24 December)", "On Monday 30 November"."""
    holiday = shop.holiday_on(asked.date)
    offset = (asked.date - today).days
    relative = asked.name if asked.name in _RELATIVE else {0: "today", 1: "tomorrow"}.get(offset, "")
    customer_named = asked.name if asked.name not in _RELATIVE else ""
    name = holiday.name if holiday else customer_named  # the shop's own name for the day first
    date = _date(asked.date, today)
    if relative:
        return f"{relative.capitalize()} ({date}, {name})" if name else f"{relative.capitalize()} ({date})"
    if customer_named:
        return f"On {name} ({date})"
    return f"On {date} ({name})" if name else f"On {date}"


def _hours(shop: ShopProfile, day: dt.date) -> "tuple[str, bool]":
    """What we do that day, and whether we open at all."""
    ranges = shop.hours_on(day)
    night_before = _night_before_until(shop, day)
    if not ranges:
        if night_before:
            previous = day - dt.timedelta(days=1)
            return f"we're closed, apart from {previous:%A} night's opening until {night_before:%H:%M}", False
        return "we're closed", False
    if any(r.start == _MIDNIGHT and r.end == _MIDNIGHT for r in ranges):
        return "we're open round the clock", True
    listed = [str(r) for r in ranges]
    spans = ", ".join(listed[:-1]) + f" and {listed[-1]}" if len(listed) > 1 else listed[0]
    text = f"we have special hours: {spans}" if shop.holiday_on(day) else f"we're open {spans}"
    if night_before:
        text += f" (and until {night_before:%H:%M} that morning, from the night before)"
    return text, True


def _night_before_until(shop: ShopProfile, day: dt.date) -> Optional[dt.time]:
    """When the previous day's opening that runs past midnight ends on ``day`` (None: it does not)."""
    ends = [r.end for r in shop.hours_on(day - dt.timedelta(days=1)) if r.overnight and r.end != _MIDNIGHT]
    return max(ends) if ends else None


def _open_again(shop: ShopProfile, day: dt.date, today: dt.date) -> str:
    for offset in range(1, _LOOKAHEAD_DAYS):
        later = day + dt.timedelta(days=offset)
        ranges = shop.hours_on(later)
        if ranges:
            if later == today + dt.timedelta(days=1):
                when = "tomorrow"
            elif offset < 7:
                when = f"on {later:%A}"
            else:
                when = f"on {_date(later, today)}"
            return f"We open again {when} at {ranges[0].start:%H:%M}."
    return "No opening hours are set for the weeks after that."


def _right_now(shop: ShopProfile, now: dt.datetime) -> "tuple[str, bool]":
    """For a day we open today: where we are in it, and whether we are open or still open later."""
    status = opening_status(shop, now)
    if status.open_until is not None:
        if status.open_until - now > dt.timedelta(days=1):
            return "", True  # open round the clock: said already
        return f"We're open now, until {status.open_until:%H:%M}.", True
    if status.next_open is not None and status.next_open.date() == now.date():
        return f"We're closed right now; we open at {status.next_open:%H:%M}.", True
    return "We've closed for today.", False
