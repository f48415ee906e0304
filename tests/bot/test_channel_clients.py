"""The outbound clients of WhatsApp, Messenger, Instagram and Telegram against fake provider servers:
what each request carries, and how every kind of failure is reported."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from typing import Any, AsyncIterator, Dict, Iterator, List, Tuple

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from actions.services import order_tables as t
from actions.services.channels.conversations import ChannelConversations, LateReplies
from actions.services.channels.inbox import ChannelInbox, Inbound
from actions.services.channels.outbox import ChannelOutbox
from actions.services.chat_delivery import OutboundMessages
from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.channels.channel_sender import ChannelSender
from bot.channels.meta_send_api import InstagramClient, MessengerClient
from bot.channels.outgoing import Button, Delivery, MediaError, Outgoing
from bot.channels.provider_http import MAX_MEDIA_BYTES
from bot.channels.telegram_api import TelegramClient
from bot.channels.whatsapp_api import WhatsAppClient
from tests.bot.fake_providers import FakeGraphApi, FakeTelegramApi

CUSTOMER = "447700900001"
PHOTO = "https://shop.example/media/kettle.jpg"
JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 100


def buttons(count: int, title: str = "Option", payload: str = "/choose") -> tuple:
    return tuple(Button(f"{title} {n}", f"{payload}{n}") for n in range(1, count + 1))


def sent_ok(delivery: Delivery) -> bool:
    """Taken by the platform, with nothing to report but (on WhatsApp) its id for the message."""
    return delivery == Delivery(True, provider_message_id=delivery.provider_message_id)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def graph() -> Iterator[FakeGraphApi]:
    with FakeGraphApi() as fake:
        yield fake


@pytest.fixture
def telegram() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi() as fake:
        yield fake


@pytest.fixture
async def whatsapp(graph: FakeGraphApi) -> AsyncIterator[WhatsAppClient]:
    client = WhatsAppClient(graph.settings())
    yield client
    await client.close()


@pytest.fixture
async def messenger(graph: FakeGraphApi) -> AsyncIterator[MessengerClient]:
    client = MessengerClient(graph.settings())
    yield client
    await client.close()


@pytest.fixture
async def instagram(graph: FakeGraphApi) -> AsyncIterator[InstagramClient]:
    client = InstagramClient(graph.settings())
    yield client
    await client.close()


@pytest.fixture
async def bot(telegram: FakeTelegramApi) -> AsyncIterator[TelegramClient]:
    client = TelegramClient(telegram.settings())
    yield client
    await client.close()


def numbered_lines(text: str) -> list:
    return [line for line in text.splitlines() if line[:1].isdigit()]


# -- WhatsApp ----------------------------------------------------------------------------------------------
async def test_whatsapp_text_carries_the_token_and_previews_links(whatsapp, graph) -> None:
    first = await whatsapp.send(CUSTOMER, Outgoing("Track it at https://shop.example/t/1"))
    assert sent_ok(first) and first.provider_message_id.startswith("wamid.")  # a later failure names it
    assert sent_ok(await whatsapp.send(CUSTOMER, Outgoing("x" * 5000)))
    first, second = graph.requests
    assert (first.method, first.path) == ("POST", f"{graph.phone_number_id}/messages")
    assert first.headers["Authorization"] == f"Bearer {graph.whatsapp_token}"
    assert first.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "text",
        "text": {"body": "Track it at https://shop.example/t/1", "preview_url": True},
    }
    assert second.json["text"]["preview_url"] is False
    assert len(second.json["text"]["body"]) == 4096 and second.json["text"]["body"].endswith("…")


async def test_whatsapp_three_short_buttons_are_reply_buttons(whatsapp, graph) -> None:
    delivery = await whatsapp.send(CUSTOMER, Outgoing("Is that right?", buttons(3)))
    assert sent_ok(delivery)
    [sent] = graph.sent("interactive")
    assert sent["interactive"] == {
        "type": "button",
        "body": {"text": "Is that right?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": f"/choose{n}", "title": f"Option {n}"}} for n in (1, 2, 3)
            ]
        },
    }


async def test_whatsapp_four_to_ten_buttons_are_a_list(whatsapp, graph) -> None:
    assert (await whatsapp.send(CUSTOMER, Outgoing("Which order?", buttons(10)))).ok
    [sent] = graph.sent("interactive")
    assert sent["interactive"]["type"] == "list"
    assert sent["interactive"]["action"]["button"] == "Choose"
    [section] = sent["interactive"]["action"]["sections"]
    assert [row["id"] for row in section["rows"]] == [f"/choose{n}" for n in range(1, 11)]


@pytest.mark.parametrize(
    "choices",
    [
        buttons(2, title="A title longer than twenty"),  # too long for a reply button, and fewer than 4
        buttons(11),  # more than a list holds
        (Button("Yes", "/affirm"), Button("Yes", "/affirm")),  # Meta wants ids unique
    ],
)
async def test_whatsapp_buttons_that_fit_no_form_are_numbered(whatsapp, graph, choices) -> None:
    delivery = await whatsapp.send(CUSTOMER, Outgoing("Pick one", choices))
    assert delivery.ok and delivery.numbered
    [sent] = graph.sent("text")
    assert sent["text"]["body"].startswith("Pick one\n")
    assert numbered_lines(sent["text"]["body"]) == [f"{n}. {b.title}" for n, b in enumerate(choices, 1)]


async def test_whatsapp_image_with_caption_or_before_the_buttons(whatsapp, graph) -> None:
    assert sent_ok(await whatsapp.send(CUSTOMER, Outgoing("Our kettle", image=PHOTO)))
    assert sent_ok(await whatsapp.send(CUSTOMER, Outgoing("Like it?", buttons(2), image=PHOTO)))
    kinds = [r.kind for r in graph.requests]
    assert kinds == ["image", "image", "interactive"]
    first, second, third = graph.sent()
    assert first["image"] == {"link": PHOTO, "caption": "Our kettle"}
    assert second["image"] == {"link": PHOTO}
    assert third["interactive"]["body"]["text"] == "Like it?"


async def test_whatsapp_a_failing_image_ends_the_message(whatsapp, graph) -> None:
    graph.fail_next(1, 503)
    delivery = await whatsapp.send(CUSTOMER, Outgoing("Like it?", buttons(2), image=PHOTO))
    assert not delivery.ok and delivery.retry
    assert [r.kind for r in graph.requests] == ["image"]  # the text was not sent without its image


def queued(tmp_path, channel: str, address: str, *payloads: Dict[str, Any]) -> Tuple[Engine, str]:
    """A database where ``address`` wrote on ``channel`` and the bot's answers ``payloads`` wait to be sent;
    returns it and the conversation's id."""
    engine = create_database_engine(f"sqlite:///{tmp_path}/outbox.db")
    migrate(engine)
    inbox = ChannelInbox(engine)
    inbox.accept(channel, [Inbound(f"{channel}.{address}", address, text="hello?")])
    [item] = inbox.claim()
    inbox.finish(item, list(payloads))
    return engine, item.conversation_id


