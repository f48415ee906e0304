"""bot/diet_inference.py scores intents as DIET's TensorFlow model does, on the trained model (models/).

Every message of our NLU test sets, and some odd ones, is parsed by the loaded model; for each, DIET's own
prediction and the NumPy one are both made and compared score by score.
"""
from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any, Dict, Iterator, List

import numpy as np
import pytest
import yaml
from rasa.core.agent import Agent
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.utils.tensorflow.constants import ENTITY_RECOGNITION, NUM_TRANSFORMER_LAYERS

from bot.diet_inference import (
    NotThisShape,
    SentenceScores,
    predict_intents_in_numpy,
    predict_intents_in_numpy_for,
)
from bot.trained_models.switch import loaded_components

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "shop.tar.gz"
ODD = ["", "?", "ok", "🙂🙂", "KC-10001", "a" * 600, "hello " * 80, "where's my ordr??? its been 2 weeks!!!",
       "Bonjour, je voudrais annuler ma commande", "1234567890", "<script>alert(1)</script>"]


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    if not MODEL.is_file():
        pytest.fail(f"{MODEL} is missing: `make test` trains it first")
    yield Agent.load(str(MODEL))


@pytest.fixture(scope="module")
def diet(agent: Agent) -> DIETClassifier:
    nodes = agent.processor.graph_runner._instantiated_nodes  # type: ignore[union-attr]
    found = [n._component for n in nodes.values() if isinstance(n._component, DIETClassifier)]
    assert len(found) == 1
    return found[0]


def texts() -> List[str]:
    found = []
    for name in ("validation.yml", "second_voice.yml"):
        for block in yaml.safe_load((ROOT / "tests" / "nlu" / name).read_text())["nlu"]:
            lines = block.get("examples", "").splitlines()
            found += [line[2:].strip() for line in lines if line.startswith("- ")]
    assert len(found) > 300
    return found + ODD


def test_the_scores_are_diets_own(agent: Agent, diet: DIETClassifier) -> None:
    scores = SentenceScores(diet)
    rasas_own = diet._predict
    compared: List[Dict[str, Any]] = []

    def both(message: Any) -> Any:
        theirs = rasas_own(message)
        ours = scores(message)
        compared.append({"theirs": None if theirs is None else np.asarray(theirs["i_scores"]).reshape(-1),
                         "ours": None if ours is None else ours["i_scores"].reshape(-1)})
        return theirs

    diet._predict = both  # type: ignore[method-assign]
    try:
        for text in texts():
            asyncio.run(agent.parse_message(text))
    finally:
        del diet._predict
    assert len(compared) == len(texts())
    for pair in compared:
        if pair["theirs"] is None:
            assert pair["ours"] is None
            continue
        assert pair["ours"] is not None
        gap = np.abs(pair["ours"] - pair["theirs"]).max()
        assert gap < 1e-5, gap
        # the three best in the same order, where their scores are further apart than the gap allows
        best = np.argsort(-pair["theirs"])[:4]
        apart = np.diff(-pair["theirs"][best]) > 2e-5
        ours_best = np.argsort(-pair["ours"])[:4]
        for place in range(3):
            if apart[place] and (place == 0 or apart[place - 1]):
                assert ours_best[place] == best[place], (place, pair)
    assert sum(pair["theirs"] is not None for pair in compared) > 300


def test_a_parse_gives_the_same_intents_with_the_numpy_scores(agent: Agent, diet: DIETClassifier) -> None:
    sample = texts()[::7]
    before = [asyncio.run(agent.parse_message(text)) for text in sample]
    assert predict_intents_in_numpy_for(loaded_components(agent.processor)) == 1
    try:
        after = [asyncio.run(agent.parse_message(text)) for text in sample]
    finally:
        del diet._predict
    for old, new in zip(before, after, strict=True):
        assert new["intent"]["name"] == old["intent"]["name"], old["text"]
        assert new["intent"]["confidence"] == pytest.approx(old["intent"]["confidence"], abs=1e-5)
        top = [i["name"] for i in old["intent_ranking"][:3]]
        assert [i["name"] for i in new["intent_ranking"][:3]] == top, old["text"]


def test_rasa_test_still_gets_diets_diagnostic_data(agent: Agent, diet: DIETClassifier,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    messages: List[Any] = []
    own = diet._predict
    monkeypatch.setattr(diet, "_predict", lambda message: messages.append(message) or own(message))
    asyncio.run(agent.parse_message("where is my parcel?"))
    monkeypatch.undo()
    assert predict_intents_in_numpy(diet)
    try:
        monkeypatch.setattr(diet._execution_context, "should_add_diagnostic_data", True)
        calls: List[Any] = []
        monkeypatch.setattr(diet.model, "run_inference",
                            lambda data: calls.append(data) or {"i_scores": None})
        diet._predict(messages[0])
        assert len(calls) == 1  # TensorFlow's way, for the transformer's output in the diagnostic data
    finally:
        del diet._predict


@pytest.mark.parametrize("change", [{ENTITY_RECOGNITION: True}, {NUM_TRANSFORMER_LAYERS: 2}])
def test_another_shape_of_diet_keeps_tensorflow(diet: DIETClassifier, change: Dict[str, Any]) -> None:
    other = copy.copy(diet)
    other.component_config = {**diet.component_config, **change}
    with pytest.raises(NotThisShape):
        SentenceScores(other)
    assert predict_intents_in_numpy(other) is False
    assert "_predict" not in other.__dict__
