"""A person's words are never lost: without SMTP the console says so before the owner types and answers in
the chat; every error gives the page back with the typed text; claim and resolve tell the customer; the
page says whether each message reached the customer."""
from __future__ import annotations

import asyncio
import datetime as dt
import html
import re

import pytest
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.services.chat_delivery import OutboundMessages
from actions.services.database import create_database_engine
from actions.services.handoffs import HandoffQueue
from actions.services.owners import OwnerAccounts
from tests.bot.fakes import RecordingAgent
from tests.bot.test_console import PASSWORD, csrf_of, session_of, sign_in
from tests.smtp_inbox import free_port, settings_for

TYPED = "Hello Ana, a fresh bag <b>goes out</b> today.\nMara"


def start(app, tmp_path, customer: str):
    app.test_client.get("/health")  # starts the app once: migrations, console state
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
    tracker = DialogueStateTracker(customer, [])
    tracker.update(UserUttered("my beans were stale"))
    asyncio.run(app.ctx.agent.tracker_store.save(tracker))
    return engine, session_of(app)


def ticket_for(engine, customer: str):
    return HandoffQueue(engine).request(customer, "complaint", {"complaint": "stale beans"},
                                        contact_email="ana@example.com",
                                        ticket_due=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))


def post(app, path, cookies, **data):
    return app.test_client.post(path, cookies=cookies, data=data, allow_redirects=False)[1]


def page_of(app, handoff_id, cookies) -> str:
    return app.test_client.get(f"/console/handoffs/{handoff_id}", cookies=cookies)[1].text


def kept(page: str) -> bool:
    """The typed text is in a text box on the page, escaped."""
    return f">{html.escape(TYPED, quote=True)}</textarea>" in page


@pytest.fixture
def no_smtp(make_app, tmp_path):
    app = make_app(RecordingAgent(memory=True))  # the default settings: SMTP_HOST unset
    engine, cookies = start(app, tmp_path, "cust-nomail")
    ticket = ticket_for(engine, "cust-nomail")
    return app, engine, cookies, ticket


def test_without_smtp_the_page_says_so_before_typing_and_the_reply_goes_into_the_chat(no_smtp):
    app, engine, cookies, ticket = no_smtp
    page = page_of(app, ticket.id, cookies)
    assert "Email is not set up on this server (SMTP_HOST is not set)" in page
    assert "Reply in the chat" in page and "Send email" not in page
    assert 'href="mailto:ana@example.com"' in page  # what the owner can still do: write from their own mail

    # A form from before (or a second tab) asking for email gets the page back, not a bare text.
    refused = post(app, f"/console/handoffs/{ticket.id}/email", cookies, csrf=csrf_of(page), text=TYPED)
    assert refused.status == 503 and refused.text.startswith("<!doctype html>")
    assert 'role="alert"' in refused.text and "nothing was sent" in refused.text
    assert kept(refused.text) and "<b>goes out</b>" not in refused.text
    assert HandoffQueue(engine).get(ticket.id).status == "ticket"  # nothing changed

    answered = post(app, f"/console/handoffs/{ticket.id}/chat-reply", cookies, csrf=csrf_of(page), text=TYPED)
    assert answered.status == 303
    assert HandoffQueue(engine).get(ticket.id).status == "resolved"
    [stored] = OutboundMessages(engine).undelivered(["cust-nomail"])
    assert (stored.kind, stored.via, stored.text) == ("reply", "chat", TYPED)
    tracker = asyncio.run(app.ctx.agent.tracker_store.retrieve("cust-nomail"))
    assert [e.text for e in tracker.events if isinstance(e, BotUttered)] == [TYPED]
    page = page_of(app, ticket.id, cookies)
    assert "waiting: shown when the customer opens the chat again" in page
    assert "The customer is not in the chat window" in page


