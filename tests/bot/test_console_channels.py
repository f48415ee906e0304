"""The console and the messaging channels (issue 19): each conversation's channel in the inbox, on its page
(with the customer's name there, escaped) and on the customer's page; what the page says about reaching
them on WhatsApp (the 24-hour window) and Telegram (none); and a person's reply after the window closed,
which goes by email when an email is known and is refused, with nothing stored, when none is."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re

import pytest
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.services import order_tables as t
from actions.services.channels.conversations import ChannelConversation
from actions.services.chat_delivery import OutboundMessage, OutboundMessages, Presence
from actions.services.customers.identity import link_conversation
from actions.services.database import create_database_engine
from actions.services.handoffs import HandoffQueue
from actions.services.owners import OwnerAccounts
from bot.channels.channel_settings import ChannelSettings
from bot.console.delivery_view import DeliveryView, presence_html
from tests.bot.fakes import RecordingAgent
from tests.bot.test_console import PASSWORD, csrf_of, session_of
from tests.smtp_inbox import settings_for

SCRIPT = "<script>alert(1)</script>"
TYPED = "Your refund went out today <b>for sure</b>."
UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC)


def when(moment):
    return moment.strftime("%d %b %H:%M") if moment else ""


def add_channel(engine, conversation_id: str, channel: str, name: str, last_inbound: dt.datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            t.channel_conversations.insert().values(
                conversation_id=conversation_id,
                channel=channel,
                address=f"addr-{conversation_id}",
                name=name,
                created_at=last_inbound.replace(tzinfo=None),
                last_inbound_at=last_inbound.astimezone(UTC).replace(tzinfo=None),
            )
        )


def start(app, tmp_path, *customers: str):
    app.test_client.get("/health")  # starts the app once: migrations, console state
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    OwnerAccounts(engine).add("mara@example.com", "Mara", PASSWORD)
    for customer in customers:
        tracker = DialogueStateTracker(customer, [])
        tracker.update(UserUttered("my refund has not come"))
        tracker.update(BotUttered("Let me get a person."))
        asyncio.run(app.ctx.agent.tracker_store.save(tracker))
    return engine, session_of(app)


def get(app, path, cookies):
    return app.test_client.get(path, cookies=cookies, allow_redirects=False)[1]


def post(app, path, cookies, **data):
    return app.test_client.post(path, cookies=cookies, data=data, allow_redirects=False)[1]


def claimed(app, engine, cookies, conversation_id: str, email: str = ""):
    """A handoff of the conversation, claimed by Mara; the page's CSRF token."""
    handoff = HandoffQueue(engine).request(
        conversation_id, "human_handoff", {"intent": "human_handoff"}, contact_email=email or None
    )
    csrf = csrf_of(get(app, f"/console/handoffs/{handoff.id}", cookies).text)
    assert post(app, f"/console/handoffs/{handoff.id}/claim", cookies, csrf=csrf).status == 303
    return handoff, csrf


# ---- where the customer writes from ----


def test_the_inbox_and_the_page_show_the_channel_and_escape_the_platform_name(make_app, tmp_path):
    app = make_app(RecordingAgent(memory=True))
    engine, cookies = start(app, tmp_path, "wa-1", "web-1", "tg-1")
    add_channel(engine, "wa-1", "whatsapp", f"Jo {SCRIPT}", NOW - dt.timedelta(hours=1))
    add_channel(engine, "tg-1", "telegram", "", NOW - dt.timedelta(days=3))
    queue = HandoffQueue(engine)
    ids = {
        c: queue.request(c, "human_handoff", {"intent": "human_handoff"}).id
        for c in ("wa-1", "web-1", "tg-1")
    }

    inbox = get(app, "/console", cookies).text
    rows = {
        int(m.group(1)): m.group(0)
        for m in re.finditer(r'<tr><td><a href="/console/handoffs/(\d+)">.*?</tr>', inbox, re.S)
    }
    assert '<span class="badge channel" data-channel="whatsapp">WhatsApp</span>' in rows[ids["wa-1"]]
    assert '<span class="badge channel" data-channel="website">Website</span>' in rows[ids["web-1"]]
    assert ">Telegram</span>" in rows[ids["tg-1"]]

    page = get(app, f"/console/handoffs/{ids['wa-1']}", cookies).text
    line = re.search(r'<p class="channel-line".*?</p>', page, re.S).group(0)
    assert ">WhatsApp</span>" in line and f"Jo {html.escape(SCRIPT)} on WhatsApp" in line
    assert SCRIPT not in page  # the name the platform gave is the customer's text: never markup
    assert f"On WhatsApp as Jo {html.escape(SCRIPT)}: what you send goes to their WhatsApp." in page
    assert "The customer's chat" not in page  # nothing about the website's widget

    website = get(app, f"/console/handoffs/{ids['web-1']}", cookies).text
    assert ">Website</span>" in re.search(r'<p class="channel-line".*?</p>', website, re.S).group(0)
    assert "The customer is not in the chat window" in website


