"""Ratings typed instead of tapped, driven through rasa_sdk's real form run with the real domain.

Before issue 12, a typed answer ("four stars") reached ``required_slots`` raw and ``int()`` raised inside
the action server; the customer heard nothing for the rest of the chat and declines were never stored.
"""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Tuple

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import ActionLeaveFeedback, ValidateFeedbackForm
from tests.actions.test_feedback import ANSWERED, NOW, SENDER, rows
from tests.actions.test_handoff import make


def form_turn(form: ValidateFeedbackForm, domain: Dict[str, Any], slot: str, typed: str, intent: str,
              slots: Optional[Dict[str, Any]] = None) -> Tuple[Dict[str, Any], List[str]]:
    """One customer message while ``slot`` is asked: Rasa has mapped the text to the slot (as the
    domain's from_text mapping does); rasa_sdk's form run extracts, validates and picks the next slot."""
    message = {"text": typed, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    filled = {"feedback_mode": "csat", "feedback_asked": True, **(slots or {}), slot: typed,
              "requested_slot": slot}
    events = [*ANSWERED, {"event": "action", "name": "action_ask_" + slot},
              {"event": "user", "text": typed, "parse_data": message},
              {"event": "slot", "name": slot, "value": typed}]
    tracker = Tracker(SENDER, filled, message, events, False, None, {"name": "feedback_form"},
                      "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(form.run(dispatcher, tracker, domain))
    return {e["name"]: e.get("value") for e in result if e["event"] == "slot"}, \
        [m.get("text") or "" for m in dispatcher.messages]


@pytest.fixture
def form(shop, engine):
    return make(ValidateFeedbackForm, shop, engine, NOW)


@pytest.mark.parametrize("typed, intent, score", [
    ("four stars", "inform", "4"),
    ("it was great", "inform", "5"),
    ("meh", "nlu_fallback", "3"),
    ("i'd say 9 out of 10", "inform", "5"),
    ("4/5", "inform", "4"),
])
def test_a_typed_rating_is_read_stored_and_the_comment_asked_next(form, domain, engine, typed, intent, score):
    slots, texts = form_turn(form, domain, "csat_score", typed, intent)
    assert slots["csat_score"] == score and slots["requested_slot"] == "csat_comment"
    assert texts == []
    assert [(r["kind"], r["score"], r["declined"]) for r in rows(engine)] == [("csat", int(score), False)]


@pytest.mark.parametrize("typed, intent", [("no thanks", "deny"), ("nope", "deny"), ("never mind", "stop"),
                                           ("no thanks", "nlu_fallback")])
def test_a_typed_decline_is_stored_and_ends_the_form(form, domain, engine, typed, intent):
    slots, texts = form_turn(form, domain, "csat_score", typed, intent)
    assert slots["csat_score"] == "declined" and slots["requested_slot"] is None
    assert [(r["kind"], r["score"], r["declined"]) for r in rows(engine)] == [("csat", None, True)]


def test_a_number_off_the_scale_is_asked_again_politely(form, domain, engine):
    slots, texts = form_turn(form, domain, "csat_score", "prob a 6", "inform")
    assert slots["csat_score"] is None and slots["requested_slot"] == "csat_score"
    assert texts == ["Sorry, 6 is outside the scale. Please choose a number from 1 to 5, or say no thanks."]
    assert rows(engine) == []


def test_typed_nps_answers_are_read_on_the_0_to_10_scale(form, domain, engine):
    form_turn(form, domain, "csat_score", "5", "inform")
    slots, _ = form_turn(form, domain, "nps_score", "i'd say 9 out of 10", "inform",
                         {"csat_score": "5", "csat_comment": "none"})
    assert slots["nps_score"] == "9" and slots["requested_slot"] is None
    slots, _ = form_turn(form, domain, "nps_score", "prob a 6", "inform",
                         {"csat_score": "5", "csat_comment": "none"})
    assert slots["nps_score"] == "6" and slots["requested_slot"] == "nps_comment"


@pytest.mark.parametrize("typed, intent", [("thanks", "thank_you"), ("no thanks", "deny"),
                                           ("bye", "goodbye")])
def test_thanks_or_no_at_anything_to_add_is_not_stored_as_a_comment(form, domain, engine, typed, intent):
    form_turn(form, domain, "csat_score", "3", "inform")
    slots, _ = form_turn(form, domain, "csat_comment", typed, intent, {"csat_score": "3"})
    assert slots["csat_comment"] == "none" and rows(engine)[0]["comment"] == ""


def leave(shop, engine, typed: str, intent: str, requested: str) -> Dict[str, Any]:
    message = {"text": typed, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    tracker = Tracker(SENDER, {"requested_slot": requested, "feedback_mode": "csat"}, message,
                      [{"event": "user", "text": typed, "parse_data": message}], False, None,
                      {"name": "feedback_form"}, "action_listen")
    leave_action = make(ActionLeaveFeedback, shop, engine, NOW)
    events = asyncio.run(leave_action.run(CollectingDispatcher(), tracker, {}))
    return {e.get("name"): e.get("value") for e in events if e["event"] in ("slot", "active_loop")}


def test_a_question_at_anything_to_add_leaves_the_form_and_is_not_a_comment(form, domain, shop, engine):
    form_turn(form, domain, "csat_score", "4", "inform")
    left = leave(shop, engine, "where is my order", "order_status", "csat_comment")
    assert left[None] is None and left["feedback_mode"] == "off" and left["requested_slot"] is None
    assert rows(engine)[0]["comment"] == ""


def test_words_about_the_service_at_anything_to_add_are_kept_before_the_answer(form, domain, shop, engine):
    form_turn(form, domain, "csat_score", "2", "inform")
    leave(shop, engine, "delivery took ages last time", "delivery_time", "csat_comment")
    assert rows(engine)[0]["comment"] == "delivery took ages last time"


@pytest.mark.parametrize("typed, intent", [("Mara sorted it in two minutes <i>thanks</i>", "thank_you"),
                                           ("no problem at all, the beans were lovely", "deny"),
                                           ("great service, bye for now and see you soon", "goodbye")])
def test_a_longer_message_at_anything_to_add_is_the_comment_whatever_its_intent(form, domain, engine, typed,
                                                                                  intent):
    form_turn(form, domain, "csat_score", "5", "inform")
    slots, _ = form_turn(form, domain, "csat_comment", typed, intent, {"csat_score": "5"})
    assert slots["csat_comment"] == typed and rows(engine)[0]["comment"] == typed


def test_never_mind_at_anything_to_add_ends_the_questions(form, domain, engine):
    """Walker, issue 12: after "never mind" the form went on to ask the NPS question."""
    form_turn(form, domain, "csat_score", "5", "inform")
    slots, _ = form_turn(form, domain, "csat_comment", "never mind", "stop", {"csat_score": "5"})
    assert slots["csat_comment"] == "none" and slots["nps_score"] == "declined"
    assert slots["requested_slot"] is None
