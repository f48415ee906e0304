"""WhatsApp, Messenger, Instagram and Telegram against the real servers, with fake providers on loopback.

The web server's own HTTP clients point at the fakes (META_GRAPH_URL, TELEGRAM_API_URL); the tests post the
webhooks the providers would, signed or not, and read what the server sent back to the fake provider: the
bot's answers (buttons in each platform's form), a person's reply from the console after a handoff, retries
after the provider failed, and the 24-hour window.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
import requests
from sqlalchemy import select, update

from actions.services import order_tables as t
from actions.services.handoffs import HandoffQueue
from actions.services.owners import OwnerAccounts
from tests.bot.fake_providers import FakeGraphApi, FakeTelegramApi
from tests.bot.provider_webhooks import (
    meta_signed,
    page_text,
    page_webhook,
    telegram_update,
    wa_text,
    whatsapp_webhook,
)
from tests.bot.servers import running_servers
from tests.bot.test_person_delivery_e2e import PASSWORD, Console

pytestmark = pytest.mark.e2e
APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
TELEGRAM_SECRET = "test-secret-token-0123456789"
OWNER = "owner-channels@example.com"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(scope="module")
def providers():
    with FakeGraphApi() as graph, FakeTelegramApi() as telegram:
        yield graph, telegram


@pytest.fixture(scope="module")
def bot(tmp_path_factory, providers):
    graph, telegram = providers
    env = {**graph.env(), **telegram.env(), "META_APP_SECRET": APP_SECRET, "META_VERIFY_TOKEN": VERIFY_TOKEN}
    with running_servers(tmp_path_factory.mktemp("channels"), env, demo_orders=True) as running:
        OwnerAccounts(running.engine).add(OWNER, "Mara", PASSWORD)
        yield running


def signed(body: Dict[str, Any], secret: str = APP_SECRET) -> Dict[str, Any]:
    raw, headers = meta_signed(body, secret)
    return {"data": raw, "headers": headers}


def whatsapp_body(*messages: Dict[str, Any], wa_id: str = "447700900555", name: str = "Jo Baker") -> Dict:
    return whatsapp_webhook(messages, wa_id, name)


def post(bot, channel: str, **kwargs: Any) -> requests.Response:
    return requests.post(f"{bot.base_url}/webhooks/{channel}/webhook", timeout=10, **kwargs)


def sent_to(provider, address: str, after: int = 0, count: int = 1, timeout: float = 30.0) -> List[Any]:
    """The message bodies sent to ``address`` after the first ``after`` of them, once there are ``count``."""

    def found(_: Any) -> List[Any]:
        bodies = [
            r.json
            for r in provider.requests
            if r.json
            and address in json.dumps(r.json)
            and r.path.rstrip("/").endswith(("messages", "sendMessage", "sendPhoto"))
            and "status" not in r.json
            and "sender_action" not in r.json
        ]
        return bodies[after:] if len(bodies) >= after + count else []

    return provider.wait_for(found, timeout=timeout)


def conversation_of(bot, channel: str, address: str) -> str:
    c = t.channel_conversations.c
    with bot.engine.connect() as connection:
        return connection.execute(
            select(c.conversation_id).where(c.channel == channel, c.address == address)
        ).scalar_one()


def test_unverified_webhooks_are_refused_and_reach_nothing(bot, providers):
    body = whatsapp_body(wa_text("hello"), wa_id="447700900999")
    unsigned = post(bot, "whatsapp", data=json.dumps(body), headers={"Content-Type": "application/json"})
    wrong = post(bot, "whatsapp", **signed(body, "not the app secret"))
    assert (unsigned.status_code, wrong.status_code) == (401, 403)
    assert unsigned.json()["error"] == "signature_missing" and wrong.json()["error"] == "signature_invalid"
    for channel in ("messenger", "instagram"):
        assert post(bot, channel, json=page_webhook("page", "99", page_text("hi"))).status_code == 401
    update_ = telegram_update(999, "hello")
    assert post(bot, "telegram", json=update_).status_code == 401
    assert (
        post(
            bot,
            "telegram",
            json=update_,
            headers={"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-token-0000"},
        ).status_code
        == 403
    )
    with bot.engine.connect() as connection:
        assert connection.execute(select(t.channel_inbox)).all() == []
        assert connection.execute(select(t.channel_conversations)).all() == []


def test_meta_handshake_echoes_the_challenge_only_with_our_verify_token(bot):
    for channel in ("whatsapp", "messenger", "instagram"):
        ok = requests.get(
            f"{bot.base_url}/webhooks/{channel}/webhook",
            timeout=10,
            params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        )
        assert (ok.status_code, ok.text) == (200, "1158201444")
        wrong = requests.get(
            f"{bot.base_url}/webhooks/{channel}/webhook",
            timeout=10,
            params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"},
        )
        assert wrong.status_code == 403 and "1158201444" not in wrong.text


def test_whatsapp_batch_is_answered_message_by_message_and_a_retry_is_not_answered_twice(bot, providers):
    graph, _ = providers
    wa_id = "447700900101"
    batch = whatsapp_body(wa_text("hi"), wa_text("what are your opening hours?"), wa_id=wa_id)
    first = post(bot, "whatsapp", **signed(batch))
    assert first.status_code == 200 and first.json() == {"status": "ok", "new": 2, "duplicates": 0}
    again = post(bot, "whatsapp", **signed(batch))  # Meta did not hear our answer: it sends the batch again
    assert again.json() == {"status": "ok", "new": 0, "duplicates": 2}
    answers = sent_to(graph, wa_id, count=2)
    time.sleep(3)  # anything sent twice would have arrived by now
    bodies = sent_to(graph, wa_id, count=1)
    words = " ".join(json.dumps(b) for b in bodies).lower()
    assert "open" in words and len(bodies) == len(answers)
    greeting = bodies[0]
    assert greeting["to"] == wa_id and greeting["messaging_product"] == "whatsapp"
    with bot.engine.connect() as connection:
        handled = connection.execute(select(t.channel_inbox.c.handled_at)).scalars().all()
    assert len(handled) == 2 and all(handled)
    # Read receipts with "typing…" went to WhatsApp before the answers (two blue ticks, then the dots)
    receipts = [i for i, r in enumerate(graph.requests) if r.json and r.json.get("status") == "read"]
    assert len(receipts) == 2
    assert all(graph.requests[i].json["typing_indicator"] == {"type": "text"} for i in receipts)
    assert receipts[0] < next(i for i, r in enumerate(graph.requests) if r.send)


def test_whatsapp_buttons_are_reply_buttons_and_a_tap_comes_back_as_the_payload(bot, providers):
    graph, _ = providers
    wa_id = "447700900202"
    post(bot, "whatsapp", **signed(whatsapp_body(wa_text("hello"), wa_id=wa_id)))
    bodies = sent_to(graph, wa_id, count=1)
    interactive = [b for b in bodies if b.get("type") == "interactive"]
    assert interactive, bodies
    action = interactive[-1]["interactive"]["action"]
    choices = action.get("buttons") or [r for s in action["sections"] for r in s["rows"]]
    first = choices[0].get("reply", choices[0])
    tap = {
        "id": f"wamid.{uuid.uuid4().hex}",
        "type": "interactive",
        "interactive": {
            "type": "button_reply" if "buttons" in action else "list_reply",
            "button_reply" if "buttons" in action else "list_reply": {
                "id": first["id"],
                "title": first["title"],
            },
        },
    }
    before = len(sent_to(graph, wa_id))
    assert first["id"] == "/order_status"
    assert post(bot, "whatsapp", **signed(whatsapp_body(tap, wa_id=wa_id))).status_code == 200
    answer = json.dumps(sent_to(graph, wa_id, after=before))
    assert "order number" in answer.lower(), answer


def test_a_provider_failure_is_retried_and_delivered_once(bot, providers):
    _, telegram = providers
    chat_id = 5550001
    telegram.fail_next(2, 502)
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    assert post(bot, "telegram", json=telegram_update(chat_id, "/start"), headers=headers).status_code == 200
    bodies = sent_to(telegram, str(chat_id), count=1, timeout=40)
    assert bodies[0]["chat_id"] in (chat_id, str(chat_id))
    conversation_id = conversation_of(bot, "telegram", str(chat_id))
    message = until(lambda: _first_outbound(bot, conversation_id, delivered=True))
    assert message["attempts"] == 3 and message["error"] is None
    assert len(telegram.sent(channel="telegram")) >= 1
    failed = [r for r in telegram.requests if r.status == 502]
    assert len(failed) == 2


def until(found, timeout: float = 20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("not found in time")


def _first_outbound(bot, conversation_id: str, delivered: bool = False):
    with bot.engine.connect() as connection:
        row = (
            connection.execute(
                select(t.outbound_messages)
                .where(t.outbound_messages.c.conversation_id == conversation_id)
                .order_by(t.outbound_messages.c.id)
            )
            .mappings()
            .first()
        )
    return row if row and (row["delivered_at"] or not delivered) else None


@pytest.mark.parametrize(
    "channel, address",
    [("whatsapp", "447700900303"), ("messenger", "6101"), ("instagram", "7101"), ("telegram", "5550002")],
)
def test_a_handoff_and_the_persons_reply_go_through_the_same_channel(bot, providers, channel, address):
    graph, telegram = providers
    provider = telegram if channel == "telegram" else graph
    webhook = say(channel, address, "I want to talk to a person")
    assert post(bot, channel, **webhook).status_code == 200
    asked = json.dumps(sent_to(provider, address, count=1))
    conversation_id = conversation_of(bot, channel, address)
    if "email address" in asked:  # the shop is closed now: a ticket, answered when it opens
        webhook = say(channel, address, "jo.baker@example.com")
        assert post(bot, channel, **webhook).status_code == 200
    handoff = _waiting_handoff(bot, conversation_id)
    before = len(sent_to(provider, address, count=1))
    owner = Console(bot.base_url, OWNER)
    if handoff.status == "ticket":
        assert (
            owner.act(handoff.id, "chat-reply", text="Hello, Mara here. I'm looking at it now.").status_code
            == 200
        )
        expected = ["Mara: Hello, Mara here."]
    else:
        assert owner.act(handoff.id, "claim").status_code == 200
        assert (
            owner.act(handoff.id, "reply", text="Hello, Mara here. I'm looking at it now.").status_code == 200
        )
        expected = ["Mara joined the chat", "Mara: Hello, Mara here."]
    words = json.dumps(sent_to(provider, address, after=before, count=len(expected)))
    assert all(text in words for text in expected), words
    page = owner.page(handoff.id)
    assert {
        "whatsapp": "WhatsApp",
        "messenger": "Messenger",
        "instagram": "Instagram",
        "telegram": "Telegram",
    }[channel] in page


def test_on_whatsapp_the_number_on_the_order_proves_it(bot, providers):
    """KC-10001's phone is 07700 900101: from WhatsApp +44 7700 900101 the order number is enough."""
    graph, _ = providers
    wa_id = "447700900101"
    assert post(bot, "whatsapp", **say("whatsapp", wa_id, "where is my order KC-10001?")).status_code == 200
    proved = "your WhatsApp number is the one on it"
    words = json.dumps(graph.wait_for(lambda _: [
        b for b in sent_to(graph, wa_id, count=1) if proved in json.dumps(b)]))
    assert "Thank you, Alex, I've found order KC-10001" in words
    time.sleep(1)
    answered = json.dumps(sent_to(graph, wa_id, count=2))
    assert "email" not in answered.lower() and "KC-10001" in answered


