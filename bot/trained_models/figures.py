"""A model's figures, measured after training so the trainer can compare it with the model answering now.

- our NLU test sets (tests/nlu/heldout.yml, second_voice.yml), less what stands word for word in the
  training data: accuracy, macro-F1, the share of out-of-scope questions refused, F1 per intent;
- the text by other people in ../shared/nlu-dev (evaluated on, never trained on): the share right and
  refused, and the share right per source intent;
- the conversation tests (tests/stories) with `rasa test core --fail-on-prediction-errors`: how many pass.

``compare`` puts two models' figures side by side, with the intents that got better or worse.
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

OWN_SETS = (Path("tests/nlu/heldout.yml"), Path("tests/nlu/second_voice.yml"))
EXTERNAL_FILES = ("bitext_dev.csv", "out_of_scope_dev.csv")
CHANGE = 0.02  # an intent's F1 (or a source intent's share right) moving by at least this is shown


def _stories_in(folder: Path) -> int:
    total = 0
    for path in sorted(folder.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        total += len(document.get("stories") or [])
    return total


def story_figures(model: Path, stories: Path, out: Path, env: Dict[str, str], log: Any) -> Dict[str, Any]:
    """Run the conversation tests against the model: {"passed", "total"} (or "problem")."""
    total = _stories_in(stories)
    if not total:
        return {"passed": 0, "total": 0}
    command = [sys.executable, "-m", "rasa", "test", "core", "--stories", str(stories), "--model", str(model),
               "--fail-on-prediction-errors", "--out", str(out), "--quiet"]
    done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=1800)
    failed_file = out / "failed_test_stories.yml"
    failed = failed_file.read_text(encoding="utf-8").count("- story:") if failed_file.is_file() else None
    if failed is None:
        return {"passed": 0, "total": total, "problem": f"rasa test core ended with {done.returncode}"}
    return {"passed": total - failed, "total": total}


def nlu_figures(model: Path, training_dir: Path, nlu_dev: Path) -> Dict[str, Any]:
    """The model on our test sets and on nlu-dev (those that exist)."""
    from bot import external_sets
    from bot.evaluation import load_examples, predict_sets, score, unseen

    own = {path.stem: unseen(load_examples(path), training_dir) for path in OWN_SETS if path.is_file()}
    external = {e.name: e for e in (external_sets.load_external(nlu_dev / name) for name in EXTERNAL_FILES
                                    if (nlu_dev / name).is_file())}
    predicted = predict_sets(model, {**own, **{n: e.examples for n, e in external.items()}})
    figures: Dict[str, Any] = {"sets": {}, "external": {}}
    for name in own:
        report = score(predicted[name])
        figures["sets"][name] = {
            "examples": report["examples"], "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
            "oos_refused": report["oos_refused"],
            "per_intent": {intent: row["f1-score"] for intent, row in report["per_intent"].items()}}
    for name, examples in external.items():
        report = external_sets.score_external(predicted[name], examples.groups)
        figures["external"][name] = {"examples": report["examples"], "right": report["right"],
                                     "refused": report["refused"], "by_group": report["by_group"],
                                     "out_of_scope": examples.out_of_scope}
    figures["measured_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return figures


@dataclass(frozen=True)
class Row:
    measure: str
    old: Optional[float]
    new: Optional[float]

    @property
    def change(self) -> Optional[float]:
        return None if self.old is None or self.new is None else self.new - self.old


def _get(figures: Dict[str, Any], *keys: str) -> Optional[float]:
    value: Any = figures
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def _stories_share(figures: Dict[str, Any]) -> Optional[float]:
    stories = figures.get("stories") or {}
    return stories["passed"] / stories["total"] if stories.get("total") else None


def compare(old: Dict[str, Any], new: Dict[str, Any]) -> List[Row]:
    """The headline figures of two models, side by side (None where one was not measured)."""
    rows: List[Row] = []
    for name in sorted(set(old.get("sets", {})) | set(new.get("sets", {}))):
        for key, words in (("accuracy", "accuracy"), ("macro_f1", "macro-F1"),
                           ("oos_refused", "out of scope refused")):
            rows.append(Row(f"{name}: {words}", _get(old, "sets", name, key), _get(new, "sets", name, key)))
    for name in sorted(set(old.get("external", {})) | set(new.get("external", {}))):
        key, words = (("refused", "refused") if (new.get("external", {}).get(name) or old["external"][name])
                      ["out_of_scope"] else ("right", "right, not refused"))
        rows.append(Row(f"nlu-dev {name}: {words}", _get(old, "external", name, key),
                        _get(new, "external", name, key)))
    rows.append(Row("conversation tests passed", _stories_share(old), _stories_share(new)))
    return [row for row in rows if row.old is not None or row.new is not None]


def intent_changes(old: Dict[str, Any], new: Dict[str, Any]) -> Tuple[List[Row], List[Row]]:
    """(better, worse): intents whose F1 on one of our sets, or source intents of nlu-dev whose share
    right, moved by at least CHANGE; the biggest moves first."""
    rows: List[Row] = []
    for name in set(old.get("sets", {})) & set(new.get("sets", {})):
        before, after = old["sets"][name]["per_intent"], new["sets"][name]["per_intent"]
        rows += [Row(f"{intent} ({name})", before[intent], after[intent])
                 for intent in set(before) & set(after)]
    for name in set(old.get("external", {})) & set(new.get("external", {})):
        before, after = old["external"][name]["by_group"], new["external"][name]["by_group"]
        rows += [Row(f"{group} (nlu-dev {name})", before[group], after[group])
                 for group in set(before) & set(after)]
    moved = sorted((r for r in rows if abs(r.change or 0.0) >= CHANGE), key=lambda r: -abs(r.change or 0.0))
    return [r for r in moved if (r.change or 0) > 0], [r for r in moved if (r.change or 0) < 0]


def measure(model: Path, training_dir: Path, nlu_dev: Path, stories: Path, out: Path, env: Dict[str, str],
            log: Any) -> Dict[str, Any]:
    figures = nlu_figures(model, training_dir, nlu_dev)
    log.write(f"NLU figures of {model.name}: {headline(figures)}\n")
    log.flush()
    figures["stories"] = story_figures(model, stories, out, env, log)
    log.write(f"Conversation tests of {model.name}: {figures['stories']}\n")
    log.flush()
    return figures


def headline(figures: Dict[str, Any]) -> str:
    """A model's figures in one line: our sets' accuracy, nlu-dev (right, or refused for out of scope), the
    conversation tests."""
    parts = [f"{name} {s['accuracy']:.3f}" for name, s in sorted(figures.get("sets", {}).items())]
    parts += [f"{name} {e['refused'] if e['out_of_scope'] else e['right']:.3f}"
              for name, e in sorted(figures.get("external", {}).items())]
    stories = figures.get("stories") or {}
    if stories.get("total"):
        parts.append(f"stories {stories['passed']}/{stories['total']}")
    return ", ".join(parts) or "not measured"
