"""Feedback from customers: when the bot asks, what it stores (committed before it says thanks), NPS once
per 90 days, "no thanks", numbers off the scale, give_feedback, and the hand-back from a person."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.conversation import ActionAnythingElse, ActionOutOfScope, ActionSmallTalk
from actions.end_of_chat import ActionGoodbye, ActionHandedBack, ActionNoMore, ActionThankYou
from actions.feedback import (
    CSAT_QUESTION,
    ActionFeedbackDone,
    AskNpsScore,
    ValidateFeedbackForm,
    ended_well,
    served_intent,
)
from actions.services import order_tables as t
from actions.services.demo_orders import seed_demo_orders
from actions.services.feedback import Context, FeedbackStore
from actions.services.handback import pending_question
from actions.services.handoffs import HandoffQueue
from tests.actions.test_handoff import make, run
from tests.conftest import prove, shop_time

NOW = "2026-11-23 10:00"
SENDER = "conv-feedback"


def user(text: str, intent: str) -> dict:
    return {"event": "user", "text": text, "parse_data": {"text": text, "intent": {"name": intent}}}


def action(name: str) -> dict:
    return {"event": "action", "name": name}


def conversation(*events: dict, slots=None, latest=("thanks", "thank_you"), loop=None) -> Tracker:
    message = {"text": latest[0], "intent": {"name": latest[1], "confidence": 0.95}, "entities": []}
    return Tracker(
        SENDER,
        slots or {},
        message,
        [*events, user(*latest)],
        False,
        None,
        {"name": loop} if loop else {},
        "action_listen",
    )


ANSWERED = (user("how much is delivery?", "shipping_options"), action("action_answer_faq"))


def rows(engine):
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(t.feedback).order_by(t.feedback.c.id)).mappings()]


def validate(form, method, value, tracker_):
    dispatcher = CollectingDispatcher()
    result = getattr(form, method)(value, dispatcher, tracker_, {})
    return result, [m.get("text") for m in dispatcher.messages]


def required(form, slots):
    tracker_ = conversation(*ANSWERED, slots=slots, loop="feedback_form")
    return asyncio.run(form.required_slots([], CollectingDispatcher(), tracker_, {}))


def test_thanks_after_an_answer_starts_the_rating_once(shop, engine, domain):
    thank = make(ActionThankYou, shop, engine, NOW)
    texts, slots = run(thank, conversation(*ANSWERED), domain)
    assert texts == ["You're welcome!"] and slots["feedback_mode"] == "csat" and slots["feedback_asked"]
    again, slots = run(thank, conversation(*ANSWERED, slots={"feedback_asked": True}), domain)
    assert again == ["You're welcome! Is there anything else I can help you with?"]
    assert slots == {"feedback_mode": "off"}


def test_no_rating_after_the_bot_gave_up_or_before_it_answered_anything(shop, engine, domain):
    thank = make(ActionThankYou, shop, engine, NOW)
    gave_up = conversation(*ANSWERED, user("blorp", "nlu_fallback"), action("action_default_fallback"))
    assert run(thank, gave_up, domain)[1] == {"feedback_mode": "off"}
    assert run(thank, conversation(), domain)[1] == {"feedback_mode": "off"}
    assert ended_well(conversation(*ANSWERED)) and not ended_well(gave_up)
    assert served_intent(gave_up) == "shipping_options"


def test_a_conversation_rated_before_a_restart_is_not_asked_again(shop, engine, domain):
    FeedbackStore(engine).record("csat", Context(SENDER), score=5)  # the slot was lost, the row was not
    assert run(make(ActionThankYou, shop, engine, NOW), conversation(*ANSWERED), domain)[1] == {
        "feedback_mode": "off"
    }


def test_a_rating_is_stored_with_what_it_was_about_before_the_thanks(shop, engine, domain):
    form = make(ValidateFeedbackForm, shop, engine, NOW)
    tracker_ = conversation(
        *ANSWERED, slots={"feedback_mode": "csat"}, latest=("4", "inform"), loop="feedback_form"
    )
    assert validate(form, "validate_csat_score", "4", tracker_) == ({"csat_score": "4"}, [])
    assert validate(form, "validate_csat_comment", "quick and clear <b>answer</b>", tracker_)[0] == {
        "csat_comment": "quick and clear <b>answer</b>"
    }
    [row] = rows(engine)
    assert (
        row["kind"],
        row["score"],
        row["comment"],
        row["intent"],
        row["with_person"],
        row["declined"],
    ) == ("csat", 4, "quick and clear <b>answer</b>", "shipping_options", False, False)
    assert row["created_at"] == shop_time(shop, NOW).astimezone(dt.timezone.utc).replace(tzinfo=None)


@pytest.mark.parametrize("typed,expected", [("7", "7 is outside the scale"), ("purple", "didn't catch")])
def test_a_rating_off_the_scale_is_asked_again_gently_and_nothing_is_stored(shop, engine, typed, expected):
    form = make(ValidateFeedbackForm, shop, engine, NOW)
    tracker_ = conversation(*ANSWERED, slots={"feedback_mode": "csat"}, latest=(typed, "inform"))
    result, texts = validate(form, "validate_csat_score", typed, tracker_)
    assert result == {"csat_score": None} and expected in texts[0]
    assert "choose a number from 1 to 5, or say no thanks" in texts[0] and rows(engine) == []


def test_no_thanks_is_stored_as_declined_and_ends_the_questions(shop, engine):
    form = make(ValidateFeedbackForm, shop, engine, NOW)
    tracker_ = conversation(*ANSWERED, latest=("no thanks", "deny"))
    assert validate(form, "validate_csat_score", "no thanks", tracker_)[0] == {"csat_score": "declined"}
    assert [(r["kind"], r["score"], r["declined"]) for r in rows(engine)] == [("csat", None, True)]
    assert required(form, {"feedback_mode": "csat", "csat_score": "declined"}) == ["csat_score"]


def test_nps_follows_a_happy_rating_at_most_every_90_days_per_customer(shop, engine):
    form = make(ValidateFeedbackForm, shop, engine, NOW)
    happy = {"feedback_mode": "csat", "csat_score": "5", "csat_comment": "none"}
    assert required(form, happy) == ["csat_score", "csat_comment", "nps_score"]
    assert required(form, {**happy, "csat_score": "3"}) == ["csat_score", "csat_comment"]  # not happy: no NPS
    store = FeedbackStore(engine, lambda: shop_time(shop, NOW) - dt.timedelta(days=30))
    store.record("nps", Context("an earlier chat", customer_key="ana@example.com"), score=9)
    ana = {**happy, "ticket_email": "Ana@Example.com"}
    assert required(form, ana) == ["csat_score", "csat_comment"]  # asked 30 days ago
    later = make(ValidateFeedbackForm, shop, engine, "2027-01-26 10:00")  # 94 days after that answer
    later_tracker = conversation(*ANSWERED, slots=ana, loop="feedback_form")
    assert asyncio.run(later.required_slots([], CollectingDispatcher(), later_tracker, {}))[-1] == "nps_score"


def test_a_detractor_is_asked_what_to_do_better(shop, engine, domain):
    form = make(ValidateFeedbackForm, shop, engine, NOW)
    tracker_ = conversation(*ANSWERED, latest=("3", "inform"))
    assert validate(form, "validate_nps_score", "3", tracker_)[0] == {"nps_score": "3"}
    slots = {"feedback_mode": "csat", "csat_score": "4", "csat_comment": "none", "nps_score": "3"}
    assert required(form, slots)[-1] == "nps_comment"
    assert required(form, {**slots, "nps_score": "8"})[-1] == "nps_score"  # a passive is not asked why
    texts, _ = run(make(AskNpsScore, shop, engine, NOW), conversation(), domain)
    assert "recommend Kettle & Crumb to a friend, from 0" in texts[0]


def test_the_thanks_fits_the_answers_and_promoters_get_the_review_link(shop, engine, domain):
    done = make(ActionFeedbackDone, shop, engine, NOW)

    def thanks(**slots):
        return run(done, conversation(slots={"feedback_mode": "csat", **slots}), domain)[0][0]

    assert shop.review_url in thanks(csat_score="5", nps_score="10")
    assert "what" not in thanks(csat_score="5", nps_score="10").lower()
    assert "we'll work on it" in thanks(csat_score="4", nps_score="2")
    assert thanks(csat_score="declined") == "No problem. Thanks for chatting with us!"
    assert "I'm sorry we didn't do better" in thanks(csat_score="1")
    assert run(done, conversation(slots={"feedback_mode": "csat"}), domain)[1]["feedback_mode"] == "off"


def test_give_feedback_stores_the_comment_then_an_optional_rating(shop, engine):
    form = make(ValidateFeedbackForm, shop, engine, NOW)
    assert required(form, {"feedback_mode": "off"}) == ["feedback_comment", "feedback_score"]
    tracker_ = conversation(latest=("the buns are the best in town", "give_feedback"))
    validate(form, "validate_feedback_comment", "the buns are the best in town", tracker_)
    validate(form, "validate_feedback_score", "five", conversation(latest=("five", "inform")))
    [row] = rows(engine)
    assert (row["kind"], row["comment"], row["score"]) == ("feedback", "the buns are the best in town", 5)
    nothing = validate(
        form, "validate_feedback_comment", "never mind", conversation(latest=("never mind", "stop"))
    )
    assert nothing[0] == {"feedback_comment": "declined", "feedback_score": "none"} and len(rows(engine)) == 1


def test_feedback_that_brings_its_rating_is_not_asked_for_again(shop, engine, domain):
    """"great service, 5 stars" starts give_feedback: rasa_sdk's form run takes it as the comment and the
    rating, and the form is done; "can I leave a review?" gets the questions."""
    form = make(ValidateFeedbackForm, shop, engine, NOW)
    typed = "great service, 5 stars"
    off = {"feedback_mode": "off"}
    given = conversation(slots=off, latest=(typed, "give_feedback"), loop="feedback_form")
    texts, slots = run(form, given, domain)
    assert texts == [] and slots["requested_slot"] is None
    assert (slots["feedback_comment"], slots["feedback_score"]) == (typed, "5")
    [row] = rows(engine)
    assert (row["kind"], row["comment"], row["score"]) == ("feedback", typed, 5)
    request = conversation(slots={"feedback_mode": "off"}, latest=("can I leave a review?", "give_feedback"),
                           loop="feedback_form")
    _, slots = run(form, request, domain)
    assert slots == {"requested_slot": "feedback_comment"} and len(rows(engine)) == 1


@pytest.mark.parametrize("typed, intent", [
    ("thanks! 5 stars", "thank_you"), ("5 stars thank you so much", "thank_you"),
    ("⭐⭐⭐⭐⭐ bye", "goodbye"),
])
def test_thanks_with_a_rating_keeps_it_instead_of_asking_for_it(shop, engine, domain, typed, intent):
    """Seen in a trial: "thanks! 5 stars" was asked "How did I do today?" and nothing was kept."""
    action_ = make(ActionThankYou if intent == "thank_you" else ActionGoodbye, shop, engine, NOW)
    texts, slots = run(action_, conversation(*ANSWERED, latest=(typed, intent)), domain)
    assert texts == ["Thank you for the rating!"]
    assert slots == {"feedback_asked": True, "feedback_mode": "off"}
    assert [(r["kind"], r["score"]) for r in rows(engine)] == [("csat", 5)]


def test_handed_back_by_a_person_the_bot_asks_anything_else_and_rates_at_the_end(shop, engine, domain):
    queue = HandoffQueue(engine)
    queue.request(SENDER, "human_handoff", {})
    with engine.begin() as connection:  # a person had it and handed it back (no owner row needed here)
        connection.execute(
            t.handoffs.update().values(status="returned", claimed_at=dt.datetime(2026, 11, 23))
        )
    person = {"event": "bot", "text": "Your parcel left today.", "metadata": {"sender": {"type": "person"}}}
    back = make(ActionHandedBack, shop, engine, NOW)
    texts, slots = run(back, conversation(user("/human_handoff", "human_handoff"), person,
                                          latest=("/human_handoff", "human_handoff")), domain)
    assert texts == ["I'm back. Is there anything else I can help you with?"]
    assert slots["feedback_mode"] == "off"
    # "No" ends the chat: now the rating, with the person counted
    no_more = make(ActionNoMore, shop, engine, NOW)
    ended = conversation(action("action_handed_back"), latest=("no thanks", "deny"))
    texts, slots = run(no_more, ended, domain)
    assert texts == ["Alright, glad I could help."] and slots["feedback_mode"] == "csat"
    form = make(ValidateFeedbackForm, shop, engine, NOW)
    validate(form, "validate_csat_score", "5", conversation(latest=("5", "inform")))
    assert rows(engine)[0]["with_person"] is True


def test_a_rating_typed_unasked_after_a_person_closed_the_chat_is_kept_and_thanked(shop, engine, domain):
    """"five stars" when no question was open: the chat's rating (with the person counted), not "I'm not
    sure what that's for"; a second thought replaces it; "★★" (read as out of scope) is one too."""
    queue = HandoffQueue(engine)
    queue.request(SENDER, "human_handoff", {})
    with engine.begin() as connection:  # a person had the chat and closed it
        connection.execute(
            t.handoffs.update().values(status="resolved", claimed_at=dt.datetime(2026, 11, 23)))
    closed = {"event": "bot", "text": "Mara has closed this conversation.",
              "metadata": {"sender": {"type": "person"}, "notice": "closed"}}
    anything_else = make(ActionAnythingElse, shop, engine, NOW)
    texts, slots = run(anything_else, conversation(closed, latest=("five stars!", "inform")), domain)
    assert texts == ["Thank you for the rating!"] and slots == {"feedback_asked": True}
    [row] = rows(engine)
    assert (row["kind"], row["score"], row["with_person"], row["declined"], row["message_text"]) == (
        "csat", 5, True, False, "five stars!")
    out_of_scope = make(ActionOutOfScope, shop, engine, NOW)
    texts, _ = run(out_of_scope, conversation(closed, latest=("★★", "out_of_scope")), domain)
    assert texts == ["Thank you for telling us. I'm sorry we didn't do better; the owner reads every rating."]
    [row] = rows(engine)  # the same chat's rating, changed
    assert (row["score"], row["message_text"]) == (2, "★★")
    small_talk = make(ActionSmallTalk, shop, engine, NOW)
    texts, _ = run(small_talk, conversation(closed, latest=("⭐⭐⭐⭐", "laugh")), domain)
    assert texts == ["Thank you for the rating!"] and rows(engine)[0]["score"] == 4
    texts, _ = run(small_talk, conversation(closed, latest=("haha", "laugh")), domain)
    assert texts[0].startswith("Glad that made you smile!") and len(rows(engine)) == 1


