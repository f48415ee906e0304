"""Answers to product questions ("how much is the Chemex?", "is the V60 in stock?", "do you sell decaf?",
"what grinder for espresso?") from the shop's catalog at the moment they are asked.

The catalog is the products imported from the shop's Shopify or WooCommerce export when there are any,
else shop.yml's. The product is found in the customer's own words (actions/services/catalog/matching.py),
not in the NLU model's entities, so an imported product the model has never seen is still found.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services.catalog.answers import product_reply
from actions.services.catalog.store import ProductStore
from actions.shop import OrderAware


def earlier_product_questions(tracker: Tracker, within: int = 6) -> List[str]:
    """The texts of the conversation's product questions among its last ``within`` customer messages
    before this one, latest first: "is it in stock?" is about the product asked about just before."""
    messages = [e for e in tracker.events if e.get("event") == "user"][-within - 1:-1]
    return [str(e.get("text") or "") for e in reversed(messages)
            if ((e.get("parse_data") or {}).get("intent") or {}).get("name") == "product_question"]


class ActionAnswerProduct(OrderAware, Action):
    """OrderAware for its database engine (the imported products live beside the orders)."""

    def name(self) -> str:
        return "action_answer_product"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        text = " ".join(str(tracker.latest_message.get("text") or "").split())
        catalog = ProductStore(self.orders.engine).current(self.shop.products)
        reply = product_reply(text, catalog.products, self.shop, earlier_product_questions(tracker))
        dispatcher.utter_message(text=reply["text"], buttons=reply["buttons"])
        return []
