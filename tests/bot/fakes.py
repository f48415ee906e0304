"""Stand-ins for the trained agent, for tests of the web server that must not load a model."""
from __future__ import annotations

from typing import Any, List

from rasa.core.channels.channel import UserMessage


class RecordingAgent:
    """Answers every message with an echo, or raises, and remembers what it was given."""

    model_id = "test-model"

    def __init__(self, fail: bool = False, silent: bool = False, memory: bool = False) -> None:
        self.received: List[UserMessage] = []
        self.fail = fail
        self.silent = silent
        if memory:  # conversations kept in memory, as the console and the person gate need them
            from rasa.core.lock_store import InMemoryLockStore
            from rasa.core.tracker_store import InMemoryTrackerStore
            from rasa.shared.core.domain import Domain

            self.tracker_store = InMemoryTrackerStore(Domain.empty())
            self.lock_store = InMemoryLockStore()

    def is_ready(self) -> bool:
        return True

    async def handle_message(self, message: UserMessage) -> Any:
        self.received.append(message)
        if self.fail:
            raise RuntimeError("model exploded")
        if not self.silent:
            await message.output_channel.send_response(message.sender_id, {"text": f"echo: {message.text}"})

    async def execute_action(self, sender_id: str, action: str, output_channel: Any, policy: Any,
                             confidence: Any) -> Any:
        """Runs no action server: says which action ran, as a bot message in the conversation."""
        from rasa.shared.core.events import BotUttered

        self.executed = [*getattr(self, "executed", []), (sender_id, action)]
        tracker = await self.tracker_store.get_or_create_tracker(sender_id)
        tracker.update(BotUttered(f"[{action}]"))
        await self.tracker_store.save(tracker)
        await output_channel.send_text_message(sender_id, f"[{action}]")
        return tracker
