"""Calendar dates in a customer's words: "24 December", "Dec 24th", "24/12", "the 24th", "Boxing Day".

Part of the day reader (day_words.py): each reader yields where in the (normalised) text it found a
day and which dates it means. Dates without a year are the next one to come: a past date this year
rolls to next year. No Rasa, no I/O.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

Mention = Tuple[int, int, List[Tuple[dt.date, str]]]  # start, end, (date, name or "") per day meant

MONTHS: Dict[str, int] = {}
for _number, _names in enumerate((
        ("january", "jan"), ("february", "feb", "febuary"), ("march", "mar"), ("april", "apr"), ("may",),
        ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
        ("october", "oct"), ("november", "nov"), ("december", "dec", "decemeber", "decmber")), 1):
    MONTHS.update({name: _number for name in _names})

_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th)?"
_MONTH = r"(?P<m>[a-z]{3,9})\b\.?"
_YEAR = r"(?:,?\s*(?P<y>20\d\d)\b)?"
_NOT_A_TIME = r"(?!\s*(?::|\.\d|am\b|pm\b|h\b|hrs?\b|o\s?clock))"
_DATE_PATTERNS = (  # (pattern, how its groups read: "dmy" day-first, "locale" per shop, "ordinal")
    (re.compile(r"\b(?P<y>20\d\d)-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"), "iso"),  # 2026-12-24
    # 24.12. (the closing dot tells it from a time like 9.30)
    (re.compile(r"(?<![\d.:])(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?:(?P<y>\d{4}|\d{2})(?!\d))?"), "dmy"),
    (re.compile(r"(?<![\d/.:-])(?P<a>\d{1,2})[/-](?P<b>\d{1,2})[/-](?P<y>\d{4}|\d{2})(?![\d/:])"), "locale"),
    (re.compile(r"(?<![\d/.:])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\d/:])"), "locale"),  # 24/12, 12/24
    (re.compile(rf"\b{_DAY}\s*(?:of\s+)?{_MONTH}{_YEAR}"), "named"),  # 24 december, 24th of dec
    (re.compile(rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}\b{_NOT_A_TIME}{_YEAR}"), "named"),  # december 24th
    (re.compile(r"\b(?:the|on)\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)\b"), "ordinal"),  # the 24th
)

# Days everyone names, for shops whose shop.yml does not list them: (pattern, name, month, day).
_FIXED_HOLIDAYS = (
    (r"(?:over|during|around|at)\s+(?:the\s+)?(?:christmas|xmas)|(?:christmas|xmas)\s+"
     r"(?:holidays?|period|break|week)", "", 12, 24, 3),
    (r"(?:christmas|xmas)\s+eve", "Christmas Eve", 12, 24, 1),
    (r"(?:christmas|xmas)(?:\s+day)?", "Christmas Day", 12, 25, 1),
    (r"boxing\s+day", "Boxing Day", 12, 26, 1),
    (r"new\s+years?\s+eve|nye|hogmanay", "New Year's Eve", 12, 31, 1),
    (r"new\s+years?(?:\s+day)?", "New Year's Day", 1, 1, 1),
)
_EASTER_DAYS = (  # (pattern, name, days from Easter Sunday, how many days)
    (r"easter\s+(?:weekend|holidays?|break)|over\s+easter", "", -2, 4),
    (r"good\s+friday", "Good Friday", -2, 1),
    (r"easter\s+saturday|holy\s+saturday", "Easter Saturday", -1, 1),
    (r"easter\s+monday", "Easter Monday", 1, 1),
    (r"easter(?:\s+sunday|\s+day)?", "Easter Sunday", 0, 1),
)
# Holiday names that say no particular day ("are you open on holidays?"): never matched.
_GENERIC_NAMES = {"holiday", "holidays", "bank holiday", "public holiday", "closed", "day off",
                  "special hours"}


def blank(text: str, start: int, end: int) -> str:
    """``text`` with a span read already replaced by spaces: each word is read once, positions stay."""
    return text[:start] + " " * (end - start) + text[end:]


def on_or_after(today: dt.date, month: int, day: int, year: Optional[int] = None) -> Optional[dt.date]:
    """The date meant by a day and month: the next one to come (this year or the next ones; a 29
    February waits for a leap year). With a year: that date, or None when it has passed."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    for candidate in ([year] if year else range(today.year, today.year + 5)):
        try:
            date = dt.date(candidate, month, day)
        except ValueError:
            continue
        if date >= today:
            return date
    return None


