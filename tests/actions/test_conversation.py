"""Greeting, help, bot challenge, out of scope, referrals and the two-stage fallback's words."""
from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.conversation import (
    ActionAnythingElse,
    ActionBotChallenge,
    ActionGreet,
    ActionOutOfScope,
    ActionSmallTalk,
)
from actions.end_of_chat import ActionNoMore
from actions.fallback import ActionAskAffirmation, ActionAskRephrase, ActionDefaultFallback
from actions.referrals import REFERRAL_OPENINGS, ActionReferToShop
from tests.conftest import fixed_clock, shop_time, tracker_for


def run(action, tracker, domain):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return dispatcher.messages, events


def test_action_server_registers_exactly_the_domain_actions(domain):
    # Abstract bases (ShopReplyAction) are skipped by rasa-sdk, so they never show up here.
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(executor.actions) == set(domain["actions"])


def test_greeting_names_the_shop_and_offers_topics(shop, domain):
    messages, _ = run(ActionGreet(shop=shop), tracker_for("greet", "hi"), domain)
    assert messages[0]["text"].startswith("Hi, welcome to Kettle & Crumb!")
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == ["/order_status", "/opening_hours", "/shipping_options", "/refund_policy",
                        "/contact_info"]
    assert all(payload[1:] in domain["intents"] for payload in payloads)


def test_bot_admits_being_a_bot(shop, domain):
    messages, _ = run(ActionBotChallenge(shop=shop), tracker_for("bot_challenge"), domain)
    assert "a bot" in messages[0]["text"] and shop.email in messages[0]["text"]


def test_out_of_scope_says_what_it_can_do_instead(shop, domain):
    messages, _ = run(ActionOutOfScope(shop=shop), tracker_for("out_of_scope", "weather?"), domain)
    assert "not something I can help with" in messages[0]["text"]
    assert "opening hours" in messages[0]["text"] and messages[0]["buttons"]
    # what customers come with most: their order and our products
    assert "your order" in messages[0]["text"] and "products, prices and stock" in messages[0]["text"]


def test_small_talk_answers_and_leads_back_to_the_shop(shop, domain):
    for intent, text, opening in (("how_are_you", "how are you?", "I'm doing well"),
                                  ("laugh", "lol", "Glad that made you smile")):
        messages, events = run(ActionSmallTalk(shop=shop), tracker_for(intent, text), domain)
        assert intent in domain["intents"] and events == []
        assert messages[0]["text"].startswith(opening)
        assert "/order_status" in [b["payload"] for b in messages[0]["buttons"]]  # the next question


def test_an_emoji_that_is_not_laughter_is_not_smiled_at(shop, domain):
    for text, smiled in (("😡", False), ("👎", False), ("🙏", False), ("😂😂", True), ("lol 😡", True)):
        messages, _ = run(ActionSmallTalk(shop=shop), tracker_for("laugh", text), domain)
        assert messages[0]["text"].startswith("Glad that made you smile") is smiled, text
        assert messages[0]["buttons"]  # the next question either way


def test_an_insult_gets_an_apology_and_a_person_one_tap_away(shop, domain):
    messages, events = run(ActionSmallTalk(shop=shop), tracker_for("bot_insult", "you're useless"), domain)
    assert "bot_insult" in domain["intents"] and events == []
    assert messages[0]["text"].startswith("Sorry") and shop.name in messages[0]["text"]
    assert messages[0]["buttons"] == [{"title": "Talk to a person", "payload": "/human_handoff"},
                                      {"title": "What can you do?", "payload": "/help"}]


def test_intents_of_later_flows_answer_honestly_with_contact_details(shop, domain):
    assert set(REFERRAL_OPENINGS) <= set(domain["intents"])
    clock = fixed_clock(shop_time(shop, "2026-11-29 12:00"))
    for intent in REFERRAL_OPENINGS:
        messages, _ = run(ActionReferToShop(shop=shop, clock=clock), tracker_for(intent), domain)
        text = messages[0]["text"]
        assert "can't" in text, intent
        assert shop.email in text and shop.phone in text, intent
        assert "we open tomorrow at 08:00" in text, intent
    messages, _ = run(ActionReferToShop(shop=shop, clock=clock), tracker_for("payment_issue"), domain)
    assert "KC-10482" in messages[0]["text"]


def test_did_you_mean_offers_readable_top_intents(domain):
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "delivery_time", "confidence": 0.4},
               {"name": "out_of_scope", "confidence": 0.3}, {"name": "shipping_options", "confidence": 0.2},
               {"name": "order_status", "confidence": 0.05}, {"name": "invoice", "confidence": 0.01}]
    messages, events = run(ActionAskAffirmation(), tracker_for("nlu_fallback", "how long shiping", ranking),
                           domain)
    assert events == []
    assert messages[0]["buttons"] == [
        {"title": "Delivery times", "payload": "/delivery_time"},
        {"title": "Shipping options", "payload": "/shipping_options"},
        {"title": "Where is my order?", "payload": "/order_status"},
        {"title": "Something else", "payload": "/out_of_scope"},
    ]


def test_rephrase_asks_for_other_words(domain):
    messages, _ = run(ActionAskRephrase(), tracker_for("out_of_scope"), domain)
    assert "other words" in messages[0]["text"]