async def test_a_message_in_parts_is_tried_again_from_the_part_that_failed(graph, tmp_path) -> None:
    """The photo went and its buttons met a 502: the next try sends only the buttons, so the customer does
    not get the photo twice."""
    choices = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    like_it = {"text": "Like it?", "image": PHOTO, "buttons": choices}
    engine, _ = queued(tmp_path, "whatsapp", CUSTOMER, like_it)
    client = WhatsAppClient(graph.settings())
    sender = ChannelSender(ChannelOutbox(engine), ChannelConversations(engine), {"whatsapp": client})
    try:
        graph.fail_next(1, 502, after=1)
        assert await sender.send_due() == 0
        with engine.begin() as connection:  # its back-off is over
            connection.execute(update(t.outbound_messages).values(next_attempt_at=None))
        assert await sender.send_due() == 1
    finally:
        await client.close()
        engine.dispose()
    assert [(r.kind, r.status) for r in graph.requests] == [
        ("image", 200), ("interactive", 502), ("interactive", 200)]
    assert [body["type"] for body in graph.sent()] == ["image", "interactive"]  # the photo once


def two_days_after(tmp_path, channel: str, address: str) -> Tuple[Engine, str]:
    """The bot's message and a person's reply wait, two days after the customer's last message."""
    engine, conversation_id = queued(tmp_path, channel, address)
    outbound = OutboundMessages(engine)
    outbound.add(conversation_id, "bot", {"text": "Anything else?"})
    reply = "Your parcel left today.\n\nTracking:    RM123"
    mara = {"type": "person", "name": "Mara"}
    outbound.add(conversation_id, "reply", {"text": reply, "sender": mara}, "Mara")
    with engine.begin() as connection:
        connection.execute(update(t.channel_conversations).values(
            last_inbound_at=dt.datetime.utcnow() - dt.timedelta(days=2)))
    return engine, conversation_id


