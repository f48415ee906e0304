"""Where actions get the shop profile and the clock; both injectable for tests."""
from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from typing import Callable

from actions.services.shop_profile import ShopProfile, load_shop_profile

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@lru_cache(maxsize=4)
def _cached_profile(path: str) -> ShopProfile:
    return load_shop_profile(path)


def current_shop_profile() -> ShopProfile:
    """The profile named by SHOP_FILE (default shop.yml), read once per process: edits need a restart."""
    return _cached_profile(os.environ.get("SHOP_FILE", "shop.yml"))


class ShopAware:
    """Mixin for actions that answer from shop.yml; tests pass a profile and a fixed clock."""

    def __init__(self, shop: ShopProfile | None = None, clock: Clock = utc_now) -> None:
        self._shop = shop
        self._clock = clock

    @property
    def shop(self) -> ShopProfile:
        if self._shop is None:
            self._shop = current_shop_profile()
        return self._shop

    def now(self) -> dt.datetime:
        return self._clock()
