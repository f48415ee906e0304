"""Text written by other people (../shared/nlu-dev), scored the way a customer meets the bot.

Two kinds of CSV file, read by their header:

* requests (``text,source_intent,accepted_intents``): right when the top intent is one of the accepted
  intents (``|``-separated) and the fallback did not refuse it; scored per source intent as well;
* out-of-scope questions (``text,source_domain,...``, no accepted_intents): right when refused, i.e.
  answered as ``out_of_scope`` or caught by the fallback.

We evaluate on these files and never train on them (their README). The targets of issue 14 are checked
against the first model, side by side with our own sets' macro-F1.
"""
from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from bot.evaluation import FALLBACK, OUT_OF_SCOPE, Prediction

REFUSALS = (OUT_OF_SCOPE, FALLBACK)
# Our own sets' macro-F1 before issue 14's work (README): what the new model must not fall below.
OWN_GOALS = {"heldout": 0.936, "second_voice": 0.937}


@dataclass(frozen=True)
class ExternalSet:
    name: str
    examples: List[Tuple[str, str]]  # (text, accepted intents joined by "|")
    groups: List[str]                # the source's own intent or domain, one per example
    out_of_scope: bool


def load_external(path: Path) -> ExternalSet:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "text" not in rows[0]:
        raise ValueError(f"{path}: expected a CSV file with a 'text' column")
    out_of_scope = "accepted_intents" not in rows[0]
    examples = [(row["text"], OUT_OF_SCOPE if out_of_scope else row["accepted_intents"]) for row in rows]
    group = "source_domain" if out_of_scope else "source_intent"
    groups = [row.get(group) or OUT_OF_SCOPE for row in rows]
    return ExternalSet(path.stem, examples, groups, out_of_scope)


def is_right(prediction: Prediction) -> bool:
    if prediction.expected == OUT_OF_SCOPE:
        return prediction.predicted in REFUSALS
    return prediction.predicted in prediction.expected.split("|")


def score_external(predictions: Sequence[Prediction], groups: Sequence[str]) -> Dict[str, Any]:
    """Share right, refused and caught by the fallback; the same per source group; the confusions."""
    by_group: Dict[str, List[bool]] = defaultdict(list)
    confusions: Counter = Counter()
    for prediction, group in zip(predictions, groups, strict=True):
        right = is_right(prediction)
        by_group[group].append(right)
        if not right:
            confusions[(group, prediction.predicted)] += 1
    count = len(predictions)
    group_rates = {group: sum(marks) / len(marks) for group, marks in sorted(by_group.items())}
    return {
        "examples": count,
        "right": sum(is_right(p) for p in predictions) / count,
        "refused": sum(p.predicted in REFUSALS for p in predictions) / count,
        "fallback": sum(p.predicted == FALLBACK for p in predictions) / count,
        "by_group": group_rates,
        "worst_group": min(group_rates.items(), key=lambda kv: kv[1]) if group_rates else None,
        "confusions": [{"group": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common()],
    }


@dataclass(frozen=True)
class Target:
    measure: str
    goal: float
    value: float

    @property
    def met(self) -> bool:
        return self.value >= self.goal


def targets(own: Dict[str, Dict[str, Any]], external: Dict[str, Tuple[ExternalSet, Dict[str, Any]]],
            own_goals: Dict[str, float]) -> List[Target]:
    """Issue 14's targets for one model: external requests ≥ 0.92 right and every source intent ≥ 0.75,
    out-of-scope ≥ 0.92 refused, our own sets' macro-F1 no lower than before."""
    rows: List[Target] = []
    for name, (examples, report) in external.items():
        if examples.out_of_scope:
            rows.append(Target(f"{name}: refused", 0.92, report["refused"]))
        else:
            rows.append(Target(f"{name}: right, not refused", 0.92, report["right"]))
            group, rate = report["worst_group"]
            rows.append(Target(f"{name}: worst source intent ({group})", 0.75, rate))
    for set_name, goal in own_goals.items():
        if set_name in own:
            rows.append(Target(f"{set_name}: macro-F1", goal, own[set_name]["macro_f1"]))
    return rows


def targets_table(model: str, rows: Sequence[Target]) -> str:
    lines = [f"### Targets ({model})", "", "| measure | target | now | |", "|---|---|---|---|"]
    lines += [f"| {t.measure} | ≥ {t.goal:.3f} | {t.value:.3f} | {'met' if t.met else 'NOT met'} |"
              for t in rows]
    return "\n".join(lines)


def external_summary(model: str, examples: ExternalSet, report: Dict[str, Any], worst: int = 8) -> str:
    head = (f"### {model} on {examples.name} (external)\n\n{report['examples']} examples · "
            + (f"refused {report['refused']:.3f}" if examples.out_of_scope else
               f"right {report['right']:.3f} · caught by the fallback {report['fallback']:.3f}"))
    lowest = sorted(report["by_group"].items(), key=lambda kv: kv[1])[:worst]
    lines = [head, "", "| source group | right |", "|---|---|"]
    lines += [f"| {group} | {rate:.2f} |" for group, rate in lowest]
    lines += ["", "Most frequent misses (source → predicted): "
              + ", ".join(f"{c['count']}× {c['group']} → {c['predicted']}"
                          for c in report["confusions"][:worst]),
              ""]
    return "\n".join(lines)
