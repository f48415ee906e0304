"""NLU quality of the bots' models, so speed is never bought with accuracy: our evaluator (bot.evaluation)
on our test sets and the text of other people in ../shared/nlu-dev, both models in one run.

The evaluator writes <out>/<model name>/<set>.json; the benchmark keeps each set's headline figures.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping

from bot.turn_bench.bots_under_test import ROOT, server_env

TEST_SETS = (ROOT / "tests/nlu/heldout.yml", ROOT / "tests/nlu/second_voice.yml")
NLU_DEV = ROOT.parent / "shared" / "nlu-dev"  # text by other people, never trained on (its README.md)
EXTERNAL_SETS = (NLU_DEV / "bitext_dev.csv", NLU_DEV / "out_of_scope_dev.csv")
# Our own sets: macro-F1, accuracy, share of out-of-scope refused. Other people's text (external): share
# answered right and share refused (bot/external_sets.py).
HEADLINES = ("macro_f1", "accuracy", "oos_refused", "right", "refused")


def headline_figures(report: Mapping[str, Any]) -> Dict[str, float]:
    """The figures of one set's report that go into bench.json (the rest stays in the report)."""
    return {key: report[key] for key in HEADLINES if isinstance(report.get(key), (int, float))}


def evaluation_command(models: Mapping[str, Path], out: Path) -> List[str]:
    command = [sys.executable, "-m", "bot.evaluation", "--out", str(out)]
    command += [arg for name, path in models.items() for arg in ("--model", f"{name}={path}")]
    command += [arg for path in TEST_SETS for arg in ("--set", str(path))]
    command += [arg for path in EXTERNAL_SETS if path.is_file() for arg in ("--external", str(path))]
    return command


def evaluate(models: Mapping[str, Path], out: Path, log: Path) -> Dict[str, Dict[str, Dict[str, float]]]:
    """Run the evaluator on ``models`` (name -> archive); {model: {set: headline figures}}."""
    with open(log, "w") as output:
        subprocess.run(evaluation_command(models, out), cwd=ROOT, env=server_env({}), stdout=output,
                       stderr=subprocess.STDOUT, check=True)
    return {name: read_figures(out / name) for name in models}


def read_figures(folder: Path) -> Dict[str, Dict[str, float]]:
    return {report.stem: headline_figures(json.loads(report.read_text()))
            for report in sorted(folder.glob("*.json"))}
