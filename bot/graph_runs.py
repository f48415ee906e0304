"""The loaded model's graph run node after node, without dask's scheduler (issue 16).

For every parse and every prediction Rasa's ``DaskGraphRunner.run`` works out the nodes the targets need,
builds a dask task graph of them and hands it to ``dask.get``, whose scheduler sets up queues, a pool and
callbacks to run a dozen nodes one after the other in this thread: a sixth of a turn in the web process,
around the nodes' own work. ``run_graphs_in_order`` gives a loaded runner a ``run`` that keeps, for each
set of targets, the needed nodes in an order where every node comes after what it needs, and calls them
in turn with the same inputs: the same nodes (their hooks included), the same results.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner


def order_of(schema: GraphSchema, targets: List[str]) -> List[Tuple[str, List[str]]]:
    """The nodes ``targets`` need (Rasa's minimal schema), each after its needs, with its needs' names."""
    minimal = schema.minimal_graph_schema(targets)
    placed: Dict[str, None] = {}

    def place(name: str, path: Tuple[str, ...]) -> None:
        if name in placed or name not in minimal.nodes:
            return  # done, or an input placeholder such as __message__
        if name in path:
            raise GraphRunError(f"The graph has a cycle through {name}")
        for need in minimal.nodes[name].needs.values():
            place(need, (*path, name))
        placed[name] = None

    for name in minimal.nodes:
        place(name, ())
    return [(name, list(minimal.nodes[name].needs.values())) for name in placed]


class InOrderRun:
    """Stands in for one DaskGraphRunner's ``run``."""

    def __init__(self, runner: DaskGraphRunner) -> None:
        self.runner = runner
        self.orders: Dict[Tuple[str, ...], List[Tuple[str, List[str]]]] = {}

    def __call__(self, inputs: Optional[Dict[str, Any]] = None,
                 targets: Optional[List[str]] = None) -> Dict[str, Any]:
        schema = self.runner._graph_schema
        wanted = list(targets if targets else schema.target_names)
        order = self.orders.get(tuple(wanted))
        if order is None:
            order = self.orders[tuple(wanted)] = order_of(schema, wanted)
        nodes = self.runner._instantiated_nodes
        # As DaskGraphRunner gives them to dask: an input is its (name, value) pair, as a node's result is,
        # and stands in for a node of that name.
        done: Dict[str, Any] = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and any(value == node for node, _ in order):
                raise GraphRunError(f"Input value '{value}' clashes with a node name.")
            done[name] = (name, value)
        try:
            for name, needs in order:
                if name in done:
                    continue
                missing = [need for need in needs if need not in done]
                if missing:
                    raise GraphRunError(f"Node {name} needs {missing}, which no node or input gives.")
                done[name] = nodes[name](*(done[need] for need in needs))
        except RuntimeError as error:  # as DaskGraphRunner.run
            raise GraphRunError("Error running runner.") from error
        return dict(done[target] for target in wanted)


def run_graphs_in_order(processor: Any) -> bool:
    """Give a loaded model's dask runner the in-order run; whether it did (another runner: left alone)."""
    runner = getattr(processor, "graph_runner", None)
    if not isinstance(runner, DaskGraphRunner) or isinstance(runner.__dict__.get("run"), InOrderRun):
        return False
    runner.run = InOrderRun(runner)  # type: ignore[method-assign]
    return True
