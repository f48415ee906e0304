"""Every conversation for the trainer: the search over Rasa's stored events and our tables, each conversation
turn by turn, and the trainer's marks (reviewed, tags, flagged turns).

Rasa's own SQLTrackerStore writes the conversations, so the log reads exactly what Rasa stores.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered

from actions.services import order_tables as t
from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.trainer.conversation_log import ConversationFilter, ConversationLog
from bot.trainer.conversation_reviews import ConversationReviews, ReviewError, tags_of
from bot.trainer.conversation_turns import conversation_turns
from tests.actions.test_figures import LONDON, add_conversations, add_feedback
from tests.bot.test_trainer_inbox import CONVERSATIONS, NOW, action, bot, said

TODAY = NOW.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")  # as add_feedback takes it
WEEK = ConversationFilter(NOW.replace(tzinfo=None) - dt.timedelta(days=7),
                          NOW.replace(tzinfo=None) + dt.timedelta(hours=1))


def on(channel, event):
    event.input_channel = channel
    return event


MORE = {
    # A chat on the website: the widget opens it, the customer taps a button, then types.
    "c-widget": [action(0, "action_session_start"), on("socketio", said(1, "/greet", "greet", 1.0)),
                 action(2, "utter_greet"),
                 BotUttered("Hi! How can I help?", {"buttons": [{"title": "Track my order",
                                                                  "payload": "/order_status"}]},
                            timestamp=NOW.timestamp() - 3600 + 2),
                 on("socketio", said(3, "/order_status", "order_status", 1.0)),
                 action(4, "order_status_form"), SlotSet("requested_slot", "order_id",
                                                         timestamp=NOW.timestamp() - 3600 + 4),
                 bot(4, "What is your order number?"),
                 on("socketio", said(6, "KC-10003", "inform", 0.98,
                                     [("inform", 0.98), ("order_status", 0.01)],
                                     [{"entity": "order_id", "value": "KC-10003", "start": 0, "end": 8}]))],
    # Long ago: outside every range below.
    "c-old": [UserUttered("hello from last year", {"name": "greet", "confidence": 0.99},
                          timestamp=(NOW - dt.timedelta(days=300)).timestamp())],
}


@pytest.fixture
def engine(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/log.db")
    migrate(engine)
    add_conversations(engine, {**CONVERSATIONS, **MORE})
    add_feedback(engine, ("c-thumbs", "thumb", -1, "", False, "shipping_options", False,
                          "We ship with Royal Mail (2-3 days).", TODAY),
                 ("c-rephrase", "csat", 2, "slow", False, "opening_hours", False, "", TODAY),
                 ("c-fine", "csat", 5, "", False, "order_status", False, "", TODAY))
    with engine.begin() as connection:
        connection.execute(t.handoffs.insert().values(
            conversation_id="c-person", status="waiting", reason="human_handoff", summary="{}", tags="",
            created_at=NOW.replace(tzinfo=None)))
    yield engine
    engine.dispose()


def ids(found):
    return {s.conversation_id for s in found}


def test_every_conversation_in_the_range_most_recent_first(engine):
    found = ConversationLog(engine).search(WEEK)
    assert ids(found) == set(CONVERSATIONS) | {"c-widget"}
    assert [s.last for s in found] == sorted((s.last for s in found), reverse=True)
    widget = next(s for s in found if s.conversation_id == "c-widget")
    assert widget.channels == {"socketio"} and widget.messages == 2  # the opening is not a message
    assert widget.first_words == "KC-10003"  # taps are not words the customer typed
    year = dataclasses.replace(WEEK, since=WEEK.since - dt.timedelta(days=365))
    assert "c-old" in ids(ConversationLog(engine).search(year))


@pytest.mark.parametrize("change, expected", [
    ({"fallback": True}, {"c-fallback-1", "c-fallback-2", "c-fine", "c-private"}),
    ({"low_confidence": True}, {"c-low"}),
    ({"thumbs_down": True}, {"c-thumbs"}),
    ({"handoff": True}, {"c-person"}),
    ({"rating": 0}, {"c-rephrase", "c-fine"}),
    ({"rating": 2}, {"c-rephrase"}),
    ({"intent": "opening_hours"}, {"c-rephrase"}),
    ({"channel": "socketio"}, {"c-widget"}),
    ({"text": "ROYAL mail"}, {"c-thumbs"}),          # what the bot said counts, any case
    ({"text": "lid"}, {"c-person", "c-fine"}),
    ({"fallback": True, "text": "beans"}, {"c-fallback-1", "c-fallback-2"}),
    ({"reviewed": True}, set()),
])
def test_each_filter_keeps_what_it_names(engine, change, expected):
    assert ids(ConversationLog(engine).search(dataclasses.replace(WEEK, **change))) == expected


def test_reviews_and_tags_filter_and_show(engine):
    reviews = ConversationReviews(engine)
    reviews.mark_reviewed("c-low", "tess@example.com")
    reviews.set_tags("c-low", " receipts ,Grinder, receipts,  ")
    reviews.set_tags("c-thumbs", "shipping")
    log = ConversationLog(engine)
    assert ids(log.search(dataclasses.replace(WEEK, reviewed=True))) == {"c-low"}
    assert "c-low" not in ids(log.search(dataclasses.replace(WEEK, reviewed=False)))
    assert ids(log.search(dataclasses.replace(WEEK, tag="GRINDER"))) == {"c-low"}
    low = next(s for s in log.search(WEEK) if s.conversation_id == "c-low")
    assert low.review.tags == ("receipts", "Grinder") and low.review.reviewed_by == "tess@example.com"
    assert reviews.mark_reviewed("c-low", "tess@example.com", False).reviewed is False
    assert reviews.get("c-low").tags == ("receipts", "Grinder")  # unreviewing keeps the tags


def test_tags_and_notes_have_limits():
    assert tags_of("") == () and tags_of(" a ,  b  c ") == ("a", "b c")
    with pytest.raises(ReviewError, match="at most 40 characters"):
        tags_of("x" * 41)
    with pytest.raises(ReviewError, match="at most 10 tags"):
        tags_of(",".join(f"t{n}" for n in range(11)))


def test_a_conversation_turn_by_turn(engine):
    turns = conversation_turns(engine, "c-widget")
    opening, tapped, typed_turn = turns[0], turns[1], turns[2]
    assert opening.event_id is not None and opening.tapped and opening.text == "opened the chat"
    assert [s.action for s in opening.steps] == ["utter_greet"]
    assert opening.replies == ["Hi! How can I help?  [Track my order]"]
    assert tapped.text == "chose: Track my order" and tapped.channel == "socketio"
    assert tapped.slots == [("requested_slot", "order_id")]
    assert tapped.replies == ["What is your order number?"]
    assert (typed_turn.intent, typed_turn.confidence, typed_turn.runner_up) == ("inform", 0.98,
                                                                               ("order_status", 0.01))
    assert typed_turn.entities == [("order_id", "KC-10003")]
    assert conversation_turns(engine, "no-such-conversation") == []


def test_flags_are_kept_replaced_and_removed(engine):
    reviews = ConversationReviews(engine)
    turn = conversation_turns(engine, "c-low")[0]
    reviews.flag("c-low", turn.event_id, "  receipt   is invoice ", "tess@example.com")
    reviews.flag("c-low", turn.event_id, "receipt means invoice", "sam@example.com")
    flags = reviews.flags("c-low")
    assert list(flags) == [turn.event_id]
    assert (flags[turn.event_id].note, flags[turn.event_id].flagged_by) == ("receipt means invoice",
                                                                           "sam@example.com")
    with pytest.raises(ReviewError, match="at most 500"):
        reviews.flag("c-low", turn.event_id, "x" * 501, "tess@example.com")
    assert reviews.unflag(turn.event_id) and not reviews.unflag(turn.event_id)
    assert reviews.flags("c-low") == {}
