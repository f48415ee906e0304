"""The console's team tools: notes, tags, canned replies, answering a ticket by email, live updates."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.services.canned_replies import CannedReplies
from actions.services.database import create_database_engine
from actions.services.handoffs import HandoffQueue
from actions.services.owners import OwnerAccounts
from tests.bot.fakes import RecordingAgent
from tests.bot.test_console import PASSWORD, csrf_of, session_of
from tests.smtp_inbox import free_port, settings_for

CUSTOMER = "cust-ticket-1"


@pytest.fixture
def team(make_app, tmp_path, smtp_server):
    """A console whose mail goes to the loopback SMTP server, with one ticket waiting for an answer."""
    controller, inbox = smtp_server
    agent = RecordingAgent(memory=True)
    app = make_app(agent, smtp=settings_for(controller))
    app.config.CONSOLE_STREAM_SECONDS = 1.5
    app.test_client.get("/health")
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
    tracker = DialogueStateTracker(CUSTOMER, [])
    tracker.update(UserUttered("my beans were stale, please email me"))
    asyncio.run(agent.tracker_store.save(tracker))
    queue = HandoffQueue(engine)
    due = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    ticket = queue.request(CUSTOMER, "complaint", {"complaint": "stale beans"},
                           contact_email="ana@example.com", ticket_due=due)
    cookies = session_of(app)
    _, page = app.test_client.get(f"/console/handoffs/{ticket.id}", cookies=cookies)
    return app, agent, queue, ticket, cookies, csrf_of(page.text), inbox, engine


def post(app, path, cookies, **data):
    return app.test_client.post(path, cookies=cookies, data=data, allow_redirects=False)[1]


def test_a_ticket_is_answered_by_email_stored_in_the_conversation_and_closed(team, shop):
    app, agent, queue, ticket, cookies, csrf, inbox, _ = team
    _, page = app.test_client.get(f"/console/handoffs/{ticket.id}", cookies=cookies)
    assert "Reply by email to ana@example.com" in page.text and "reply by" in page.text
    reply = post(app, f"/console/handoffs/{ticket.id}/email", cookies, csrf=csrf,
                 text="Hello Ana, a fresh bag is on its way today.")
    assert reply.status == 303
    [mail] = inbox.messages
    assert mail["To"] == "ana@example.com" and mail["Reply-To"] == shop.owner_email
    assert "a fresh bag is on its way" in mail.get_payload() and "Mara, Kettle & Crumb" in mail.get_payload()
    assert queue.get(ticket.id).status == "resolved"
    tracker = asyncio.run(agent.tracker_store.retrieve(CUSTOMER))
    last = [e for e in tracker.events if isinstance(e, BotUttered)][-1]
    assert last.metadata == {"sender": {"type": "person", "name": "Mara", "via": "email"}, "delivery_id": 1}
    again = post(app, f"/console/handoffs/{ticket.id}/email", cookies, csrf=csrf, text="twice?")
    assert again.status == 409 and len(inbox.messages) == 1


def test_a_ticket_email_that_cannot_be_sent_leaves_the_ticket_open(make_app, tmp_path):
    agent = RecordingAgent(memory=True)
    dead = settings_for(type("Closed", (), {"port": free_port()})())  # nothing listens there
    app = make_app(agent, smtp=dead)
    app.test_client.get("/health")
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
    ticket = HandoffQueue(engine).request("c-9", "human_handoff", {}, contact_email="a@example.com",
                                          ticket_due=dt.datetime.now(dt.timezone.utc))
    cookies = session_of(app)
    _, page = app.test_client.get(f"/console/handoffs/{ticket.id}", cookies=cookies)
    reply = post(app, f"/console/handoffs/{ticket.id}/email", cookies, csrf=csrf_of(page.text), text="Hello")
    assert reply.status == 502 and "still open" in reply.text
    assert HandoffQueue(engine).get(ticket.id).status == "ticket"
    assert asyncio.run(agent.tracker_store.retrieve("c-9")) is None  # nothing claimed to be sent


def test_notes_and_tags_are_kept_escaped_and_need_the_form_token(team):
    app, _, queue, ticket, cookies, csrf, _, _ = team
    assert post(app, f"/console/handoffs/{ticket.id}/note", cookies, text="no token").status == 403
    assert post(app, f"/console/handoffs/{ticket.id}/note", cookies, csrf=csrf, text="  ").status == 400
    assert post(app, f"/console/handoffs/{ticket.id}/note", cookies, csrf=csrf,
                text="Called her <b>twice</b>").status == 303
    assert post(app, f"/console/handoffs/{ticket.id}/tags", cookies, csrf=csrf,
                tags="Beans, refund , beans").status == 303
    assert queue.get(ticket.id).tags == ["beans", "refund"]
    _, page = app.test_client.get(f"/console/handoffs/{ticket.id}", cookies=cookies)
    assert "Called her &lt;b&gt;twice&lt;/b&gt;" in page.text and "<b>twice" not in page.text
    assert 'value="beans, refund"' in page.text and "Mara</span>" in page.text


def test_canned_replies_are_listed_edited_added_and_deleted(team):
    app, _, _, ticket, cookies, csrf, _, engine = team
    canned = CannedReplies(engine)
    first = canned.all()[0]
    _, page = app.test_client.get(f"/console/handoffs/{ticket.id}", cookies=cookies)
    assert f">{first.title}</option>" in page.text and "{name}" not in page.text  # the name filled in
    assert post(app, "/console/replies", cookies, title="Refund", text="no token").status == 403
    assert post(app, "/console/replies", cookies, csrf=csrf, title="", text="x").status == 400
    assert post(app, "/console/replies", cookies, csrf=csrf, title="Refund <now>",
                text="Your refund is on its way, {name}").status == 303
    added = next(r for r in canned.all() if r.title == "Refund <now>")
    assert post(app, f"/console/replies/{added.id}/save", cookies, csrf=csrf, title="Refund",
                text="Refund sent.").status == 303
    assert canned.get(added.id).text == "Refund sent."
    _, listing = app.test_client.get("/console/replies", cookies=cookies)
    assert "Refund sent." in listing.text
    assert post(app, f"/console/replies/{added.id}/delete", cookies, csrf=csrf).status == 303
    assert canned.get(added.id) is None
    assert post(app, f"/console/replies/{added.id}/delete", cookies, csrf=csrf).status == 404
    assert app.test_client.get("/console/replies", allow_redirects=False)[1].status == 303


def test_the_live_stream_needs_a_session_and_says_when_the_page_is_out_of_date(team):
    app, _, queue, ticket, cookies, _, _, _ = team
    assert app.test_client.get("/console/events")[1].status == 401
    assert app.test_client.get("/console/events?handoff=999", cookies=cookies)[1].status == 404
    _, inbox = app.test_client.get("/console", cookies=cookies)
    since = inbox.text.split("/console/events?since=")[1].split('"')[0]
    _, quiet = app.test_client.get(f"/console/events?since={since}", cookies=cookies)
    assert quiet.headers["content-type"].startswith("text/event-stream") and "event: change" not in quiet.text
    queue.request("cust-new", "human_handoff", {"asked": "a person please"})  # a customer arrives
    _, changed = app.test_client.get(f"/console/events?since={since}", cookies=cookies)
    assert "event: change" in changed.text
    _, inbox = app.test_client.get("/console", cookies=cookies)
    assert "(1 waiting) Inbox" in inbox.text and "a person please" in inbox.text


def test_buttons_in_the_transcript_read_as_words():
    from bot.console.conversations import button_words

    assert button_words("/greet") == "opened the chat"
    assert button_words("/human_handoff") == "chose: Talk to a person"
    assert button_words('/inform{"choice": "Ceramic Mug"}') == "chose: Ceramic Mug"
    assert button_words('/inform{"choice": "none"}') == "chose: Not about an order"  # never "[none]"
    offered = [{"title": "No order", "payload": '/inform{"choice": "none"}'}]
    assert button_words('/inform{"choice": "none"}', offered) == "chose: No order"  # the title, when known
    assert button_words("/inform{broken") == "chose: Inform"
