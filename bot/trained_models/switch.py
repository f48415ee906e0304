"""Each web process answers with the active model (bot/trained_models/registry.py) and switches when it
changes.

Every MODEL_CHECK_SECONDS the process reads the latest activation. When it names another archive, the
new model is loaded beside the one answering (in a worker thread: the event loop keeps serving), tried
on one message, and only then put in place, in one step on the event loop: a turn that started before
the switch finishes with the model it started with, and the next turn uses the new one. Nothing is
dropped, and a model that fails to load leaves the old one answering (logged; retried only when the
activation changes again).
"""
from __future__ import annotations

import asyncio
import functools
import logging
import operator
from pathlib import Path
from typing import Any, List, Optional

from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain

from bot.dialogue_states import keep_dialogue_states_up_to_date, longest_rule_of
from bot.diet_inference import predict_intents_in_numpy_for
from bot.graph_runs import run_graphs_in_order
from bot.rule_matching import index_rules
from bot.trained_models.registry import Model, ModelRegistry

logger = logging.getLogger(__name__)


def loaded_components(processor: Any) -> List[Any]:
    """The components of a loaded model's graph (its NLU pipeline and policies); none for anything else."""
    nodes = getattr(getattr(processor, "graph_runner", None), "_instantiated_nodes", None) or {}
    return [getattr(node, "_component", None) for node in nodes.values()]


def prepare_for_turns(processor: MessageProcessor) -> None:
    """What the web process changes in a loaded model to answer faster, with the same answers (issue 16)."""
    components = loaded_components(processor)
    # the policies' states kept turn to turn, not rebuilt (if every rule fits in what is kept)
    keep_dialogue_states_up_to_date(longest_rule_of(components))
    index_rules(components)  # rules looked up by the present state
    predict_intents_in_numpy_for(components)  # DIET's scores from the sentence features, without TensorFlow
    run_graphs_in_order(processor)  # the graph's nodes called in turn, without dask's scheduler
    answer_once_whether_empty(processor.domain)


def answer_once_whether_empty(domain: Optional[Domain]) -> None:
    """Rasa asks at every message whether the domain is empty (``_check_for_unseen_features``) and finds
    out by building an empty Domain and comparing the two as dicts: 0.15 ms a turn. A loaded model's
    domain never changes, so the answer is worked out once and given from then on."""
    if domain is not None:
        domain.is_empty = functools.partial(operator.truth, domain.is_empty())  # type: ignore[method-assign]


def _load(agent: Agent, path: Path) -> MessageProcessor:
    return MessageProcessor(model_path=path, tracker_store=agent.tracker_store, lock_store=agent.lock_store,
                            action_endpoint=agent.action_endpoint, generator=agent.nlg,
                            http_interpreter=agent.http_interpreter)


class ModelSwitcher:
    def __init__(self, agent: Agent, registry: ModelRegistry, loaded: Model, every_seconds: float) -> None:
        self.agent = agent
        self.registry = registry
        self.loaded = loaded              # the model answering in this process
        self.every_seconds = every_seconds
        self.failed_sha: Optional[str] = None
        self._task: Optional[asyncio.Task] = None

    def start(self) -> None:
        if self.every_seconds > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="model-switch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.every_seconds)
            try:
                await self.check()
            except Exception:  # the database away for a moment: the model answering keeps answering
                logger.exception("Could not check which model should answer")

    async def check(self) -> bool:
        """Switch to the active model if it is not the one answering; True if it switched."""
        active = await asyncio.to_thread(self.registry.active)
        if active is None or active.sha256 in (self.loaded.sha256, self.failed_sha):
            return False
        logger.info("Model %s (%s) was activated; loading it beside %s", active.id, active.model_id,
                    self.loaded.model_id)
        try:
            processor = await asyncio.to_thread(_load, self.agent, active.file)
            await processor.parse_message(UserMessage("hello"))  # loads and checks the embeddings now
        except Exception:
            logger.exception("Model %s (%s) could not be loaded; %s keeps answering", active.id, active.file,
                             self.loaded.model_id)
            self.failed_sha = active.sha256
            return False
        self._put_in_place(processor)
        previous, self.loaded, self.failed_sha = self.loaded, active, None
        logger.info("Model %s (%s) answers now; was %s (%s)", active.id, active.model_id, previous.id,
                    previous.model_id)
        return True

    def _put_in_place(self, processor: MessageProcessor) -> None:
        """What Agent.load_model does, with a processor already loaded: in one step on the event loop."""
        agent = self.agent
        prepare_for_turns(processor)
        agent.processor = processor
        agent.domain = processor.domain
        agent.tracker_store.domain = processor.domain
        if isinstance(agent.nlg, TemplatedNaturalLanguageGenerator):
            agent.nlg.responses = processor.domain.responses if processor.domain else {}
