"""Scoring text written by other people (../shared/nlu-dev), and keeping it out of our training data."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluation import Prediction, load_examples, normalise
from bot.external_sets import load_external, score_external, targets

ROOT = Path(__file__).resolve().parents[2]
NLU_DEV = ROOT.parent / "shared" / "nlu-dev"


def p(expected, predicted):
    return Prediction("text", expected, predicted, predicted, 0.9)


def test_requests_are_right_only_when_accepted_and_not_refused():
    refund = "request_refund|return_item"
    predictions = [p(refund, "return_item"), p(refund, "nlu_fallback"),
                   p("order_status", "order_status"), p("order_status", "invoice")]
    report = score_external(predictions, ["get_refund", "get_refund", "track_order", "track_order"])
    assert report["right"] == pytest.approx(2 / 4)
    assert report["fallback"] == pytest.approx(1 / 4)
    assert report["by_group"] == {"get_refund": 0.5, "track_order": 0.5}
    assert {(c["group"], c["predicted"]) for c in report["confusions"]} == {
        ("get_refund", "nlu_fallback"), ("track_order", "invoice")}


def test_out_of_scope_questions_are_right_when_refused_either_way():
    predictions = [p("out_of_scope", "out_of_scope"), p("out_of_scope", "nlu_fallback"),
                   p("out_of_scope", "greet")]
    report = score_external(predictions, ["travel"] * 3)
    assert report["right"] == report["refused"] == pytest.approx(2 / 3)


def test_csv_kind_is_read_from_the_header(tmp_path):
    requests = tmp_path / "requests.csv"
    requests.write_text('text,source_intent,accepted_intents\n'
                        '"where is it, please",track_order,order_status\n')
    questions = tmp_path / "questions.csv"
    questions.write_text("text,source_domain,source_intent\nbook me a flight,travel,book_flight\n")
    assert load_external(requests).examples == [("where is it, please", "order_status")]
    assert not load_external(requests).out_of_scope
    loaded = load_external(questions)
    assert loaded.out_of_scope and loaded.examples == [("book me a flight", "out_of_scope")]
    assert loaded.groups == ["travel"]


def test_targets_name_the_worst_source_intent(tmp_path):
    questions = tmp_path / "q.csv"
    questions.write_text("text,source_domain\nx,travel\n")
    requests = tmp_path / "r.csv"
    requests.write_text("text,source_intent,accepted_intents\nx,a,a\n")
    rows = targets({"heldout": {"macro_f1": 0.95}},
                   {"r": (load_external(requests), {"right": 0.93, "worst_group": ("a", 0.7)}),
                    "q": (load_external(questions), {"refused": 0.95})},
                   {"heldout": 0.936})
    assert [(t.measure, t.met) for t in rows] == [
        ("r: right, not refused", True), ("r: worst source intent (a)", False), ("q: refused", True),
        ("heldout: macro-F1", True)]


@pytest.mark.skipif(not NLU_DEV.is_dir(), reason="../shared/nlu-dev is not beside this checkout")
def test_no_sentence_of_the_external_sets_is_in_our_training_data():
    ours = {normalise(text) for text, _ in load_examples(ROOT / "data" / "nlu")}
    theirs = {normalise(text) for path in NLU_DEV.glob("*.csv") for text, _ in load_external(path).examples}
    assert not ours & theirs