async def send_due(
    engine: Engine, conversation_id: str, client: Any, late: LateReplies
) -> Tuple[int, List[Any]]:
    """Sends what is due through ``client`` (then closed); how many went, and the conversation's messages."""
    sender = ChannelSender(ChannelOutbox(engine), ChannelConversations(engine), {client.channel: client},
                           late=late)
    try:
        sent = await sender.send_due()
    finally:
        await client.close()
    messages = sorted(OutboundMessages(engine).of_conversation(conversation_id).values(), key=lambda m: m.id)
    engine.dispose()
    return sent, messages


@pytest.mark.parametrize("human_agent", [True, False])
async def test_a_persons_reply_after_the_24_hours_goes_tagged_human_agent_with_the_permission(
    graph, tmp_path, human_agent
) -> None:
    """Two days after the customer's last message on Messenger: with META_HUMAN_AGENT a person's reply goes,
    tagged HUMAN_AGENT; the bot's own message does not (Meta allows the tag for people only), and without
    the permission neither does."""
    engine, conversation_id = two_days_after(tmp_path, "messenger", "6024598877")
    graph.window_closed("6024598877")
    client = MessengerClient(graph.settings())
    sent, messages = await send_due(engine, conversation_id, client, LateReplies(human_agent=human_agent))
    assert sent == (1 if human_agent else 0)
    assert [m.failed_at is not None for m in messages] == [True, not human_agent]
    assert messages[0].error.startswith("window_closed: Messenger takes no messages more than 24 hours")
    assert [r.json for r in graph.requests] == ([{
        "recipient": {"id": "6024598877"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
        "message": {"text": "Mara: Your parcel left today.\n\nTracking:    RM123"}}] if human_agent else [])


@pytest.mark.parametrize("template, taken", [("shop_reply", True), ("not_approved", False)])
async def test_a_persons_reply_after_the_24_hours_goes_as_the_approved_whatsapp_template(
    graph, tmp_path, template, taken
) -> None:
    """Two days after on WhatsApp: the reply goes as the shop's template, on one line; the bot's message
    does not go. A template WhatsApp does not know is refused for good, with Meta's reason for the owner."""
    engine, conversation_id = two_days_after(tmp_path, "whatsapp", CUSTOMER)
    graph.window_closed(CUSTOMER)
    client = WhatsAppClient(graph.settings(whatsapp_template_language="en_GB"))
    sent, messages = await send_due(engine, conversation_id, client, LateReplies(whatsapp_template=template))
    assert sent == (1 if taken else 0)
    assert [m.failed_at is not None for m in messages] == [True, not taken]
    assert [r.json["template"] for r in graph.requests] == [{
        "name": template, "language": {"code": "en_GB"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "Mara: Your parcel left today. Tracking: RM123"}]}]}]
    if not taken:
        assert "Template name does not exist" in messages[1].error and messages[1].attempts == 1


async def test_whatsapp_fetch_media_follows_the_url_with_the_token(whatsapp, graph) -> None:
    graph.add_media("1037543291543636", JPEG, "image/jpeg")
    media = await whatsapp.fetch_media("1037543291543636")
    assert (media.data, media.content_type) == (JPEG, "image/jpeg")
    lookup, download = graph.requests
    assert lookup.path == "1037543291543636"
    assert download.path == "whatsapp_business/attachments/"
    assert download.headers["Authorization"] == f"Bearer {graph.whatsapp_token}"


