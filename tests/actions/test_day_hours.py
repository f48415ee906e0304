"""Answers for the day asked about: holidays and special hours first, then the weekday, in shop time."""
from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml

from actions.services.day_hours import dates_month_first, hours_on_asked_days
from actions.services.shop_profile import WEEKDAYS, ShopProfileError, parse_shop_profile, shop_profile_dict
from tests.conftest import ROOT

UTC = dt.timezone.utc


def corner_shop(**changes):
    """A shop unlike the demo one: Mon–Fri 09:00–17:30, Sat 10:00–16:00, Sun closed; its own holidays."""
    raw = copy.deepcopy(shop_profile_dict(ROOT / "shop.yml"))
    raw["opening_hours"] = {day: ["09:00-17:30"] for day in WEEKDAYS[:5]}
    raw["opening_hours"].update(saturday=["10:00-16:00"], sunday=[])
    raw["holidays"] = [
        {"date": dt.date(2026, 12, 24), "name": "Christmas Eve", "hours": ["09:00-13:00"]},
        {"date": dt.date(2026, 12, 25), "name": "Christmas Day"},
        {"date": dt.date(2026, 12, 26), "name": "Boxing Day"},
        {"date": dt.date(2026, 12, 28), "name": "Boxing Day (substitute)"},
        {"date": dt.date(2027, 1, 1), "name": "New Year's Day"},
        {"date": dt.date(2026, 12, 12), "name": "Late night shopping", "hours": ["10:00-21:00"]},
    ]
    raw.pop("locale", None)  # none unless a test gives one: dates are then read by the time zone
    raw.update(changes)
    return parse_shop_profile(yaml.safe_dump(raw))


def ask(shop, text, when):
    """``when``: '2026-11-28 23:30' in the shop's time zone, or an aware datetime."""
    if not isinstance(when, dt.datetime):
        when = dt.datetime.fromisoformat(when).replace(tzinfo=shop.timezone)
    return hours_on_asked_days(shop, text, when)


SATURDAY_NIGHT = "2026-11-28 23:30"
CLOSED_SUNDAY = "Tomorrow (Sunday 29 November) we're closed. We open again on Monday at 09:00."


@pytest.mark.parametrize("text,expected", [
    ("what time do u open tomorow", CLOSED_SUNDAY),
    ("are you open on sunday", CLOSED_SUNDAY),
    ("are you open next monday", "On Monday 30 November we're open 09:00–17:30."),
    ("the day after tomorrow?", "The day after tomorrow (Monday 30 November) we're open 09:00–17:30."),
    ("are you open on christmas eve?",
     "On Christmas Eve (Thursday 24 December) we have special hours: 09:00–13:00."),
    ("open boxing day?",
     "On Boxing Day (Saturday 26 December) we're closed. We open again on Tuesday at 09:00."),
    ("christmas day?",
     "On Christmas Day (Friday 25 December) we're closed. We open again on Tuesday at 09:00."),
    ("24 December", "On Thursday 24 December (Christmas Eve) we have special hours: 09:00–13:00."),
    ("hours on 12/12?", "On Saturday 12 December (Late night shopping) we have special hours: 10:00–21:00."),
    ("late night shopping?",
     "On Late night shopping (Saturday 12 December) we have special hours: 10:00–21:00."),
    ("new years day",
     "On New Year's Day (Friday 1 January) we're closed. We open again on Saturday at 10:00."),
    ("open on 1 December?", "On Tuesday 1 December we're open 09:00–17:30."),
])
def test_a_day_is_answered_for_that_day(text, expected):
    assert ask(corner_shop(), text, SATURDAY_NIGHT) == expected


def test_the_weekend_gives_both_days():
    shop = corner_shop()
    assert ask(shop, "are you open at the weekend?", "2026-11-25 12:00") == (
        "On Saturday 28 November we're open 10:00–16:00. "
        "On Sunday 29 November we're closed. We open again on Monday at 09:00.")
    assert ask(shop, "this weekend?", "2026-11-28 11:00") == (
        "Today (Saturday 28 November) we're open 10:00–16:00. We're open now, until 16:00. "
        "Tomorrow (Sunday 29 November) we're closed. We open again on Monday at 09:00.")
    assert ask(shop, "over christmas?", "2026-12-20 12:00") == (
        "On Thursday 24 December (Christmas Eve) we have special hours: 09:00–13:00. "
        "On Friday 25 December (Christmas Day) we're closed. "
        "On Saturday 26 December (Boxing Day) we're closed. We open again on Tuesday at 09:00.")


