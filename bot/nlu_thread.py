"""A message's NLU runs in a worker thread, not on the event loop (issue 16).

Rasa's ``MessageProcessor.parse_message`` is a coroutine that runs the whole NLU graph (spaCy, the MiniLM
embedding in ONNX Runtime, DIET in TensorFlow, our classifier in NumPy) without ever giving the loop back:
with 20 customers at once, every other turn's Python work waited for each message's embedding and
classifiers, though ONNX Runtime, TensorFlow and NumPy let go of Python's lock while they compute, and the
machine has a second core. In a worker thread the loop goes on with the other turns meanwhile.

What the graph touches is safe in threads: the components only read their models (the MiniLM cache has
its own lock, spaCy and scikit-learn transform without shared writes, TensorFlow and ONNX Runtime run
concurrent calls), and the tracker it is given is the one of this conversation, whose turn holds Rasa's
lock. ``parse_data`` is then finished on the loop as Rasa does.
"""
from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker

RASAS_PARSE_MESSAGE = MessageProcessor.parse_message


async def parse_message(self: MessageProcessor, message: UserMessage,
                        tracker: Optional[DialogueStateTracker] = None,
                        only_output_properties: bool = True) -> Dict[str, Any]:
    """MessageProcessor.parse_message with the graph run in a worker thread; the same result."""
    if self.http_interpreter:
        return await RASAS_PARSE_MESSAGE(self, message, tracker, only_output_properties)
    if tracker is None:
        tracker = DialogueStateTracker.from_events(message.sender_id, [])
    parse_data = await asyncio.to_thread(self._parse_message_with_graph, message, tracker,
                                         only_output_properties)
    self._update_full_retrieval_intent(parse_data)
    self._check_for_unseen_features(parse_data)
    return parse_data


def parse_messages_in_a_thread() -> None:
    """Install the above in Rasa's MessageProcessor, for this process; idempotent."""
    MessageProcessor.parse_message = parse_message  # type: ignore[method-assign]
