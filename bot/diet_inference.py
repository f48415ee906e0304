"""DIET's intent scores worked out in NumPy from the sentence features, in the web process (issue 16).

Our DIET has no transformer layers, no hidden layers and no entity recognition (config.yml). In that shape
every position of a message is embedded on its own, and the intent is read at the sentence position, so
the scores depend on the sentence features only: the sparse ones through the sparse-to-dense layer
(kernel and bias), side by side with the dense ones (MiniLM's sentence vector), through the text
embedding layer, then compared with the labels' embeddings (inner product or cosine) and, with softmax
confidence, a softmax. Rasa builds a batch of the whole message, token features included, and calls
TensorFlow: 4.4 ms of a 19 ms turn, where this takes 0.16 ms.

``predict_intents_in_numpy`` checks the loaded model has that shape (its layers and weights, the
signature of its inputs) and otherwise leaves Rasa's prediction alone. Rasa's own is used as well when
diagnostic data is asked for (``rasa test``), or a message has no sentence features.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Iterable, List, Optional

import numpy as np
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.utils.tensorflow.constants import (
    COSINE,
    ENTITY_RECOGNITION,
    FEATURIZERS,
    HIDDEN_LAYERS_SIZES,
    INNER,
    INTENT_CLASSIFICATION,
    NUM_TRANSFORMER_LAYERS,
    SENTENCE,
    SOFTMAX,
)

from bot.nlp.sentence_diet import of_text

logger = logging.getLogger(__name__)

# DIET's layers for an intent-only model without hidden or transformer layers; anything else: Rasa's.
EXPECTED_LAYERS = {f"sequence_layer.{TEXT}", "feature_combining_layer.label", "ffnn.label", f"embed.{TEXT}",
                   "embed.label", "loss.label"}


class NotThisShape(Exception):
    """The loaded DIET is not the shape whose scores depend on the sentence features only."""


def _weight(layer: Any, part: str) -> np.ndarray:
    found = [w for w in layer.weights if part in w.name]
    if len(found) != 1:
        raise NotThisShape(f"{len(found)} weights named like {part!r}")
    return np.asarray(found[0].numpy(), dtype=np.float32)


class SentenceScores:
    """The intent scores of one loaded DIET, from a message's sentence features."""

    def __init__(self, diet: DIETClassifier) -> None:
        config, model = diet.component_config, diet.model
        if model is None:
            raise NotThisShape("no trained model")
        if not config[INTENT_CLASSIFICATION] or config[ENTITY_RECOGNITION]:
            raise NotThisShape("entity recognition, or no intent classification")
        if of_text(config[NUM_TRANSFORMER_LAYERS]) != 0 or of_text(config[HIDDEN_LAYERS_SIZES]):
            raise NotThisShape("transformer or hidden layers")
        if set(model._tf_layers) != EXPECTED_LAYERS:
            raise NotThisShape(f"layers {sorted(model._tf_layers)}")
        sequence_layer = model._tf_layers[f"sequence_layer.{TEXT}"]
        if {w.name.split("/")[-2] for w in sequence_layer.weights} != {
                f"sparse_to_dense.{TEXT}_sentence", f"sparse_to_dense.{TEXT}_sequence"}:
            raise NotThisShape("more than the sparse-to-dense layers before the sentence position")
        self.inputs = [(f.is_sparse, f.units) for f in model.predict_data_signature[TEXT][SENTENCE]]
        if sorted(sparse for sparse, _ in self.inputs) not in ([False], [True], [False, True]):
            raise NotThisShape(f"sentence inputs {self.inputs}")
        self.kernel = _weight(sequence_layer, f"sparse_to_dense.{TEXT}_sentence/kernel")
        self.bias = _weight(sequence_layer, f"sparse_to_dense.{TEXT}_sentence/bias")
        sparse_units = sum(units for sparse, units in self.inputs if sparse)
        if sparse_units and self.kernel.shape[0] != sparse_units:
            raise NotThisShape(f"kernel {self.kernel.shape} for {sparse_units} sparse features")
        embed = model._tf_layers[f"embed.{TEXT}"]
        self.embed_kernel = _weight(embed, "kernel")
        self.embed_bias = _weight(embed, "bias")
        width = sum(self.bias.shape[0] if sparse else units for sparse, units in self.inputs)
        if self.embed_kernel.shape[0] != width:
            raise NotThisShape(f"text embedding {self.embed_kernel.shape} for {width} features")
        loss = model._tf_layers["loss.label"]
        if loss.similarity_type not in (INNER, COSINE):
            raise NotThisShape(f"similarity {loss.similarity_type}")
        self.cosine = loss.similarity_type == COSINE
        self.softmax = loss.model_confidence == SOFTMAX
        if model.all_labels_embed is None:
            raise NotThisShape("labels not embedded (prepare_for_predict)")
        labels = np.asarray(model.all_labels_embed, dtype=np.float32)
        self.labels = _unit(labels) if self.cosine else labels
        self.featurizers: List[str] = list(config[FEATURIZERS] or [])

    def _features(self, message: Any, sparse: bool) -> List[Any]:
        """The message's sentence features of one kind, in the order Rasa combines them."""
        return [f.features for f in message.features
                if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse() == sparse
                and (not self.featurizers or f.origin in self.featurizers)]

    def __call__(self, message: Any) -> Optional[Dict[str, np.ndarray]]:
        """{"i_scores": (1, labels)} as DIET's run_inference gives it, or None without sentence features."""
        parts = []
        for sparse, units in self.inputs:
            features = self._features(message, sparse)
            if not features:
                return None
            if sparse:
                dense = np.zeros(self.kernel.shape[1], dtype=np.float32)
                start = 0
                for matrix in features:  # each featurizer's columns meet their rows of the kernel
                    entries = matrix.tocoo()  # one row: (column, count) pairs
                    rows = self.kernel[start + entries.col]
                    dense += np.einsum("i,ij->j", entries.data.astype(np.float32), rows)
                    start += matrix.shape[-1]
                if start != units:
                    return None
                parts.append(dense + self.bias)
            else:
                vector = np.concatenate([np.asarray(m, dtype=np.float32).reshape(-1) for m in features])
                if vector.shape[0] != units:
                    return None
                parts.append(vector)
        # einsum, not BLAS: for products this small OpenBLAS's threads cost more than they save (a turn was
        # 1.8 ms slower in alternating runs with ``@``).
        embedded = np.einsum("i,ij->j", np.concatenate(parts), self.embed_kernel) + self.embed_bias
        if self.cosine:
            embedded = _unit(embedded)
        similarities = self.labels @ embedded
        if self.softmax:
            similarities = np.exp(similarities - similarities.max())
            similarities /= similarities.sum()
        return {"i_scores": similarities.reshape(1, -1)}


def _unit(vectors: np.ndarray) -> np.ndarray:
    """As tf.nn.l2_normalize: divided by the norm, never by less than 1e-6."""
    norm = np.sqrt(np.maximum(np.sum(vectors * vectors, axis=-1, keepdims=True), 1e-12))
    return vectors / norm


def predict_intents_in_numpy(diet: DIETClassifier) -> bool:
    """Give this DIET's ``_predict`` the NumPy scores if its shape allows; whether it did."""
    try:
        scores = SentenceScores(diet)
    except NotThisShape as why:
        logger.info("DIET predicts with TensorFlow (%s)", why)
        return False
    rasas_own: Callable[[Any], Any] = diet._predict

    def predict(message: Any) -> Any:
        if diet._execution_context.should_add_diagnostic_data:
            return rasas_own(message)  # `rasa test` wants the transformer's output as well
        found = scores(message)
        return found if found is not None else rasas_own(message)

    diet._predict = predict  # type: ignore[method-assign]
    return True


def predict_intents_in_numpy_for(components: Iterable[Any]) -> int:
    """predict_intents_in_numpy for each DIET among a loaded model's components; how many were given it."""
    return sum(predict_intents_in_numpy(component) for component in components
               if isinstance(component, DIETClassifier))
