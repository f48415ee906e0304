"""A second intent classifier over the MiniLM sentence embeddings, combined with DIET's ranking.

Add it after DIETClassifier and before FallbackClassifier::

    - name: DIETClassifier
    - name: bot.nlp.sentence_classifier.SentenceIntentClassifier

Why: DIET learns from our own examples and is confident only on wordings like them; on text written by
other people its confidence drops and the fallback answers "Did you mean…?" to plain requests. A
logistic regression over the pretrained sentence embedding generalises to new wordings much better (it
sees meaning, not our words), and a mix of the two is better than either (chosen by `make threshold` on
our validation set, reports/threshold.json).

Out of scope is decided by distance as well as by the label: a message whose nearest in-scope training
example is further than ``min_similarity`` (cosine) is answered as ``out_of_scope`` whatever the
classifiers say, because both are forced to pick one of our intents for text unlike any of them.

Two requests in one message ("how much is shipping and how long does it take?"): the message is cut
where it may hold two (bot/nlp/clauses.py), each part is classified by the regression, and parts
confidently asking for something other than the main intent are put in the parse data as
``also_asked`` (a list of intent names) for the actions to answer too.

Slips are read as the word meant ("check ur paymnet options"): bot/nlp/spelling.py, one edit away
from a known word; the speller's words are stored with the model.

Numbers are read for their shape, not their digits: "is purchase 00004587345 shipped?" is embedded as
"is purchase #1234 shipped?" (order numbers in a format unlike ours pulled the embedding off course:
measured on other people's text, 0.765 -> 0.80 right with the regression alone). Only this
classifier sees the rewritten text; DIET keeps the features of what was typed.

A request wrapped in a frame ("I need assistance to see the withdrawal charges") is read as the mean of
the whole message and its core without the frame (bot/nlp/request_core.py), so that the frame no longer
outweighs the request (measured on other people's text with the regression and vote alone: 0.905 ->
0.923 right, our own sets unchanged or better).

The regression weighs every intent alike (class_weight balanced): how many examples we wrote for an
intent says nothing about how often customers ask it.

Inference is NumPy only (softmax over one matrix product and one similarity row): well under a
millisecond beside the encoder. Training fits scikit-learn's LogisticRegression (Rasa depends on it).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional, Sequence, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp import minilm
from bot.nlp.clauses import request_parts
from bot.nlp.featurizer import MiniLMFeaturizer
from bot.nlp.request_core import for_meaning, request_core
from bot.nlp.spelling import Speller

logger = logging.getLogger(__name__)

OUT_OF_SCOPE = "out_of_scope"
WEIGHT = "weight"                  # share of the embedding classifier in the mix; DIET has the rest
C = "C"                            # inverse regularisation of the logistic regression
BALANCED = "balanced"              # weigh each intent alike in the regression, however many examples it has
MIN_SIMILARITY = "min_similarity"  # nearest in-scope example closer than this, or out of scope
RANKING_LENGTH = "ranking_length"
NEIGHBOUR_WEIGHT = "neighbour_weight"  # share of the nearest examples' vote beside the regression
NEIGHBOURS = "neighbours"
_NEIGHBOUR_TEMPERATURE = 0.05
ALSO_ASKED = "also_asked"
MIN_PART_CONFIDENCE = "min_part_confidence"  # a part's own intent needs this much of the regression
MAX_PARTS = 4  # parts of one message classified for also_asked
# Intents that are not a request of their own: "thanks, and where is my order" asks one thing.
NOT_REQUESTS = frozenset({"greet", "goodbye", "thank_you", "affirm", "deny", "inform", "stop", "help",
                          "bot_challenge", "how_are_you", "laugh", "bot_insult", OUT_OF_SCOPE})
SPELLING = "correct_spelling"  # read "pamyent" as "payment" (bot/nlp/spelling.py)
_FILE = "sentence_classifier.npz"


def embed(texts: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(minilm.shared_encoder(None).embed_sentences(list(texts)), dtype=np.float32)
    return _normalised(vectors)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def _as_typed(text: str) -> str:
    return text


def meaning_vectors(texts: Sequence[str], whole: Optional[np.ndarray] = None,
                    spell: Callable[[str], str] = _as_typed) -> np.ndarray:
    """One L2-normalised vector per text: the embedding of the text with its slips corrected (``spell``)
    and its numbers stood in, averaged with the embedding of its request core when it opens with a frame
    (bot/nlp/request_core.py). ``whole``: the texts' own embeddings when already computed (the
    featurizer's), used where nothing was rewritten."""
    meant = [spell(text) for text in texts]
    readable = [for_meaning(text) for text in meant]
    if whole is None:
        vectors = embed(readable)
    else:
        vectors = _normalised(np.asarray(whole, dtype=np.float32).copy())
        rewritten = [i for i, (text, read) in enumerate(zip(texts, readable, strict=True)) if text != read]
        if rewritten:
            vectors[rewritten] = embed([readable[i] for i in rewritten])
    cores = [(i, for_meaning(core)) for i, text in enumerate(meant) if (core := request_core(text)) != text]
    if cores:
        rows = [i for i, _ in cores]
        vectors[rows] = _normalised(vectors[rows] + embed([core for _, core in cores]))
    return vectors


