"""The embedding classifier beside DIET: the mix, the out-of-scope distance, and a real train/load cycle."""
from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.request_core import for_meaning
from bot.nlp.sentence_classifier import SentenceIntentClassifier, SentenceModel, mixed_ranking

# Three directions of a 4-d "embedding" space; an out_of_scope example sits on a fourth.
DIRECTIONS = {"order_status": [1, 0, 0, 0], "refund_policy": [0, 1, 0, 0], "greet": [0, 0, 1, 0],
              "out_of_scope": [0, 0, 0, 1]}


def message(vector, intent=None, text="text"):
    m = Message(data={"text": text, **({"intent": intent} if intent else {})})
    m.add_features(Features(np.array([vector], dtype=np.float32), "sentence", "text", "MiniLMFeaturizer"))
    return m


def noisy(direction, seed):
    rng = np.random.default_rng(seed)
    return (np.array(direction, dtype=np.float32) + rng.normal(0, 0.15, 4)).tolist()


@pytest.fixture
def trained(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("sentence_classifier")
    context = ExecutionContext(graph_schema=None, model_id="1")  # type: ignore[arg-type]
    config = {**SentenceIntentClassifier.get_default_config(), "min_similarity": 0.85}
    classifier = SentenceIntentClassifier.create(config, storage, resource, context)
    examples = [message(noisy(vector, seed), intent) for intent, vector in DIRECTIONS.items()
                for seed in range(8)]
    classifier.train(TrainingData(training_examples=examples))
    return config, storage, resource, context


def test_trained_model_survives_persist_and_load(trained):
    config, storage, resource, context = trained
    loaded = SentenceIntentClassifier.load(config, storage, resource, context)
    [m] = loaded.process([message([0.9, 0.1, 0, 0])])
    assert m.get("intent")["name"] == "order_status"
    assert m.get("intent")["confidence"] > 0.5
    assert [r["name"] for r in m.get("intent_ranking")][0] == "order_status"


def test_far_from_every_in_scope_example_is_out_of_scope(trained):
    config, storage, resource, context = trained
    loaded = SentenceIntentClassifier.load(config, storage, resource, context)
    # Between two intents and unlike both (cosine under 0.8 to any example): the regression must pick one.
    [m] = loaded.process([message([0.5, 0.5, -0.7, 0.0])])
    assert m.get("intent") == {"name": "out_of_scope", "confidence": 1.0}
    assert all(r["confidence"] == 0.0 for r in m.get("intent_ranking")[1:])


def test_diets_ranking_is_mixed_in():
    model = SentenceModel(["a", "b"], np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2), np.eye(2),
                          np.array([0, 1]))
    mine = model.probabilities(np.array([[1.0, 0.0]], dtype=np.float32))[0]
    alone = mixed_ranking(model.intents, mine, [], 0.5)     # no DIET: the regression alone
    assert alone[0]["name"] == "a" and alone[0]["confidence"] == pytest.approx(np.e / (np.e + 1), 1e-5)
    mixed = mixed_ranking(model.intents, mine, [{"name": "b", "confidence": 1.0}], 0.5)
    assert mixed[0]["name"] == "b"                          # DIET sure of b outweighs a mild a
    assert sum(r["confidence"] for r in mixed) == pytest.approx(1.0, 1e-5)


def test_untrained_or_missing_model_leaves_diet_alone(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(graph_schema=None, model_id="1")  # type: ignore[arg-type]
    loaded = SentenceIntentClassifier.load(SentenceIntentClassifier.get_default_config(), storage,
                                           Resource("never_trained"), context)
    m = message([1, 0, 0, 0])
    m.set("intent", {"name": "greet", "confidence": 0.4})
    loaded.process([m])
    assert m.get("intent") == {"name": "greet", "confidence": 0.4}


@pytest.mark.parametrize("bad", [{"weight": 1.5}, {"C": 0}, {"min_similarity": 2}, {"neighbour_weight": -0.1},
                                 {"neighbours": 0}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(InvalidConfigException):
        SentenceIntentClassifier.validate_config({**SentenceIntentClassifier.get_default_config(), **bad})


@pytest.mark.parametrize("text, meant", [
    ("is purchase 00004587345 shipped?", "is purchase #1234 shipped?"),
    ("where is KC-10003", "where is #1234"),
    ("order #55821 and order 4411-2", "order #1234 and order #1234"),
    ("I ordered 2 mugs for 25 pounds in 2025", "I ordered 2 mugs for 25 pounds in #1234"),
    ("no numbers here", "no numbers here"),
])
def test_numbers_are_read_for_their_shape(text, meant):
    assert for_meaning(text) == meant


def test_nearest_examples_vote_beside_the_regression():
    # The regression leans to "a" everywhere; the examples say a vector near (0, 1) is "b".
    model = SentenceModel(["a", "b"], np.array([[2.0, 2.0], [0.0, 0.0]]), np.zeros(2),
                          np.array([[1.0, 0.0], [0.0, 1.0], [0.1, 0.99]]), np.array([0, 1, 1]))
    near_b = np.array([[0.05, 1.0]], dtype=np.float32)
    assert model.probabilities(near_b)[0].argmax() == 0                      # regression alone: a
    vote = model.neighbour_vote(near_b, neighbours=2)[0]
    assert vote[1] == pytest.approx(1.0) and vote.sum() == pytest.approx(1.0)
    assert model.probabilities(near_b, neighbour_weight=0.6, neighbours=2)[0].argmax() == 1
