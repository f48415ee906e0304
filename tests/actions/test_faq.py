"""FAQ answers come from shop.yml at answer time; a policy change needs no retraining."""
from __future__ import annotations

import asyncio
import copy

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import FAQ_ANSWERS, ActionAnswerFaq
from actions.services.shop_profile import parse_shop_profile, shop_profile_dict
from tests.conftest import ROOT, fixed_clock, shop_time, tracker_for

FAQ_INTENTS = ["opening_hours", "contact_info", "store_location", "shipping_options", "delivery_time",
               "payment_methods", "refund_policy", "cancellation_fee", "account_help", "newsletter",
               "place_order", "invoice"]


def run_faq(shop, tracker, domain=None, when="2026-11-23 10:30", dispatcher=None):
    """(the dispatcher the action answered on, the events it returned)."""
    dispatcher = dispatcher or CollectingDispatcher()
    action = ActionAnswerFaq(shop=shop, clock=fixed_clock(shop_time(shop, when)))
    return dispatcher, asyncio.run(action.run(dispatcher, tracker, domain or {}))


def answer(shop, intent, when="2026-11-23 10:30", dispatcher=None, domain=None, text=""):
    dispatcher, events = run_faq(shop, tracker_for(intent, text), domain, when, dispatcher)
    assert events == []
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]


def test_every_faq_intent_of_the_issue_has_an_answer_and_a_rule(domain):
    assert sorted(FAQ_ANSWERS) == sorted(FAQ_INTENTS)
    rules = yaml.safe_load((ROOT / "data/rules/faq.yml").read_text())["rules"]
    ruled = {r["steps"][0]["intent"] for r in rules if r["steps"][1]["action"] == "action_answer_faq"}
    assert ruled == set(FAQ_INTENTS)
    assert set(FAQ_INTENTS) <= set(domain["intents"])


@pytest.mark.parametrize("intent,expected", [
    ("opening_hours", "We're open now, until 18:00 today."),
    ("contact_info", "hello@kettleandcrumb.example"),
    ("store_location", "14 Quay Street, Bristol"),
    ("shipping_options", "Express (DPD next working day): £7.50, 1 working day"),
    ("delivery_time", "Standard (Royal Mail 2nd Class): £3.95, 2–4 working days"),
    ("payment_methods", "PayPal, Apple Pay, Google Pay and Kettle & Crumb gift cards"),
    ("refund_policy", "within 30 days of delivery"),
    ("cancellation_fee", "There is no fee for cancelling."),
    ("account_help", "Forgot password"),
    ("newsletter", "unsubscribe link"),
    ("place_order", "add items to your basket"),
    ("invoice", "VAT receipt"),
])
def test_answers_quote_the_shop_profile(shop, domain, dispatcher, intent, expected):
    message = answer(shop, intent, dispatcher=dispatcher, domain=domain)
    assert expected in message["text"]


def test_opening_hours_answer_knows_the_time(shop):
    assert answer(shop, "opening_hours", "2026-11-29 12:00")["text"].startswith(
        "We're closed right now; we open tomorrow at 08:00.")
    text = answer(shop, "opening_hours", "2026-12-20 09:00")["text"]
    assert "Coming up: Christmas Eve (24 December): 08:00–13:00" in text


def test_free_delivery_threshold_and_buttons(shop):
    message = answer(shop, "shipping_options")
    assert "free on orders over £40" in message["text"]
    assert {"title": "Delivery times", "payload": "/delivery_time"} in message["buttons"]


def test_policy_change_in_shop_yml_changes_the_answer_without_retraining():
    raw = copy.deepcopy(shop_profile_dict(ROOT / "shop.yml"))
    raw["returns"]["window_days"] = 14
    raw["cancellation"]["fee"] = 2.5
    raw["opening_hours"]["monday"] = ["10:00-16:00"]
    shop = parse_shop_profile(yaml.safe_dump(raw))
    assert "within 14 days of delivery" in answer(shop, "refund_policy")["text"]
    assert "Cancelling costs £2.50." in answer(shop, "cancellation_fee")["text"]
    assert answer(shop, "opening_hours", "2026-11-23 09:30")["text"].startswith(
        "We're closed right now; we open today at 10:00.")


