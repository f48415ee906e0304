"""The shop profile (shop.yml): load, validate, and expose it as frozen records.

Everything shop-specific lives in one file so a shop edits it and restarts; nothing here
imports Rasa, so the web server, the action server and the pipeline builder share it.
Validation errors name the field (``opening_hours.monday[0]``) so the owner knows what to fix.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from actions.services.catalog.products import CatalogError, Product, parse_catalog
from actions.services.widget_look import WidgetLook, WidgetLookError, parse_widget_look

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CLOCK_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
DEFAULT_DIGEST_AT = dt.time(8, 0)


class ShopProfileError(ValueError):
    """shop.yml is missing, unreadable or has an invalid field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"shop.yml: {field}: {problem}" if field else f"shop.yml: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class TimeRange:
    """Opening from ``start`` to ``end``; an end at or before the start runs past midnight."""

    start: dt.time
    end: dt.time

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def __str__(self) -> str:
        end = "24:00" if self.end == dt.time(0, 0) else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}–{end}"


@dataclass(frozen=True)
class Holiday:
    date: dt.date
    name: str
    hours: Tuple[TimeRange, ...] = ()  # empty: closed all day


@dataclass(frozen=True)
class ShippingOption:
    name: str
    price: float
    days_min: int
    days_max: int


@dataclass(frozen=True)
class OrderNumberFormat:
    prefix: str
    digits: int
    example: str

    def normalise(self, text: str) -> str | None:
        """Canonical form of an order number the customer typed (``kc10482`` -> ``KC-10482``)."""
        core = re.escape(self.prefix.rstrip("-").upper())
        match = re.fullmatch(rf"#?\s*{core}-?(\d{{{self.digits}}})", text.strip().upper())
        return f"{self.prefix.upper()}{match.group(1)}" if match else None

    def find(self, text: str) -> str | None:
        """The first order number anywhere in a sentence ("it was order kc 10482, I think")."""
        core = re.escape(self.prefix.rstrip("-").upper())
        match = re.search(rf"\b{core}[-\s]?(\d{{{self.digits}}})\b", text.upper())
        return f"{self.prefix.upper()}{match.group(1)}" if match else None


@dataclass(frozen=True)
class ShopProfile:
    name: str
    greeting: str
    timezone: ZoneInfo
    currency: str
    opening_hours: Mapping[str, Tuple[TimeRange, ...]]
    holidays: Tuple[Holiday, ...]
    email: str
    phone: str
    reply_time: str
    address: str
    directions: str
    map_url: str
    shipping_options: Tuple[ShippingOption, ...]
    free_shipping_over: float | None
    dispatch: str
    shipping_countries: Tuple[str, ...]
    return_window_days: int
    return_conditions: str
    return_instructions: str
    refund_processing_days: int
    refund_method: str
    refund_damaged_or_wrong: str
    cancellation_fee: float
    cancellation_policy: str
    cancellable_until: str         # "packed" or "shipped": the first status that can no longer be cancelled
    problem_remedies: Tuple[str, ...]  # offered for damaged, wrong or missing items: replacement, refund
    payment_methods: Tuple[str, ...]
    order_number: OrderNumberFormat
    how_to_order: str
    account: str
    newsletter: str
    invoices: str
    owner_email: str
    catalog: Tuple[str, ...]
    widget: WidgetLook = WidgetLook()
    digest_at: dt.time | None = DEFAULT_DIGEST_AT  # the owner's daily digest, shop-local; None: off
    review_url: str = ""  # where happy customers can leave a public review (feedback.review_url)
    locale: str = ""  # "en-GB", "en-US": how customers write dates ("12/24" is month-first in the US)
    # catalog holds the titles (the spaCy pipeline's product patterns); products the whole entries
    products: Tuple[Product, ...] = ()
    website: str = ""  # the shop's site: product links of an import that has none (WooCommerce's)

    def money(self, amount: float) -> str:
        symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(self.currency)
        text = f"{amount:.2f}".removesuffix(".00")
        return f"{symbol}{text}" if symbol else f"{text} {self.currency}"

    def holiday_on(self, day: dt.date) -> Holiday | None:
        return next((h for h in self.holidays if h.date == day), None)

    def hours_on(self, day: dt.date) -> Tuple[TimeRange, ...]:
        holiday = self.holiday_on(day)
        if holiday is not None:
            return holiday.hours
        return self.opening_hours[WEEKDAYS[day.weekday()]]


