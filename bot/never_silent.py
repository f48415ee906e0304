"""The bot is never silent: a turn that produced no answer gets an apology and a way on.

Every channel's messages pass ``answer_or_apologise``. It watches what the bot sends; when the bot handled
the message (no person owns the chat) but said nothing, the web server itself leaves any open form, stores
the apology in the conversation and sends it, logs the turn with the conversation id and records it for
the owner. The one exception: an action call found nothing listening at the action server's address
(bot/action_calls.py); then the outcome is ACTION_SERVER_DOWN and the channel answers 503. This is the net
under the net: an exception inside an action is already turned into an apology by the action server
(actions/server.py); this catches turns no policy predicted an answer for, action calls that failed on the
way (Rasa drops the action's events and says nothing), and errors in Rasa itself.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.agent import Agent
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.core.events import ActiveLoop, BotUttered, SlotSet

from actions.services.bot_errors import BotErrorLog
from actions.services.clock import utc_now
from actions.services.recovery import recovery_message
from actions.services.shop_profile import ShopProfile
from bot.action_calls import ActionFailure, ActionFailures

logger = logging.getLogger(__name__)
Handle = Callable[[Agent, UserMessage], Awaitable[Optional[str]]]
ACTION_SERVER_DOWN = "action_server_down"  # the outcome of a silent turn whose action server is not running


class WatchedOutput(OutputChannel):
    """Passes every bot message to the channel's own output and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    def name(self) -> str:  # type: ignore[override]  # the channel's name, for channel-specific responses
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.sent += 1
        await self.inner.send_response(recipient_id, message)


class SilenceGuard:
    def __init__(self, shop: ShopProfile, errors: BotErrorLog, failures: ActionFailures) -> None:
        self.shop = shop
        self.errors = errors
        self.failures = failures

    async def answer_or_apologise(self, handle: Handle, agent: Agent, message: UserMessage) -> Optional[str]:
        watched = WatchedOutput(message.output_channel)
        message.output_channel = watched
        self.failures.take(message.sender_id)  # left over from a turn that raised
        try:
            outcome = await handle(agent, message)
        finally:
            failure = self.failures.take(message.sender_id)
        if outcome is None and watched.sent == 0:
            if failure is not None and failure.unreachable:
                return ACTION_SERVER_DOWN
            await self.apologise(agent, message, watched.inner, failure)
        return outcome

    async def apologise(self, agent: Agent, message: UserMessage, output: OutputChannel,
                        failure: ActionFailure | None = None) -> None:
        reply = recovery_message(self.shop, utc_now(), unsure=bool(failure and failure.timed_out))
        async with agent.lock_store.lock(message.sender_id):
            tracker = await agent.tracker_store.get_or_create_tracker(message.sender_id)
            intent = (tracker.latest_message.intent or {}).get("name", "") if tracker.latest_message else ""
            loop = tracker.active_loop_name
            if loop:
                tracker.update(ActiveLoop(None))
                tracker.update(SlotSet("requested_slot", None))
            tracker.update(BotUttered(reply["text"], {"buttons": reply["buttons"]}))
            await agent.tracker_store.save(tracker)
        if failure is not None:
            logger.error("The bot had no answer in conversation %s: action %s failed (%s); sent an apology",
                         message.sender_id, failure.action, failure.reason)
            await asyncio.to_thread(self.errors.record, message.sender_id, "action_failed", failure.action,
                                    failure.reason)
        else:
            logger.error("The bot had no answer in conversation %s (intent %s, form %s); sent an apology",
                         message.sender_id, intent or "?", loop or "none")
            await asyncio.to_thread(self.errors.record, message.sender_id, "no_answer", loop or "",
                                    f"no answer to a message classified as {intent or 'nothing'}")
        await output.send_response(message.sender_id, reply)