async def test_whatsapp_fetch_media_missing_or_too_large(whatsapp, graph) -> None:
    with pytest.raises(MediaError, match="HTTP 400"):
        await whatsapp.fetch_media("404404")
    graph.add_media("big", b"x" * (MAX_MEDIA_BYTES + 1))
    with pytest.raises(MediaError, match="larger than 5 MB"):
        await whatsapp.fetch_media("big")


async def test_whatsapp_server_errors_and_rate_limits_are_retried(whatsapp, graph) -> None:
    graph.fail_next(1, 500)
    graph.fail_next(1, 429, headers={"Retry-After": "7"})
    graph.fail_next(
        1,
        400,
        {
            "error": {
                "message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                "type": "OAuthException",
                "code": 131056,
            }
        },
    )
    server, limited, pair = [await whatsapp.send(CUSTOMER, Outgoing("hi")) for _ in range(3)]
    assert server.retry and not server.ok and "HTTP 500" in server.error
    assert limited.retry and limited.retry_after == 7.0
    assert pair.retry and "131056" in pair.error
    assert sent_ok(await whatsapp.send(CUSTOMER, Outgoing("hi")))
    assert len(graph.requests) == 4


async def test_whatsapp_window_closed(whatsapp, graph) -> None:
    graph.window_closed(CUSTOMER)
    delivery = await whatsapp.send(CUSTOMER, Outgoing("Your order shipped"))
    assert delivery.window_closed and not delivery.ok and not delivery.retry
    assert graph.requests[0].status == 400


async def test_whatsapp_refusal_is_permanent_and_names_no_secret(graph) -> None:
    client = WhatsAppClient(graph.settings(whatsapp_token="wrong-token-123"))
    delivery = await client.send(CUSTOMER, Outgoing("hi"))
    await client.close()
    assert not delivery.ok and not delivery.retry and not delivery.window_closed
    assert (
        delivery.error
        == "WhatsApp refused the message: Invalid OAuth access token - Cannot parse access token"
    )
    assert graph.requests[0].status == 401


async def test_whatsapp_error_text_is_cut_and_loses_the_customers_number(whatsapp, graph) -> None:
    graph.fail_next(
        1, 400, {"error": {"message": f"Recipient {CUSTOMER} is not valid. " + "x" * 400, "code": 100}}
    )
    delivery = await whatsapp.send(CUSTOMER, Outgoing("hi"))
    assert CUSTOMER not in delivery.error and not delivery.retry
    assert len(delivery.error) <= len("WhatsApp refused the message: ") + 200


async def test_whatsapp_acknowledge_and_check(whatsapp, graph) -> None:
    await whatsapp.acknowledge("wamid.HBgMNDQ3NzAwOTAwMDAxFQIAEhgg")
    assert graph.requests[0].json == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.HBgMNDQ3NzAwOTAwMDAxFQIAEhgg",
    }
    assert graph.sent() == []  # a read receipt is no message
    result = await whatsapp.check()
    assert result.reachable and result.detail == "WhatsApp number +44 7700 900123 (Kettle & Crumb)"
    assert graph.requests[1].query == {"fields": "display_phone_number,verified_name"}
    await whatsapp.typing(CUSTOMER, "wamid.HBgMNDQ3NzAwOTAwMDAxFQIAEhgg")  # read and "typing…" at once
    assert graph.requests[2].json == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.HBgMNDQ3NzAwOTAwMDAxFQIAEhgg",
        "typing_indicator": {"type": "text"},
    }
    await whatsapp.typing(CUSTOMER, "")  # nothing to refer to: WhatsApp's indicator needs the message id
    assert len(graph.requests) == 3 and graph.sent() == []


async def test_whatsapp_check_with_a_bad_token(graph) -> None:
    client = WhatsAppClient(graph.settings(whatsapp_token="wrong-token-123"))
    result = await client.check()
    await client.close()
    assert not result.reachable and "HTTP 401" in result.detail and "wrong-token-123" not in result.detail