class _Reader:
    """Typed access to the raw mapping that reports the dotted path of a bad field."""

    def __init__(self, raw: Any, path: str = "") -> None:
        if not isinstance(raw, dict):
            raise ShopProfileError(path, "must be a mapping of fields")
        self.raw = raw
        self.path = path

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, optional: bool) -> Any:
        if key not in self.raw or self.raw[key] is None:
            if optional:
                return None
            raise ShopProfileError(self._name(key), "is required")
        return self.raw[key]

    def text(self, key: str, optional: bool = False, default: str = "") -> str:
        value = self._get(key, optional)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise ShopProfileError(self._name(key), "must be a non-empty text")
        return " ".join(value.split())

    def number(self, key: str, optional: bool = False, minimum: float = 0) -> float | None:
        value = self._get(key, optional)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            raise ShopProfileError(self._name(key), f"must be a number ≥ {minimum:g}, got {value!r}")
        return float(value)

    def integer(self, key: str, minimum: int = 0) -> int:
        value = self._get(key, False)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ShopProfileError(self._name(key), f"must be a whole number ≥ {minimum}, got {value!r}")
        return value

    def email(self, key: str) -> str:
        value = self.text(key)
        if not _EMAIL.match(value):
            raise ShopProfileError(self._name(key), f"{value!r} is not an email address")
        return value

    def url(self, key: str, optional: bool = False) -> str:
        value = self.text(key, optional)
        if value and not value.startswith(("https://", "http://")):
            raise ShopProfileError(self._name(key), f"{value!r} must start with https:// or http://")
        return value

    def list(self, key: str, optional: bool = False) -> List[Any]:
        value = self._get(key, optional)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ShopProfileError(self._name(key), "must be a list")
        return value

    def texts(self, key: str) -> Tuple[str, ...]:
        items = self.list(key)
        if not items:
            raise ShopProfileError(self._name(key), "must list at least one entry")
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise ShopProfileError(f"{self._name(key)}[{index}]", "must be a non-empty text")
        return tuple(item.strip() for item in items)

    def section(self, key: str) -> "_Reader":
        return _Reader(self._get(key, False), self._name(key))