def test_second_failure_offers_a_person_and_reverts(shop, domain):
    action = ActionDefaultFallback(shop=shop, clock=fixed_clock(shop_time(shop, "2026-11-23 10:00")))
    messages, events = run(action, tracker_for("nlu_fallback", "blorp"), domain)
    assert events == [{"event": "rewind", "timestamp": None}]
    assert shop.phone in messages[0]["text"] and "open now" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/human_handoff", "/help"]  # a person, one tap


def test_an_answer_with_no_question_open_is_asked_what_it_is_for(shop, domain):
    """Issue 12: an answer typed after its question was over started an order lookup. ("four stars" is now
    the chat's rating: test_feedback.py.)"""
    messages, _ = run(ActionAnythingElse(shop=shop), tracker_for("inform", "the blue one"), domain)
    assert messages[0]["text"] == "Thanks, but I'm not sure what that's for. What would you like to do?"
    assert "/order_status" in [b["payload"] for b in messages[0]["buttons"]]


def test_a_no_to_a_flows_question_says_how_to_leave_rather_than_goodbye(shop, domain):
    """A "no" to "What's the order number?" got "Alright. If you think of anything…" and then the same
    question again: the flow asks again after this reply, so the reply must not sound like the end."""
    asked = tracker_for("deny", "no")
    in_flow = Tracker(asked.sender_id, asked.slots, asked.latest_message, asked.events, False, None,
                      {"name": "order_form"}, "action_listen")
    for action in (ActionAnythingElse(shop=shop), ActionNoMore(shop=shop)):  # no rating starts mid-flow
        messages, events = run(action, in_flow, domain)
        assert all((e["event"], e["name"], e["value"]) == ("slot", "feedback_mode", "off") for e in events)
        assert [m["text"] for m in messages] == [
            'No problem. If you\'d rather leave this, just say "never mind".']
        messages, _ = run(action, asked, domain)  # nothing going on: a plain "alright"
        assert messages[0]["text"] == "Alright. If you think of anything, just type it here."


def answered(question: dict, *between: dict, text: str = "yes please") -> Tracker:
    """A tracker where the bot asked ``question`` (a bot event) and the customer typed ``text`` (affirm)."""
    base = tracker_for("affirm", text)
    message = dict(base.latest_message, message_id="m-42")
    events = base.events[:-2] + [question, *between, {"event": "action", "name": "action_listen"},
                                 dict(base.events[-1], message_id="m-42", input_channel="rest")]
    return Tracker(base.sender_id, {}, message, events, False, None, None, "action_listen")


LATE = {"event": "bot", "text": "I'm sorry: it should have arrived by Friday. Shall I open a case …?",
        "data": {"buttons": [{"title": "Yes, open a case", "payload": "/missing_item"},
                             {"title": "No, I'll wait", "payload": "/deny"}]}}


def test_a_typed_yes_to_a_question_whose_yes_button_asks_more_is_that_button(shop, domain):
    """"yes please" to "Shall I open a case…?" got "Great. What else can I do for you?": only the button
    opened the case. Now the typed yes is the customer's message again, read as the button's intent."""
    messages, events = run(ActionAnythingElse(shop=shop), answered(LATE), domain)
    assert messages == []
    assert events[0] == {"event": "action", "name": "action_listen"}
    again = events[1]
    assert (again["event"], again["text"], again["message_id"]) == ("user", "yes please", "m-42")
    assert again["parse_data"]["intent"] == {"name": "missing_item", "confidence": 1.0}
    assert again["input_channel"] == "rest"


def test_a_typed_yes_elsewhere_is_a_plain_yes(shop, domain):
    plain_yes = {"event": "bot", "text": "Shall I cancel it?",
                 "data": {"buttons": [{"title": "Yes, cancel it", "payload": "/affirm"}]}}
    no_buttons = {"event": "bot", "text": "Anything else?"}
    typed_in_between = {"event": "user", "text": "hm", "parse_data": {"intent": {"name": "inform"}}}
    with_entities = {"event": "bot", "text": "?", "data": {"buttons": [
        {"title": "Yes, that one", "payload": '/inform{"order_id": "KC-10001"}'}]}}
    for tracker in (answered(plain_yes), answered(no_buttons), answered(LATE, typed_in_between),
                    tracker_for("affirm", "yes")):
        messages, events = run(ActionAnythingElse(shop=shop), tracker, domain)
        assert events == []
        assert messages[0]["text"] == "Great. What else can I do for you?"
    # a "Yes, …" button that carries an order number: the typed yes is the tap, and fills the order number
    messages, events = run(ActionAnythingElse(shop=shop), answered(with_entities), domain)
    assert messages == []
    assert events[1]["parse_data"]["intent"]["name"] == "inform"
    assert events[1]["parse_data"]["entities"] == [{"entity": "order_id", "value": "KC-10001"}]
    assert events[2] == {"event": "slot", "name": "order_id", "value": "KC-10001", "timestamp": None}
    # a "no" to the same question stays a no
    no = answered(LATE, text="no thanks")
    no.latest_message["intent"] = {"name": "deny", "confidence": 0.9}
    messages, _ = run(ActionAnythingElse(shop=shop), no, domain)
    assert messages[0]["text"] == "Alright. If you think of anything, just type it here."
