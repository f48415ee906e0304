"""What the customer hears when the bot could not answer: an apology and a way on.

Used by the action server (an exception inside an action) and by the web server (a turn with no
answer at all), so it has no Rasa imports. The way on is a person (the button, or the shop's email and
phone with whether the shop is open now) or simply asking something else.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict

from actions.services.intent_labels import intent_button
from actions.services.opening_hours import describe_status, opening_status
from actions.services.shop_profile import ShopProfile

# Apologies that must not depend on the database or shop.yml (they are what is failing).
BUSY_APOLOGY = {"text": "Sorry, I couldn't finish that just now: our system is busy. Please try again in a "
                        "moment, or ask to talk to a person.", "buttons": []}
PLAIN_APOLOGY = {"text": "Sorry, something went wrong on my side and I couldn't finish that. Please try "
                         "again in a moment, or ask to talk to a person.", "buttons": []}


def contact_sentence(shop: ShopProfile, now: dt.datetime) -> str:
    """How to reach a person, with whether the shop is open now."""
    return (f"You can reach the team by email at {shop.email} (we reply {shop.reply_time}) "
            f"or by phone on {shop.phone}. {describe_status(shop, opening_status(shop, now))}")


def recovery_message(shop: ShopProfile, now: dt.datetime, unsure: bool = False) -> Dict[str, Any]:
    """The apology as a bot message (text + buttons), in the shape channels send. ``unsure``: the step
    took too long to answer, and may have been done all the same (a cancellation, a case)."""
    if unsure:
        text = ("Sorry, that is taking longer than it should, so I can't confirm it yet: it may still go "
                "through. Ask me again in a minute (for an order, where it stands) and I'll tell you, or "
                "talk to a person. " + contact_sentence(shop, now))
    else:
        text = ("Sorry, something went wrong on my side and I couldn't finish that. I've let the team know. "
                "You can ask me something else, or talk to a person. " + contact_sentence(shop, now))
    return {"text": text, "buttons": [intent_button("human_handoff"), intent_button("help")]}