def test_where_we_deliver_is_said_plainly_also_to_someone_asking_how_to_order(shop):
    # "can I order from Japan?" often reads as how to order: the answer must still say it is a no.
    assert "We deliver to United Kingdom addresses only." in answer(shop, "place_order")["text"]
    assert answer(shop, "shipping_options")["text"].startswith("We deliver to United Kingdom addresses only:")
    raw = copy.deepcopy(shop_profile_dict(ROOT / "shop.yml"))
    raw["shipping"]["countries"] = ["France", "Belgium", "Luxembourg"]
    several = parse_shop_profile(yaml.safe_dump(raw))
    assert answer(several, "delivery_time")["text"].startswith(
        "We deliver to addresses in France, Belgium and Luxembourg only. How long it takes")


SATURDAY_NIGHT = "2026-11-28 23:30"  # London


@pytest.mark.parametrize("text,expected", [
    ("what time do u open tomorow",
     "Tomorrow (Sunday 29 November) we're closed. We open again on Monday at 08:00."),
    ("are you open on christmas eve?",
     "On Christmas Eve (Thursday 24 December) we have special hours: 08:00–13:00."),
    ("open boxing day?",
     "On Boxing Day (Saturday 26 December) we're closed. We open again on Monday at 08:00."),
    ("are you open next monday", "On Monday 30 November we're open 08:00–18:00."),
])
def test_opening_hours_answer_the_day_asked_about(shop, domain, dispatcher, text, expected):
    message = answer(shop, "opening_hours", SATURDAY_NIGHT, dispatcher, domain, text)
    assert message["text"] == expected
    assert "Our hours:" not in message["text"]  # the day's hours, not the week's
    assert [b["payload"] for b in message["buttons"]] == ["/store_location", "/contact_info"]


@pytest.mark.parametrize("text", ["what are your opening hours", "/opening_hours", "are you open now?"])
def test_opening_hours_without_a_day_answer_open_now_and_the_week(shop, domain, text):
    message = answer(shop, "opening_hours", SATURDAY_NIGHT, domain=domain, text=text)
    assert message["text"].startswith(
        "We're closed right now; we open on Monday at 08:00.\nOur hours: Mon–Thu")


def test_a_day_in_another_faq_question_does_not_change_that_answer(shop, domain):
    assert "We accept Visa" in answer(shop, "payment_methods", SATURDAY_NIGHT, domain=domain,
                                      text="can I pay by card tomorrow")["text"]


def in_form(intent: str, text: str, requested: str, loop: str = "order_form"):
    from rasa_sdk import Tracker

    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    return Tracker("in-form", {"requested_slot": requested, "order_task": "change_shipping_address"}, message,
                   [{"event": "user", "text": text, "parse_data": message}], False, None, {"name": loop},
                   "action_listen")


@pytest.mark.parametrize("text, intent, requested, loop", [
    ("5 Park Street, Bath BA1 2AB", "store_location", "order_details", "order_form"),
    ("it came too late for the birthday", "delivery_time", "order_reason", "order_form"),
    ("your opening hours on google are wrong and I walked there for nothing", "opening_hours",
     "complaint_text", "complaint_form"),
])
def test_a_statement_where_the_form_waits_for_words_is_the_answer_not_a_question(shop, domain, text, intent,
                                                                               requested, loop):
    """Walker, issue 12: the new address "5 Park Street, Bath" was answered with the shop's own address."""
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerFaq(shop=shop).run(dispatcher, in_form(intent, text, requested, loop),
                                                       domain))
    assert dispatcher.messages == [] and events == [{"event": "slot", "timestamp": None, "name": requested,
                                                     "value": text}]