def sentence_vector(message: Message, spell: Callable[[str], str] = _as_typed) -> Optional[np.ndarray]:
    """The message's meaning vector (meaning_vectors), from the MiniLM feature already computed."""
    text = message.get(TEXT) or ""
    _, sentence = message.get_dense_features(TEXT)
    if sentence is None:
        return None
    vector = np.asarray(sentence.features, dtype=np.float32).reshape(1, -1)
    if not float(np.linalg.norm(vector)):
        return None
    return meaning_vectors([text], vector, spell)[0]


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=-1, keepdims=True)


class SentenceModel:
    """The trained parts: the regression's weights and every training example's embedding and intent."""

    def __init__(self, intents: Sequence[str], coef: np.ndarray, intercept: np.ndarray,
                 examples: np.ndarray, labels: np.ndarray, speller: Optional[Speller] = None) -> None:
        self.speller = speller  # corrects slips before a text is embedded; None: read as typed
        self.intents = list(intents)
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.examples = examples.astype(np.float32)
        self.labels = labels.astype(np.int64)  # index into intents, one per example
        out = self.intents.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self.intents else -1
        self.in_scope = self.labels != out  # which examples are in scope

    def spell(self, text: str) -> str:
        return self.speller.correct(text) if self.speller is not None else text

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: Sequence[str], c: float,
            balanced: bool = True, speller: Optional[Speller] = None) -> "SentenceModel":
        from sklearn.linear_model import LogisticRegression

        # Balanced: how many examples we wrote for an intent (449 out of scope, 48 "how are you") says
        # nothing about how often customers ask it; unbalanced, the big intents took the doubtful texts.
        regression = LogisticRegression(C=c, max_iter=5000, class_weight="balanced" if balanced else None)
        regression.fit(vectors, list(labels))
        intents = [str(i) for i in regression.classes_]
        return cls(intents, regression.coef_, regression.intercept_, vectors,
                   np.array([intents.index(label) for label in labels]), speller)

    def similarity(self, vectors: np.ndarray) -> np.ndarray:
        """Cosine similarity of each (normalised) vector to every training example.

        The vote and the out-of-scope distance share it: the examples (4,000 x 384) come from memory, not
        the cache, at each message, and reading them once instead of twice took a millisecond off a turn."""
        return vectors @ self.examples.T

    def probabilities(self, vectors: np.ndarray, neighbour_weight: float = 0.0, neighbours: int = 5,
                      similarity: Optional[np.ndarray] = None) -> np.ndarray:
        """The regression's probabilities, mixed with a vote of the nearest training examples."""
        regression = softmax(vectors @ self.coef.T + self.intercept)
        if neighbour_weight <= 0 or not len(self.examples):
            return regression
        vote = self.neighbour_vote(vectors, neighbours, similarity)
        return (1 - neighbour_weight) * regression + neighbour_weight * vote

    def neighbour_vote(self, vectors: np.ndarray, neighbours: int,
                       similarity: Optional[np.ndarray] = None) -> np.ndarray:
        """Each intent's share of the k nearest examples, closer ones weighing more (softmax at 0.05)."""
        similarity = self.similarity(vectors) if similarity is None else similarity
        k = min(neighbours, similarity.shape[1])
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        weights = softmax(np.take_along_axis(similarity, nearest, axis=1) / _NEIGHBOUR_TEMPERATURE)
        votes = np.zeros((len(vectors), len(self.intents)), dtype=np.float32)
        np.add.at(votes, (np.arange(len(vectors))[:, None], self.labels[nearest]), weights)
        return votes

    def nearest_in_scope(self, vectors: np.ndarray, similarity: Optional[np.ndarray] = None) -> np.ndarray:
        """Cosine similarity of each (normalised) vector to its nearest in-scope training example."""
        if not self.in_scope.any():
            return np.ones(len(vectors), dtype=np.float32)
        similarity = self.similarity(vectors) if similarity is None else similarity
        return similarity[:, self.in_scope].max(axis=1)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SentenceIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression over sentence embeddings, mixed with the intent ranking already set (DIET)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [MiniLMFeaturizer]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {WEIGHT: 0.7, C: 10.0, BALANCED: True, MIN_SIMILARITY: 0.45, RANKING_LENGTH: 10,
                MIN_PART_CONFIDENCE: 0.5, NEIGHBOUR_WEIGHT: 0.0, NEIGHBOURS: 5, SPELLING: True}

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        settings = {**cls.get_default_config(), **config}
        ranges = {WEIGHT: (0.0, 1.0), NEIGHBOUR_WEIGHT: (0.0, 1.0), MIN_SIMILARITY: (-1.0, 1.0),
                  MIN_PART_CONFIDENCE: (0.0, 1.0)}
        wrong = [f"'{key}' must be within {low}..{high} (got {settings[key]!r})"
                 for key, (low, high) in ranges.items() if not low <= settings[key] <= high]
        if settings[C] <= 0:
            wrong.append(f"'{C}' must be above 0 (got {settings[C]!r})")
        if settings[NEIGHBOURS] < 1:
            wrong.append(f"'{NEIGHBOURS}' must be at least 1 (got {settings[NEIGHBOURS]!r})")
        if wrong:
            raise InvalidConfigException(f"{cls.__name__}: " + "; ".join(wrong) + ".")

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[SentenceModel] = None) -> None:
        self.validate_config(config)
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        speller = self._speller(training_data) if self._config[SPELLING] else None
        spell = speller.correct if speller is not None else _as_typed
        examples = [(vector, m.get(INTENT)) for m in training_data.intent_examples
                    if (vector := sentence_vector(m, spell)) is not None]
        if len({label for _, label in examples}) < 2:
            logger.warning("%s: fewer than two intents with examples; not trained.", type(self).__name__)
            return self._resource
        vectors = np.stack([vector for vector, _ in examples])
        self.model = SentenceModel.fit(vectors, [label for _, label in examples], self._config[C],
                                       bool(self._config[BALANCED]), speller)
        self.persist()
        return self._resource

    @staticmethod
    def _speller(training_data: TrainingData) -> Speller:
        """English words, the words our examples use, and the names they mark as entities (products)."""
        names = [str(entity.get("value", "")) for m in training_data.training_examples
                 for entity in m.get(ENTITIES) or []]
        names += [str(element) for table in training_data.lookup_tables
                  if isinstance(elements := table.get("elements"), list) for element in elements]
        return Speller.for_training_data([m.get(TEXT) or "" for m in training_data.training_examples], names)

    def persist(self) -> None:
        if self.model is None:
            return
        with self._model_storage.write_to(self._resource) as folder:
            spelling: Dict[str, np.ndarray] = {}
            if self.model.speller is not None:
                words, log_probabilities, ours = self.model.speller.state()
                spelling = {"spell_words": np.array(words), "spell_ours": np.array(ours, dtype=str),
                            "spell_log_probabilities": np.array(log_probabilities, dtype=np.float32)}
            np.savez(folder / _FILE, intents=np.array(self.model.intents), coef=self.model.coef,
                     intercept=self.model.intercept, examples=self.model.examples, labels=self.model.labels,
                     **spelling)

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SentenceIntentClassifier:
        try:
            with model_storage.read_from(resource) as folder:
                with np.load(folder / _FILE, allow_pickle=False) as saved:
                    speller = None
                    if "spell_words" in saved.files:  # models trained before spelling have none
                        speller = Speller(dict(zip(saved["spell_words"].tolist(),
                                                   saved["spell_log_probabilities"].tolist(), strict=True)),
                                          saved["spell_ours"].tolist())
                    model = SentenceModel([str(i) for i in saved["intents"]], saved["coef"],
                                          saved["intercept"], saved["examples"], saved["labels"], speller)
        except (ValueError, FileNotFoundError, OSError):
            logger.warning("%s: no trained model in %s; it will leave DIET's ranking as it is.",
                           cls.__name__, resource.name)
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None:
            return messages
        for message in messages:
            vector = sentence_vector(message, self.model.spell)
            if vector is not None:
                self._classify(message, vector)
        return messages

    def _classify(self, message: Message, vector: np.ndarray) -> None:
        assert self.model is not None
        vectors = vector[None, :]
        similarity = self.model.similarity(vectors)
        ranking = mixed_ranking(self.model.intents, self._probabilities(vectors, similarity)[0],
                                message.get(INTENT_RANKING_KEY) or [], self._config[WEIGHT])
        if self.model.nearest_in_scope(vectors, similarity)[0] < self._config[MIN_SIMILARITY]:
            # Unlike every in-scope example: out of scope, whatever the classifiers picked.
            ranking = [{INTENT_NAME_KEY: OUT_OF_SCOPE, PREDICTED_CONFIDENCE_KEY: 1.0}] + [
                {**row, PREDICTED_CONFIDENCE_KEY: 0.0} for row in ranking
                if row[INTENT_NAME_KEY] != OUT_OF_SCOPE]
        length = self._config[RANKING_LENGTH]
        message.set(INTENT, ranking[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking[:length] if length > 0 else ranking, add_to_output=True)
        also = self._also_asked(message.get(TEXT) or "", ranking[0][INTENT_NAME_KEY])
        if also:
            message.set(ALSO_ASKED, also, add_to_output=True)

    def _probabilities(self, vectors: np.ndarray, similarity: np.ndarray) -> np.ndarray:
        assert self.model is not None
        return self.model.probabilities(vectors, self._config[NEIGHBOUR_WEIGHT], self._config[NEIGHBOURS],
                                        similarity)

    def _also_asked(self, text: str, main: str) -> List[str]:
        """Other requests in the message: each part classified alone; [] unless one part is the main."""
        assert self.model is not None
        # The first few parts only: a bound on the embeddings one message can cost (each part is embedded
        # twice, whole and core); the requests of a message come in its first parts.
        parts = request_parts(text)[:MAX_PARTS]
        if len(parts) < 2 or main in NOT_REQUESTS:
            return []
        vectors = meaning_vectors(parts, spell=self.model.spell)
        similarity = self.model.similarity(vectors)
        probabilities = self._probabilities(vectors, similarity)
        near = self.model.nearest_in_scope(vectors, similarity) >= self._config[MIN_SIMILARITY]
        intents = [self.model.intents[int(row.argmax())] for row in probabilities]
        sure = probabilities.max(axis=1) >= self._config[MIN_PART_CONFIDENCE]
        if main not in intents:
            return []
        return list(dict.fromkeys(intent for intent, ok, close in zip(intents, sure, near, strict=True)
                                  if ok and close and intent != main and intent not in NOT_REQUESTS))


def mixed_ranking(intents: Sequence[str], mine: np.ndarray, diet_ranking: Sequence[Dict[str, Any]],
                  weight: float) -> List[Dict[str, Any]]:
    """weight × this classifier's probabilities (``mine``, one per intent) + (1 − weight) × DIET's, best
    first.

    DIET reports only its top few intents; the rest count as zero for DIET. Without DIET's ranking this
    classifier alone decides.
    """
    theirs = {row[INTENT_NAME_KEY]: float(row[PREDICTED_CONFIDENCE_KEY]) for row in diet_ranking}
    if not theirs:
        weight = 1.0
    names = list(dict.fromkeys([*intents, *theirs]))
    mine_by_name = dict(zip(intents, mine.tolist(), strict=True))
    scores = {name: weight * mine_by_name.get(name, 0.0) + (1.0 - weight) * theirs.get(name, 0.0)
              for name in names}
    return [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: score}
            for name, score in sorted(scores.items(), key=lambda kv: -kv[1])]
