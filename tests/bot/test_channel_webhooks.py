"""What the providers' webhooks bring, read without a server: the signatures, the handshake, every event of a
batch, and what is not a customer's message (statuses, echoes, reads, group chats)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.channels.channel_settings import ChannelSettings, ChannelSettingsError
from bot.channels.messaging import messaging_channels
from bot.channels.meta_webhooks import handshake, messaging_events, signature_valid, whatsapp_messages
from bot.channels.outgoing import Button, Outgoing, numbered_text
from bot.channels.telegram_webhook import secret_valid, telegram_message
from bot.settings import Settings, SettingsError
from tests.bot.provider_webhooks import whatsapp_webhook

SECRET = "app-secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_the_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"object":"page","entry":[]}'
    assert signature_valid(SECRET, body, sign(body))
    assert signature_valid(SECRET, body, sign(body).upper().replace("SHA256=", "sha256="))
    assert not signature_valid(SECRET, body + b" ", sign(body))  # the same JSON re-serialised is not the body
    assert not signature_valid(SECRET, body, sign(body, "another app"))
    assert not signature_valid(SECRET, body, "sha1=" + hashlib.sha1(body).hexdigest())  # the old header
    assert not signature_valid(SECRET, body, None) and not signature_valid("", body, sign(body, ""))


def test_the_handshake_answers_only_our_verify_token():
    args = {"hub.mode": ["subscribe"], "hub.verify_token": ["our-token"], "hub.challenge": ["12345"]}
    assert handshake(args, "our-token") == "12345"
    assert handshake({**args, "hub.verify_token": ["guess"]}, "our-token") is None
    assert handshake({**args, "hub.mode": ["unsubscribe"]}, "our-token") is None
    assert handshake(args, "") is None  # no verify token set: nothing subscribes
    assert handshake({**args, "hub.challenge": ["<script>\n"]}, "our-token") is None


def test_telegram_secret_is_compared_whole():
    assert secret_valid("s" * 20, "s" * 20)
    assert not secret_valid("s" * 20, "s" * 19) and not secret_valid("s" * 20, None)
    assert not secret_valid("", "")


def whatsapp(*messages, phone_number_id="111", statuses=()):
    return whatsapp_webhook(messages, "447700900101", "Jo Baker", phone_number_id, statuses)


def test_every_whatsapp_message_of_a_batch_and_nothing_else():
    body = whatsapp(
        {
            "from": "447700900101",
            "id": "w1",
            "timestamp": "1764950000",
            "type": "text",
            "text": {"body": "hi"},
        },
        {
            "from": "447700900101",
            "id": "w2",
            "type": "interactive",
            "interactive": {"type": "list_reply", "list_reply": {"id": '/rate{"rating": 4}', "title": "4"}},
        },
        {
            "from": "447700900101",
            "id": "w3",
            "type": "image",
            "image": {"id": "media-1", "caption": "broken"},
        },
        {"from": "447700900101", "id": "w4", "type": "audio", "audio": {"id": "a"}},
        {"from": "447700900101", "id": "w5", "type": "reaction", "reaction": {"emoji": "👍"}},
        statuses=[{"id": "wamid.out", "status": "read"}],
    )
    body["entry"].append(
        whatsapp(
            {"from": "1", "id": "other-number", "type": "text", "text": {"body": "x"}}, phone_number_id="999"
        )["entry"][0]
    )
    found = whatsapp_messages(body, "111")
    assert [m.provider_message_id for m in found] == ["w1", "w2", "w3", "w4"]
    text, tap, photo, voice = found
    assert (text.text, text.name, text.address, text.ack) == ("hi", "Jo Baker", "447700900101", "w1")
    assert text.sent_at is not None and text.sent_at.year == 2025
    assert tap.tap == '/rate{"rating": 4}'
    assert (photo.photo, photo.text) == ("media-1", "broken")
    assert voice.other == "a voice message"


def test_messenger_and_instagram_events_skip_echoes_and_reads():
    body = {
        "object": "page",
        "entry": [
            {
                "id": "P",
                "messaging": [
                    {
                        "sender": {"id": "6101"},
                        "timestamp": 1764950000000,
                        "message": {"mid": "m1", "text": "hello"},
                    },
                    {"sender": {"id": "PAGE"}, "message": {"mid": "m2", "text": "our own", "is_echo": True}},
                    {"sender": {"id": "6101"}, "read": {"watermark": 1}},
                ],
            },
            {
                "id": "P",
                "messaging": [
                    {
                        "sender": {"id": "6101"},
                        "message": {"mid": "m3", "text": "Yes", "quick_reply": {"payload": "/affirm"}},
                    },
                    {
                        "sender": {"id": "6101"},
                        "timestamp": 5,
                        "postback": {"title": "Talk to a person", "payload": "/human_handoff"},
                    },
                    {
                        "sender": {"id": "6101"},
                        "message": {
                            "mid": "m4",
                            "attachments": [
                                {"type": "image", "payload": {"url": "https://cdn.example/photo.jpg"}}
                            ],
                        },
                    },
                    {"sender": {"id": "6101"}, "message": {"mid": "m5", "attachments": [{"type": "audio"}]}},
                ],
            },
        ],
    }
    found = messaging_events(body)
    assert [m.provider_message_id for m in found] == ["m1", "m3", "postback:6101:5", "m4", "m5"]
    assert found[0].sent_at.year == 2025 and found[1].tap == "/affirm" and found[2].tap == "/human_handoff"
    assert found[3].photo == "https://cdn.example/photo.jpg" and found[4].other == "a voice message"


def test_telegram_private_messages_taps_and_photos_but_no_groups():
    chat = {"id": 42, "type": "private"}
    person = {"id": 42, "first_name": "Sam", "last_name": "Patel"}
    text = telegram_message(
        {
            "update_id": 7,
            "message": {"message_id": 1, "chat": chat, "from": person, "date": 1764950000, "text": "/start"},
        }
    )
    assert (text.provider_message_id, text.address, text.name, text.text) == ("7", "42", "Sam Patel", "hello")
    tap = telegram_message(
        {
            "update_id": 8,
            "callback_query": {"id": "cb1", "from": person, "data": "/affirm", "message": {"chat": chat}},
        }
    )
    assert (tap.tap, tap.ack) == ("/affirm", "cb1")
    photo = telegram_message(
        {
            "update_id": 9,
            "message": {
                "chat": chat,
                "caption": "this",
                "photo": [{"file_id": "small", "file_size": 100}, {"file_id": "big", "file_size": 90_000}],
            },
        }
    )
    assert (photo.photo, photo.text) == ("big", "this")
    group = {"update_id": 10, "message": {"chat": {"id": -5, "type": "group"}, "text": "hi"}}
    assert telegram_message(group) is None and telegram_message({"update_id": "x"}) is None
    sticker = telegram_message({"update_id": 11, "message": {"chat": chat, "sticker": {"file_id": "s"}}})
    assert sticker.other == "a sticker"


def test_garbage_in_a_verified_body_is_no_message_and_no_crash():
    for body in (
        {"entry": "x"},
        {"entry": [None, 3, {"changes": [{"value": "x"}]}]},
        {"entry": [{"messaging": [{"sender": "x"}, {"sender": {"id": 5}, "message": []}]}]},
    ):
        assert whatsapp_messages(body, "111") == [] and messaging_events(body) == []
    assert telegram_message({"update_id": 1, "message": {"chat": {"type": "private"}}}) is None


def test_a_channel_is_on_only_with_its_secret():
    on = ChannelSettings(
        meta_app_secret="s",
        meta_verify_token="v",
        whatsapp_token="t",
        whatsapp_phone_number_id="1",
        telegram_bot_token="1:x",
        telegram_secret_token="a-long-enough-secret-token",
    )
    assert on.enabled == ("whatsapp", "telegram")
    assert [c.name() for c in messaging_channels(on)] == ["whatsapp", "telegram"]
    with pytest.raises(ChannelSettingsError, match="META_APP_SECRET"):
        ChannelSettings.from_env(
            {"WHATSAPP_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": "1", "META_VERIFY_TOKEN": "v"}
        )
    with pytest.raises(SettingsError, match="TELEGRAM_SECRET_TOKEN"):
        Settings.from_env({"TELEGRAM_BOT_TOKEN": "1:x"})
    with pytest.raises(SettingsError, match="16-256"):
        Settings.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_SECRET_TOKEN": "short"})
    with pytest.raises(SettingsError, match="https"):
        Settings.from_env({"META_GRAPH_URL": "http://graph.example"})
    assert Settings.from_env({}).channels.enabled == ()
    assert Settings.from_env({"META_HUMAN_AGENT": "true"}).channels.meta_human_agent is True
    assert Settings.from_env({"META_HUMAN_AGENT": "0"}).channels.meta_human_agent is False
    with pytest.raises(SettingsError, match="META_HUMAN_AGENT='maybe' must be true or false"):
        Settings.from_env({"META_HUMAN_AGENT": "maybe"})
    late = Settings.from_env({"WHATSAPP_REPLY_TEMPLATE": "shop_reply", "WHATSAPP_TEMPLATE_LANGUAGE": "en_GB"})
    assert late.channels.late_replies.whatsapp_template == "shop_reply"
    assert late.channels.whatsapp_template_language == "en_GB"
    with pytest.raises(SettingsError, match="WHATSAPP_REPLY_TEMPLATE must be"):
        Settings.from_env({"WHATSAPP_REPLY_TEMPLATE": "Shop Reply!"})
    with pytest.raises(SettingsError, match="WHATSAPP_TEMPLATE_LANGUAGE must be"):
        Settings.from_env({"WHATSAPP_TEMPLATE_LANGUAGE": "English"})


def test_a_persons_words_carry_their_name_and_buttons_become_a_numbered_list_where_needed():
    reply = Outgoing.from_message({"text": "On its way", "sender": {"type": "person", "name": "Mara"}})
    notice = Outgoing.from_message(
        {"text": "Mara joined the chat", "notice": "joined", "sender": {"type": "person", "name": "Mara"}}
    )
    assert (reply.text, notice.text) == ("Mara: On its way", "Mara joined the chat")
    bot = Outgoing.from_message(
        {"text": "Rate us", "buttons": [{"title": "5", "payload": "/rate"}], "image": "/static/logo.png"},
        "https://shop.example",
    )
    assert bot.buttons == (Button("5", "/rate"),) and bot.image == "https://shop.example/static/logo.png"
    assert numbered_text("Pick one", [Button("Yes", "/affirm"), Button("No", "/deny")]).splitlines() == [
        "Pick one",
        "",
        "1. Yes",
        "2. No",
        "",
        "Reply with the number of your choice.",
    ]
    assert json.dumps(Outgoing.from_message({"text": "x", "image": "javascript:alert(1)"}).image) == '""'


def test_whatsapp_failed_statuses_name_our_message_and_why():
    from bot.channels.meta_webhooks import whatsapp_failures

    statuses = [
        {"id": "wamid.A", "status": "failed", "errors": [{"code": 131047, "title": "Re-engagement message"}]},
        {"id": "wamid.B", "status": "failed", "errors": [{"code": 131026, "title": "Message undeliverable"}]},
        {"id": "wamid.C", "status": "delivered"},
        {"id": "wamid.D", "status": "read"},
        {"status": "failed"},
    ]
    body = whatsapp(phone_number_id="111", statuses=statuses)
    assert whatsapp_failures(body, "111") == [
        ("wamid.A", "window_closed: WhatsApp could not deliver it: (#131047) Re-engagement message"),
        ("wamid.B", "WhatsApp could not deliver it: (#131026) Message undeliverable"),
    ]
    assert whatsapp_failures(body, "another number") == [] and whatsapp_messages(body, "111") == []