@pytest.mark.parametrize("typed, intent", [
    ("5", "inform"),  # a bare number may be a quantity or an order
    ("alex.morgan@example.com", "inform"),
    ("what's the weather like?", "out_of_scope"),
    ("two stars for the courier but five for you, the parcel was left in the rain, I had to dry it",
     "inform"),
])
def test_what_is_no_unasked_rating_is_answered_as_before(shop, engine, domain, typed, intent):
    action_ = make(ActionAnythingElse if intent == "inform" else ActionOutOfScope, shop, engine, NOW)
    texts, slots = run(action_, conversation(latest=(typed, intent)), domain)
    assert "rating" not in " ".join(texts) and "feedback_asked" not in slots and rows(engine) == []


def test_a_question_asked_while_the_person_had_the_chat_is_answered_first(shop, engine, domain):
    person = {"event": "bot", "text": "Let me check.", "metadata": {"sender": {"type": "person"}}}
    back = make(ActionHandedBack, shop, engine, NOW)
    texts, slots = run(back, conversation(person, latest=("and when do you open on sunday?", "")), domain)
    assert texts == ["I'm back. Let me answer what you asked while you were waiting."]
    assert slots["feedback_mode"] == "off"  # no rating before the answer


@pytest.mark.parametrize("said, pending", [
    ([("user", "hi"), ("bot", "Hello"), ("user", "when do you open sunday?")], "when do you open sunday?"),
    ([("user", "when do you open?"), ("bot", "At 9")], None),
    ([("user", "/human_handoff")], None),
    ([("bot", "Mara joined"), ("user", "hello?"), ("user", "open tomorrow?")], "open tomorrow?"),
])
def test_the_pending_question_is_the_last_one_nobody_answered(said, pending):
    assert pending_question(said) == pending