def test_typing_shows_while_the_bot_answers_and_not_while_a_person_has_the_chat(bot, providers):
    graph, _ = providers
    address = "6303"

    def actions() -> List[str]:
        return [
            r.json["sender_action"]
            for r in graph.requests
            if r.json and r.json.get("sender_action") and r.json["recipient"]["id"] == address
        ]

    def all_sent(conversation_id: str) -> int:
        """How many messages reached Messenger, once every message queued for the conversation has."""
        c = t.outbound_messages.c
        deadline = time.time() + 30
        while time.time() < deadline:
            with bot.engine.connect() as connection:
                waiting = connection.execute(
                    select(c.id).where(c.conversation_id == conversation_id, c.delivered_at.is_(None))
                ).first()
            if waiting is None:
                return len(sent_to(graph, address, count=1))
            time.sleep(0.2)
        raise AssertionError("messages still waiting to be sent")

    assert post(bot, "messenger", **say("messenger", address, "hi")).status_code == 200
    sent_to(graph, address, count=1)
    conversation_id = conversation_of(bot, "messenger", address)
    all_sent(conversation_id)
    assert actions() == ["mark_seen", "typing_on"]
    handoff = HandoffQueue(bot.engine).request(conversation_id, "human_handoff", {"intent": "human_handoff"})
    assert Console(bot.base_url, OWNER).act(handoff.id, "claim").status_code == 200
    with_person = all_sent(conversation_id)  # with "Mara joined the chat"
    assert post(bot, "messenger", **say("messenger", address, "are you there?")).status_code == 200
    graph.wait_for(lambda _: len(actions()) == 3)
    time.sleep(2)  # an answer or a typing_on would have come by now
    assert actions() == ["mark_seen", "typing_on", "mark_seen"]  # seen, but no "typing…" without an answer
    assert all_sent(conversation_id) == with_person


