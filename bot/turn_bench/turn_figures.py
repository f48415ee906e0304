"""Figures from the timed turns of a load: percentiles, messages per second, errors by kind, growth.

Pure functions over ``Turn`` records, so the report's arithmetic is tested without servers.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

ANSWERED = "answered"


@dataclass(frozen=True)
class Turn:
    """One customer message and what came back."""

    seconds: float  # from sending the request to reading the whole reply
    outcome: str    # ANSWERED, or the kind of error: "busy (503)", "HTTP 500", "empty reply", "timeout", ...
    index: int      # 1 for a conversation's first message
    mix: str = ""   # the story mix the conversation came from (the mixes load only)


@dataclass(frozen=True)
class LoadRun:
    name: str
    turns: List[Turn]
    wall_seconds: float


def percentile(values: Sequence[float], share: float) -> Optional[float]:
    """The value below which ``share`` (0-1) of ``values`` lie, interpolated between the closest ranks
    (numpy's default "linear" method); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(ours: Optional[float], stock: Optional[float]) -> Optional[float]:
    """ours ÷ stock; None when either is missing or stock is 0."""
    if ours is None or stock is None or stock == 0:
        return None
    return ours / stock


def latency_ms(turns: Sequence[Turn]) -> Dict[str, Optional[float]]:
    """Median, p90 and p99 of the answered turns, in milliseconds."""
    answered = [t.seconds * 1000 for t in turns if t.outcome == ANSWERED]
    return {"median_ms": percentile(answered, 0.5), "p90_ms": percentile(answered, 0.9),
            "p99_ms": percentile(answered, 0.99)}


def errors_by_kind(turns: Sequence[Turn]) -> Dict[str, int]:
    return dict(Counter(t.outcome for t in turns if t.outcome != ANSWERED).most_common())


def load_figures(run: LoadRun) -> Dict[str, Any]:
    """What bench.json keeps of a load: turns, answered, errors by kind, msg/s, latency percentiles."""
    answered = sum(t.outcome == ANSWERED for t in run.turns)
    errors = errors_by_kind(run.turns)
    return {"turns": len(run.turns), "answered": answered, "errors": sum(errors.values()),
            "errors_by_kind": errors, "wall_seconds": round(run.wall_seconds, 2),
            "messages_per_second": answered / run.wall_seconds if run.wall_seconds > 0 else None,
            **latency_ms(run.turns)}


def figures_by_mix(turns: Sequence[Turn]) -> Dict[str, Dict[str, Any]]:
    """Latency and errors of each story mix's turns (wall time is shared by the mixes, so no msg/s)."""
    mixes = list(dict.fromkeys(t.mix for t in turns))
    by_mix = {}
    for mix in mixes:
        own = [t for t in turns if t.mix == mix]
        errors = sum(t.outcome != ANSWERED for t in own)
        by_mix[mix] = {"turns": len(own), "errors": errors, **latency_ms(own)}
    return by_mix


def window_medians(turns: Sequence[Turn], window: int) -> Dict[str, Optional[float]]:
    """Early against late in one long conversation: the median of the first ``window`` turns (the turn-10
    figure: turns 1-20 of 300) and of the last ``window`` (the turn-300 figure: 281-300), in ms, and
    late ÷ early. Medians of windows, because one turn's latency is mostly noise."""
    by_index = sorted((t for t in turns if t.outcome == ANSWERED), key=lambda t: t.index)
    if not by_index:
        return {"early_ms": None, "late_ms": None, "growth": None}
    last = by_index[-1].index
    early = [t.seconds * 1000 for t in by_index if t.index <= window]
    late = [t.seconds * 1000 for t in by_index if t.index > last - window]
    early_ms, late_ms = percentile(early, 0.5), percentile(late, 0.5)
    return {"early_ms": early_ms, "late_ms": late_ms, "growth": ratio(late_ms, early_ms)}


def per_turn_ms(turns: Sequence[Turn]) -> List[Optional[float]]:
    """Latency by turn index (1-based, position 0 is turn 1); None where the turn was not answered."""
    latency: List[Optional[float]] = [None] * max((t.index for t in turns), default=0)
    for turn in turns:
        if turn.outcome == ANSWERED:
            latency[turn.index - 1] = round(turn.seconds * 1000, 2)
    return latency