def _time_ranges(items: Any, field: str) -> Tuple[TimeRange, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise ShopProfileError(field, 'must be a list of "HH:MM-HH:MM" ranges ([] when closed)')
    ranges = []
    for index, item in enumerate(items):
        match = _RANGE.match(str(item).strip())
        hours = [int(g) for g in match.groups()] if match else []
        if not match or hours[0] > 23 or hours[2] > 24 or hours[1] > 59 or hours[3] > 59:
            raise ShopProfileError(f"{field}[{index}]", f'{item!r} is not a range like "09:00-17:30"')
        start = dt.time(hours[0], hours[1])
        end = dt.time(0, 0) if hours[2] == 24 else dt.time(hours[2], hours[3])
        if start == end and not (hours[2] == 24 and start == dt.time(0, 0)):  # "00:00-24:00": all day
            raise ShopProfileError(f"{field}[{index}]", f"{item!r} opens and closes at the same time")
        ranges.append(TimeRange(start, end))
    return tuple(sorted(ranges, key=lambda r: r.start))


def _parse(raw: Any, base_dir: Path) -> ShopProfile:
    top = _Reader(raw)
    try:
        timezone = ZoneInfo(top.text("timezone"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ShopProfileError(
            "timezone", f"{raw['timezone']!r} is not a time zone like Europe/London") from None

    hours_section = top.section("opening_hours")
    unknown = set(hours_section.raw) - set(WEEKDAYS)
    if unknown:
        raise ShopProfileError(f"opening_hours.{sorted(unknown)[0]}", "is not a weekday (monday … sunday)")
    opening_hours = {
        day: _time_ranges(hours_section.raw.get(day), f"opening_hours.{day}") for day in WEEKDAYS
    }

    holidays = []
    for index, item in enumerate(top.list("holidays", optional=True)):
        field = f"holidays[{index}]"
        entry = _Reader(item, field)
        date = entry.raw.get("date")
        if not isinstance(date, dt.date):
            raise ShopProfileError(f"{field}.date", f"{date!r} is not a date like 2026-12-25")
        holidays.append(
            Holiday(date, entry.text("name", optional=True, default="holiday"),
                    _time_ranges(entry.raw.get("hours"), f"{field}.hours"))
        )

    contact = top.section("contact")
    location = top.section("location")
    shipping = top.section("shipping")
    options = []
    for index, item in enumerate(shipping.list("options")):
        entry = _Reader(item, f"shipping.options[{index}]")
        days = entry.raw.get("days")
        if (not isinstance(days, list) or len(days) != 2
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in days)
                or days[0] > days[1]):
            raise ShopProfileError(f"shipping.options[{index}].days",
                                   f"must be [fewest, most] working days, got {days!r}")
        options.append(ShippingOption(entry.text("name"), entry.number("price") or 0.0, days[0], days[1]))
    if not options:
        raise ShopProfileError("shipping.options", "must list at least one shipping option")

    returns = top.section("returns")
    refunds = top.section("refunds")
    cancellation = top.section("cancellation")
    order_number = top.section("order_number")
    prefix = order_number.text("prefix")
    if not re.fullmatch(r"[A-Za-z]{1,6}-?", prefix):
        raise ShopProfileError("order_number.prefix",
                               f"{prefix!r} must be 1–6 letters, optionally ending in -")
    digits = order_number.integer("digits", minimum=3)
    example = order_number.text("example")
    number_format = OrderNumberFormat(prefix.upper(), digits, example)
    if number_format.normalise(example) != example.upper():
        raise ShopProfileError("order_number.example", f"{example!r} does not match prefix {prefix!r} "
                                                       f"with {digits} digits")
    currency = top.text("currency")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ShopProfileError("currency", f"{currency!r} is not a 3-letter currency code like GBP")
    owner = top.section("owner")
    try:
        products = parse_catalog(top.list("catalog"))
    except CatalogError as error:
        raise ShopProfileError(error.field, error.problem) from None
    try:
        widget = parse_widget_look(raw.get("widget"), base_dir)
    except WidgetLookError as error:
        raise ShopProfileError(error.field, error.problem) from None

    return ShopProfile(
        name=top.text("name"),
        greeting=top.text("greeting"),
        timezone=timezone,
        currency=currency,
        opening_hours=opening_hours,
        holidays=tuple(sorted(holidays, key=lambda h: h.date)),
        email=contact.email("email"),
        phone=contact.text("phone"),
        reply_time=contact.text("reply_time"),
        address=location.text("address"),
        directions=location.text("directions", optional=True),
        map_url=location.url("map_url", optional=True),
        shipping_options=tuple(options),
        free_shipping_over=shipping.number("free_over", optional=True),
        dispatch=shipping.text("dispatch", optional=True),
        shipping_countries=shipping.texts("countries"),
        return_window_days=returns.integer("window_days", minimum=0),
        return_conditions=returns.text("conditions"),
        return_instructions=returns.text("instructions"),
        refund_processing_days=refunds.integer("processing_days", minimum=0),
        refund_method=refunds.text("method"),
        refund_damaged_or_wrong=refunds.text("damaged_or_wrong"),
        cancellation_fee=cancellation.number("fee") or 0.0,
        cancellation_policy=cancellation.text("policy"),
        cancellable_until=_one_of(cancellation, "until", ("packed", "shipped"), "shipped"),
        problem_remedies=_some_of(refunds, "remedies", ("replacement", "refund")),
        payment_methods=top.texts("payment_methods"),
        order_number=number_format,
        how_to_order=top.text("how_to_order"),
        account=top.text("account"),
        newsletter=top.text("newsletter"),
        invoices=top.text("invoices"),
        owner_email=owner.email("email"),
        catalog=tuple(product.title for product in products),
        products=products,
        website=top.url("website", optional=True),
        widget=widget,
        digest_at=_digest_at(owner),
        review_url=_Reader(raw.get("feedback") or {}, "feedback").url("review_url", optional=True),
        locale=_locale(top),
    )


def _locale(top: _Reader) -> str:
    """locale: a language and country like en-GB; optional (dates are then read by the time zone)."""
    value = top.text("locale", optional=True)
    if value and not re.fullmatch(r"[a-z]{2,3}(?:[-_][A-Za-z]{2})?", value):
        raise ShopProfileError("locale", f"{value!r} is not a locale like en-GB or en-US")
    return value


def _digest_at(owner: _Reader) -> dt.time | None:
    """owner.digest_at: "HH:MM" in the shop's time zone, or off. Absent: 08:00."""
    value = owner.raw.get("digest_at")
    if value is None:
        return DEFAULT_DIGEST_AT
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return None  # YAML reads an unquoted off (or no) as false
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 9:30 as the number 570
        raise ShopProfileError(owner._name("digest_at"),
                               f'{value!r} is a number; write the time in quotes, like "08:00", or off')
    match = _CLOCK_TIME.match(value.strip()) if isinstance(value, str) else None
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ShopProfileError(owner._name("digest_at"), f'{value!r} is not a time like "08:00", or off')
    return dt.time(int(match.group(1)), int(match.group(2)))


def _one_of(section: _Reader, key: str, allowed: Tuple[str, ...], default: str) -> str:
    value = section.raw.get(key, default)
    if value not in allowed:
        raise ShopProfileError(section._name(key), f"{value!r} must be one of: {', '.join(allowed)}")
    return value


def _some_of(section: _Reader, key: str, allowed: Tuple[str, ...]) -> Tuple[str, ...]:
    value = section.raw.get(key, list(allowed))
    if not isinstance(value, list) or not value or any(v not in allowed for v in value):
        raise ShopProfileError(section._name(key),
                               f"{value!r} must list one or more of: {', '.join(allowed)}")
    return tuple(value)


def parse_shop_profile(text: str, base_dir: "Path | None" = None) -> ShopProfile:
    """Validate shop.yml's text; raises ShopProfileError naming the first bad field.

    ``base_dir`` is where files named in it (the widget's avatar) are looked up: shop.yml's folder.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ShopProfileError(
            "", f"is not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    return _parse(raw, base_dir or Path.cwd())


def load_shop_profile(path: "str | Path") -> ShopProfile:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ShopProfileError("", f"cannot read {path}: {error.strerror}") from None
    return parse_shop_profile(text, Path(path).resolve().parent)


def shop_profile_dict(path: "str | Path") -> Dict[str, Any]:
    """The raw mapping, for tests that build a variant of the real file."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