async def test_a_slow_provider_times_out_and_is_retried(graph) -> None:
    client = WhatsAppClient(graph.settings(), timeout_seconds=0.3)
    graph.delay_next(1, 2.0)
    delivery = await client.send(CUSTOMER, Outgoing("hi"))
    assert sent_ok(await client.send(CUSTOMER, Outgoing("hi again")))  # the session still works
    await client.close()
    assert delivery == Delivery(False, "WhatsApp did not answer: no answer within 0.3 s", retry=True)


async def test_unreachable_provider_is_retried_and_acknowledge_never_raises() -> None:
    port = closed_port()
    client = WhatsAppClient(FakeGraphApi().settings(meta_graph_url=f"http://127.0.0.1:{port}/v21.0"))
    delivery = await client.send(CUSTOMER, Outgoing("hi"))
    await client.acknowledge("wamid.1")
    result = await client.check()
    await client.close()
    assert not delivery.ok and delivery.retry and delivery.error.startswith("WhatsApp did not answer")
    assert not result.reachable


# -- Messenger and Instagram --------------------------------------------------------------------------------
async def test_messenger_quick_replies_and_image(messenger, graph) -> None:
    delivery = await messenger.send("6024598877", Outgoing("Like it?", buttons(2), image=PHOTO))
    assert sent_ok(delivery)
    image, text = graph.requests
    assert (image.path, image.channel) == ("me/messages", "messenger")
    assert image.headers["Authorization"] == f"Bearer {graph.page_token}"
    assert image.json == {
        "recipient": {"id": "6024598877"},
        "messaging_type": "RESPONSE",
        "message": {"attachment": {"type": "image", "payload": {"url": PHOTO, "is_reusable": True}}},
    }
    assert text.json["message"] == {
        "text": "Like it?",
        "quick_replies": [
            {"content_type": "text", "title": "Option 1", "payload": "/choose1"},
            {"content_type": "text", "title": "Option 2", "payload": "/choose2"},
        ],
    }


async def test_messenger_too_many_buttons_are_numbered(messenger, graph) -> None:
    delivery = await messenger.send("6024598877", Outgoing("Pick", buttons(14)))
    assert delivery.ok and delivery.numbered
    [sent] = graph.sent("text")
    assert "quick_replies" not in sent["message"]
    assert len(numbered_lines(sent["message"]["text"])) == 14


async def test_text_limits_of_messenger_and_instagram(messenger, instagram, graph) -> None:
    assert (await messenger.send("1", Outgoing("m" * 3000))).ok
    assert (await instagram.send("2", Outgoing("i" * 3000))).ok
    assert [len(body["message"]["text"]) for body in graph.sent()] == [2000, 1000]
    assert [r.channel for r in graph.requests] == ["messenger", "instagram"]
    assert graph.requests[1].headers["Authorization"] == f"Bearer {graph.instagram_token}"


async def test_meta_window_closed_and_unavailable_person(messenger, graph) -> None:
    graph.window_closed("6024598877")
    closed = await messenger.send("6024598877", Outgoing("hi"))
    assert closed.window_closed and not closed.retry and not closed.ok
    graph.fail_next(
        1, 400, {"error": {"message": "(#551) This person isn't available right now.", "code": 551}}
    )
    gone = await messenger.send("7000000001", Outgoing("hi"))
    assert not gone.ok and not gone.retry and not gone.window_closed
    assert gone.error == "Messenger refused the message: (#551) This person isn't available right now."


async def test_meta_rate_limit_code_is_retried(instagram, graph) -> None:
    graph.fail_next(
        1,
        400,
        {"error": {"message": "(#613) Calls to this api have exceeded the rate limit.", "code": 613}},
        headers={"Retry-After": "30"},
    )
    delivery = await instagram.send("1", Outgoing("hi"))
    assert delivery.retry and delivery.retry_after == 30.0