def _year(text: Optional[str]) -> Optional[int]:
    if not text:
        return None
    return int(text) + (2000 if len(text) == 2 else 0)


def _read(match: "re.Match[str]", kind: str, today: dt.date, month_first: bool) -> Optional[dt.date]:
    groups = match.groupdict()
    year = _year(groups.get("y"))
    if kind == "iso":
        return on_or_after(today, int(groups["m"]), int(groups["d"]), year)
    if kind == "named":
        month = MONTHS.get(groups["m"])
        return on_or_after(today, month, int(groups["d"]), year) if month else None
    if kind == "ordinal":  # "the 24th": this month's, or next month's once it has passed
        first = today.replace(day=1)
        for ahead in range(3):
            month_start = (first + dt.timedelta(days=32 * ahead)).replace(day=1)
            date = on_or_after(today, month_start.month, int(groups["d"]), month_start.year)
            if date:
                return date
        return None
    a, b = int(groups["a"]), int(groups["b"])
    if kind == "locale" and not year and (a, b) == (24, 7):
        return None  # "are you open 24/7?"
    if kind == "locale" and month_first:
        a, b = b, a
    # The shop's order first; a date only the other order makes ("12/24" in London) is still read.
    readings = [(b, a)] if kind == "dmy" else [(b, a), (a, b)]
    for month, day in readings:
        date = on_or_after(today, month, day, year)
        if date:
            return date
    return None


def date_mentions(text: str, today: dt.date, month_first: bool = False) -> Iterator[Mention]:
    """Dates written with numbers or month names, each read once (the first pattern that fits wins)."""
    remaining = text
    found: List[Mention] = []
    for pattern, kind in _DATE_PATTERNS:
        for match in pattern.finditer(remaining):
            date = _read(match, kind, today, month_first)
            if date is None:
                continue
            found.append((match.start(), match.end(), [(date, "")]))
        for start, end, _ in found:
            remaining = blank(remaining, start, end)
    yield from found


def easter_sunday(year: int) -> dt.date:
    """Western Easter (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _name_pattern(normalised_name: str) -> Optional["re.Pattern[str]"]:
    words = re.findall(r"[a-z0-9]+", normalised_name)
    if not words or " ".join(words) in _GENERIC_NAMES:
        return None
    # "new years day" also as "new year day"; any spacing or punctuation between the words
    spelled = [re.escape(word.removesuffix("s")) + "s?" for word in words]
    return re.compile(r"\b" + r"[^a-z0-9]*".join(spelled) + r"\b")


def holiday_mentions(text: str, today: dt.date,
                     named_days: Sequence[Tuple[str, str, dt.date]]) -> Iterator[Mention]:
    """Named days: the shop's own from shop.yml first (normalised name, name, date), then the usual ones.

    A shop's name is read as its next date still to come; past entries are ignored."""
    remaining = text
    found: List[Mention] = []

    def take(pattern: "re.Pattern[str]", dates: List[Tuple[dt.date, str]]) -> None:
        nonlocal remaining
        for match in pattern.finditer(remaining):
            found.append((match.start(), match.end(), dates))
            remaining = blank(remaining, match.start(), match.end())

    upcoming: Dict[str, Tuple[dt.date, str]] = {}
    for normalised, name, date in sorted(named_days, key=lambda n: n[2]):
        if date >= today and normalised not in upcoming:
            upcoming[normalised] = (date, name)
    for normalised in sorted(upcoming, key=len, reverse=True):  # "christmas eve" before "christmas"
        pattern = _name_pattern(normalised)
        if pattern:
            take(pattern, [upcoming[normalised]])
    for expression, name, month, day, count in _FIXED_HOLIDAYS:
        first = on_or_after(today, month, day)
        if first:
            take(re.compile(rf"\b(?:{expression})\b"),
                 [(first + dt.timedelta(days=n), name) for n in range(count)])
    easter = easter_sunday(today.year)
    if easter + dt.timedelta(days=1) < today:  # Easter Monday has passed: next year's
        easter = easter_sunday(today.year + 1)
    for expression, name, offset, count in _EASTER_DAYS:
        first = easter + dt.timedelta(days=offset)
        days = [first + dt.timedelta(days=n) for n in range(count)]
        take(re.compile(rf"\b(?:{expression})\b"), [(day, name) for day in days if day >= today])
    yield from found
