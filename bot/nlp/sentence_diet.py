"""DIET for intents only, trained without the token features it cannot use (issue 16: training time).

Our DIET has no transformer layers and no entity recognition (config.yml). In that shape every position of
a message is embedded on its own and the intent is read at the sentence position, so the token (sequence)
features never reach the intent: Rasa's own comment in ``DIETClassifier._extract_features`` says as much,
but Rasa 3.6 builds its batches elsewhere and still pads, copies and multiplies every token's sparse and
dense features through every epoch (a third of DIET's training time here).

``SentenceDIETClassifier`` gives DIET, in that shape, one all-zero position of sequence features instead,
as narrow as they can be while the sequence and sentence widths still agree (a one-column sparse feature
beside the dense ones' width), so Rasa's sequence layer is built as before and no layer is added. The
sentence features, the layers they pass through and so the scores are DIET's own: trained with the same
seed, every weight but the unused token kernel is the same to the bit. In any other shape it is Rasa's DIET
unchanged.

Its batches are also built faster (``SentenceBatches``): Rasa stacks each example's sparse matrix and pads
each dense row one by one in Python (7 ms of every training step); the same arrays come out of a few
concatenations. DIET's training went from 243-283 s to about 110 s on 2 cores.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Type

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIET, DIETClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.constants import (
    ENTITY_RECOGNITION,
    FEATURIZERS,
    MASKED_LM,
    NUM_TRANSFORMER_LAYERS,
)
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator, RasaDataGenerator
from rasa.utils.tensorflow.feature_array import FeatureArray
from rasa.utils.tensorflow.model_data import Data, RasaModelData
from rasa.utils.tensorflow.models import RasaModel

PLACEHOLDER = "sentence_diet_placeholder"


def of_text(setting: Any) -> Any:
    """A DIET setting given for all attributes, or its value for the text ({"text": 0, "label": 0})."""
    return setting.get(TEXT) if isinstance(setting, dict) else setting


def placeholder_sequence(message: Message, featurizers: List[str]) -> Message:
    """A copy of ``message`` whose TEXT token features are one all-zero position.

    One sparse column if the message has sparse sentence features, and one dense row as wide as its dense
    sentence features: after Rasa's sparse-to-dense layer the sequence is as wide as the sentence, as it
    was with the real token features. Other attributes' features (the intent's) are kept as they are.
    """
    sentence = [f for f in message.features
                if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE
                and (not featurizers or f.origin in featurizers)]
    kept = [f for f in message.features if f.attribute != TEXT or f.type != FEATURE_TYPE_SEQUENCE]
    if not sentence:
        return Message(data=message.data, features=kept)
    origin = featurizers[0] if featurizers else PLACEHOLDER  # a name DIET's featurizers filter lets pass
    placeholders = []
    if any(f.is_sparse() for f in sentence):
        placeholders.append(Features(scipy.sparse.coo_matrix((1, 1), dtype=np.float32),
                                     FEATURE_TYPE_SEQUENCE, TEXT, origin))
    dense_width = sum(f.features.shape[-1] for f in sentence if f.is_dense())
    if dense_width:
        placeholders.append(Features(np.zeros((1, dense_width), dtype=np.float32),
                                     FEATURE_TYPE_SEQUENCE, TEXT, origin))
    return Message(data=message.data, features=kept + placeholders)


def sparse_batch(features: FeatureArray) -> List[np.ndarray]:
    """Indices, values and shape of a batch of sparse matrices: Rasa's ``_scipy_matrix_to_values``."""
    if features.number_of_dimensions == 4:
        return RasaDataGenerator._scipy_matrix_to_values(features)
    matrices = [m if isinstance(m, scipy.sparse.coo_matrix) else m.tocoo() for m in features]
    counts = np.fromiter((m.nnz for m in matrices), dtype=np.int64, count=len(matrices))
    indices = np.empty((int(counts.sum()), 3), dtype=np.int64)
    indices[:, 0] = np.repeat(np.arange(len(matrices)), counts)
    indices[:, 1] = np.concatenate([m.row for m in matrices])
    indices[:, 2] = np.concatenate([m.col for m in matrices])
    values = np.concatenate([m.data for m in matrices]).astype(np.float32)
    longest = max(m.shape[0] for m in matrices)
    shape = np.array((len(matrices), longest, matrices[0].shape[-1]), dtype=np.int64)
    return [indices, values, shape]


def dense_batch(features: FeatureArray) -> np.ndarray:
    """A batch of dense features padded with zeros: Rasa's ``_pad_dense_data``, in one copy when no row
    needs padding (sentence features, and our token placeholder)."""
    if features.number_of_dimensions == 4 or features[0].ndim < 2 or len({f.shape[0] for f in features}) > 1:
        return RasaDataGenerator._pad_dense_data(features)
    return np.array(list(features), dtype=np.float32)


class SentenceBatches(RasaBatchDataGenerator):
    """Rasa's batch generator, its batches made by ``sparse_batch`` and ``dense_batch``."""

    @staticmethod
    def prepare_batch(
        data: Data,
        start: Optional[int] = None,
        end: Optional[int] = None,
        tuple_sizes: Optional[Dict[str, int]] = None,
    ) -> Tuple[Optional[np.ndarray], ...]:
        """The features of the examples from start to end, as RasaDataGenerator.prepare_batch gives them."""
        batch: List[Optional[np.ndarray]] = []
        for key, attribute_data in data.items():
            for features in attribute_data.values():
                if not features:  # a feature not present: Nones in its place
                    batch += [None] * (tuple_sizes[key] if tuple_sizes else 1)
                    continue
                for feature in features:
                    part = feature[start:end]
                    if part.is_sparse:
                        batch.extend(sparse_batch(part))
                    else:
                        batch.append(dense_batch(part))
        return tuple(batch)

    @classmethod
    def taking_over(cls, generator: RasaBatchDataGenerator) -> "SentenceBatches":
        """This generator in ``generator``'s place: its data, epoch and batch size as they are (making a new
        one would shuffle again and move the random state away from Rasa's)."""
        batches = cls.__new__(cls)
        batches.__dict__.update(generator.__dict__)
        return batches


class SentenceDIET(DIET):
    """Rasa's DIET model, trained on ``SentenceBatches``."""

    def fit(self, x: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Keras' fit, Rasa's batch generator swapped for ours (the same batches, built faster)."""
        if type(x) is RasaBatchDataGenerator:
            x = SentenceBatches.taking_over(x)
        return super().fit(x, *args, **kwargs)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SentenceDIETClassifier(DIETClassifier):
    """Rasa's DIET; without transformer and entities, trained and run on the sentence features alone."""

    @staticmethod
    def model_class() -> Type[RasaModel]:
        """DIET's model, its batches built faster."""
        return SentenceDIET

    @property
    def uses_sentence_features_only(self) -> bool:
        """Whether, in this configuration, no token feature can reach DIET's output."""
        config = self.component_config
        return (of_text(config[NUM_TRANSFORMER_LAYERS]) == 0 and not config[ENTITY_RECOGNITION]
                and not config[MASKED_LM])

    def _create_model_data(
        self,
        training_data: List[Message],
        label_id_dict: Optional[Dict[str, int]] = None,
        label_attribute: Optional[str] = None,
        training: bool = True,
    ) -> RasaModelData:
        """Rasa's model data, built from messages whose token features are one zero position."""
        if self.uses_sentence_features_only:
            featurizers = list(self.component_config[FEATURIZERS] or [])
            training_data = [placeholder_sequence(message, featurizers) for message in training_data]
        return super()._create_model_data(training_data, label_id_dict, label_attribute, training)
