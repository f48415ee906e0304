"""Stand-ins for the trained agent, for tests of the web server that must not load a model."""
from __future__ import annotations

from typing import Any, List

from rasa.core.channels.channel import UserMessage


class RecordingAgent:
    """Answers every message with an echo, or raises, and remembers what it was given."""

    model_id = "test-model"

    def __init__(self, fail: bool = False, silent: bool = False) -> None:
        self.received: List[UserMessage] = []
        self.fail = fail
        self.silent = silent

    def is_ready(self) -> bool:
        return True

    async def handle_message(self, message: UserMessage) -> Any:
        self.received.append(message)
        if self.fail:
            raise RuntimeError("model exploded")
        if not self.silent:
            await message.output_channel.send_response(message.sender_id, {"text": f"echo: {message.text}"})
