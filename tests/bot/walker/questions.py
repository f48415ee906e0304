"""Every question the bot can ask, read from domain.yml: each required slot of each form, the action that
asks it, and what kind of answer it expects (from the slot's mappings), so a new form or slot is walked
without editing the walker."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from tests.bot.servers import ROOT

ANSWER_TYPES = ("rating", "yes_no", "order_number", "email", "free_text")


def load_domain(path: Path = ROOT / "domain.yml") -> Dict[str, Any]:
    return yaml.safe_load(path.read_text())


def form_slots(domain: Dict[str, Any]) -> Dict[str, List[str]]:
    """{form: its required slots}, in domain order."""
    return {form: list((spec or {}).get("required_slots") or [])
            for form, spec in (domain.get("forms") or {}).items()}


def all_questions(domain: Dict[str, Any]) -> List[Tuple[str, str]]:
    """(form, slot) for every required slot of every form: what the walk must reach."""
    return [(form, slot) for form, slots in form_slots(domain).items() for slot in slots]


def question_action(domain: Dict[str, Any], form: str, slot: str) -> Optional[str]:
    """The action or response that asks ``slot`` in ``form``, as Rasa chooses it (the form-specific
    name first), or None when the domain has no question for it."""
    actions = set(domain.get("actions") or [])
    responses = set(domain.get("responses") or {})
    for name in (f"action_ask_{form}_{slot}", f"action_ask_{slot}", f"utter_ask_{form}_{slot}",
                 f"utter_ask_{slot}"):
        if name in actions or name in responses:
            return name
    return None


def answer_type(domain: Dict[str, Any], slot: str) -> str:
    """What kind of answer the slot takes, from how it is filled: a rating entity, yes / no intents, an
    order number, an email address, or free text."""
    mappings = (domain.get("slots") or {}).get(slot, {}).get("mappings") or []
    entities = {m.get("entity") for m in mappings if m.get("type") == "from_entity"}
    intents = {m.get("intent") for m in mappings if m.get("type") == "from_intent"}
    if "rating" in entities:
        return "rating"
    if {"affirm", "deny"} <= intents:
        return "yes_no"
    if "order_id" in entities:
        return "order_number"
    if "email" in entities:
        return "email"
    return "free_text"


@dataclass(frozen=True)
class Question:
    """A question the walk reached: which slot of which form, and what the customer saw."""

    form: str
    slot: str
    text: str  # the question's words, order numbers and addresses replaced (see walk.normalise)
    buttons: Tuple[Tuple[str, str], ...]  # (title, payload) as the widget shows and sends them

    @property
    def key(self) -> Tuple[str, str, str, Tuple[Tuple[str, str], ...]]:
        """Two questions with the same slot, words and buttons are the same question for the customer."""
        return self.form, self.slot, self.text, self.buttons

    @property
    def label(self) -> str:
        return f"{self.form}.{self.slot}"
