"""The bot's turn for one channel message, with a stand-in for the agent: what the bot is given (a tap's
payload, a typed choice, a photo before its caption), and that every message ends answered or waiting."""

from __future__ import annotations

import json
from typing import Any, List, Tuple

import pytest
from rasa.core.channels.channel import UserMessage

from actions.services import order_tables as t
from actions.services.channels.conversations import ChannelConversations
from actions.services.channels.inbox import MAX_ATTEMPTS, ChannelInbox, Inbound
from actions.services.chat_delivery import OutboundMessages
from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.admission import BUSY
from bot.channels.channel_settings import ChannelSettings
from bot.channels.channel_turns import ChannelTurns
from bot.channels.outgoing import ChannelClient, CheckResult, Delivery, Media, MediaError, Outgoing
from bot.never_silent import ACTION_SERVER_DOWN

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SCALE = [{"title": str(n), "payload": f'/nps{{"score": {n}}}'} for n in range(11)] + [
    {"title": "No thanks", "payload": "/deny"}
]


class StandInClient(ChannelClient):
    channel = "whatsapp"

    def __init__(self) -> None:
        super().__init__(ChannelSettings())
        self.acknowledged: List[str] = []
        self.typed: List[Tuple[str, str]] = []

    async def send(self, address: str, message: Outgoing, skip: int = 0) -> Delivery:
        return Delivery(True)

    async def fetch_media(self, ref: str) -> Media:
        if ref == "gone":
            raise MediaError("404 from the provider")
        return Media(PNG, "application/octet-stream")

    async def acknowledge(self, ref: str) -> None:
        self.acknowledged.append(ref)

    async def typing(self, address: str, ref: str) -> None:
        self.typed.append((address, ref))

    async def check(self) -> CheckResult:
        return CheckResult(True, "stand-in")


class StandInBot:
    """Answers "echo: <text>", or gives an outcome, or raises; remembers what it was given."""

    def __init__(self, outcome: Any = None, fail: bool = False) -> None:
        self.given: List[UserMessage] = []
        self.outcome, self.fail = outcome, fail

    async def __call__(self, message: UserMessage) -> Any:
        self.given.append(message)
        if self.fail:
            raise RuntimeError("the model exploded")
        if self.outcome is None:
            await message.output_channel.send_response(message.sender_id, {"text": f"echo: {message.text}"})
        return self.outcome


