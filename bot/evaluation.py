"""Measure trained models on our own NLU test sets (used by `make eval`).

    python -m bot.evaluation --model embeddings=models/shop.tar.gz \
        --model sparse=models/compare/sparse.tar.gz \
        --set tests/nlu/heldout.yml --set tests/nlu/second_voice.yml --out reports/nlu --min-macro-f1 0.93

For every model and set: accuracy, macro-F1, per-intent precision/recall/F1, the confusion pairs, and
the share of out-of-scope questions refused (answered as out_of_scope or by the fallback). A message
the fallback catches counts as a miss for an in-scope intent and as a refusal for out_of_scope.
Examples that also stand word for word in the training data are left out (and counted).
Writes one JSON report per model and set plus summary.md; exits 1 when the first model's macro-F1 on
any set is below --min-macro-f1.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

FALLBACK = "nlu_fallback"
TRAINING_DATA = Path("data/nlu")
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Prediction:
    text: str
    expected: str
    predicted: str        # after the fallback: may be nlu_fallback
    top_intent: str       # the classifier's best intent, ignoring the fallback
    confidence: float     # the classifier's confidence in top_intent
    margin: float = 1.0   # confidence of top_intent minus the runner-up's (the fallback's ambiguity)


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def load_examples(path: Path) -> List[Tuple[str, str]]:
    """(text, intent) pairs of a Rasa NLU YAML file (or folder), entity annotations stripped."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


@lru_cache(maxsize=4)
def training_texts(training: Path = TRAINING_DATA) -> FrozenSet[str]:
    return frozenset(normalise(text) for text, _ in load_examples(training))


def unseen(examples: List[Tuple[str, str]], training: Path = TRAINING_DATA) -> List[Tuple[str, str]]:
    """Drop test examples that also stand, word for word, in the training data.

    Separately written sets still share short common messages ("no", "my payment failed"); scored,
    they would only measure memory.
    """
    seen = training_texts(training)
    return [(text, intent) for text, intent in examples if normalise(text) not in seen]


def prediction_from_parse(text: str, expected: str, parsed: Dict[str, Any]) -> Prediction:
    ranking = [r for r in parsed.get("intent_ranking") or [] if r["name"] != FALLBACK]
    top = ranking[0] if ranking else {"name": parsed["intent"]["name"], "confidence": 0.0}
    margin = float(top["confidence"]) - (float(ranking[1]["confidence"]) if len(ranking) > 1 else 0.0)
    return Prediction(text, expected, parsed["intent"]["name"], top["name"], float(top["confidence"]), margin)


async def _predict_sets(
    model: Path, sets: Dict[str, List[Tuple[str, str]]]
) -> Dict[str, List[Prediction]]:
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)  # otherwise every parse is logged

    agent = Agent.load(str(model))  # once per model: loading takes longer than parsing a set
    predictions: Dict[str, List[Prediction]] = {}
    for name, examples in sets.items():
        predictions[name] = [prediction_from_parse(text, intent, await agent.parse_message(text))
                             for text, intent in examples]
    return predictions


def predict_sets(model: Path, sets: Dict[str, List[Tuple[str, str]]]) -> Dict[str, List[Prediction]]:
    return asyncio.run(_predict_sets(model, sets))


def score(predictions: Sequence[Prediction]) -> Dict[str, Any]:
    """Per-intent P/R/F1 over the expected intents, accuracy, macro-F1, confusions, OOS refusal."""
    intents = sorted({p.expected for p in predictions})
    per_intent: Dict[str, Dict[str, float]] = {}
    for intent in intents:
        tp = sum(p.expected == intent and p.predicted == intent for p in predictions)
        fp = sum(p.expected != intent and p.predicted == intent for p in predictions)
        fn = sum(p.expected == intent and p.predicted != intent for p in predictions)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = {"precision": precision, "recall": recall, "f1-score": f1, "support": tp + fn}
    confusions = Counter((p.expected, p.predicted) for p in predictions if p.expected != p.predicted)
    oos = [p for p in predictions if p.expected == OUT_OF_SCOPE]
    in_scope = [p for p in predictions if p.expected != OUT_OF_SCOPE]
    return {
        "examples": len(predictions),
        "accuracy": sum(p.expected == p.predicted for p in predictions) / len(predictions),
        "macro_f1": sum(row["f1-score"] for row in per_intent.values()) / len(per_intent),
        "oos_refused": (sum(p.predicted in (OUT_OF_SCOPE, FALLBACK) for p in oos) / len(oos))
        if oos else None,
        "in_scope_fallback_rate": (sum(p.predicted == FALLBACK for p in in_scope) / len(in_scope))
        if in_scope else None,
        "per_intent": per_intent,
        "confusions": [{"expected": e, "predicted": p, "count": n} for (e, p), n in confusions.most_common()],
    }