def test_the_customer_page_shows_the_channel_of_each_conversation(make_app, tmp_path):
    app = make_app(RecordingAgent(memory=True))
    engine, cookies = start(app, tmp_path, "wa-jo", "web-jo")
    add_channel(engine, "wa-jo", "messenger", "Jo Baker", NOW - dt.timedelta(hours=2))
    with engine.begin() as connection:
        customer = link_conversation(
            connection,
            "wa-jo",
            how="ticket",
            at=NOW.replace(tzinfo=None),
            email="jo@example.com",
            name="Jo Baker",
        )
        link_conversation(
            connection, "web-jo", how="ticket", at=NOW.replace(tzinfo=None), email="jo@example.com"
        )
    page = get(app, f"/console/customers/{customer}", cookies).text
    table = page.split("<h2>Conversations</h2>")[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>.*?</tr>", table, re.S)
    assert len(rows) == 2
    assert sorted(re.search(r'data-channel="(\w+)">(\w+)<', row).group(2) for row in rows) == [
        "Messenger",
        "Website",
    ]


# ---- what the page says about reaching them ----


def _message(**changes) -> OutboundMessage:
    fields = dict(
        id=7,
        conversation_id="c",
        kind="reply",
        sender_name="Mara",
        via="chat",
        payload={"text": "hi"},
        created_at=NOW,
        mailed_at=None,
        delivered_at=None,
    )
    return OutboundMessage(**{**fields, **changes})


def _channel(channel: str, last: dt.datetime, name: str = "Jo Baker") -> ChannelConversation:
    return ChannelConversation("c", channel, "addr", name, last, [])


def view(channel, email="", mail=True, messages=None) -> DeliveryView:
    return DeliveryView(
        Presence(False, None), messages or {}, mail, channel=channel, contact_email=email, now=NOW
    )


def test_an_open_whatsapp_window_says_until_when_the_shop_may_write():
    last = NOW - dt.timedelta(hours=20)
    words = view(_channel("whatsapp", last)).customer(when)
    assert words == (
        f"On WhatsApp as Jo Baker: what you send goes to their WhatsApp. WhatsApp lets the shop "
        f"write until {when(last + dt.timedelta(hours=24))} (24 hours after their last message)."
    )
    assert 'data-presence="open"' in presence_html(view(_channel("whatsapp", last)), when)


def test_a_closed_window_says_the_reply_goes_by_email_or_cannot_go():
    last = NOW - dt.timedelta(hours=30)
    closed = when(last + dt.timedelta(hours=24))
    assert view(_channel("instagram", last), "jo@example.com").customer(when) == (
        f"On Instagram as Jo Baker. Instagram's 24-hour window closed at {closed}: a reply can only go by "
        "email (jo@example.com), and it goes there."
    )
    assert view(_channel("whatsapp", last, name="")).customer(when) == (
        f"On WhatsApp. WhatsApp's 24-hour window closed at {closed}, and no email is known: ask them to "
        "write again on WhatsApp, or call them."
    )
    assert "email is not set up" in view(_channel("whatsapp", last), "jo@example.com", mail=False).customer(
        when
    )
    assert 'data-presence="closed"' in presence_html(view(_channel("whatsapp", last)), when)


def test_telegram_has_no_window():
    a_month_ago = NOW - dt.timedelta(days=30)
    words = view(_channel("telegram", a_month_ago)).customer(when)
    assert words == "On Telegram as Jo Baker: what you send goes to their Telegram, at any time."
    assert view(_channel("telegram", a_month_ago)).reachable()


def test_each_message_says_delivered_sending_or_why_it_was_not_delivered():
    messages = {
        1: _message(id=1, delivered_at=NOW),
        2: _message(id=2),
        3: _message(id=3, attempts=2),
        4: _message(
            id=4,
            attempts=5,
            failed_at=NOW,
            error="WhatsApp refused the message: (#131047) Re-engagement message",
        ),
    }
    shown = view(_channel("whatsapp", NOW), messages=messages)
    assert [shown.status(i, when) for i in (1, 2, 3, 4)] == [
        f"delivered {when(NOW)}",
        "sending",
        "sending (try 2)",
        "not delivered: WhatsApp refused the message: (#131047) Re-engagement message",
    ]


def test_a_last_message_the_platform_refused_is_said_at_the_top():
    blocked = {
        1: _message(id=1, delivered_at=NOW),
        2: _message(id=2, failed_at=NOW, error="Telegram refused the message: bot was blocked by the user"),
    }
    shown = view(_channel("telegram", NOW), messages=blocked)
    assert shown.customer(when) == (
        "On Telegram as Jo Baker: what you send goes to their Telegram, at any time. "
        "But the last message did not reach them: Telegram refused the message: bot "
        "was blocked by the user"
    )
    assert 'data-presence="closed"' in presence_html(shown, when)
    delivered_since = {**blocked, 3: _message(id=3, delivered_at=NOW)}
    assert "did not reach" not in view(_channel("telegram", NOW), messages=delivered_since).customer(when)


# ---- a reply after the window closed ----


def test_a_reply_after_the_window_goes_by_email_when_one_is_known(make_app, tmp_path, smtp_server):
    controller, inbox = smtp_server
    app = make_app(RecordingAgent(memory=True), smtp=settings_for(controller))
    engine, cookies = start(app, tmp_path, "wa-late")
    add_channel(engine, "wa-late", "whatsapp", "Jo", NOW - dt.timedelta(hours=25))
    handoff, csrf = claimed(app, engine, cookies, "wa-late", email="jo@example.com")

    sent = post(app, f"/console/handoffs/{handoff.id}/reply", cookies, csrf=csrf, text=TYPED)
    assert (sent.status, sent.headers["location"]) == (303, f"/console/handoffs/{handoff.id}?done=emailed")
    [mail] = inbox.messages
    assert mail["To"] == "jo@example.com" and TYPED in mail.get_payload(decode=True).decode()
    reply = [m for m in OutboundMessages(engine).of_conversation("wa-late").values() if m.kind == "reply"]
    assert [(m.via, m.text, m.mailed_at is not None) for m in reply] == [("email", TYPED, True)]
    page = get(app, sent.headers["location"], cookies).text
    assert (
        html.escape(
            "Your reply went by email to jo@example.com: WhatsApp's 24-hour window had closed, so "
            "WhatsApp would not have taken it."
        )
        in page
    )
    assert "Mara (by email)" in page and '<span class="delivery">mailed ' in page


def test_a_reply_after_the_window_without_an_email_is_refused_and_nothing_is_stored(
    make_app, tmp_path, smtp_server
):
    controller, inbox = smtp_server
    app = make_app(RecordingAgent(memory=True), smtp=settings_for(controller))
    engine, cookies = start(app, tmp_path, "wa-gone")
    add_channel(engine, "wa-gone", "whatsapp", "Jo", NOW - dt.timedelta(hours=25))
    handoff, csrf = claimed(app, engine, cookies, "wa-gone")

    refused = post(app, f"/console/handoffs/{handoff.id}/reply", cookies, csrf=csrf, text=TYPED)
    assert refused.status == 409
    assert (
        "WhatsApp allows replies only within 24 hours of the customer&#x27;s last message (the window closed "
    ) in refused.text
    assert "No email is known for this customer, so nothing was sent." in refused.text
    assert f">{html.escape(TYPED, quote=True)}</textarea>" in refused.text  # the text is kept to send later
    assert [m.kind for m in OutboundMessages(engine).of_conversation("wa-gone").values()] == ["joined"]
    assert inbox.messages == []
    tracker = asyncio.run(app.ctx.agent.tracker_store.retrieve("wa-gone"))
    assert TYPED not in [e.text for e in tracker.events if isinstance(e, BotUttered)]


@pytest.mark.parametrize(
    "channel,age", [("telegram", dt.timedelta(days=10)), ("messenger", dt.timedelta(hours=23))]
)
def test_a_reply_within_the_window_or_on_telegram_goes_to_the_platform(
    make_app, tmp_path, smtp_server, channel, age
):
    controller, inbox = smtp_server
    app = make_app(RecordingAgent(memory=True), smtp=settings_for(controller))
    engine, cookies = start(app, tmp_path, "ch-1")
    add_channel(engine, "ch-1", channel, "Jo", NOW - age)
    handoff, csrf = claimed(app, engine, cookies, "ch-1", email="jo@example.com")
    sent = post(app, f"/console/handoffs/{handoff.id}/reply", cookies, csrf=csrf, text=TYPED)
    assert (sent.status, sent.headers["location"]) == (303, f"/console/handoffs/{handoff.id}")
    reply = [m for m in OutboundMessages(engine).of_conversation("ch-1").values() if m.kind == "reply"]
    assert [(m.via, m.text) for m in reply] == [("chat", TYPED)]  # the channels' worker sends it
    assert inbox.messages == []
    assert (
        '<span class="delivery">sending</span>' in get(app, f"/console/handoffs/{handoff.id}", cookies).text
    )


def test_with_metas_human_agent_permission_a_reply_on_messenger_may_come_for_seven_days(make_app, tmp_path):
    app = make_app(RecordingAgent(memory=True), channels=ChannelSettings(meta_human_agent=True))
    engine, cookies = start(app, tmp_path, "ms-late", "ms-gone")
    add_channel(engine, "ms-late", "messenger", "Jo", NOW - dt.timedelta(days=2))
    handoff, csrf = claimed(app, engine, cookies, "ms-late")
    page = get(app, f"/console/handoffs/{handoff.id}", cookies).text
    assert "Messenger lets the shop write until" in page and "(7 days after their last message)" in page
    sent = post(app, f"/console/handoffs/{handoff.id}/reply", cookies, csrf=csrf, text=TYPED)
    assert sent.status == 303  # the channels' worker sends it, tagged HUMAN_AGENT (test_channel_clients.py)
    reply = [m for m in OutboundMessages(engine).of_conversation("ms-late").values() if m.kind == "reply"]
    assert [(m.via, m.text) for m in reply] == [("chat", TYPED)]

    add_channel(engine, "ms-gone", "messenger", "Jo", NOW - dt.timedelta(days=8))
    handoff, csrf = claimed(app, engine, cookies, "ms-gone")
    refused = post(app, f"/console/handoffs/{handoff.id}/reply", cookies, csrf=csrf, text=TYPED)
    assert refused.status == 409
    assert "Messenger allows replies only within 7 days of the customer&#x27;s last message" in refused.text
    assert [m.kind for m in OutboundMessages(engine).of_conversation("ms-gone").values()] == ["joined"]


def test_with_an_approved_whatsapp_template_a_reply_may_go_at_any_time(make_app, tmp_path):
    settings = ChannelSettings(whatsapp_reply_template="shop_reply")
    app = make_app(RecordingAgent(memory=True), channels=settings)
    engine, cookies = start(app, tmp_path, "wa-late")
    last = NOW - dt.timedelta(days=3)
    add_channel(engine, "wa-late", "whatsapp", "Jo", last)
    handoff, csrf = claimed(app, engine, cookies, "wa-late")
    page = get(app, f"/console/handoffs/{handoff.id}", cookies).text
    assert "what you send goes as your approved template &quot;shop_reply&quot;." in page
    sent = post(app, f"/console/handoffs/{handoff.id}/reply", cookies, csrf=csrf, text=TYPED)
    assert sent.status == 303  # the channels' worker sends it as the template (test_channel_clients.py)
    reply = [m for m in OutboundMessages(engine).of_conversation("wa-late").values() if m.kind == "reply"]
    assert [(m.via, m.text) for m in reply] == [("chat", TYPED)]
    recent = _channel("whatsapp", NOW - dt.timedelta(hours=2))
    late = settings.late_replies
    within = DeliveryView(Presence(False, None), {}, True, channel=recent, now=NOW, late=late)
    assert within.customer(when) == (
        f"On WhatsApp as Jo Baker: what you send goes to their WhatsApp; after "
        f"{when(NOW + dt.timedelta(hours=22))} (24 hours after their last message) it goes as your approved "
        'template "shop_reply".'
    )


def test_a_ticket_answered_in_the_chat_after_the_window_goes_by_email(make_app, tmp_path, smtp_server):
    controller, inbox = smtp_server
    app = make_app(RecordingAgent(memory=True), smtp=settings_for(controller))
    engine, cookies = start(app, tmp_path, "wa-ticket")
    add_channel(engine, "wa-ticket", "whatsapp", "Jo", NOW - dt.timedelta(days=2))
    ticket = HandoffQueue(engine).request(
        "wa-ticket",
        "complaint",
        {"complaint": "late"},
        contact_email="jo@example.com",
        ticket_due=NOW + dt.timedelta(days=1),
    )
    csrf = csrf_of(get(app, f"/console/handoffs/{ticket.id}", cookies).text)
    sent = post(app, f"/console/handoffs/{ticket.id}/chat-reply", cookies, csrf=csrf, text=TYPED)
    assert (sent.status, sent.headers["location"]) == (303, f"/console/handoffs/{ticket.id}?done=emailed")
    assert [m["To"] for m in inbox.messages] == ["jo@example.com"]
    assert HandoffQueue(engine).get(ticket.id).status == "resolved"
    [reply] = OutboundMessages(engine).of_conversation("wa-ticket").values()
    assert reply.via == "email" and reply.mailed_at is not None


def test_a_ticket_answered_in_the_chat_after_the_window_without_email_is_refused(make_app, tmp_path):
    app = make_app(RecordingAgent(memory=True))  # no SMTP: the ticket page offers the chat
    engine, cookies = start(app, tmp_path, "wa-nomail")
    add_channel(engine, "wa-nomail", "whatsapp", "Jo", NOW - dt.timedelta(days=2))
    ticket = HandoffQueue(engine).request(
        "wa-nomail",
        "complaint",
        {"complaint": "late"},
        contact_email="jo@example.com",
        ticket_due=NOW + dt.timedelta(days=1),
    )
    page = get(app, f"/console/handoffs/{ticket.id}", cookies).text
    assert "WhatsApp no longer takes the shop&#x27;s messages either" in page
    refused = post(app, f"/console/handoffs/{ticket.id}/chat-reply", cookies, csrf=csrf_of(page), text=TYPED)
    assert refused.status == 409 and "Email is not set up on this server" in refused.text
    assert f">{html.escape(TYPED, quote=True)}</textarea>" in refused.text
    assert HandoffQueue(engine).get(ticket.id).status == "ticket"
    assert OutboundMessages(engine).of_conversation("wa-nomail") == {}


def test_a_person_taking_the_chat_ends_the_question_the_bot_was_asking(make_app, tmp_path):
    from rasa.shared.core.events import ActiveLoop

    app = make_app(RecordingAgent(memory=True))
    engine, cookies = start(app, tmp_path, "asked-for-email")
    tracker = asyncio.run(app.ctx.agent.tracker_store.retrieve("asked-for-email"))
    tracker.update(ActiveLoop("order_form"))
    asyncio.run(app.ctx.agent.tracker_store.save(tracker))
    claimed(app, engine, cookies, "asked-for-email")
    after = asyncio.run(app.ctx.agent.tracker_store.retrieve("asked-for-email"))
    assert after.active_loop_name is None and after.get_slot("requested_slot") is None
    assert after.latest_bot_utterance.text == "Mara joined the chat"


def test_the_trainers_conversations_name_channels_in_words():
    from bot.console.review_pages import channel_words

    assert [channel_words(c) for c in ("socketio", "rest", "whatsapp", "telegram", "cmdline")] == [
        "Website",
        "REST API",
        "WhatsApp",
        "Telegram",
        "cmdline",
    ]


def test_a_telegram_ticket_without_email_is_answered_on_telegram_from_its_page(make_app, tmp_path):
    app = make_app(RecordingAgent(memory=True))
    engine, cookies = start(app, tmp_path, "tg-ticket")
    add_channel(engine, "tg-ticket", "telegram", "Sam", NOW - dt.timedelta(hours=3))
    ticket = HandoffQueue(engine).request(
        "tg-ticket", "human_handoff", {"intent": "human_handoff"}, ticket_due=NOW + dt.timedelta(days=1)
    )
    page = get(app, f"/console/handoffs/{ticket.id}", cookies).text
    assert "Send on Telegram and close the ticket" in page and "Claim the chat" in page
    sent = post(app, f"/console/handoffs/{ticket.id}/chat-reply", cookies, csrf=csrf_of(page), text=TYPED)
    assert sent.status == 303
    reply = [m for m in OutboundMessages(engine).of_conversation("tg-ticket").values() if m.kind == "reply"]
    assert [(m.via, m.text) for m in reply] == [("chat", TYPED)]  # one message; the worker sends it
    assert HandoffQueue(engine).get(ticket.id).status != "ticket"


def test_a_window_whatsapp_says_closed_is_said_although_ours_is_open():
    refused = {
        1: _message(
            id=1,
            failed_at=NOW,
            error="window_closed: WhatsApp could not deliver it: (#131047) Re-engagement message",
        )
    }
    shown = view(_channel("whatsapp", NOW - dt.timedelta(hours=1)), messages=refused)
    assert shown.customer(when).endswith(
        "But the last message did not reach them: window_closed: WhatsApp "
        "could not deliver it: (#131047) Re-engagement message"
    )
    assert 'data-presence="closed"' in presence_html(shown, when)
