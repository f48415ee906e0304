"""Time for the services: an injectable clock, and the naive-UTC form the project's tables store."""
from __future__ import annotations

import datetime as dt
from typing import Callable

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """How a moment is stored: UTC without a zone (SQLite keeps no zones)."""
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
