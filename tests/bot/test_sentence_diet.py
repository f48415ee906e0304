"""bot/nlp/sentence_diet.py: DIET trained without token features gives the intents DIET gives.

The premise is checked on Rasa's own DIET: in our shape (no transformer, no entities) the intent scores do
not move when the token features change. Then SentenceDIETClassifier is trained on the same small data
and must build the same layers from placeholder token features, and keep real ones in any other shape.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils import train_utils
from rasa.utils.tensorflow.constants import (
    ENTITY_RECOGNITION,
    EPOCHS,
    NUM_TRANSFORMER_LAYERS,
    RANDOM_SEED,
    SENTENCE,
    SEQUENCE,
)
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator, RasaDataGenerator

from bot.nlp.sentence_diet import (
    PLACEHOLDER,
    SentenceBatches,
    SentenceDIET,
    SentenceDIETClassifier,
    placeholder_sequence,
)

INTENTS = ["greet", "order_status", "cancel_order"]
VOCABULARY, WIDTH = 40, 16
SHAPE = {NUM_TRANSFORMER_LAYERS: 0, ENTITY_RECOGNITION: False, EPOCHS: 3, RANDOM_SEED: 1}


def featurized(text: str, intent: str, rng: np.random.Generator, tokens: int) -> Message:
    """A message with sparse and dense features of both kinds, its sentence features leaning to its intent."""
    label = INTENTS.index(intent)
    words = rng.integers(0, VOCABULARY // len(INTENTS), size=tokens) * len(INTENTS) + label
    rows = scipy.sparse.coo_matrix((np.ones(tokens, dtype=np.float32), (np.arange(tokens), words)),
                                   shape=(tokens, VOCABULARY))
    dense = rng.normal(size=(tokens, WIDTH)).astype(np.float32)
    dense[:, label] += 2.0
    return Message(data={TEXT: text, INTENT: intent}, features=[
        Features(rows, FEATURE_TYPE_SEQUENCE, TEXT, "CountVectorsFeaturizer"),
        Features(scipy.sparse.coo_matrix(rows.sum(axis=0)), FEATURE_TYPE_SENTENCE, TEXT,
                 "CountVectorsFeaturizer"),
        Features(dense, FEATURE_TYPE_SEQUENCE, TEXT, "MiniLMFeaturizer"),
        Features(dense.mean(axis=0, keepdims=True), FEATURE_TYPE_SENTENCE, TEXT, "MiniLMFeaturizer"),
    ])


def training_data(seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    examples = [featurized(f"{intent} {n}", intent, rng, tokens=int(rng.integers(1, 9)))
                for intent in INTENTS for n in range(12)]
    return TrainingData(training_examples=examples)


def trained(cls: Any, tmp_path: Path, config: Dict[str, Any]) -> DIETClassifier:
    tmp_path.mkdir(parents=True, exist_ok=True)
    component = cls.create({**cls.get_default_config(), **config}, LocalModelStorage(tmp_path),
                           Resource(cls.__name__), ExecutionContext(graph_schema=None, model_id="1"))
    component.train(training_data())
    return component


def with_other_tokens(message: Message, rng: np.random.Generator) -> Message:
    """The same sentence features, and token features of another length and other values."""
    tokens = int(rng.integers(1, 12))
    other = []
    for f in message.features:
        if f.type == FEATURE_TYPE_SEQUENCE and f.is_sparse():
            other.append(Features(scipy.sparse.random(tokens, VOCABULARY, density=0.2, format="coo",
                                                      random_state=int(rng.integers(1000)), dtype=np.float32),
                                  f.type, f.attribute, f.origin))
        elif f.type == FEATURE_TYPE_SEQUENCE:
            other.append(Features(rng.normal(size=(tokens, WIDTH)).astype(np.float32), f.type, f.attribute,
                                  f.origin))
        else:
            other.append(f)
    return Message(data={TEXT: message.get(TEXT)}, features=other)


def scores(diet: DIETClassifier, message: Message) -> np.ndarray:
    predicted = diet._predict(message)
    assert predicted is not None
    return np.asarray(predicted["i_scores"])


def test_rasas_diet_in_our_shape_ignores_the_token_features(tmp_path: Path) -> None:
    diet = trained(DIETClassifier, tmp_path, SHAPE)
    rng = np.random.default_rng(7)
    for message in training_data(seed=3).training_examples[::5]:
        np.testing.assert_allclose(scores(diet, message), scores(diet, with_other_tokens(message, rng)),
                                   rtol=1e-5, atol=1e-6)


def test_it_builds_diets_layers_from_one_zero_token(tmp_path: Path) -> None:
    ours = trained(SentenceDIETClassifier, tmp_path / "ours", SHAPE)
    rasas = trained(DIETClassifier, tmp_path / "rasa", SHAPE)
    assert ours.uses_sentence_features_only
    signature = ours.model.data_signature[TEXT]
    assert [(f.is_sparse, f.units) for f in signature[SEQUENCE]] == [(True, 1), (False, WIDTH)]
    assert signature[SENTENCE] == rasas.model.data_signature[TEXT][SENTENCE]
    assert sorted(ours.model._tf_layers) == sorted(rasas.model._tf_layers)
    shapes = sorted((w.name, tuple(w.shape)) for w in ours.model.trainable_weights)
    expected = sorted((w.name, tuple(w.shape)) for w in rasas.model.trainable_weights)
    assert [name for name, _ in shapes] == [name for name, _ in expected]
    # only the token features' own sparse-to-dense kernel is narrower
    differ = [name for (name, shape), (_, theirs) in zip(shapes, expected, strict=True) if shape != theirs]
    assert len(differ) == 1 and differ[0].endswith("/sparse_to_dense.text_sequence/kernel:0")
    # and, trained with the same seed, every other weight is DIET's own, to the bit
    theirs = {w.name: w.numpy() for w in rasas.model.trainable_weights}
    for weight in ours.model.trainable_weights:
        if weight.name not in differ:
            np.testing.assert_array_equal(weight.numpy(), theirs[weight.name], err_msg=weight.name)


def test_it_learns_the_intents_and_ignores_the_token_features(tmp_path: Path) -> None:
    ours = trained(SentenceDIETClassifier, tmp_path, {**SHAPE, EPOCHS: 30})
    rng = np.random.default_rng(11)
    held_out = training_data(seed=5).training_examples
    right = 0
    for message in held_out:
        found = scores(ours, message)
        assert found == pytest.approx(scores(ours, with_other_tokens(message, rng)), abs=1e-6)
        parsed = ours.process([Message(data={TEXT: message.get(TEXT)}, features=message.features)])[0]
        right += parsed.get(INTENT)["name"] == message.get(INTENT)
    assert right >= 0.9 * len(held_out)


def test_the_message_itself_is_left_alone() -> None:
    message = training_data().training_examples[0]
    before: List[Any] = list(message.features)
    copy = placeholder_sequence(message, [])
    assert message.features == before
    assert copy.data == message.data and copy.data is not message.data
    sequence = [f for f in copy.features if f.type == FEATURE_TYPE_SEQUENCE]
    assert [(f.is_sparse(), f.features.shape, f.origin) for f in sequence] == [
        (True, (1, 1), PLACEHOLDER), (False, (1, WIDTH), PLACEHOLDER)]
    assert all(f.features.sum() == 0 for f in sequence)
    assert [f for f in copy.features if f.type == FEATURE_TYPE_SENTENCE] == [
        f for f in message.features if f.type == FEATURE_TYPE_SENTENCE]
    # with a featurizers list, the placeholders carry a name DIET lets pass
    assert {f.origin for f in placeholder_sequence(message, ["MiniLMFeaturizer"]).features
            if f.type == FEATURE_TYPE_SEQUENCE} == {"MiniLMFeaturizer"}


def test_other_shapes_keep_the_token_features(tmp_path: Path) -> None:
    ours = trained(SentenceDIETClassifier, tmp_path, {**SHAPE, NUM_TRANSFORMER_LAYERS: 1, EPOCHS: 1})
    assert not ours.uses_sentence_features_only
    assert [(f.is_sparse, f.units) for f in ours.model.data_signature[TEXT][SEQUENCE]] == [
        (True, VOCABULARY), (False, WIDTH)]


def same_batch(ours: tuple, rasas: tuple) -> None:
    assert len(ours) == len(rasas)
    for mine, theirs in zip(ours, rasas, strict=True):
        if theirs is None:
            assert mine is None
            continue
        assert (type(mine), mine.dtype, mine.shape) == (type(theirs), theirs.dtype, theirs.shape)
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))


@pytest.mark.parametrize("cls", [DIETClassifier, SentenceDIETClassifier])
def test_the_batches_are_rasas_own(tmp_path: Path, cls: Any) -> None:
    """Token features of many lengths (Rasa's DIET keeps them) and the one-position placeholder (ours)."""
    diet = cls.create({**cls.get_default_config(), **SHAPE}, LocalModelStorage(tmp_path), Resource("d"),
                      ExecutionContext(graph_schema=None, model_id="1"))
    model_data = diet.preprocess_train_data(training_data())
    generator = train_utils.create_data_generators(model_data, [5, 17], 4, "balanced", 0, 1)[0]
    for _ in range(4):
        size = generator._current_batch_size
        for index in range(len(generator)):
            start, end = index * size, (index + 1) * size
            same_batch(SentenceBatches.prepare_batch(generator._data, start, end),
                       RasaDataGenerator.prepare_batch(generator._data, start, end))
        generator.on_epoch_end()
    # the whole data at once, a missing feature (None in its place) and open ends, as Rasa's predictions ask
    data = dict(model_data.data)
    data["entities"] = {"tag_ids": []}
    sizes = {"entities": 2, **{key: 1 for key in data}}
    same_batch(SentenceBatches.prepare_batch(data, tuple_sizes=sizes),
               RasaDataGenerator.prepare_batch(data, tuple_sizes=sizes))
    same_batch(SentenceBatches.prepare_batch(data, start=3), RasaDataGenerator.prepare_batch(data, start=3))
    same_batch(SentenceBatches.prepare_batch(data, end=7), RasaDataGenerator.prepare_batch(data, end=7))


def test_our_generator_takes_over_where_rasas_is(tmp_path: Path) -> None:
    diet = trained(SentenceDIETClassifier, tmp_path, {**SHAPE, EPOCHS: 1})
    assert isinstance(diet.model, SentenceDIET)
    model_data = diet.preprocess_train_data(training_data())

    def batches(take_over: bool) -> List[tuple]:
        np.random.seed(5)
        rasas = train_utils.create_data_generators(model_data, [5, 17], 3, "balanced", 0, 1)[0]
        generator: RasaBatchDataGenerator = SentenceBatches.taking_over(rasas) if take_over else rasas
        found = []
        for _ in range(3):
            found += [generator[index][0] for index in range(len(generator))]
            generator.on_epoch_end()
        return found

    ours, rasas = batches(True), batches(False)
    assert len(ours) == len(rasas) > 3
    for mine, theirs in zip(ours, rasas, strict=True):
        same_batch(mine, theirs)
