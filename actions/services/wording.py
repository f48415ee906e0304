"""How the console and the digest say things to the owner: counts with the right plural, a tapped
button in the words the customer saw, the bot's summary of a handoff without internal codes.

No Rasa imports: the web server and the action server both use it.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, List, Mapping, Optional, Tuple

from actions.services.intent_labels import INTENT_LABELS

# Slot values the bot uses internally; the owner never reads them as they are.
INTERNAL_VALUES = {"none": "Not about an order", "person": "Talk to a person",
                   "replacement": "Send a replacement", "refund": "Refund me"}
SUMMARY_LABELS = {"intent": "Wanted", "asked": "Asked", "order": "Order", "verified": "Order verified",
                  "case": "Case", "complaint": "Complaint", "items": "Items", "problem": "Problem",
                  "contact": "Contact"}


def plural(count: int, noun: str, many: Optional[str] = None) -> str:
    """ "1 ticket", "2 tickets", "0 tickets"; ``many`` for nouns that are not made plural with -s."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def intent_words(intent: str) -> str:
    return INTENT_LABELS.get(intent) or intent.replace("_", " ").capitalize()


def payload_words(payload: str, buttons: Iterable[Mapping[str, Any]] = ()) -> str:
    """A message sent by a button, as the owner should read it.

    The title of the button the customer tapped when it is known (``buttons``: those the bot offered
    just before), else the intent's label or the value chosen: '/human_handoff' -> 'chose: Talk to a
    person', '/inform{"choice": "none"}' -> 'chose: Not about an order', '/greet' -> 'opened the chat'.
    """
    for button in buttons:
        if button.get("payload") == payload and button.get("title"):
            return f"chose: {button['title']}"
    intent, _, values = payload.lstrip("/").partition("{")
    if values:
        try:
            chosen = json.loads("{" + values)
        except ValueError:
            chosen = {}
        if isinstance(chosen, dict) and chosen:
            return "chose: " + ", ".join(value_words(v) for v in chosen.values())
    if intent == "greet":
        return "opened the chat"
    return f"chose: {intent_words(intent)}"


def value_words(value: Any) -> str:
    text = str(value)
    return INTERNAL_VALUES.get(text, text)


def text_words(text: str) -> str:
    """What the customer typed, or the words of the button they tapped."""
    return payload_words(text) if text.startswith("/") else text


def summary_rows(summary: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """The bot's summary of a handoff as (label, words) rows: no intent names, payloads or JSON."""
    rows: List[Tuple[str, str]] = []
    for key, value in summary.items():
        if value is None or value == "" or value == "none":
            continue
        if key == "intent":
            words = intent_words(str(value))
        elif key == "verified":
            words = "yes" if value else "no"
        elif isinstance(value, str):
            words = text_words(value)
        elif isinstance(value, (list, tuple)):
            words = ", ".join(value_words(v) for v in value)
        elif isinstance(value, dict):
            words = "; ".join(f"{k}: {value_words(v)}" for k, v in value.items())
        else:
            words = str(value)
        rows.append((SUMMARY_LABELS.get(key, key.replace("_", " ").capitalize()), words))
    return rows