@pytest.fixture
def engine(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/turns.db")
    migrate(engine)
    yield engine
    engine.dispose()


def turns_for(
    engine, tmp_path, bot: StandInBot, client: StandInClient | None = None, with_person: Any = None
) -> ChannelTurns:
    from actions.services.shop_profile import load_shop_profile
    from tests.bot.servers import ROOT

    return ChannelTurns(
        ChannelInbox(engine),
        ChannelConversations(engine),
        {"whatsapp": client or StandInClient()},
        {"whatsapp": bot},
        load_shop_profile(ROOT / "shop.yml"),
        tmp_path / "uploads",
        2000,
        with_person=with_person,
    )


async def one(engine, turns: ChannelTurns, message: Inbound):
    inbox = ChannelInbox(engine)
    inbox.accept("whatsapp", [message])
    [item] = inbox.claim()
    handled = await turns.handle(item)
    sent = [m.payload for m in OutboundMessages(engine).of_conversation(item.conversation_id).values()]
    return handled, sent, item


async def test_a_typed_choice_is_read_by_its_words_before_its_number(engine, tmp_path):
    bot = StandInBot()
    turns = turns_for(engine, tmp_path, bot)
    _, _, item = await one(engine, turns, Inbound("w0", "4477", text="hi"))
    ChannelConversations(engine).remember_offer(item.conversation_id, SCALE)
    for number, (typed, meant) in enumerate(
        (
            ("8", '/nps{"score": 8}'),
            ("no THANKS", "/deny"),
            ("12", "/deny"),
            ("13", "13"),
            ("8 please", "8 please"),
        )
    ):
        await one(engine, turns, Inbound(f"w{number + 1}", "4477", text=typed))
        assert bot.given[-1].text == meant, typed
    ChannelConversations(engine).remember_offer(item.conversation_id, [])
    await one(engine, turns, Inbound("w9", "4477", text="8"))
    assert bot.given[-1].text == "8"  # no list offered now: just a number


async def test_a_tap_is_its_payload_and_is_acknowledged(engine, tmp_path):
    bot, client = StandInBot(), StandInClient()
    handled, sent, _ = await one(
        engine,
        turns_for(engine, tmp_path, bot, client),
        Inbound("w1", "4477", text="Yes", tap="/affirm", ack="wamid.w1"),
    )
    assert handled and bot.given[0].text == "/affirm" and sent == [{"text": "echo: /affirm"}]
    # read, and "typing…" while the bot answers
    assert client.typed == [("4477", "wamid.w1")] and bot.given[0].input_channel == "whatsapp"
    assert bot.given[0].message_id == "w1" and client.acknowledged == []


async def test_no_typing_while_a_person_has_the_chat(engine, tmp_path):
    """The bot is silent while a person has the chat: the message is only marked read, with no "typing…"
    that no answer would follow."""
    client, asked = StandInClient(), []

    def with_person(conversation_id: str) -> bool:
        asked.append(conversation_id)
        return True

    _, _, item = await one(
        engine,
        turns_for(engine, tmp_path, StandInBot(outcome="with_person"), client, with_person),
        Inbound("w1", "4477", text="are you there?", ack="wamid.w1"),
    )
    assert client.acknowledged == ["wamid.w1"] and client.typed == [] and asked == [item.conversation_id]


async def test_a_photo_is_stored_and_given_before_its_caption(engine, tmp_path):
    bot = StandInBot()
    handled, sent, item = await one(
        engine,
        turns_for(engine, tmp_path, bot),
        Inbound("w1", "4477", text="the handle broke", photo="media-1"),
    )
    photo = json.loads(bot.given[0].text[len("/inform") :])["photo"]
    assert photo.startswith(f"{item.conversation_id}/") and photo.endswith(".png")
    assert (tmp_path / "uploads" / photo).read_bytes() == PNG
    # The caption's turn answers for both: one answer, not a question the caption then answers at once
    assert [m.text for m in bot.given][1:] == ["the handle broke"]
    assert sent == [{"text": "echo: the handle broke"}]


async def test_what_the_bot_cannot_read_gets_a_plain_answer_without_a_turn(engine, tmp_path):
    bot = StandInBot()
    turns = turns_for(engine, tmp_path, bot)
    _, voice, _ = await one(engine, turns, Inbound("w1", "4477", other="a voice message"))
    _, gone, _ = await one(engine, turns, Inbound("w2", "4478", photo="gone"))
    _, long, _ = await one(engine, turns, Inbound("w3", "4479", text="x" * 2500))
    assert bot.given == []
    assert "can't open a voice message" in voice[0]["text"] and "couldn't get your photo" in gone[0]["text"]
    assert "2500 characters; the limit is 2000" in long[0]["text"]


async def test_busy_waits_and_a_down_action_server_gets_the_apology(engine, tmp_path):
    handled, sent, _ = await one(
        engine, turns_for(engine, tmp_path, StandInBot(BUSY)), Inbound("b", "1", text="hi")
    )
    assert (handled, sent) == (False, [])
    handled, sent, _ = await one(
        engine, turns_for(engine, tmp_path, StandInBot(ACTION_SERVER_DOWN)), Inbound("d", "2", text="hi")
    )
    assert handled and "Sorry, something went wrong" in sent[0]["text"]
    assert [b["title"] for b in sent[0]["buttons"]][0]  # a way to a person


async def test_a_turn_that_keeps_failing_ends_in_the_apology(engine, tmp_path):
    inbox = ChannelInbox(engine)
    turns = turns_for(engine, tmp_path, StandInBot(fail=True))
    inbox.accept("whatsapp", [Inbound("f", "3", text="hi")])
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with engine.begin() as connection:  # its wait is over
            connection.execute(t.channel_inbox.update().values(claimed_until=None))
        [item] = inbox.claim()
        assert item.attempts == attempt
        assert await turns.handle(item) is (attempt == MAX_ATTEMPTS)
    sent = list(OutboundMessages(engine).of_conversation(item.conversation_id).values())
    assert len(sent) == 1 and "Sorry, something went wrong" in sent[0].text


class RefusingClient(StandInClient):
    async def send(self, address: str, message: Outgoing, skip: int = 0) -> Delivery:
        return Delivery(False, error="WhatsApp refused the message: the account is gone")


async def test_a_message_given_up_is_one_of_the_owners_problems(engine, tmp_path):
    from actions.services.bot_errors import BotErrorLog
    from actions.services.channels.outbox import ChannelOutbox
    from bot.channels.channel_sender import ChannelSender

    _, _, item = await one(engine, turns_for(engine, tmp_path, StandInBot()), Inbound("g", "5", text="hi"))
    sender = ChannelSender(
        ChannelOutbox(engine),
        ChannelConversations(engine),
        {"whatsapp": RefusingClient()},
        problems=BotErrorLog(engine),
    )
    assert await sender.send_due() == 0
    [problem] = BotErrorLog(engine).recent(5)
    assert (problem.kind, problem.conversation_id, problem.action) == (
        "not_delivered",
        item.conversation_id,
        "whatsapp",
    )
    assert problem.detail == "WhatsApp refused the message: the account is gone"
