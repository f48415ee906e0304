"""The words a customer reads for an intent (on a button, in a transcript): shared by the action server and
the web server, so it lives here, without Rasa imports."""
from __future__ import annotations

from typing import Dict

# What a customer reads on a button that stands for an intent.
INTENT_LABELS: Dict[str, str] = {
    "order_status": "Where is my order?",
    "cancel_order": "Cancel an order",
    "change_order": "Change an order",
    "change_shipping_address": "Change delivery address",
    "place_order": "How to order",
    "delivery_time": "Delivery times",
    "shipping_options": "Shipping options",
    "cancellation_fee": "Cancellation fee",
    "return_item": "Return an item",
    "request_refund": "Get a refund",
    "refund_status": "Where is my refund?",
    "refund_policy": "Returns & refunds policy",
    "damaged_item": "Item arrived damaged",
    "wrong_item": "Received the wrong item",
    "missing_item": "Something is missing",
    "payment_issue": "Payment problem",
    "payment_methods": "Payment methods",
    "invoice": "Invoice or receipt",
    "account_help": "Account help",
    "newsletter": "Newsletter",
    "opening_hours": "Opening hours",
    "contact_info": "Contact details",
    "store_location": "Where is the shop?",
    "complaint": "Make a complaint",
    "human_handoff": "Talk to a person",
    "give_feedback": "Leave feedback",
    "product_question": "Our products",
    "help": "What can you do?",
    "greet": "Say hello",
    "goodbye": "Say goodbye",
    "thank_you": "Say thanks",
    "bot_challenge": "Am I talking to a bot?",
    "affirm": "Yes",
    "deny": "No",
}

MAIN_TOPICS = ("order_status", "opening_hours", "shipping_options", "refund_policy", "contact_info")


def intent_button(intent: str) -> Dict[str, str]:
    return {"title": INTENT_LABELS.get(intent, intent.replace("_", " ").capitalize()),
            "payload": f"/{intent}"}
