"""The day reader: which day a customer's words ask about, typos, abbreviations and holidays included."""
from __future__ import annotations

import datetime as dt

import pytest

from actions.services.date_words import easter_sunday
from actions.services.day_words import days_asked_about, edit_distance

SATURDAY = dt.date(2026, 11, 28)
WEDNESDAY = dt.date(2026, 11, 25)
NEW_YEARS_EVE = dt.date(2026, 12, 31)  # a Thursday
SHOP_DAYS = [("Christmas Eve", dt.date(2026, 12, 24)), ("Christmas Day", dt.date(2026, 12, 25)),
             ("Boxing Day", dt.date(2026, 12, 26)), ("New Year's Day", dt.date(2027, 1, 1)),
             ("Stocktaking", dt.date(2027, 1, 4)), ("Summer party", dt.date(2026, 7, 1))]


def dates(text, today=SATURDAY, month_first=False, named_days=SHOP_DAYS):
    days = days_asked_about(text, today, named_days, month_first)
    return None if days is None else [d.date.isoformat() for d in days]


def names(text, today=SATURDAY):
    return [d.name for d in days_asked_about(text, today, SHOP_DAYS) or ()]


@pytest.mark.parametrize("text", [
    "what time do u open tomorow", "open tomorrow?", "tommorow", "tommorrow", "tmrw", "tmr?", "2moro",
    "2morrow hours", "tomoz", "are you open tomorroe", "Tomorrow morning", "TOMORROW!!",
])
def test_tomorrow_and_its_typos(text):
    assert dates(text) == ["2026-11-29"]
    assert names(text) == ["tomorrow"]


@pytest.mark.parametrize("text", ["open the day after tomorrow?", "day after tmrw", "overmorrow"])
def test_the_day_after_tomorrow(text):
    assert dates(text) == ["2026-11-30"]
    assert names(text) == ["the day after tomorrow"]


@pytest.mark.parametrize("text,expected,name", [
    ("open in 2 days?", "2026-11-30", "the day after tomorrow"),
    ("in three days", "2026-12-01", ""),
    ("in 1 day", "2026-11-29", "tomorrow"),
])
def test_in_so_many_days(text, expected, name):
    assert dates(text) == [expected]
    assert names(text) == [name]


@pytest.mark.parametrize("text", ["are you open today", "todays hours?", "open tonight?", "open tonite",
                                  "are you open this evening"])
def test_today(text):
    assert dates(text) == ["2026-11-28"]
    assert names(text) == ["today"]


@pytest.mark.parametrize("text,expected", [
    ("are you open on sunday", "2026-11-29"),
    ("open sun?", "2026-11-29"),
    ("Sundays?", "2026-11-29"),
    ("on Mon", "2026-11-30"),
    ("what about tues", "2026-12-01"),
    ("wed", "2026-12-02"),
    ("thurs hours", "2026-12-03"),
    ("fri?", "2026-12-04"),
    ("sat 9am?", "2026-11-28"),
    ("open till sunday?", "2026-11-29"),
    ("are you open on saturday", "2026-11-28"),        # today is Saturday: today
    ("this saturday", "2026-11-28"),
    ("next saturday", "2026-12-05"),                   # "next" never means today
    ("are you open next monday", "2026-11-30"),        # the coming Monday
    ("this monday", "2026-11-30"),
    ("monday next week", "2026-11-30"),                # next calendar week (today is Saturday)
    ("next week on thursday", "2026-12-03"),
    ("wednesday after next", "2026-12-09"),
    ("wensday?", "2026-12-02"),                        # typos of full names
    ("saterday", "2026-11-28"),
    ("thurday", "2026-12-03"),
    ("fridya", "2026-12-04"),
])
def test_weekdays_and_abbreviations(text, expected):
    assert dates(text) == [expected]


def test_next_week_counts_from_the_calendar_week():
    assert dates("monday next week", today=WEDNESDAY) == ["2026-11-30"]
    assert dates("friday next week", today=WEDNESDAY) == ["2026-12-04"]
    assert dates("next friday", today=WEDNESDAY) == ["2026-11-27"]   # the coming Friday, with its date


@pytest.mark.parametrize("text", [
    "is the sun out", "are you open when its sunny", "I sat outside for an hour, when do you open",
    "we wed in june", "c'mon, when are you open", "are you open now", "what are your opening hours", "",
    "/opening_hours", "are you open on holidays?", "last monday you were closed", "are you open 24/7?",
    "open at 9.30?", "is it £7.50.", "order KC-10482", "2 days delivery?", "may I ask when you open",
    "31/02", "are you open 24 hours", "open on my birthday?", "someday", "open everyday?",
    "are you open monday to friday", "mon-fri hours?", "tue thru thu",  # the week's hours answer those
])
def test_no_day_is_none(text):
    assert dates(text) is None


