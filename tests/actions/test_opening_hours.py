"""Opening hours in the shop's time zone, with a fixed clock."""
from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml

from actions.services.opening_hours import (
    describe_status,
    opening_status,
    reply_due,
    upcoming_holidays,
    weekly_schedule,
)
from actions.services.shop_profile import parse_shop_profile, shop_profile_dict
from tests.conftest import ROOT, shop_time


def say(shop, when: str) -> str:
    return describe_status(shop, opening_status(shop, shop_time(shop, when)))


@pytest.mark.parametrize("when,expected", [
    ("2026-11-23 10:30", "We're open now, until 18:00 today."),            # Monday
    ("2026-11-23 07:15", "We're closed right now; we open today at 08:00."),
    ("2026-11-23 18:00", "We're closed right now; we open tomorrow at 08:00."),
    ("2026-11-27 18:30", "We're open now, until 19:00 today."),            # Friday, late
    ("2026-11-28 17:30", "We're closed right now; we open on Monday at 08:00."),  # Saturday evening
    ("2026-11-29 12:00", "We're closed right now; we open tomorrow at 08:00."),   # Sunday
])
def test_open_or_when_next(shop, when, expected):
    assert say(shop, when) == expected


def test_holidays_close_and_shorten_days(shop):
    assert say(shop, "2026-12-24 11:00") == "Today is Christmas Eve: We're open now, until 13:00 today."
    # Christmas Eve afternoon: Christmas Day, Boxing Day (Saturday) and Sunday are closed.
    assert say(shop, "2026-12-24 14:00") == (
        "Today is Christmas Eve: We're closed right now; we open on Monday at 08:00.")
    assert say(shop, "2026-12-25 10:00").startswith("Today is Christmas Day: We're closed")


def test_utc_clock_is_converted_to_shop_time(shop):
    # 17:30 UTC on a summer Friday is 18:30 in London (BST).
    moment = dt.datetime(2026, 7, 3, 17, 30, tzinfo=dt.timezone.utc)
    status = opening_status(shop, moment)
    assert status.is_open and status.open_until.hour == 19


def test_range_past_midnight():
    raw = copy.deepcopy(shop_profile_dict(ROOT / "shop.yml"))
    raw["opening_hours"]["friday"] = ["18:00-02:00"]
    raw["opening_hours"]["saturday"] = []
    shop = parse_shop_profile(yaml.safe_dump(raw))
    assert say(shop, "2026-11-27 23:30") == "We're open now, until 02:00 tonight."
    assert say(shop, "2026-11-28 01:00") == "We're open now, until 02:00 tonight."
    assert say(shop, "2026-11-28 02:30") == "We're closed right now; we open on Monday at 08:00."


@pytest.mark.parametrize("when,due", [
    ("2026-11-23 04:30", "2026-11-23 18:00"),  # before opening: by tonight's closing
    ("2026-11-23 10:00", "2026-11-24 18:00"),  # while open: by the end of the next opening
    ("2026-11-23 21:30", "2026-11-24 18:00"),
    ("2026-11-28 20:00", "2026-11-30 18:00"),  # Saturday night: Sunday is closed
    ("2026-12-24 20:00", "2026-12-28 18:00"),  # Christmas, Boxing Day and Sunday closed
])
def test_an_offline_message_is_due_by_the_end_of_the_next_opening(shop, when, due):
    assert reply_due(shop, shop_time(shop, when)) == shop_time(shop, due)


def test_open_round_the_clock():
    raw = copy.deepcopy(shop_profile_dict(ROOT / "shop.yml"))
    raw["opening_hours"] = {day: ["00:00-24:00"] for day in raw["opening_hours"]}
    raw["holidays"] = []
    shop = parse_shop_profile(yaml.safe_dump(raw))
    for moment in ("2026-11-23 00:00", "2026-11-23 23:59", "2026-11-29 12:00"):
        assert say(shop, moment) == "We're open now, around the clock.", moment
    assert str(shop.hours_on(dt.date(2026, 11, 23))[0]) == "00:00–24:00"
    raw["opening_hours"]["monday"] = ["09:00-09:00"]
    with pytest.raises(ValueError, match="opens and closes at the same time"):
        parse_shop_profile(yaml.safe_dump(raw))


def test_never_open_says_so():
    raw = copy.deepcopy(shop_profile_dict(ROOT / "shop.yml"))
    raw["opening_hours"] = {day: [] for day in raw["opening_hours"]}
    shop = parse_shop_profile(yaml.safe_dump(raw))
    assert "no opening hours are set" in say(shop, "2026-11-23 10:00")


def test_weekly_schedule_groups_equal_days(shop):
    assert weekly_schedule(shop) == (
        "Mon–Thu 08:00–18:00 · Fri 08:00–19:00 · Sat 09:00–17:00 · Sun closed")


def test_upcoming_holidays_only_within_two_weeks(shop):
    assert upcoming_holidays(shop, shop_time(shop, "2026-11-23 10:00")) == ""
    notes = upcoming_holidays(shop, shop_time(shop, "2026-12-20 10:00"))
    assert notes.startswith("Christmas Eve (24 December): 08:00–13:00; Christmas Day (25 December): closed")
