"""A multinomial logistic-regression intent classifier over sentence features.

It trains in seconds where DIET takes minutes. Each featurizer's sentence features are
scaled to unit length before they are put side by side, so no block (thousands of character
n-gram counts, or a 256-wide word-vector mean) drowns out the others; `feature_weights` can
then make one featurizer's block count more, keyed by the featurizer's `alias`. The model is
saved as plain numpy arrays, so loading it runs no pickled code.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_RANKING_KEY,
    METADATA,
    METADATA_INTENT,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_intent_classifier.npz"
# A training example's own weight, on top of its source's: the misspelt copies
# bot/nlu/typo_copies.py adds set it. Examples without it count 1.
EXAMPLE_WEIGHT = "example_weight"


def sentence_features(message: Message, weights: dict[str, float] | None = None
                      ) -> scipy.sparse.csr_matrix | None:
    """The sentence features, each featurizer's block scaled to length weights.get(alias, 1)."""
    blocks = []
    for features in message.features:
        if features.attribute != TEXT or features.type != "sentence":
            continue
        block = scipy.sparse.csr_matrix(features.features, dtype=np.float64)
        norm = scipy.sparse.linalg.norm(block)
        scale = float((weights or {}).get(str(features.origin), 1.0))
        blocks.append(block * (scale / norm) if norm > 0 else block)
    if not blocks:
        return None
    # Every featurizer adds its block in pipeline order, so the columns line up across
    # messages; sorting by origin would reorder nothing.
    return scipy.sparse.hstack(blocks, format="csr")


