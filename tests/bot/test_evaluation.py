"""The evaluation's figures and the threshold sweep, on predictions whose right answer we know."""
from __future__ import annotations

import pytest

from bot.evaluation import Prediction, prediction_from_parse, score
from bot.fallback_threshold import choose, sweep


def p(expected, predicted, top=None, confidence=0.9, margin=1.0):
    return Prediction("text", expected, predicted, top or predicted, confidence, margin)


PREDICTIONS = [
    p("greet", "greet"), p("greet", "goodbye"), p("goodbye", "goodbye"),
    p("out_of_scope", "out_of_scope"), p("out_of_scope", "nlu_fallback", "greet", 0.3),
    p("out_of_scope", "greet", "greet", 0.8),
]


def test_scores_by_hand():
    report = score(PREDICTIONS)
    assert report["examples"] == 6
    assert report["accuracy"] == pytest.approx(3 / 6)
    assert report["per_intent"]["greet"]["precision"] == pytest.approx(1 / 2)   # 1 of 2 "greet" right
    assert report["per_intent"]["greet"]["recall"] == pytest.approx(1 / 2)
    assert report["per_intent"]["goodbye"]["f1-score"] == pytest.approx(2 / 3)  # P 1/2, R 1
    assert report["per_intent"]["out_of_scope"]["recall"] == pytest.approx(1 / 3)
    assert report["oos_refused"] == pytest.approx(2 / 3)                        # fallback counts as refused
    assert report["in_scope_fallback_rate"] == 0
    assert report["confusions"][0]["count"] == 1
    assert {(c["expected"], c["predicted"]) for c in report["confusions"]} == {
        ("greet", "goodbye"), ("out_of_scope", "nlu_fallback"), ("out_of_scope", "greet")}


def test_fallback_ranking_is_read_through():
    parsed = {"intent": {"name": "nlu_fallback", "confidence": 0.5},
              "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.5},
                                 {"name": "invoice", "confidence": 0.41},
                                 {"name": "help", "confidence": 0.2}]}
    prediction = prediction_from_parse("receipt?", "invoice", parsed)
    assert (prediction.predicted, prediction.top_intent, prediction.confidence, prediction.margin) == (
        "nlu_fallback", "invoice", pytest.approx(0.41), pytest.approx(0.21))


def test_threshold_sweep_trades_answers_for_refusals():
    predictions = [p("greet", "greet", confidence=0.95), p("greet", "greet", confidence=0.55),
                   p("help", "help", confidence=0.45),
                   p("out_of_scope", "help", "help", 0.5), p("out_of_scope", "greet", "greet", 0.35)]
    rows = {r["threshold"]: r for r in sweep(predictions, [0.3, 0.4, 0.5, 0.6], [0.0])}
    assert rows[0.3]["in_scope_answered"] == 1 and rows[0.3]["out_of_scope_refused"] == 0
    assert rows[0.4]["out_of_scope_refused"] == 0.5
    assert rows[0.5]["in_scope_answered"] == pytest.approx(2 / 3, abs=1e-4)
    assert rows[0.6]["out_of_scope_refused"] == 1
    assert rows[0.6]["in_scope_answered"] == pytest.approx(1 / 3, abs=1e-4)
    # Refusing at least half the out-of-scope: 0.4 answers the most in-scope messages.
    assert choose(list(rows.values()), min_refused=0.5)["threshold"] == 0.4
    # Refusing all of them: only 0.6 does, whatever it costs.
    assert choose(list(rows.values()), min_refused=1.0)["threshold"] == 0.6
    # Nothing reaches the bar: the best mean of the two rates (0.4: 0.75).
    assert choose([rows[0.3], rows[0.4], rows[0.5]], min_refused=0.9)["threshold"] == 0.4
    # Two thresholds equally good on every count: the more careful one.
    tied = [{**rows[0.4], "threshold": 0.35}, rows[0.4]]
    assert choose(tied, min_refused=0.5)["threshold"] == 0.4


def test_ambiguity_is_swept_beside_the_threshold():
    # Two in-scope answers whose runner-up is close, one out-of-scope question only a close call refuses.
    predictions = [p("greet", "greet", margin=0.5), p("help", "help", margin=0.04),
                   p("invoice", "invoice", margin=0.08), p("out_of_scope", "help", "help", 0.6, margin=0.03),
                   p("out_of_scope", "out_of_scope")]
    rows = {r["ambiguity_threshold"]: r for r in sweep(predictions, [0.3], [0.0, 0.05, 0.1])}
    assert [rows[a]["in_scope_answered"] for a in (0.0, 0.05, 0.1)] == [1, pytest.approx(2 / 3, abs=1e-4),
                                                                         pytest.approx(1 / 3, abs=1e-4)]
    assert [rows[a]["out_of_scope_refused"] for a in (0.0, 0.05, 0.1)] == [0.5, 1, 1]
    # Refusing half is enough: no ambiguity check answers the most; refusing all: the smallest that does.
    assert choose(list(rows.values()), min_refused=0.5)["ambiguity_threshold"] == 0.0
    assert choose(list(rows.values()), min_refused=1.0)["ambiguity_threshold"] == 0.05


def test_a_tie_keeps_the_configured_classifier_settings(tmp_path):
    from bot.fallback_threshold import configured

    tied = [{"weight": 0.6, "neighbour_weight": nw, "min_similarity": 0.45, "threshold": 0.3,
             "ambiguity_threshold": 0.05, "in_scope_answered": 0.95, "out_of_scope_refused": 0.93,
             "balanced": 0.94} for nw in (0.0, 0.25, 0.5)]
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n- name: DIETClassifier\n"
                      "- name: bot.nlp.sentence_classifier.SentenceIntentClassifier\n"
                      "  weight: 0.6\n  neighbour_weight: 0.25\n  min_similarity: 0.45\n")
    assert configured(config) == {"weight": 0.6, "neighbour_weight": 0.25, "min_similarity": 0.45}
    assert choose(tied, 0.92, configured(config))["neighbour_weight"] == 0.25
    # Better on the validation sets wins over what is configured.
    better = {**tied[2], "in_scope_answered": 0.96}
    assert choose([*tied, better], 0.92, configured(config))["neighbour_weight"] == 0.5


def test_one_message_more_answered_does_not_outweigh_more_refusals():
    row = {"weight": 0.6, "neighbour_weight": 0.25, "threshold": 0.3, "ambiguity_threshold": 0.05}
    bolder = {**row, "min_similarity": 0.40, "in_scope_answered": 0.9573, "out_of_scope_refused": 0.9231}
    careful = {**row, "min_similarity": 0.45, "in_scope_answered": 0.9556, "out_of_scope_refused": 0.9375}
    worse = {**row, "min_similarity": 0.50, "in_scope_answered": 0.9521, "out_of_scope_refused": 0.9423}
    one_message = 1 / 585
    assert choose([bolder, careful, worse], 0.92, tolerance=one_message) is careful
    assert choose([bolder, careful, worse], 0.92) is bolder  # no tolerance: strictly the most answers
    # Two messages fewer answered is a difference: refusing more does not buy it.
    assert choose([bolder, worse], 0.92, tolerance=one_message) is bolder


def test_examples_seen_in_training_are_left_out(tmp_path):
    from bot.evaluation import unseen

    training = tmp_path / "nlu.yml"
    training.write_text('version: "3.1"\nnlu:\n- intent: deny\n  examples: |\n    - No\n    - nope\n')
    examples = [("no", "deny"), ("  NOPE ", "deny"), ("not really", "deny")]
    assert unseen(examples, training) == [("not really", "deny")]
