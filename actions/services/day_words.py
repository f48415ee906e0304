"""Which day a customer asks about: "tomorow", "on Sun", "next Monday", "24/12", "Boxing Day".

Reads the raw message, typos and all, against the shop's date today. No Rasa, no I/O. A message
that names no day gives None, so the caller keeps its "open now?" answer.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from actions.services.date_words import Mention, blank, date_mentions, holiday_mentions

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ABBREVIATIONS = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "weds": 2, "thu": 3, "thur": 3, "thurs": 3,
                  "fri": 4, "sat": 5, "sun": 6}
# Also English words ("I sat", "the sun"): a day only beside words that go with a day.
_AMBIGUOUS = {"sat", "sun", "wed"}
_BEFORE_A_DAY = {"on", "this", "next", "coming", "til", "till", "until", "by", "from", "for", "open",
                 "opened", "opening", "closed", "close", "shut", "and", "or", "thru", "through", "every",
                 "before", "after"}
_AFTER_A_DAY = {"hours", "morning", "afternoon", "evening", "night", "opening", "open", "at"}
_NOT_WEEKDAYS = {"today", "holiday", "holidays", "birthday", "someday", "everyday", "payday", "midday",
                 "yesterday"}
_TOMORROW_WORDS = {"tomorrow", "tmrw", "tmr", "tmw", "tmrow", "tmrrw", "tmoro", "tomoz", "2moro", "2morro",
                   "2morrow", "2morow", "2mrw", "2mro", "2moz", "tomm", "tommorow", "tommorrow", "tomorow",
                   "tomoro", "tomorro", "tomorrw"}
_TODAY = re.compile(r"\b(?:todays?|tonight|tonite|2day|2nite|2night|"
                    r"this\s+(?:morning|afternoon|evening|arvo))\b")
_WEEKEND = re.compile(r"\b(?:(?P<which>this|next|coming)\s+)?week-?\s?ends?\b")
_TOKEN = re.compile(r"[a-z0-9]+")
_RANGE_WORDS = {"to", "till", "til", "until", "thru", "through"}
_IN_DAYS = re.compile(r"\bin\s+(?P<n>[1-7]|one|two|three|four|five|six|seven)\s+days?\b")
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_MAX_DAYS = 7  # a sentence naming more days than a week is not asking about days


@dataclass(frozen=True)
class AskedDay:
    """A day the customer asked about, and what they called it when that was not a plain date."""

    date: dt.date
    name: str = ""  # "today", "tomorrow", "the day after tomorrow", "Christmas Eve"; "" for "Sunday", "24/12"


def normalise(text: str) -> str:
    """Lower case, apostrophes dropped ("new year's" -> "new years", "c'mon" -> "cmon")."""
    return re.sub(r"['’‘`´]", "", text.lower())


def days_asked_about(text: str, today: dt.date, named_days: Sequence[Tuple[str, dt.date]] = (),
                     month_first: bool = False) -> Optional[Tuple[AskedDay, ...]]:
    """The days ``text`` asks about, in the order it names them; None when it names none.

    ``today`` is the shop's date now; ``named_days`` are the shop's own (name, date) days from shop.yml;
    ``month_first`` reads "12/24" as 24 December (US shops)."""
    remaining = normalise(text)
    named = [(normalise(name), name, day) for name, day in named_days]
    readers: List[Tuple[str, Callable[[str], Iterator[Mention]]]] = [
        ("named", lambda t: holiday_mentions(t, today, named)),
        ("relative", lambda t: _relative_mentions(t, today)),
        ("weekend", lambda t: _weekend_mentions(t, today)),
        ("date", lambda t: date_mentions(t, today, month_first)),
        ("weekday", lambda t: _weekday_mentions(t, today)),
    ]
    found: List[Tuple[Mention, str]] = []
    for kind, reader in readers:
        for start, end, dates in list(reader(remaining)):
            found.append(((start, end, dates), kind))
            remaining = blank(remaining, start, end)
    found.sort(key=lambda f: f[0][0])
    days: List[AskedDay] = []
    for position, ((_, end, dates), kind) in enumerate(found):
        if kind == "weekday" and _names_a_date(text, end, found[position + 1:]):
            continue  # "Thursday 24 December": the date says which Thursday
        for date, name in dates:
            if date not in {known.date for known in days}:
                days.append(AskedDay(date, name))
    if not days or len(days) > _MAX_DAYS:
        return None
    return tuple(days)


def _names_a_date(text: str, end: int, later: List[Tuple[Mention, str]]) -> bool:
    """Whether a date or named day follows right after ``end`` ("Thursday, the 24th")."""
    if not later or later[0][1] not in ("date", "named"):
        return False
    between = normalise(text)[end:later[0][0][0]]
    return re.fullmatch(r"[\s,]*(?:the\s+)?", between) is not None


def _is_tomorrow(word: str) -> bool:
    if word in _TOMORROW_WORDS:
        return True
    # "tomorroe", "tommorw", "2morrw": close to "tomorrow" and starting like it
    return 5 <= len(word) <= 10 and word.startswith(("tom", "2m")) and edit_distance(word, "tomorrow") <= 2


def _relative_mentions(text: str, today: dt.date) -> Iterator[Mention]:
    tokens = list(_TOKEN.finditer(text))
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if _is_tomorrow(token.group()):
            before = [t.group() for t in tokens[max(0, index - 2):index]]
            if before[-2:] == ["day", "after"]:  # "the day after tomorrow"
                start = tokens[index - 2].start()
                if index >= 3 and tokens[index - 3].group() == "the":
                    start = tokens[index - 3].start()
                yield start, token.end(), [(today + dt.timedelta(days=2), "the day after tomorrow")]
            else:
                yield token.start(), token.end(), [(today + dt.timedelta(days=1), "tomorrow")]
        elif token.group() == "overmorrow":
            yield token.start(), token.end(), [(today + dt.timedelta(days=2), "the day after tomorrow")]
        index += 1
    for match in _TODAY.finditer(text):
        yield match.start(), match.end(), [(today, "today")]
    for match in _IN_DAYS.finditer(text):  # "in 3 days", "in two days"
        ahead = int(match.group("n")) if match.group("n").isdigit() else _NUMBERS[match.group("n")]
        name = {1: "tomorrow", 2: "the day after tomorrow"}.get(ahead, "")
        yield match.start(), match.end(), [(today + dt.timedelta(days=ahead), name)]


def _weekend_mentions(text: str, today: dt.date) -> Iterator[Mention]:
    for match in _WEEKEND.finditer(text):
        saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:  # on a Sunday "this weekend" is what is left of it: today
            days = [today]
            if match.group("which") == "next":
                days = [today + dt.timedelta(days=6), today + dt.timedelta(days=7)]
        else:
            if match.group("which") == "next" and today.weekday() == 5:
                saturday += dt.timedelta(days=7)
            days = [saturday, saturday + dt.timedelta(days=1)]
        yield match.start(), match.end(), [(d, "") for d in days]


def _weekday_of(word: str) -> Optional[int]:
    for index, name in enumerate(WEEKDAY_NAMES):
        if word in (name, name + "s"):
            return index
    if word in _ABBREVIATIONS:
        return _ABBREVIATIONS[word]
    looks_like_a_day = 6 <= len(word) <= 12 and word.rstrip("s").endswith(("day", "dy", "dya"))
    if not looks_like_a_day or word in _NOT_WEEKDAYS:
        return None
    # Typos of a full name ("wensday", "saterday", "thurday"): the one name clearly closest.
    ranked = sorted((edit_distance(word.rstrip("s"), name), i) for i, name in enumerate(WEEKDAY_NAMES))
    best, second = ranked[0], ranked[1]
    return best[1] if best[0] <= 2 and best[0] < second[0] else None


def _weekday_mentions(text: str, today: dt.date) -> Iterator[Mention]:
    tokens = list(_TOKEN.finditer(text))
    words = [t.group() for t in tokens]
    in_range_until = -1
    for index, word in enumerate(words):
        weekday = _weekday_of(word)
        if weekday is None or index <= in_range_until:
            continue
        last = _range_end(text, words, tokens, index)
        if last is not None:  # "Monday to Friday", "mon-fri": the week's hours answer that, not days
            in_range_until = last
            yield tokens[index].start(), tokens[last].end(), []
            continue
        before = words[index - 1] if index else ""
        if word in _AMBIGUOUS and not _reads_as_a_day(text, words, tokens, index):
            continue
        if before in ("last", "past", "yesterday"):
            continue  # the past: nothing to answer
        first = index - 1 if before in ("this", "next", "coming", "on") else index
        start = tokens[first].start()
        ahead = (weekday - today.weekday()) % 7  # plain "Monday", "this Monday": today or the coming one
        if before == "next" and ahead == 0:
            ahead = 7  # "next Monday" on a Monday: not today
        following = words[index + 1:index + 4]
        preceding = words[max(0, index - 3):index]
        if following[:2] == ["after", "next"]:
            ahead = (ahead or 7) + 7
        elif following[:2] == ["next", "week"] or following[1:3] == ["next", "week"] \
                or preceding[-2:] == ["next", "week"] or preceding[-3:-1] == ["next", "week"]:
            # "Monday next week": that weekday in the calendar week after this one
            ahead = weekday - today.weekday() + 7
        yield start, tokens[index].end(), [(today + dt.timedelta(days=ahead), "")]


def _range_end(text: str, words: List[str], tokens: List["re.Match[str]"], index: int) -> Optional[int]:
    """The index of the last weekday of a range starting at ``index`` ("mon to fri", "mon-fri"), or None."""
    if index + 1 >= len(words):
        return None
    joiner = text[tokens[index].end():tokens[index + 1].start()].strip()
    if joiner in ("-", "–", "—") and _weekday_of(words[index + 1]) is not None:
        return index + 1
    ranged = words[index + 1] in _RANGE_WORDS and index + 2 < len(words)
    if ranged and _weekday_of(words[index + 2]) is not None:
        return index + 2
    return None


def _reads_as_a_day(text: str, words: List[str], tokens: List["re.Match[str]"], index: int) -> bool:
    """"open sat?", "on sun", "sat and sun", "sun morning": yes; "I sat down", "the sun": no."""
    before = words[index - 1] if index else ""
    after = words[index + 1] if index + 1 < len(words) else ""
    if before in _BEFORE_A_DAY or after in _AFTER_A_DAY or after[:1].isdigit():  # "sat 9am"
        return True
    if after in ("and", "or") and index + 2 < len(words) and _weekday_of(words[index + 2]) is not None:
        return True
    rest = text[tokens[index].end():].lstrip()
    return not rest or rest[0] in "?!.,;"


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: how many letters to add, drop or change to turn ``a`` into ``b``."""
    previous = list(range(len(b) + 1))
    for i, letter in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (letter != other)))
        previous = current
    return previous[-1]