def test_the_customer_of_a_verified_order_is_its_email(shop, engine):
    form = make(ValidateFeedbackForm, shop, engine, NOW)
    seed_demo_orders(form.orders)
    prove(form.orders, SENDER, "KC-10003")
    context = form.context(conversation(slots={"verified_order": "KC-10003"}))
    assert context.customer_key == "jo.baker@example.com"
    assert form.context(conversation()).customer_key == ""  # the conversation itself, when stored


def test_the_rating_question_offers_one_to_five_and_no_thanks(shop, engine, domain):
    from actions.feedback import AskCsatScore

    dispatcher = CollectingDispatcher()
    asyncio.run(AskCsatScore().run(dispatcher, conversation(), domain))
    assert dispatcher.messages[0]["text"] == CSAT_QUESTION
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["1", "2", "3", "4", "5", "No thanks"]
    assert dispatcher.messages[0]["buttons"][3]["payload"] == '/inform{"rating": "4"}'


def test_every_feedback_slot_has_a_question_and_a_validator(domain):
    actions = set(domain["actions"])
    for slot in domain["forms"]["feedback_form"]["required_slots"]:
        assert f"action_ask_{slot}" in actions, slot
        assert callable(getattr(ValidateFeedbackForm, f"validate_{slot}", None)), slot
