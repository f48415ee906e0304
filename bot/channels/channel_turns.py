"""The bot's turn for one message a channel's webhook brought: what the customer meant, the bot's answer,
and that answer queued for sending together with the message marked handled.

A tap arrives as the button's payload; a number typed after buttons sent as a numbered list is that button;
a photo is fetched from the provider and stored like a photo from the website's widget (and handled as one);
a voice message or a sticker gets a plain "please write" answer. Every message gets an answer or, when a
person has the chat, reaches the person: a turn that could not run now (busy, database down) is taken up
again shortly, and one that keeps failing, or whose action server is down, gets the apology with a way to a
person.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from actions.services.channels.conversations import ChannelConversations
from actions.services.channels.inbox import MAX_ATTEMPTS, ChannelInbox, InboxItem
from actions.services.clock import utc_now
from actions.services.recovery import recovery_message
from actions.services.shop_profile import ShopProfile
from bot.admission import BUSY, BUSY_RETRY_AFTER_SECONDS
from bot.channels.client_keys import ClientKeys, with_client_key
from bot.channels.messages import NOT_STORED, TrackerLookup, check_text, replies_after
from bot.channels.outgoing import ChannelClient, MediaError
from bot.never_silent import ACTION_SERVER_DOWN
from bot.web.uploads import PhotoRefused, photo_type, save_photo

logger = logging.getLogger(__name__)
Handler = Callable[[UserMessage], Awaitable[Any]]
CANNOT_READ = (
    "Sorry, I can't open {what} here. Please write your message, or send a photo if it shows the problem."
)
PHOTO_FAILED = "Sorry, I couldn't get your photo. Please send it again, or describe what you see in words."


class TryLater(Exception):
    """The turn did not run (busy, database or lock store down): the message is taken up again later."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"try again in {seconds} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Said:
    """What the customer's message comes to for the bot: a text (or a button's payload) to run a turn on,
    or an answer given without one."""

    text: str = ""
    message_id: str = ""
    reply: str = ""
    quiet: bool = False  # a photo with its caption: the caption's turn answers for both


