"""The evaluation summary reads Rasa's intent report and gates on macro-F1."""
from __future__ import annotations

import json

from bot.evaluation import confusions, main

REPORT = {
    "greet": {"precision": 1.0, "recall": 0.5, "f1-score": 0.667, "support": 2,
              "confused_with": {"goodbye": 1}},
    "goodbye": {"precision": 0.5, "recall": 1.0, "f1-score": 0.667, "support": 1, "confused_with": {}},
    "accuracy": 0.667,
    "macro avg": {"precision": 0.75, "recall": 0.75, "f1-score": 0.667, "support": 3},
    "weighted avg": {"precision": 0.83, "recall": 0.67, "f1-score": 0.667, "support": 3},
}


def test_confusions_are_pairs_of_true_and_predicted():
    assert confusions(REPORT) == [(1, "greet", "goodbye")]


def test_gate_fails_below_the_threshold(tmp_path, capsys):
    path = tmp_path / "intent_report.json"
    path.write_text(json.dumps(REPORT))
    assert main([str(path), "--min-macro-f1", "0.9"]) == 1
    assert "macro-F1 0.667 is below 0.90" in capsys.readouterr().err
    assert main([str(path), "--min-macro-f1", "0.6"]) == 0
    assert "1 x greet -> goodbye" in capsys.readouterr().out
