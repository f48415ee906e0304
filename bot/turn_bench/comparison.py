"""The side-by-side rows of the report: measure | target | ours | stock | ratio | met? | cluster.

Each row reads one figure of each bot's results (the dicts bench.json keeps under "bots"); the issue's
targets are checks on ours, some against stock's figure of the same run. A target that needs stock is
undecided (None) when stock did not run.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.turn_bench.story_mixes import MIXES
from bot.turn_bench.turn_figures import ratio

Check = Callable[[float, Optional[float]], Optional[bool]]


@dataclass(frozen=True)
class Target:
    text: str
    check: Check


def at_most(limit: float, text: str) -> Target:
    return Target(text, lambda ours, stock: ours <= limit)


def at_least_times_stock(times: float, text: str) -> Target:
    return Target(text, lambda ours, stock: None if stock is None else ours >= times * stock)


def at_most_times_stock(times: float, text: str) -> Target:
    return Target(text, lambda ours, stock: None if stock is None else ours <= times * stock)


@dataclass(frozen=True)
class Row:
    measure: str
    unit: str  # "ms", "msg/s", "MB", "s", "x" (a ratio), "count", "share"
    ours: Optional[float]
    stock: Optional[float]
    target: Optional[Target] = None
    missing_ours: str = "–"  # what the table says where a figure is missing
    missing_stock: str = "–"
    cluster: Optional[float] = None  # ours as a cluster (bot/turn_bench/cluster_under_test.py), if it ran

    @property
    def ratio(self) -> Optional[float]:
        return ratio(self.ours, self.stock)

    @property
    def met(self) -> Optional[bool]:
        if self.target is None or self.ours is None:
            return None
        return self.target.check(self.ours, self.stock)

    def as_json(self) -> Dict[str, Any]:
        return {"measure": self.measure, "unit": self.unit,
                "target": self.target.text if self.target else None,
                "ours": self.ours, "stock": self.stock, "ratio": self.ratio, "met": self.met}


def value_at(figures: Optional[Mapping[str, Any]], path: Sequence[str]) -> Optional[float]:
    """figures[path[0]][path[1]]...; None where a step is missing or the value is no number."""
    value: Any = figures
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Measure:
    """A row to be: its name ({concurrent}, {crowd}, ... are filled with the load plan's sizes), its unit,
    where each bot's figure stands in the bot's results, the issue's target, and what a missing figure
    is called."""

    name: str
    unit: str
    path: Tuple[str, ...]
    target: Optional[Target] = None
    missing: str = "–"


LOADS = "loads"
MEASURES: Tuple[Measure, ...] = (
    Measure("One customer: median turn", "ms", (LOADS, "one_customer", "median_ms"), at_most(20, "≤ 20 ms")),
    Measure("One customer: median turn against stock", "ms", (LOADS, "one_customer", "median_ms"),
            at_most_times_stock(0.25, "≤ ¼ of stock")),
    Measure("One customer: p90 turn", "ms", (LOADS, "one_customer", "p90_ms")),
    Measure("One customer: p99 turn", "ms", (LOADS, "one_customer", "p99_ms")),
    Measure("One customer: messages per second", "msg/s", (LOADS, "one_customer", "messages_per_second")),
    Measure("{concurrent} customers: messages per second", "msg/s",
            (LOADS, "concurrent", "messages_per_second"), at_least_times_stock(4, "≥ 4× stock")),
    Measure("{concurrent} customers: median turn", "ms", (LOADS, "concurrent", "median_ms")),
    Measure("{concurrent} customers: p90 turn", "ms", (LOADS, "concurrent", "p90_ms")),
    Measure("{concurrent} customers: p99 turn", "ms", (LOADS, "concurrent", "p99_ms"),
            at_most(400, "≤ 400 ms")),
    Measure("{concurrent} customers: errors", "count", (LOADS, "concurrent", "errors")),
    Measure("{crowd} customers: errors", "count", (LOADS, "crowd", "errors"), at_most(0, "none")),
    Measure("{crowd} customers: messages per second", "msg/s", (LOADS, "crowd", "messages_per_second")),
    Measure("{crowd} customers: median turn", "ms", (LOADS, "crowd", "median_ms")),
    Measure("{crowd} customers: p99 turn", "ms", (LOADS, "crowd", "p99_ms")),
    Measure("{long_turns}-turn conversation: early (median of turns 1-{window})", "ms",
            (LOADS, "long_conversation", "early_ms")),
    Measure("{long_turns}-turn conversation: late (median of the last {window} turns)", "ms",
            (LOADS, "long_conversation", "late_ms")),
    Measure("{long_turns}-turn conversation: turn {long_turns} ÷ turn 10 (late ÷ early)", "x",
            (LOADS, "long_conversation", "growth"), at_most(1.3, "≤ 1.3")),
    Measure("Story mixes, {mix_customers} customers: messages per second", "msg/s",
            (LOADS, "story_mixes", "messages_per_second")),
    Measure("Story mixes: median turn", "ms", (LOADS, "story_mixes", "median_ms")),
    Measure("Story mixes: p99 turn", "ms", (LOADS, "story_mixes", "p99_ms")),
    Measure("Story mixes: errors", "count", (LOADS, "story_mixes", "errors")),
    Measure("Web process: resident after the loads", "MB", ("memory_after_loads", "web", "resident_mb"),
            at_most(900, "≤ 900 MB")),
    Measure("Web process: peak resident", "MB", ("memory_after_loads", "web", "peak_mb")),
    Measure("Action server: resident after the loads", "MB",
            ("memory_after_loads", "actions", "resident_mb")),
    Measure("Start: spawn to first answer (model load included)", "s", ("start_seconds",),
            at_most(20, "≤ 20 s")),
    Measure("Full training on this machine", "s", ("training_seconds",), at_most(180, "≤ 3 min"),
            "not recorded"),
)


def _mix_paths(ours: Mapping[str, Any]) -> List[Tuple[Tuple[str, ...], str]]:
    measured = (ours.get("loads", {}).get("story_mixes") or {}).get("by_mix") or {}
    return [(("loads", "story_mixes", "by_mix", mix, key), f"Story mix {mix}: {label} turn")
            for mix in MIXES if mix in measured
            for label, key in (("median", "median_ms"), ("p99", "p99_ms"))]


def _mix_rows(ours: Mapping[str, Any], stock: Optional[Mapping[str, Any]]) -> List[Row]:
    return [Row(name, "ms", value_at(ours, path), value_at(stock, path)) for path, name in _mix_paths(ours)]


def _nlu_rows(ours: Mapping[str, Any], stock: Optional[Mapping[str, Any]]) -> List[Row]:
    """Accuracy on every test set, so speed is never bought with it: ours should not be below stock."""
    rows = []
    for set_name, figures in sorted((ours.get("nlu") or {}).items()):
        key, label = ("macro_f1", "macro-F1") if "macro_f1" in figures else ("right", "share right")
        path = ("nlu", set_name, key)
        rows.append(Row(f"NLU {set_name}: {label}", "share", value_at(ours, path), value_at(stock, path),
                        at_least_times_stock(1, "≥ stock")))
    return rows


def comparison_rows(ours: Mapping[str, Any], stock: Optional[Mapping[str, Any]],
                    sizes: Mapping[str, int], cluster: Optional[Mapping[str, Any]] = None) -> List[Row]:
    """Every row of the table; ``sizes`` fills the loads' sizes into the measures' names. ``cluster``: its
    figure beside each load's and memory's row (the targets stay one process's)."""
    rows = [Row(m.name.format(**sizes), m.unit, value_at(ours, m.path), value_at(stock, m.path), m.target,
                m.missing if ours else "–", m.missing if stock else "–", value_at(cluster, m.path))
            for m in MEASURES]
    mixes = [replace(row, cluster=value_at(cluster, path))
             for row, (path, _) in zip(_mix_rows(ours, stock), _mix_paths(ours), strict=True)]
    return rows + mixes + _nlu_rows(ours, stock)