def say(channel: str, address: str, text: str) -> Dict[str, Any]:
    if channel == "whatsapp":
        return signed(whatsapp_body(wa_text(text), wa_id=address))
    if channel == "telegram":
        return {
            "json": telegram_update(int(address), text),
            "headers": {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        }
    return signed(page_webhook("page" if channel == "messenger" else "instagram", address, page_text(text)))


def _waiting_handoff(bot, conversation_id: str):
    deadline = time.time() + 20
    while time.time() < deadline:
        with bot.engine.connect() as connection:
            row = connection.execute(
                select(t.handoffs.c.id).where(t.handoffs.c.conversation_id == conversation_id)
            ).first()
        if row:
            return HandoffQueue(bot.engine).get(row.id)
        time.sleep(0.3)
    raise AssertionError(f"no handoff for {conversation_id}")


def test_outside_the_24_hour_window_nothing_is_sent_and_the_console_says_why(bot, providers):
    graph, _ = providers
    address = "6202"
    assert post(bot, "messenger", **say("messenger", address, "talk to a human please")).status_code == 200
    if "email address" in json.dumps(sent_to(graph, address, count=1)):
        post(bot, "messenger", **say("messenger", address, "sam.patel@example.com"))
    conversation_id = conversation_of(bot, "messenger", address)
    handoff = _waiting_handoff(bot, conversation_id)
    with bot.engine.begin() as connection:  # the customer's last message was two days ago
        connection.execute(
            update(t.channel_conversations)
            .where(t.channel_conversations.c.conversation_id == conversation_id)
            .values(last_inbound_at=dt.datetime.utcnow() - dt.timedelta(days=2))
        )
    owner = Console(bot.base_url, OWNER)
    if handoff.status == "ticket":
        answer = owner.act(handoff.id, "chat-reply", text="Sorry for the wait!")
    else:
        owner.act(handoff.id, "claim")
        answer = owner.act(handoff.id, "reply", text="Sorry for the wait!")
    # These servers have no SMTP server: the reply can go neither way, and the console says why
    assert answer.status_code == 409 and "24 hours" in answer.text, answer.text[-2000:]
    time.sleep(3)
    assert "Sorry for the wait" not in json.dumps([r.json for r in graph.requests])


def test_a_photo_on_whatsapp_is_fetched_and_stored_with_the_conversation(bot, providers):
    graph, _ = providers
    wa_id = "447700900404"
    media_id = graph.add_media("media-photo-1", PNG, "image/png")
    photo = {
        "id": f"wamid.{uuid.uuid4().hex}",
        "type": "image",
        "image": {"id": media_id, "mime_type": "image/png", "caption": "my mug arrived broken"},
    }
    assert post(bot, "whatsapp", **signed(whatsapp_body(photo, wa_id=wa_id))).status_code == 200
    answer = json.dumps(sent_to(graph, wa_id, count=1))
    assert "order number" in answer.lower(), answer  # the caption's answer, for the photo and its caption
    conversation_id = conversation_of(bot, "whatsapp", wa_id)
    stored = list((Path(bot.env["UPLOAD_DIR"]) / conversation_id).glob("*.png"))
    assert [path.read_bytes() for path in stored] == [PNG]


def test_a_voice_message_gets_a_plain_answer(bot, providers):
    graph, _ = providers
    wa_id = "447700900505"
    voice = {"id": f"wamid.{uuid.uuid4().hex}", "type": "audio", "audio": {"id": "voice-1"}}
    assert post(bot, "whatsapp", **signed(whatsapp_body(voice, wa_id=wa_id))).status_code == 200
    bodies = sent_to(graph, wa_id, count=1)
    assert "can't open a voice message" in json.dumps(bodies)


def test_a_message_whatsapp_reports_undelivered_later_is_not_delivered_in_the_console(bot, providers):
    graph, _ = providers
    wa_id = "447700900707"
    assert post(bot, "whatsapp", **say("whatsapp", wa_id, "how much is shipping?")).status_code == 200
    sent_to(graph, wa_id, count=1)
    conversation_id = conversation_of(bot, "whatsapp", wa_id)
    row = until(lambda: _first_outbound(bot, conversation_id, delivered=True))
    assert row["provider_message_id"].startswith("wamid.")
    failed = {
        "id": row["provider_message_id"],
        "status": "failed",
        "recipient_id": wa_id,
        "errors": [{"code": 131047, "title": "Re-engagement message"}],
    }
    status = post(bot, "whatsapp", **signed(whatsapp_webhook([], wa_id, statuses=[failed])))
    assert status.status_code == 200 and status.json()["new"] == 0
    with bot.engine.connect() as connection:
        after = (
            connection.execute(select(t.outbound_messages).where(t.outbound_messages.c.id == row["id"]))
            .mappings()
            .one()
        )
        problem = (
            connection.execute(select(t.bot_errors).where(t.bot_errors.c.conversation_id == conversation_id))
            .mappings()
            .one()
        )
    assert after["delivered_at"] is None and after["error"].startswith("window_closed: WhatsApp could not")
    assert problem["kind"] == "not_delivered" and "131047" in problem["detail"]


def test_a_message_taken_when_the_web_server_died_is_answered_once_after_it_is_back(bot, providers):
    """SIGKILL right after the webhook's 200: the message is in the inbox, maybe held by the dead process or
    its answer queued; the next process answers it, once, within its claim's lapse (30 s)."""
    graph, _ = providers
    wa_id = "447700900606"
    assert post(bot, "whatsapp", **say("whatsapp", wa_id, "what are your opening hours?")).status_code == 200
    bot.web.kill()
    bot.web.wait(timeout=10)
    began = time.monotonic()
    bot.start_web()
    answer = sent_to(graph, wa_id, count=1, timeout=90)
    took = time.monotonic() - began
    time.sleep(3)
    assert len(sent_to(graph, wa_id, count=1)) == len(answer) == 1, answer  # not twice
    assert "open" in json.dumps(answer).lower() and took < 90