def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities from one message's intent scores."""
    exponentials = np.exp(scores - scores.max())
    return exponentials / exponentials.sum()  # type: ignore[no-any-return]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression on the unit-scaled sentence features of every featurizer."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Needs at least one featurizer before it."""
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """C is the inverse regularisation strength; ranking_length as in Rasa's classifiers.

        feature_weights maps a featurizer's alias to the length its unit block is scaled to.
        source_weights maps the `source` an intent block's metadata names (for example the
        examples generated from public data sets) to how much each of its examples counts in
        training; examples with no source count 1.
        """
        return {"C": 10.0, "max_iter": 1000, "feature_weights": {}, "source_weights": {},
                RANKING_LENGTH: LABEL_RANKING_LENGTH}

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages the component needs."""
        return ["sklearn", "scipy", "numpy"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        intents: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        bias: np.ndarray | None = None,
    ) -> None:
        """A classifier, trained when intents, weights and bias are given."""
        if float(config["C"]) <= 0:
            raise InvalidConfigException(f"{type(self).__name__}: C must be positive")
        for key, keyed_by in (("feature_weights", "featurizer aliases"),
                              ("source_weights", "example sources")):
            weights_by = config.get(key) or {}
            if not isinstance(weights_by, dict) or any(
                not isinstance(w, (int, float)) or w <= 0 for w in weights_by.values()
            ):
                raise InvalidConfigException(
                    f"{type(self).__name__}: {key} must map {keyed_by} to positive numbers"
                )
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self.intents = intents
        self.weights = weights
        self.bias = bias
        self._by_feature: np.ndarray | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        """An untrained classifier."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the model on the intent examples and saves it."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        rows, labels, counts = [], [], []
        for message in training_data.intent_examples:
            features = sentence_features(message, self._config.get("feature_weights"))
            if features is not None and message.get(INTENT):
                rows.append(features)
                labels.append(message.get(INTENT))
                counts.append(self._weight_of(message))
        if len(set(labels)) < 2:
            logger.warning(f"{type(self).__name__} needs two intents or more; not trained.")
            return self._resource
        model = LogisticRegression(C=float(self._config["C"]),
                                   max_iter=int(self._config["max_iter"]))
        with warnings.catch_warnings():
            # max_iter is set low on purpose (config.yml): past it the fit changes no
            # prediction on validation data, and scikit-learn would warn at every training.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(scipy.sparse.vstack(rows, format="csr"), labels,
                      sample_weight=np.array(counts, dtype=np.float64))
        self.intents = model.classes_.astype(str)
        coef, intercept = model.coef_, model.intercept_
        if len(self.intents) == 2:
            # With two intents scikit-learn keeps one row, the second intent's log-odds; a
            # zero row for the first gives the same probabilities through the softmax.
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([np.zeros_like(intercept), intercept])
        self.weights = coef.astype(np.float32)
        self.bias = intercept.astype(np.float32)
        self._by_feature = None
        with self._model_storage.write_to(self._resource) as folder:
            np.savez(folder / MODEL_FILE, intents=self.intents, weights=self.weights,
                     bias=self.bias)
        return self._resource

    def _weight_of(self, message: Message) -> float:
        """How much a training example counts: its intent block's metadata `source`, weighed,
        times the example's own EXAMPLE_WEIGHT."""
        metadata = message.get(METADATA) or {}
        block = metadata.get(METADATA_INTENT) if isinstance(metadata, dict) else None
        source = block.get("source") if isinstance(block, dict) else None
        by_source = float((self._config.get("source_weights") or {}).get(source, 1.0))
        return by_source * float(message.get(EXAMPLE_WEIGHT) or 1.0)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        """The trained classifier, or an untrained one if nothing was saved."""
        try:
            with (
                model_storage.read_from(resource) as folder,
                np.load(folder / MODEL_FILE, allow_pickle=False) as saved,
            ):
                return cls(config, model_storage, resource, saved["intents"],
                           saved["weights"], saved["bias"])
        except (ValueError, FileNotFoundError):
            logger.debug(f"{cls.__name__}: no trained model in '{resource.name}'.")
            return cls(config, model_storage, resource)

    def scores(self, message: Message) -> np.ndarray | None:
        """`sentence_features(message) @ weights.T + bias`, summed block by block.

        The same scores without building a sparse row for the message: at serving time, one
        message at a time, making and stacking scipy matrices took nine tenths of the
        classifier's time. None when the message has no sentence features.
        """
        assert self.weights is not None and self.bias is not None  # noqa: S101
        if self._by_feature is None:
            # One row of intent weights per feature column, contiguous for row look-ups.
            self._by_feature = np.ascontiguousarray(self.weights.T, dtype=np.float64)
        weights = self._config.get("feature_weights") or {}
        total = self.bias.astype(np.float64)
        offset, found = 0, False
        for features in message.features:
            if features.attribute != TEXT or features.type != "sentence":
                continue
            found = True
            block = features.features
            if scipy.sparse.issparse(block):
                row = scipy.sparse.coo_matrix(block)
                row.sum_duplicates()
                values, columns, width = row.data.astype(np.float64), row.col, row.shape[1]
            else:
                values = np.asarray(block, dtype=np.float64).ravel()
                columns, width = None, values.shape[0]
            norm = float(np.sqrt(values @ values))
            if norm > 0 and offset + width <= self._by_feature.shape[0]:
                rows = (self._by_feature[offset + columns] if columns is not None
                        else self._by_feature[offset:offset + width])
                scale = float(weights.get(str(features.origin), 1.0)) / norm
                total = total + scale * (values @ rows)
            offset += width
        if not found:
            return None
        if offset != self._by_feature.shape[0]:
            raise ValueError(
                f"{type(self).__name__}: the message has {offset} sentence feature columns, "
                f"the model was trained on {self._by_feature.shape[0]}: retrain the model"
            )
        return total

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets intent and intent_ranking on every message that has features."""
        for message in messages:
            scores = self.scores(message) if self.intents is not None else None
            if self.intents is None or scores is None:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            probabilities = softmax(scores)
            order = np.argsort(-probabilities)
            if self._config[RANKING_LENGTH] > 0:
                order = order[: self._config[RANKING_LENGTH]]
            ranking = [{"name": str(self.intents[i]), "confidence": float(probabilities[i])}
                       for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