@pytest.mark.parametrize("text", [
    "24 December", "Dec 24", "24/12", "24th of december", "december 24th", "open on 24.12.?", "2026-12-24",
    "December the 24th", "24 dec 2026", "24/12/2026", "24/12/26", "the 24th?", "Thursday 24 December",
    "thursday, the 24th", "12/24",  # 24 December whichever order: no 24th month
])
def test_dates(text):
    assert dates(text) == ["2026-12-24"]


def test_numeric_dates_follow_the_shops_country():
    assert dates("are you open 5/1?") == ["2027-01-05"]                    # day first (UK)
    assert dates("are you open 5/1?", month_first=True) == ["2027-05-01"]  # month first (US)
    assert dates("12/24", month_first=True) == ["2026-12-24"]
    assert dates("4.7.", month_first=True) == ["2027-07-04"]               # dots are always day first


@pytest.mark.parametrize("text,expected", [
    ("1 November", "2027-11-01"),    # past this year: next year
    ("27/11", "2027-11-27"),
    ("28 November", "2026-11-28"),   # today stays today
    ("29 feb", "2028-02-29"),        # the next leap year
    ("the 1st", "2026-12-01"),       # this month's has passed: next month's
    ("the 30th", "2026-11-30"),
])
def test_past_dates_roll_to_the_next_one(text, expected):
    assert dates(text) == [expected]


def test_a_date_in_a_past_year_is_not_answered():
    assert dates("24/12/2025") is None
    assert dates("24/12/2027") == ["2027-12-24"]


@pytest.mark.parametrize("text,expected", [
    ("tomorrow", "2027-01-01"),
    ("1/1", "2027-01-01"),
    ("new year's day", "2027-01-01"),
    ("next monday", "2027-01-04"),
    ("christmas", "2027-12-25"),
    ("tonight", "2026-12-31"),
    ("NYE", "2026-12-31"),
])
def test_year_end(text, expected):
    assert dates(text, today=NEW_YEARS_EVE) == [expected]


@pytest.mark.parametrize("text,expected,name", [
    ("are you open on christmas eve?", "2026-12-24", "Christmas Eve"),
    ("xmas eve", "2026-12-24", "Christmas Eve"),
    ("open on christmas?", "2026-12-25", "Christmas Day"),
    ("Xmas day", "2026-12-25", "Christmas Day"),
    ("open boxing day?", "2026-12-26", "Boxing Day"),
    ("new years eve", "2026-12-31", "New Year's Eve"),
    ("New Year’s Day", "2027-01-01", "New Year's Day"),
    ("new year day", "2027-01-01", "New Year's Day"),
    ("are you open at stocktaking?", "2027-01-04", "Stocktaking"),   # the shop's own name
    ("good friday", "2027-03-26", "Good Friday"),
    ("easter", "2027-03-28", "Easter Sunday"),
    ("easter monday", "2027-03-29", "Easter Monday"),
])
def test_named_days(text, expected, name):
    assert dates(text) == [expected]
    assert names(text) == [name]


def test_shop_names_come_before_the_usual_ones_and_past_entries_are_ignored():
    own = [("Christmas Eve", dt.date(2026, 12, 23))]  # a shop that keeps "Christmas Eve" on the 23rd
    assert dates("christmas eve?", named_days=own) == ["2026-12-23"]
    assert dates("summer party") is None                 # 1 July 2026 has passed, no date next year
    assert dates("open on holiday?", named_days=[("holiday", dt.date(2026, 12, 1))]) is None


def test_several_days_in_the_order_asked():
    assert dates("are you open this weekend") == ["2026-11-28", "2026-11-29"]
    assert dates("the weekend?", today=WEDNESDAY) == ["2026-11-28", "2026-11-29"]
    assert dates("next weekend") == ["2026-12-05", "2026-12-06"]
    assert dates("this weekend", today=dt.date(2026, 11, 29)) == ["2026-11-29"]  # Sunday: what is left
    assert dates("sat and sun") == ["2026-11-28", "2026-11-29"]
    assert dates("sat or sun?") == ["2026-11-28", "2026-11-29"]
    assert dates("monday or 24/12") == ["2026-11-30", "2026-12-24"]
    assert dates("over christmas") == ["2026-12-24", "2026-12-25", "2026-12-26"]
    assert dates("tomorrow, sunday") == ["2026-11-29"]  # the same day named twice


def test_easter_dates():
    assert [easter_sunday(y).isoformat() for y in (2024, 2025, 2026, 2027)] == [
        "2024-03-31", "2025-04-20", "2026-04-05", "2027-03-28"]


def test_edit_distance():
    assert edit_distance("tomorow", "tomorrow") == 1
    assert edit_distance("wensday", "wednesday") == 2
    assert edit_distance("", "abc") == 3
