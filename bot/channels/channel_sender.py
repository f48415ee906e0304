"""Sends what is due in the channel outbox through each provider's API, and runs the channels' two loops.

``ChannelWorker`` runs in every web process: one loop takes the webhooks' messages from the inbox and lets
the bot answer them (a few conversations at once, each conversation's messages in order), the other sends
the queued answers and a person's replies. Both wake at once when there is new work here, and look every
few seconds for work another process left (it died) or that is due for a retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Dict, Optional

from actions.services.bot_errors import BotErrorLog
from actions.services.channels.conversations import ChannelConversations, LateReplies
from actions.services.channels.inbox import RENEW_SECONDS, ChannelInbox, InboxItem
from actions.services.channels.outbox import ChannelOutbox, PendingSend
from actions.services.clock import utc_now
from bot.channels.channel_turns import ChannelTurns
from bot.channels.outgoing import ChannelClient, Delivery, Outgoing

logger = logging.getLogger(__name__)
LOOK_SECONDS = 2.0  # how often the loops look for work left by others, or due for a retry
TURNS_AT_ONCE = 4  # conversations answered at once by one process (the TurnLimit bounds them as well)


class ChannelSender:
    def __init__(
        self,
        outbox: ChannelOutbox,
        conversations: ChannelConversations,
        clients: Dict[str, ChannelClient],
        public_url: str = "",
        problems: Optional[BotErrorLog] = None,
        late: LateReplies = LateReplies(),
    ) -> None:
        self.outbox = outbox
        self.conversations = conversations
        self.clients = clients
        self.public_url = public_url
        self.problems = problems  # a message given up is one of the owner's Problems
        self.late = late  # how a person's reply may still go after the 24 hours

    async def send_due(self) -> int:
        """Send what is due now; returns how many were sent."""
        sent = 0
        while True:
            due = await asyncio.to_thread(self.outbox.claim_due)
            if not due:
                return sent
            # One message per conversation (the next waits for it): sent side by side, so the batch takes as
            # long as its slowest send, well inside the claim (a claim that lapsed could be sent twice).
            sent += sum(await asyncio.gather(*(self._send(pending) for pending in due)))

    async def _send(self, pending: PendingSend) -> int:
        conversation, message = pending.conversation, pending.message
        client = self.clients.get(conversation.channel)
        if client is None:
            await self._failed(pending, f"{conversation.label} is not connected on this server")
            return 0
        # Only a person's reply may go late (a tag, a template), not the bot's words nor notices.
        now, late = utc_now(), self.late if message.kind == "reply" else None
        if not conversation.window_open(now, late):
            closed = conversation.window_closes_at(late)
            await self._failed(
                pending,
                f"window_closed: {conversation.label} takes no messages more than "
                f"{conversation.window_words(late)} after the customer's last one (closed "
                f"{closed:%Y-%m-%d %H:%M} UTC)",
            )
            return 0
        tag, template = conversation.late_form(now, late)
        outgoing = Outgoing.from_message(message.payload, self.public_url)
        outgoing = replace(outgoing, tag=tag, template=template)
        if not (outgoing.text or outgoing.image):
            await asyncio.to_thread(self.outbox.delivered, message.id)  # nothing a platform could show
            return 0
        delivery = await client.send(conversation.address, outgoing, pending.parts_sent)
        if delivery.ok:
            await asyncio.to_thread(self.outbox.delivered, message.id, delivery.provider_message_id)
            offered = (
                [{"title": b.title, "payload": b.payload} for b in outgoing.buttons]
                if delivery.numbered
                else []
            )
            if offered or conversation.offered:
                await asyncio.to_thread(
                    self.conversations.remember_offer, conversation.conversation_id, offered
                )
            logger.info(
                "Sent message %d of conversation %s on %s",
                message.id,
                conversation.conversation_id,
                conversation.channel,
            )
            return 1
        error = f"window_closed: {delivery.error}" if delivery.window_closed else delivery.error
        again = await self._failed(pending, error, delivery)
        logger.warning(
            "Message %d of conversation %s on %s not sent (try %d): %s%s",
            message.id,
            conversation.conversation_id,
            conversation.channel,
            pending.attempt,
            error,
            "; trying again later" if again else "; given up",
        )
        return 0

    def failed_later(self, channel: str, provider_message_id: str, error: str) -> None:
        """A message the platform took and later reported undelivered (blocking: run it in a thread)."""
        conversation_id = self.outbox.failed_later(channel, provider_message_id, error)
        if conversation_id is None:
            return  # not ours, or already counted
        logger.warning(
            "A message of conversation %s on %s was not delivered after all: %s",
            conversation_id,
            channel,
            error,
        )
        if self.problems is not None:
            self.problems.record(conversation_id, "not_delivered", channel, error)

    async def _failed(self, pending: PendingSend, error: str, delivery: Optional[Delivery] = None) -> bool:
        """Record a failed try (``delivery``: the platform's answer, if it was asked); a message given up
        goes on the owner's Problems page. True: tried again."""
        tried = delivery or Delivery(False)
        again = await asyncio.to_thread(
            self.outbox.failed, pending, error, tried.retry, tried.retry_after, tried.parts_sent
        )
        if not again and self.problems is not None:
            await asyncio.to_thread(
                self.problems.record,
                pending.message.conversation_id,
                "not_delivered",
                pending.conversation.channel,
                error,
            )
        return again


class ChannelWorker:
    def __init__(self, inbox: ChannelInbox, turns: ChannelTurns, sender: ChannelSender) -> None:
        self.inbox = inbox
        self.turns = turns
        self.sender = sender
        self._received = asyncio.Event()
        self._to_send = asyncio.Event()
        self._tasks: Dict[asyncio.Task, int] = {}  # the turns in progress here, with their inbox row
        self._loops: list[asyncio.Task] = []

    def wake(self) -> None:
        """New messages in the inbox (or turns finished): take them now."""
        self._received.set()

    def wake_sender(self) -> None:
        """New messages queued for the customers: send them now."""
        self._to_send.set()

    def start(self) -> None:
        if not self._loops:
            self._loops = [asyncio.create_task(self._receive_loop()), asyncio.create_task(self._send_loop())]

    async def stop(self) -> None:
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        for task in [*self._loops, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops, self._tasks = [], {}
        for client in self.sender.clients.values():
            await client.close()

    async def _wait(self, event: asyncio.Event, seconds: Optional[float] = LOOK_SECONDS) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=seconds)
        event.clear()

    async def _receive_loop(self) -> None:
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while True:
            await self._wait(self._received)
            try:
                if self._tasks and loop.time() - renewed >= RENEW_SECONDS:  # still ours: a long turn
                    renewed = loop.time()
                    await asyncio.to_thread(self.inbox.renew, list(self._tasks.values()))
                free = TURNS_AT_ONCE - len(self._tasks)
                if free <= 0:
                    continue
                for item in await asyncio.to_thread(self.inbox.claim, free):
                    task = asyncio.create_task(self._answer(item))
                    self._tasks[task] = item.id
                    task.add_done_callback(lambda done: self._tasks.pop(done, None))
            except Exception:  # noqa: BLE001 - a database hiccup must not end the channels for good
                logger.exception("Taking the channels' messages failed; trying again")

    async def _answer(self, item: InboxItem) -> None:
        try:
            if await self.turns.handle(item):
                self.wake_sender()
        except Exception:  # noqa: BLE001 - its claim runs out and any process takes it up again
            logger.exception(
                "The %s message %d of conversation %s was not handled; taken up again later",
                item.channel,
                item.id,
                item.conversation_id,
            )
        finally:
            self.wake()  # the conversation's next message, or another conversation's, may go now

    async def _send_loop(self) -> None:
        while True:
            await self._wait(self._to_send)
            try:
                await self.sender.send_due()
            except Exception:  # noqa: BLE001 - the next look tries again
                logger.exception("Sending the channels' messages failed; trying again")