def test_a_real_question_in_the_middle_of_a_form_is_answered(shop, domain):
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswerFaq(shop=shop).run(dispatcher, in_form("store_location", "where is your shop?",
                                                                   "order_details"), domain))
    assert "14 Quay Street" in dispatcher.messages[0]["text"]


def test_two_questions_in_one_message_get_both_answers(shop, domain):
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    tracker = tracker_for("shipping_options", "how much is shipping and how long does it take?")
    tracker.latest_message["also_asked"] = ["delivery_time", "shipping_options", "cancel_order"]
    dispatcher = CollectingDispatcher()
    action = ActionAnswerFaq(shop=shop, clock=fixed_clock(shop_time(shop, SATURDAY_NIGHT)))
    assert asyncio.run(action.run(dispatcher, tracker, domain)) == []
    texts = [m["text"] for m in dispatcher.messages]
    assert len(texts) == 2               # the shipping options already give the days: listed once
    assert texts[0].startswith("We deliver to") and "2–4 working days" in texts[0]
    assert "Cancel an order" in texts[1]                     # a task beside it: offered, not started
    assert [b["payload"] for b in dispatcher.messages[1]["buttons"]] == ["/cancel_order"]


def test_two_faq_questions_answered_one_after_the_other(shop, domain):
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    tracker = tracker_for("payment_methods", "what payment methods do you accept and can I get an invoice?")
    tracker.latest_message["also_asked"] = ["invoice"]
    dispatcher = CollectingDispatcher()
    action = ActionAnswerFaq(shop=shop, clock=fixed_clock(shop_time(shop, SATURDAY_NIGHT)))
    asyncio.run(action.run(dispatcher, tracker, domain))
    texts = [m["text"] for m in dispatcher.messages]
    assert texts[0].startswith("We accept Visa") and "VAT receipt" in texts[1]


def test_contact_answer_says_when_to_call_and_delivery_answer_points_to_tracking(shop):
    contact = answer(shop, "contact_info", SATURDAY_NIGHT)["text"]
    assert "Phone hours: Mon–Thu" in contact
    delivery = answer(shop, "delivery_time", SATURDAY_NIGHT)["text"]
    assert "Already ordered? Tap \"Where is my order?\"" in delivery


def checked_order_tracker(text: str, verified: str | None = "KC-10003"):
    tracker = tracker_for("delivery_time", text)
    tracker.slots["verified_order"] = verified
    tracker.latest_message["message_id"] = "m-7"
    return tracker


@pytest.mark.parametrize("text", ["when will it arrive?", "how long until my parcel comes?",
                                  "when do they get here", "is the order coming tomorrow?",
                                  "how long will my delivery take?"])
def test_when_will_it_arrive_after_an_order_check_is_that_orders_status(shop, domain, text):
    """It got our delivery times, though the customer had just checked order KC-10003: now the message is
    read again as "where is my order?", whose flow proves the order before showing it."""
    dispatcher, events = run_faq(shop, checked_order_tracker(text), domain)
    assert dispatcher.messages == []
    assert events[0] == {"event": "action", "name": "action_listen"}
    assert (events[1]["event"], events[1]["text"], events[1]["message_id"]) == ("user", text, "m-7")
    assert events[1]["parse_data"]["intent"] == {"name": "order_status", "confidence": 1.0}


@pytest.mark.parametrize("text,verified", [("how long does delivery take?", "KC-10003"),
                                           ("how many days is shipping to Leeds", "KC-10003"),
                                           # Tried on the cluster: "it" is the delivery here, not the parcel.
                                           ("how long does delivery take and how much does it cost?",
                                            "KC-10003"),
                                           ("when will it arrive?", None)])
def test_delivery_times_in_general_or_with_no_order_checked_are_our_delivery_times(shop, domain, text,
                                                                                    verified):
    dispatcher, events = run_faq(shop, checked_order_tracker(text, verified), domain)
    assert events == []
    assert "2–4 working days" in dispatcher.messages[0]["text"]
