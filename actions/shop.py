"""Where actions get the shop profile and the clock; both injectable for tests."""
from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from typing import Any, Optional

from actions.services.channels.conversations import LateReplies
from actions.services.clock import Clock, utc_now
from actions.services.database import DEFAULT_DATABASE_URL, create_database_engine
from actions.services.handoffs import HandoffQueue
from actions.services.mail import Mailer, SmtpSettings
from actions.services.migrations import migrate
from actions.services.order_check_limits import OrderCheckLimits
from actions.services.order_rules import Order
from actions.services.orders import OrderService
from actions.services.owners import OwnerAccounts
from actions.services.shop_profile import ShopProfile, load_shop_profile


@lru_cache(maxsize=4)
def _cached_profile(path: str) -> ShopProfile:
    return load_shop_profile(path)


def current_shop_profile() -> ShopProfile:
    """The profile named by SHOP_FILE (default shop.yml), read once per process: edits need a restart."""
    return _cached_profile(os.environ.get("SHOP_FILE", "shop.yml"))


@lru_cache(maxsize=4)
def _cached_order_service(database_url: str, shop_file: str) -> OrderService:
    engine = create_database_engine(database_url)
    migrate(engine)  # cheap when up to date; the web server's `bot run` has usually done it already
    return OrderService(engine, _cached_profile(shop_file))


def current_order_service() -> OrderService:
    """Orders in the database named by DATABASE_URL, opened on first use (not at import)."""
    return _cached_order_service(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
                                 os.environ.get("SHOP_FILE", "shop.yml"))


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


@lru_cache(maxsize=4)
def _cached_mailer(key: str) -> Mailer:
    return Mailer(SmtpSettings.from_env(os.environ))


class OrderAware(ShopAware):
    """Mixin for actions that read or change orders; tests pass an OrderService on a test database."""

    def __init__(self, shop: ShopProfile | None = None, clock: Clock = utc_now,
                 orders: OrderService | None = None) -> None:
        super().__init__(shop, clock)
        self._orders = orders

    @property
    def orders(self) -> OrderService:
        if self._orders is None:
            self._orders = current_order_service()
        return self._orders

    @property
    def check_limits(self) -> OrderCheckLimits:
        """Failed order checks counted per order, per client and overall, shared by every process."""
        return OrderCheckLimits(self.orders.engine, self._clock)

    @staticmethod
    def message_id(tracker: Any) -> Optional[str]:
        """The id of the customer message being answered: when the same message comes again (the widget
        resends it after the web server died mid-turn), the writes it made are not made twice."""
        return (tracker.latest_message or {}).get("message_id") or None

    def proved_order(self, tracker: Any) -> Optional[Order]:
        """The order in the verified_order slot, if the database says this conversation proved it is the
        customer's: slots arrive with every call to the action server and prove nothing on their own."""
        return self.orders.verified_order(tracker.sender_id, tracker.get_slot("verified_order"))


class HandoffAware(OrderAware):
    """Mixin for actions that hand a conversation to a person: the queue, the accounts, email."""

    def __init__(self, shop: ShopProfile | None = None, clock: Clock = utc_now,
                 orders: OrderService | None = None, mailer: Mailer | None = None,
                 late: LateReplies | None = None) -> None:
        super().__init__(shop, clock, orders)
        self._mailer = mailer
        self._late = late

    @property
    def late_replies(self) -> LateReplies:
        """How a person's reply may still go after a platform's 24 hours (the web server's settings)."""
        if self._late is None:
            self._late = LateReplies.from_env(os.environ)
        return self._late

    @property
    def handoffs(self) -> HandoffQueue:
        return HandoffQueue(self.orders.engine, self._clock)

    @property
    def accounts(self) -> OwnerAccounts:
        return OwnerAccounts(self.orders.engine)

    @property
    def mailer(self) -> Mailer:
        if self._mailer is None:
            self._mailer = _cached_mailer(os.environ.get("SMTP_HOST", ""))
        return self._mailer
