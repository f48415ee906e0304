"""A message's NLU runs in a worker thread and gives what Rasa's parse_message gives (bot/nlu_thread.py)."""
from __future__ import annotations

import threading
from typing import Any, Dict, List

from rasa.core.channels.channel import UserMessage

from bot.nlu_thread import RASAS_PARSE_MESSAGE, parse_message


class Processor:
    """The parts of Rasa's MessageProcessor that parse_message uses, noting the thread the graph ran in."""
    http_interpreter = None

    def __init__(self) -> None:
        self.graph_threads: List[int] = []
        self.unseen_checked: List[Dict[str, Any]] = []

    def _parse_message_with_graph(self, message: UserMessage, tracker: Any,
                                  only_output_properties: bool = True) -> Dict[str, Any]:
        self.graph_threads.append(threading.get_ident())
        return {"text": message.text, "intent": {"name": "faq", "confidence": 0.9}, "entities": [],
                "response_selector": {"all_retrieval_intents": ["faq"],
                                      "faq": {"response": {"intent_response_key": "faq/opening"}}}}

    def _update_full_retrieval_intent(self, parse_data: Dict[str, Any]) -> None:
        parse_data["intent"]["full_retrieval_intent_name"] = "faq/opening"

    def _check_for_unseen_features(self, parse_data: Dict[str, Any]) -> None:
        self.unseen_checked.append(parse_data)


async def test_the_graph_runs_off_the_loop_and_the_result_is_rasas():
    ours, rasas = Processor(), Processor()
    message = UserMessage("when are you open?", sender_id="c")
    parsed = await parse_message(ours, message)  # type: ignore[arg-type]
    assert parsed == await RASAS_PARSE_MESSAGE(rasas, message)  # type: ignore[arg-type]
    assert parsed["intent"]["full_retrieval_intent_name"] == "faq/opening"
    assert ours.unseen_checked == [parsed]
    assert ours.graph_threads[0] != threading.get_ident() and rasas.graph_threads[0] == threading.get_ident()