def test_an_error_gives_the_page_back_with_what_was_typed(no_smtp):
    app, engine, cookies, ticket = no_smtp
    csrf = csrf_of(page_of(app, ticket.id, cookies))
    assert post(app, f"/console/handoffs/{ticket.id}/claim", cookies, csrf=csrf).status == 303

    too_long = post(app, f"/console/handoffs/{ticket.id}/reply", cookies, csrf=csrf, text=TYPED + "x" * 2000)
    assert too_long.status == 400 and "A reply needs 1–2000 characters." in too_long.text
    assert html.escape(TYPED + "x" * 2000, quote=True) in too_long.text
    assert "data-live" not in too_long.text  # it does not refresh itself over the text

    # Someone else took the chat meanwhile: no reply form any more, the text is still there to copy.
    OwnerAccounts(engine).add("sam@example.com", "Sam", PASSWORD)
    sam = {"shopbot_console": sign_in(app, email="sam@example.com").cookies["shopbot_console"]}
    sam_csrf = csrf_of(page_of(app, ticket.id, sam))
    taken = post(app, f"/console/handoffs/{ticket.id}/reply", sam, csrf=sam_csrf, text=TYPED)
    assert taken.status == 409 and "Someone else has this conversation" in taken.text
    assert "Your text (not sent)" in taken.text and kept(taken.text)

    empty_note = post(app, f"/console/handoffs/{ticket.id}/note", cookies, csrf=csrf, text="  ")
    assert empty_note.status == 400 and "A note needs 1–2000 characters." in empty_note.text
    # Only the joined notice went out; none of the refused replies.
    assert [m.kind for m in OutboundMessages(engine).of_conversation("cust-nomail").values()] == ["joined"]


def test_a_failed_email_gives_the_page_back_with_the_text_and_the_ticket_open(make_app, tmp_path):
    dead = settings_for(type("Closed", (), {"port": free_port()})())  # nothing listens there
    app = make_app(RecordingAgent(memory=True), smtp=dead)
    engine, cookies = start(app, tmp_path, "cust-deadmail")
    ticket = ticket_for(engine, "cust-deadmail")
    page = page_of(app, ticket.id, cookies)
    assert "Reply by email to ana@example.com" in page and "Email is not set up" not in page
    failed = post(app, f"/console/handoffs/{ticket.id}/email", cookies, csrf=csrf_of(page), text=TYPED)
    assert failed.status == 502 and "The email could not be sent" in failed.text
    assert kept(failed.text)  # back in the email form, ready to send again
    assert HandoffQueue(engine).get(ticket.id).status == "ticket"
    assert OutboundMessages(engine).of_conversation("cust-deadmail") == {}  # nothing for the chat either


def test_claiming_and_resolving_tell_the_customer(make_app, tmp_path):
    app = make_app(RecordingAgent(memory=True))
    engine, cookies = start(app, tmp_path, "cust-live")
    handoff = HandoffQueue(engine).request("cust-live", "human_handoff", {"intent": "human_handoff"})
    csrf = csrf_of(page_of(app, handoff.id, cookies))
    post(app, f"/console/handoffs/{handoff.id}/claim", cookies, csrf=csrf)
    post(app, f"/console/handoffs/{handoff.id}/reply", cookies, csrf=csrf, text="Hello, Mara here.")
    assert post(app, f"/console/handoffs/{handoff.id}/resolve", cookies, csrf=csrf).status == 303
    told = list(OutboundMessages(engine).of_conversation("cust-live").values())
    assert [(m.kind, m.text) for m in told] == [
        ("joined", "Mara joined the chat"),
        ("reply", "Hello, Mara here."),
        ("closed", "Mara has closed this conversation. If you need anything else, just write here."),
    ]
    assert told[0].for_widget()["notice"] == "joined" and told[0].payload["sender"]["name"] == "Mara"
    page = page_of(app, handoff.id, cookies)
    notices = re.findall(r'<div class="line notice">.*?</div>', page, re.S)
    assert len(notices) == 2 and "Mara joined the chat" in notices[0] and "has closed" in notices[1]
    assert not HandoffQueue(engine).is_owned_by_person("cust-live")  # the bot answers again


def test_an_emailed_reply_shows_as_mailed(make_app, tmp_path, smtp_server):
    controller, inbox = smtp_server
    app = make_app(RecordingAgent(memory=True), smtp=settings_for(controller))
    engine, cookies = start(app, tmp_path, "cust-mailed")
    ticket = ticket_for(engine, "cust-mailed")
    page = page_of(app, ticket.id, cookies)
    sent = post(app, f"/console/handoffs/{ticket.id}/email", cookies, csrf=csrf_of(page), text=TYPED)
    assert sent.status == 303
    assert [m["To"] for m in inbox.messages] == ["ana@example.com"]
    line = re.search(r'<div class="line person">.*?</div>', page_of(app, ticket.id, cookies), re.S).group(0)
    assert "Mara (by email)" in line and '<span class="delivery">mailed ' in line
