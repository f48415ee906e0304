"""bot/graph_runs.py runs the trained model's graph (models/) to the results dask's runner gives."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from rasa.core.agent import Agent
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.graph_runs import InOrderRun, order_of, run_graphs_in_order

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "shop.tar.gz"
TEXTS = ["hi", "where is my order KC-10001?", "cancel my order", "what are your opening hours",
         "yes please", "no", "I want to speak to a person", "the mug arrived broken", "what's the weather",
         "my email is jo.baker@example.com", "KC-10003", "thanks, bye", "asdf qwer", "🙂"]


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    if not MODEL.is_file():
        pytest.fail(f"{MODEL} is missing: `make test` trains it first")
    yield Agent.load(str(MODEL))


def runner_of(agent: Agent) -> DaskGraphRunner:
    runner = agent.processor.graph_runner  # type: ignore[union-attr]
    assert isinstance(runner, DaskGraphRunner)
    return runner


def test_every_node_comes_after_what_it_needs(agent: Agent) -> None:
    schema = runner_of(agent)._graph_schema
    for targets in ([agent.processor.model_metadata.nlu_target],  # type: ignore[union-attr]
                    [agent.processor.model_metadata.core_target], schema.target_names):  # type: ignore[union-attr]
        order = order_of(schema, targets)
        names = [name for name, _ in order]
        assert set(names) == set(schema.minimal_graph_schema(targets).nodes)
        for position, (_, needs) in enumerate(order):
            assert all(need not in names or names.index(need) < position for need in needs)


def trackers(agent: Agent) -> List[DialogueStateTracker]:
    domain = agent.domain
    found = []
    for number, text in enumerate(TEXTS):
        parsed = asyncio.run(agent.parse_message(text))
        tracker = DialogueStateTracker(f"c{number}", domain.slots)  # type: ignore[union-attr]
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(text, parsed["intent"], parsed["entities"], parse_data=parsed))
        found.append(tracker)
    return found


def test_parses_and_predictions_are_the_same_as_dasks(agent: Agent) -> None:
    processor = agent.processor
    assert processor is not None
    before_parse = [asyncio.run(agent.parse_message(text)) for text in TEXTS]
    conversations = trackers(agent)
    before_next = [processor.predict_next_with_tracker(tracker) for tracker in conversations]
    assert run_graphs_in_order(processor) and not run_graphs_in_order(processor)  # once
    try:
        assert [asyncio.run(agent.parse_message(text)) for text in TEXTS] == before_parse
        after_next = [processor.predict_next_with_tracker(tracker) for tracker in conversations]
    finally:
        del runner_of(agent).run
    assert after_next == before_next
    assert len({str(p) for p in before_next}) > 3  # several different predictions compared


def test_failures_are_reported_as_daskgraphrunner_reports_them(agent: Agent) -> None:
    runner = runner_of(agent)
    run = InOrderRun(runner)
    target = agent.processor.model_metadata.nlu_target  # type: ignore[union-attr]
    first_node = order_of(runner._graph_schema, [target])[0][0]
    with pytest.raises(GraphRunError, match="clashes"):
        run(inputs={"__message__": first_node}, targets=[target])

    class Failing:
        def __call__(self, *_: Any) -> Any:
            raise RuntimeError("broken")

    nodes: Dict[str, Any] = runner._instantiated_nodes
    kept = nodes[first_node]
    nodes[first_node] = Failing()
    try:
        with pytest.raises(GraphRunError):
            run(inputs={"__message__": [], "__tracker__": None}, targets=[target])
    finally:
        nodes[first_node] = kept


def test_another_runner_is_left_alone() -> None:
    class Processor:
        graph_runner = object()

    assert run_graphs_in_order(Processor()) is False