class ChannelTurns:
    def __init__(
        self,
        inbox: ChannelInbox,
        conversations: ChannelConversations,
        clients: Dict[str, ChannelClient],
        handlers: Dict[str, Handler],
        shop: ShopProfile,
        upload_dir: Path,
        max_message_chars: int,
        find_tracker: Optional[TrackerLookup] = None,
        client_keys: Optional[ClientKeys] = None,
        with_person: Optional[Callable[[str], bool]] = None,
    ) -> None:
        self.inbox = inbox
        self.conversations = conversations
        self.clients = clients
        self.handlers = handlers
        self.shop = shop
        self.upload_dir = upload_dir
        self.max_message_chars = max_message_chars
        self.find_tracker = find_tracker
        self.client_keys = client_keys
        self.with_person = with_person  # a person has the chat (blocking): the bot will not answer

    async def handle(self, item: InboxItem) -> bool:
        """Answer one message; True when it is handled (its answers queued), False when it waits."""
        client, handler = self.clients.get(item.channel), self.handlers.get(item.channel)
        if client is None or handler is None:  # the channel was switched off meanwhile
            await asyncio.to_thread(self.inbox.finish, item, [])
            return True
        if item.attempts == 1:
            await self._taken(item, client)
        replies: List[Dict[str, Any]] = []
        try:
            for said in await self._what_was_said(item, client):
                answer = [{"text": said.reply}] if said.reply else await self._turn(item, said, handler)
                replies += [] if said.quiet else answer
        except TryLater as wait:
            await asyncio.to_thread(self.inbox.later, item, wait.seconds)
            return False
        except Exception:  # noqa: BLE001 - a turn that raised: again shortly, then the apology
            logger.exception(
                "The %s message %s of conversation %s failed (try %d)",
                item.channel,
                item.id,
                item.conversation_id,
                item.attempts,
            )
            if item.attempts < MAX_ATTEMPTS:
                await asyncio.to_thread(self.inbox.later, item, 5.0 * item.attempts)
                return False
            replies = [recovery_message(self.shop, utc_now())]
        await asyncio.to_thread(self.inbox.finish, item, replies)
        return True

    async def _taken(self, item: InboxItem, client: ChannelClient) -> None:
        """Seen, and "typing…" while the bot answers; only seen while a person has the chat (the bot is
        silent then, and the platforms ask for a typing indicator only before an answer)."""
        person = self.with_person is not None and await asyncio.to_thread(
            self.with_person, item.conversation_id)
        if person:
            await client.acknowledge(item.message.ack)
        else:
            await client.typing(item.message.address, item.message.ack)

    async def _what_was_said(self, item: InboxItem, client: ChannelClient) -> List[Said]:
        message, message_id = item.message, item.message.provider_message_id[:64]
        if message.tap:
            return [Said(message.tap, message_id)]
        if message.other:
            return [Said(reply=CANNOT_READ.format(what=message.other))]
        said: List[Said] = []
        # A photo before its caption: in a damaged-item chat the photo is kept (order_photo) and the caption
        # then answers "describe the damage"; the other way round the photo would answer the next question.
        if message.photo:
            photo = await self._photo(item, client, f"{message_id[:58]}:photo")
            said.append(replace(photo, quiet=bool(message.text and photo.text)))
        if message.text:
            problem = check_text(message.text, self.max_message_chars)
            if problem is not None:
                return [Said(reply=f"Sorry, I couldn't take that message: {problem.detail} Please write it "
                                   "again, in a few shorter messages if it is long.")]
            said.append(Said(await self._numbered_choice(item, message.text), message_id))
        return said

    async def _numbered_choice(self, item: InboxItem, text: str) -> str:
        """After buttons sent as a numbered list: a choice's own words are that choice ("8" on a 0-10 scale
        is 8, not the eighth); otherwise a bare number is the button with that number."""
        typed = text.strip().casefold()
        if not typed or len(typed) > 100:
            return text
        conversation = await asyncio.to_thread(self.conversations.of, item.conversation_id)
        offered = conversation.offered if conversation else []
        by_title = next((b["payload"] for b in offered if b["title"].strip().casefold() == typed), None)
        if by_title is not None:
            return by_title
        if typed.isdigit() and 1 <= int(typed) <= len(offered):
            return offered[int(typed) - 1]["payload"]
        return text

    async def _photo(self, item: InboxItem, client: ChannelClient, message_id: str) -> Said:
        try:
            media = await client.fetch_media(item.message.photo)
            kind = photo_type(media.data)
            if kind is None:
                return Said(reply="Sorry, that file is not a photo I can open (JPEG, PNG, WebP or GIF).")
            name = await asyncio.to_thread(
                save_photo, self.upload_dir, item.conversation_id, media.data, kind
            )
        except MediaError as error:
            logger.warning(
                "A photo of %s conversation %s could not be fetched: %s",
                item.channel,
                item.conversation_id,
                error,
            )
            return Said(reply=PHOTO_FAILED)
        except PhotoRefused as refused:
            return Said(reply=refused.detail)
        return Said("/inform" + json.dumps({"photo": name}), message_id)

    async def _turn(self, item: InboxItem, said: Said, handler: Handler) -> List[Dict[str, Any]]:
        if item.attempts > 1 and self.find_tracker is not None:  # it may have been answered before a crash
            tracker = await self.find_tracker(item.conversation_id)
            earlier = replies_after(tracker, said.message_id) if tracker else None
            if earlier is not None:
                return earlier
        key = (
            self.client_keys.for_address(f"{item.channel}:{item.message.address}")
            if self.client_keys
            else None
        )
        output = CollectingOutputChannel()
        message = UserMessage(
            said.text,
            output,
            item.conversation_id,
            input_channel=item.channel,
            message_id=said.message_id,
            metadata=with_client_key({"channel": item.channel}, key),
        )
        try:
            outcome = await handler(message)
        except NOT_STORED as error:
            logger.error(
                "A %s message of conversation %s was not processed, the database or lock store is "
                "unavailable: %s",
                item.channel,
                item.conversation_id,
                error,
            )
            raise TryLater(5.0) from None
        if outcome == BUSY:
            raise TryLater(float(BUSY_RETRY_AFTER_SECONDS))
        if outcome == ACTION_SERVER_DOWN:
            logger.error(
                "Conversation %s on %s: the action server is down; sent the apology",
                item.conversation_id,
                item.channel,
            )
            return [recovery_message(self.shop, utc_now())]
        return [{k: v for k, v in m.items() if k != "recipient_id"} for m in output.messages]
