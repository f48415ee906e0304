"""The console's transcript of a conversation: every chat of it, the later ones marked, each message once."""
from __future__ import annotations

from types import SimpleNamespace

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.console.conversations import transcript
from bot.tracker_store import ThreadedSQLTrackerStore


async def test_a_browsers_later_chats_are_all_in_the_transcript_and_a_yes_read_again_shows_once(tmp_path):
    store = ThreadedSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"))
    tracker = DialogueStateTracker("browser-1", [])
    yes = {"intent": {"name": "affirm"}}
    for event in (
        SessionStarted(timestamp=1_000), ActionExecuted("action_listen", timestamp=1_000),
        UserUttered("where is my order?", timestamp=1_001, message_id="m1"),
        BotUttered("Thank you, Jo, I've found order KC-10003.", timestamp=1_002),
        SessionStarted(timestamp=90_000), ActionExecuted("action_listen", timestamp=90_000),
        UserUttered("hi again!", timestamp=90_001, message_id="m2"),
        BotUttered("Welcome back, Jo! Is this about your order KC-10003?", timestamp=90_002),
        UserUttered("yes", parse_data=yes, timestamp=90_003, message_id="m3"),
        ActionExecuted("action_anything_else", timestamp=90_004),
        ActionExecuted("action_listen", timestamp=90_004),
        UserUttered("yes", timestamp=90_004, message_id="m3"),  # the same yes, read as the button's intent
        BotUttered("And the email address or phone number on that order?", timestamp=90_005),
    ):
        tracker.update(event)
    await store.save(tracker)

    lines = await transcript(SimpleNamespace(tracker_store=store), "browser-1", "Kettle & Crumb")

    assert [(line.who, line.text) for line in lines] == [
        ("customer", "where is my order?"),
        ("bot", "Thank you, Jo, I've found order KC-10003."),
        ("notice", "The customer came back: a new chat"),
        ("customer", "hi again!"),
        ("bot", "Welcome back, Jo! Is this about your order KC-10003?"),
        ("customer", "yes"),
        ("bot", "And the email address or phone number on that order?"),
    ]
    store.engine.dispose()
