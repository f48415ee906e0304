"""While a person owns a conversation, the bot does not answer in it: enforced here, on the server.

Every channel hands its messages to ``handle``. If the conversation's handoff is active (a person
claimed it in the console), the message is only recorded in the tracker, under the conversation's
lock, and the bot predicts nothing; otherwise the agent handles it as usual.
"""
from __future__ import annotations

import asyncio
from typing import Optional

from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import UserUttered

from actions.services.handoffs import HandoffQueue

WITH_PERSON = "with_person"


class PersonGate:
    def __init__(self, handoffs: HandoffQueue) -> None:
        self.handoffs = handoffs

    async def handle(self, agent: Agent, message: UserMessage) -> Optional[str]:
        """None when the bot handled the message; WITH_PERSON when only recorded for the person."""
        if not await asyncio.to_thread(self.handoffs.is_owned_by_person, message.sender_id):
            await agent.handle_message(message)
            return None
        async with agent.lock_store.lock(message.sender_id):
            tracker = await agent.tracker_store.get_or_create_tracker(message.sender_id)
            tracker.update(UserUttered(message.text, input_channel=message.input_channel,
                                       message_id=message.message_id, metadata=message.metadata))
            await agent.tracker_store.save(tracker)
        return WITH_PERSON
