"""Honest answers for requests the assistant cannot handle itself yet (payment
problems): say so plainly and give the shop's contact details. No pretend flows.
"""
from __future__ import annotations

import datetime as dt
from typing import Dict

from actions.replies import Reply, ShopReplyAction
from actions.services.recovery import contact_sentence
from actions.services.shop_profile import ShopProfile

_ORDER_NOTE = "Please have your order number (like {example}) ready."

# What the customer asked for, in the words of the answer; {example} is an order number.
REFERRAL_OPENINGS: Dict[str, str] = {
    "payment_issue": "I'm sorry about the trouble with your payment. I can't see payments from this chat.",
}
_NEEDS_ORDER_NUMBER = {"payment_issue"}
_FOLLOW_UPS: Dict[str, list] = {"payment_issue": ["payment_methods"]}


class ActionReferToShop(ShopReplyAction):
    def name(self) -> str:
        return "action_refer_to_shop"

    def reply(self, intent: str, shop: ShopProfile, now: dt.datetime) -> Reply:
        opening = REFERRAL_OPENINGS.get(intent, "I can't help with that in this chat.")
        parts = [opening, contact_sentence(shop, now)]
        if intent in _NEEDS_ORDER_NUMBER:
            parts.append(_ORDER_NOTE.format(example=shop.order_number.example))
        return Reply.with_topics(" ".join(parts), _FOLLOW_UPS.get(intent, []))