def summary(name: str, set_name: str, report: Dict[str, Any], worst: int = 8) -> str:
    lines = [f"### {name} on {set_name}", "",
             f"{report['examples']} examples · accuracy {report['accuracy']:.3f} · "
             f"macro-F1 {report['macro_f1']:.3f}"
             + (f" · out-of-scope refused {report['oos_refused']:.2f}" if report["oos_refused"] is not None
                else "")
             + (f" · in-scope caught by the fallback {report['in_scope_fallback_rate']:.2f}"
                if report["in_scope_fallback_rate"] is not None else ""),
             "", "| lowest F1 | precision | recall | F1 |", "|---|---|---|---|"]
    rows = sorted(report["per_intent"].items(), key=lambda kv: kv[1]["f1-score"])[:worst]
    lines += [f"| {intent} | {r['precision']:.2f} | {r['recall']:.2f} | {r['f1-score']:.2f} |"
              for intent, r in rows]
    lines += ["", "Most frequent confusions (expected → predicted): "
              + ", ".join(f"{c['count']}× {c['expected']} → {c['predicted']}"
                          for c in report["confusions"][:worst]), ""]
    return "\n".join(lines)


def comparison_table(results: Dict[Tuple[str, str], Dict[str, Any]]) -> str:
    sets = sorted({s for _, s in results})
    models = list(dict.fromkeys(m for m, _ in results))
    head = "| model | " + " | ".join(f"{s} macro-F1 | {s} accuracy | {s} OOS refused" for s in sets) + " |"
    lines = [head, "|" + "---|" * (1 + 3 * len(sets))]
    for model in models:
        cells = []
        for set_name in sets:
            r = results[(model, set_name)]
            oos = f"{r['oos_refused']:.2f}" if r["oos_refused"] is not None else "–"
            cells += [f"{r['macro_f1']:.3f}", f"{r['accuracy']:.3f}", oos]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_unseen(path: Path, target: Path, training: Path = TRAINING_DATA) -> int:
    """Copy a test set without the examples that stand in the training data (annotations kept),
    for `rasa test nlu`; returns how many examples were kept."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    seen = training_texts(training)
    kept = [m for m in load_data(str(path)).intent_examples if normalise(m.get("text")) not in seen]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(TrainingData(training_examples=kept).nlu_as_yaml())
    return len(kept)


def _named(value: str) -> Tuple[str, Path]:
    name, _, path = value.partition("=")
    return (name, Path(path)) if path else (Path(value).stem, Path(value))


def _write(target: Path, report: Dict[str, Any]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], help="NAME=PATH; the first one is gated")
    parser.add_argument("--set", action="append", required=True, type=Path, help="Rasa NLU YAML test set")
    parser.add_argument("--out", type=Path, default=Path("reports/nlu"))
    parser.add_argument("--min-macro-f1", type=float, default=0.0)
    parser.add_argument("--external", action="append", default=[], type=Path,
                        help="CSV of text by other people (../shared/nlu-dev): scored, never trained on")
    parser.add_argument("--write-unseen", type=Path, metavar="DIR",
                        help="only write each set, less what stands in data/nlu, into DIR and stop")
    args = parser.parse_args(argv)
    if args.write_unseen:
        for path in args.set:
            print(f"{path}: {write_unseen(path, args.write_unseen / path.name)} unseen examples")
        return 0

    if not args.model:
        parser.error("give at least one --model NAME=PATH (or --write-unseen DIR)")
    models = [_named(m) for m in args.model]
    sets = {}
    for path in args.set:
        examples = load_examples(path)
        sets[path.stem] = unseen(examples)
        print(f"{path}: {len(examples)} examples, {len(examples) - len(sets[path.stem])} left out "
              "because they also stand word for word in data/nlu")
    from bot import external_sets

    external = {e.name: e for e in map(external_sets.load_external, args.external)}
    results: Dict[Tuple[str, str], Dict[str, Any]] = {}
    sections, goals = [], []
    for name, path in models:
        predicted = predict_sets(path, {**sets, **{n: e.examples for n, e in external.items()}})
        scored = {}
        for set_name, external_set in external.items():
            report = external_sets.score_external(predicted.pop(set_name), external_set.groups)
            scored[set_name] = (external_set, report)
            _write(args.out / name / f"{set_name}.json", report)
            sections.append(external_sets.external_summary(name, external_set, report))
        for set_name, predictions in predicted.items():
            report = score(predictions)
            report["errors"] = [p.__dict__ for p in predictions if p.expected != p.predicted]
            results[(name, set_name)] = report
            _write(args.out / name / f"{set_name}.json", report)
            sections.append(summary(name, set_name, report))
        own = {set_name: results[(name, set_name)] for set_name in sets}
        goals.append(external_sets.targets_table(
            name, external_sets.targets(own, scored, external_sets.OWN_GOALS)))
    text = ("# NLU evaluation\n\n" + "\n\n".join(goals) + "\n\n" + comparison_table(results) + "\n\n"
            + "\n".join(sections))
    (args.out / "summary.md").write_text(text)
    print(text)

    gated = models[0][0]
    failing = [s for s in sets if results[(gated, s)]["macro_f1"] < args.min_macro_f1]
    if failing:
        print(f"FAIL: {gated} is below macro-F1 {args.min_macro_f1:.2f} on {', '.join(failing)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