async def test_meta_fetch_media_from_the_cdn_without_a_token(messenger, graph) -> None:
    url = graph.media_url(graph.add_media("v/t1.15752-9/photo.jpg", JPEG, "image/jpeg"))
    media = await messenger.fetch_media(url)
    assert media.data == JPEG and media.content_type == "image/jpeg"
    assert "Authorization" not in graph.requests[0].headers
    with pytest.raises(MediaError, match="HTTP 404"):
        await messenger.fetch_media(graph.base_url + "/cdn/gone.jpg")
    with pytest.raises(MediaError, match="did not answer"):
        await messenger.fetch_media(f"http://127.0.0.1:{closed_port()}/x.jpg")


async def test_meta_acknowledge_and_check(messenger, instagram, graph) -> None:
    await messenger.acknowledge("6024598877")
    await instagram.typing("6024598877", "6024598877")
    assert [r.json for r in graph.requests] == [
        {"recipient": {"id": "6024598877"}, "sender_action": "mark_seen"},
        {"recipient": {"id": "6024598877"}, "sender_action": "mark_seen"},
        {"recipient": {"id": "6024598877"}, "sender_action": "typing_on"},
    ]
    assert graph.sent() == []  # sender actions are no messages
    assert (await messenger.check()).detail == "Facebook page Kettle & Crumb"
    assert (await instagram.check()).detail == "Instagram via page Kettle & Crumb"
    assert graph.requests[-1].query == {"fields": "id,name"}
    bad = InstagramClient(graph.settings(instagram_token="bad"))
    result = await bad.check()
    await bad.close()
    assert not result.reachable and "Invalid OAuth access token" in result.detail


# -- Telegram -------------------------------------------------------------------------------------------
async def test_telegram_text_with_an_inline_keyboard(bot, telegram) -> None:
    assert sent_ok(await bot.send("42", Outgoing("Is that right?", buttons(2))))
    [request] = telegram.requests
    assert request.path == f"bot{telegram.token}/sendMessage"
    assert request.json == {
        "chat_id": "42",
        "text": "Is that right?",
        "reply_markup": {
            "inline_keyboard": [
                [{"text": "Option 1", "callback_data": "/choose1"}],
                [{"text": "Option 2", "callback_data": "/choose2"}],
            ]
        },
    }


async def test_telegram_payloads_over_64_bytes_are_numbered(bot, telegram) -> None:
    # 33 two-byte characters: 33 characters, but 66 bytes of callback_data
    choices = (Button("Crème", '/inform{"note": "' + "é" * 33 + '"}'), Button("No", "/deny"))
    delivery = await bot.send("42", Outgoing("Which?", choices))
    assert delivery.ok and delivery.numbered
    [sent] = telegram.sent("sendMessage")
    assert "reply_markup" not in sent and numbered_lines(sent["text"]) == ["1. Crème", "2. No"]


async def test_telegram_photo_with_caption_or_then_the_text(bot, telegram) -> None:
    assert (await bot.send("42", Outgoing("Our kettle", buttons(1), image=PHOTO))).ok
    assert (await bot.send("42", Outgoing("y" * 2000, image=PHOTO))).ok
    captioned, bare, text = telegram.sent()
    assert captioned == {
        "chat_id": "42",
        "photo": PHOTO,
        "caption": "Our kettle",
        "reply_markup": {"inline_keyboard": [[{"text": "Option 1", "callback_data": "/choose1"}]]},
    }
    assert bare == {"chat_id": "42", "photo": PHOTO}
    assert text == {"chat_id": "42", "text": "y" * 2000}


async def test_telegram_rate_limit_blocked_and_server_error(bot, telegram) -> None:
    telegram.fail_next(1, 429)  # Telegram's body: parameters.retry_after = 3
    telegram.fail_next(1, 502)
    limited = await bot.send("42", Outgoing("hi"))
    failed = await bot.send("42", Outgoing("hi"))
    assert limited.retry and limited.retry_after == 3.0
    assert failed.retry and not failed.ok
    telegram.blocked("43")
    blocked = await bot.send("43", Outgoing("hi"))
    assert blocked == Delivery(False, "Telegram refused the message: Forbidden: bot was blocked by the user")