@pytest.mark.parametrize("when,expected", [
    ("2026-11-28 08:00", "Today (Saturday 28 November) we're open 10:00–16:00. "
                         "We're closed right now; we open at 10:00."),
    ("2026-11-28 12:00", "Today (Saturday 28 November) we're open 10:00–16:00. We're open now, until 16:00."),
    ("2026-11-28 23:30", "Today (Saturday 28 November) we're open 10:00–16:00. We've closed for today. "
                         "We open again on Monday at 09:00."),
    ("2026-11-29 12:00", "Today (Sunday 29 November) we're closed. We open again tomorrow at 09:00."),
    ("2026-12-24 12:00", "Today (Thursday 24 December, Christmas Eve) we have special hours: 09:00–13:00. "
                         "We're open now, until 13:00."),
])
def test_today_also_says_where_we_are_in_the_day(when, expected):
    assert ask(corner_shop(), "are you open today?", when) == expected


def test_tomorrow_asked_after_midnight_also_answers_the_coming_daytime():
    assert ask(corner_shop(), "open tomorrow?", "2026-11-28 00:40") == (
        "Tomorrow (Sunday 29 November) we're closed. We open again on Monday at 09:00. "
        "If you meant later today (Saturday 28 November): we're open 10:00–16:00.")


def test_no_day_named_keeps_the_open_now_answer():
    assert ask(corner_shop(), "what are your opening hours?", SATURDAY_NIGHT) is None
    assert ask(corner_shop(), "/opening_hours", SATURDAY_NIGHT) is None


def test_the_day_is_the_shops_not_utc():
    # 23:30 UTC on a summer Saturday is already Sunday 00:30 in London: "tomorrow" is Monday.
    london = corner_shop()
    late_saturday_utc = dt.datetime(2026, 7, 4, 23, 30, tzinfo=UTC)
    assert ask(london, "open tomorrow?", late_saturday_utc).startswith(
        "Tomorrow (Monday 6 July) we're open 09:00–17:30.")
    # 03:30 UTC on Sunday is still Saturday evening in New York: "tomorrow" is Sunday.
    new_york = corner_shop(timezone="America/New_York")
    early_sunday_utc = dt.datetime(2026, 11, 29, 3, 30, tzinfo=UTC)
    assert ask(new_york, "open tomorrow?", early_sunday_utc) == (
        "Tomorrow (Sunday 29 November) we're closed. We open again on Monday at 09:00.")
    assert ask(new_york, "are you open today", early_sunday_utc).startswith("Today (Saturday 28 November)")


def test_hours_past_midnight_and_split_days():
    hours = {day: [] for day in WEEKDAYS}
    hours.update(monday=["09:00-12:00", "13:00-17:00"], friday=["18:00-02:00"], sunday=["00:00-24:00"])
    shop = corner_shop(opening_hours=hours, holidays=[])
    when = "2026-11-25 12:00"  # a Wednesday
    assert ask(shop, "monday?", when) == "On Monday 30 November we're open 09:00–12:00 and 13:00–17:00."
    assert ask(shop, "friday?", when) == "On Friday 27 November we're open 18:00–02:00."
    assert ask(shop, "saturday?", when) == (
        "On Saturday 28 November we're closed, apart from Friday night's opening until 02:00. "
        "We open again on Sunday at 00:00.")
    assert ask(shop, "sunday?", when) == "On Sunday 29 November we're open round the clock."


def test_a_day_with_no_opening_in_sight_says_so():
    shop = corner_shop(opening_hours={day: [] for day in WEEKDAYS}, holidays=[])
    assert ask(shop, "tomorrow?", SATURDAY_NIGHT) == (
        "Tomorrow (Sunday 29 November) we're closed. No opening hours are set for the weeks after that.")


def test_a_date_more_than_a_year_ahead_names_its_year():
    assert ask(corner_shop(), "24/12/2027", SATURDAY_NIGHT) == (
        "On Friday 24 December 2027 we're open 09:00–17:30.")


@pytest.mark.parametrize("changes,month_first", [
    ({}, False),                                          # Europe/London
    ({"locale": "en-US"}, True),
    ({"locale": "en_US", "timezone": "Europe/London"}, True),
    ({"locale": "en-GB", "timezone": "America/New_York"}, False),  # the locale wins over the zone
    ({"timezone": "America/Chicago"}, True),              # no locale: a US time zone
    ({"timezone": "America/Indiana/Indianapolis"}, True),
    ({"timezone": "America/Toronto"}, False),
    ({"timezone": "Australia/Sydney"}, False),
])
def test_dates_are_read_in_the_shops_order(changes, month_first):
    shop = corner_shop(**changes)
    assert dates_month_first(shop) is month_first
    expected = "On Tuesday 12 January" if month_first else "On Tuesday 1 December"
    assert ask(shop, "open 1/12?", "2026-11-28 12:00").startswith(expected)


def test_a_bad_locale_is_named():
    with pytest.raises(ShopProfileError, match="locale: 'British' is not a locale like en-GB"):
        corner_shop(locale="British")


def test_the_demo_shop_reads_dates_day_first(shop):
    assert shop.locale == "en-GB" and not dates_month_first(shop)