async def test_telegram_token_never_in_an_error(telegram, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = TelegramClient(telegram.settings(telegram_bot_token="999:wrong-token-abc"))
    refused = await wrong.send("42", Outgoing("secret words"))
    checked = await wrong.check()
    await wrong.close()
    gone = TelegramClient(telegram.settings(telegram_api_url=f"http://127.0.0.1:{closed_port()}"))
    unreachable = await gone.send("42", Outgoing("hi"))
    with pytest.raises(MediaError) as media_error:
        await gone.fetch_media("file-1")
    await gone.close()
    assert refused == Delivery(False, "Telegram refused the message: Unauthorized")
    assert unreachable.retry and not checked.reachable
    texts = [refused.error, checked.detail, unreachable.error, str(media_error.value)]
    texts += [record.getMessage() for record in caplog.records]
    assert not any(
        token in text for text in texts for token in ("wrong-token", telegram.token, "secret words")
    )
    assert not [r for r in caplog.records if r.name.startswith("bot.channels") and r.levelno >= logging.INFO]


async def test_telegram_fetch_media(bot, telegram) -> None:
    telegram.add_media("AgACAgQAAxkBAAIBZ", JPEG, "application/octet-stream")
    media = await bot.fetch_media("AgACAgQAAxkBAAIBZ")
    assert media.data == JPEG and media.content_type == "image/jpeg"  # from the file path's .jpg
    get_file, download = telegram.requests
    assert get_file.json == {"file_id": "AgACAgQAAxkBAAIBZ"}
    assert download.path.startswith(f"file/bot{telegram.token}/photos/")
    with pytest.raises(MediaError, match="invalid file_id"):
        await bot.fetch_media("unknown")
    telegram.add_media("huge", b"x" * (MAX_MEDIA_BYTES + 1))
    with pytest.raises(MediaError, match="larger than 5 MB"):
        await bot.fetch_media("huge")
    assert telegram.requests[-1].kind == "getFile"  # not downloaded at all: getFile gave its size


async def test_telegram_acknowledge(bot, telegram) -> None:
    await bot.acknowledge("4382bfdwdsb323b2d9")
    assert telegram.requests[0].json == {"callback_query_id": "4382bfdwdsb323b2d9"}
    await bot.acknowledge("")  # a typed message: no button to answer
    assert len(telegram.requests) == 1
    await bot.typing("5512", "")  # a typed message: only "typing…"
    assert telegram.requests[1].json == {"chat_id": "5512", "action": "typing"}
    assert telegram.requests[1].status == 200 and telegram.sent() == []
    telegram.blocked("5513")
    await bot.typing("5513", "")  # Telegram refuses it; typing swallows that
    assert telegram.requests[2].status == 403


async def test_telegram_set_webhook_and_check_warnings(bot, telegram) -> None:
    result = await bot.check()
    assert result.reachable and result.detail == "Telegram bot @kettle_crumb_bot"
    assert result.warnings == ("no webhook set: run python -m bot channels telegram-webhook URL",)
    ok = await bot.set_webhook("https://bot.example/webhooks/telegram", "test-secret-token-0123456789")
    assert ok == (True, "Webhook was set")
    assert telegram.requests[-1].json == {
        "url": "https://bot.example/webhooks/telegram",
        "secret_token": "test-secret-token-0123456789",
        "allowed_updates": ["message", "callback_query"],
        "drop_pending_updates": False,
    }
    assert (await bot.check()).warnings == ()
    telegram.set_webhook_info(
        last_error_date=1700000000,
        pending_update_count=4,
        last_error_message="Wrong response from the webhook: 502 Bad Gateway",
    )
    warnings = (await bot.check()).warnings
    assert any("502 Bad Gateway" in w for w in warnings) and any(w.startswith("4 updates") for w in warnings)
    refused = await bot.set_webhook("http://bot.example/hook", "test-secret-token-0123456789")
    assert refused == (False, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")


def test_fake_wait_for_sees_requests_from_another_thread(telegram) -> None:
    import threading
    import urllib.request

    def later() -> None:
        urllib.request.urlopen(f"{telegram.base_url}/bot{telegram.token}/getMe", data=b"").read()

    threading.Timer(0.1, later).start()
    [me] = telegram.wait_for(lambda requests: [r for r in requests if r.kind == "getMe"], timeout=5)
    assert me.status == 200
    with pytest.raises(AssertionError, match="not within"):
        telegram.wait_for(lambda requests: False, timeout=0.1)


def test_a_client_outlives_its_event_loop(telegram) -> None:
    # A CLI may run check() and set_webhook() each in an asyncio.run of its own: a session is per loop.
    import asyncio

    client = TelegramClient(telegram.settings())

    async def closing(call: Any) -> Any:
        try:
            return await call
        finally:
            await client.close()

    assert asyncio.run(closing(client.check())).reachable
    assert asyncio.run(
        closing(client.set_webhook("https://bot.example/hook", "test-secret-token-0123456789"))
    )[0]
    assert [r.kind for r in telegram.requests] == ["getMe", "getWebhookInfo", "setWebhook"]


# -- Long titles and scales (found by trying it as customers) ---------------------------------------------
async def test_whatsapp_titles_too_long_for_buttons_go_in_a_list_cut_with_the_whole_title_below(
    whatsapp, graph
):
    two = (Button("Change delivery address", "/change_shipping_address"), Button("Something else", "/help"))
    assert (await whatsapp.send(CUSTOMER, Outgoing("What shall I do?", two))).numbered is False
    long = (
        Button("House Espresso Blend 250 g, whole beans", "/p1"),
        Button("House Espresso Blend 1 kg", "/p2"),
    )
    assert (await whatsapp.send(CUSTOMER, Outgoing("Which one?", long))).numbered is False
    first, second = [r.json["interactive"] for r in graph.requests if r.send]
    assert first["type"] == "list" and [row["title"] for row in first["action"]["sections"][0]["rows"]] == [
        "Change delivery address",
        "Something else",
    ]
    rows = second["action"]["sections"][0]["rows"]
    assert rows[0] == {
        "id": "/p1",
        "title": "House Espresso Blend 25…",
        "description": "House Espresso Blend 250 g, whole beans",
    }
    assert rows[1] == {
        "id": "/p2",
        "title": "House Espresso Blend 1…",
        "description": "House Espresso Blend 1 kg",
    }


async def test_messenger_quick_replies_cut_long_titles_instead_of_numbering(messenger, graph):
    menu = (
        Button("Where is my order?", "/order_status"),
        Button("Returns & refunds policy", "/refund_policy"),
    )
    assert (await messenger.send(CUSTOMER, Outgoing("Hi!", menu))).numbered is False
    [sent] = [r.json for r in graph.requests if r.send]
    assert [q["title"] for q in sent["message"]["quick_replies"]] == [
        "Where is my order?",
        "Returns & refunds p…",
    ]
    same = (Button("Returns & refunds policy A", "/a"), Button("Returns & refunds policy B", "/b"))
    assert (await messenger.send(CUSTOMER, Outgoing("Which?", same))).numbered is True  # cut alike: numbered


async def test_telegram_puts_a_scale_side_by_side(bot, telegram):
    scale = tuple(Button(str(n), f'/nps{{"score": {n}}}') for n in range(11)) + (
        Button("No thanks", "/deny"),
    )
    await bot.send("42", Outgoing("How likely?", scale[:11]))
    await bot.send("42", Outgoing("And?", scale))
    first, second = [r.json["reply_markup"]["inline_keyboard"] for r in telegram.requests if r.send]
    assert [len(row) for row in first] == [6, 5] and [len(row) for row in second] == [1] * 12


def test_a_numeric_scale_is_not_numbered_again():
    from bot.channels.outgoing import numbered_text

    scale = [Button(str(n), f"/n{n}") for n in range(11)] + [Button("No thanks", "/deny")]
    assert numbered_text("How likely?", scale).endswith(
        'Reply with 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, or "No thanks".'
    )
    assert numbered_text("", [Button("1", "/a"), Button("2", "/b")]) == "Reply with 1 or 2."
