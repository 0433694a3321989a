"""A multinomial logistic-regression intent classifier over sentence features.

It trains in seconds where DIET takes minutes. Each featurizer's sentence features are
scaled to unit length before they are put side by side, so no block (thousands of character
n-gram counts, or a 256-wide word-vector mean) drowns out the others; the model is saved as
plain numpy arrays, so loading it runs no pickled code.
"""

from __future__ import annotations

import logging
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
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_intent_classifier.npz"


def sentence_features(message: Message) -> scipy.sparse.csr_matrix | None:
    """The message's sentence features, each featurizer's block scaled to unit length."""
    blocks = []
    for features in message.features:
        if features.attribute != TEXT or features.type != "sentence":
            continue
        block = scipy.sparse.csr_matrix(features.features, dtype=np.float64)
        norm = scipy.sparse.linalg.norm(block)
        blocks.append(block / norm if norm > 0 else block)
    if not blocks:
        return None
    # Every featurizer adds its block in pipeline order, so the columns line up across
    # messages; sorting by origin would reorder nothing.
    return scipy.sparse.hstack(blocks, format="csr")


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
        """C is the inverse regularisation strength; ranking_length as in Rasa's classifiers."""
        return {"C": 10.0, "max_iter": 1000, RANKING_LENGTH: LABEL_RANKING_LENGTH}

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
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self.intents = intents
        self.weights = weights
        self.bias = bias

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
        from sklearn.linear_model import LogisticRegression

        rows, labels = [], []
        for message in training_data.intent_examples:
            features = sentence_features(message)
            if features is not None and message.get(INTENT):
                rows.append(features)
                labels.append(message.get(INTENT))
        if len(set(labels)) < 2:
            logger.warning(f"{type(self).__name__} needs two intents or more; not trained.")
            return self._resource
        model = LogisticRegression(C=float(self._config["C"]),
                                   max_iter=int(self._config["max_iter"]))
        model.fit(scipy.sparse.vstack(rows, format="csr"), labels)
        self.intents = model.classes_.astype(str)
        self.weights = model.coef_.astype(np.float32)
        self.bias = model.intercept_.astype(np.float32)
        with self._model_storage.write_to(self._resource) as folder:
            np.savez(folder / MODEL_FILE, intents=self.intents, weights=self.weights,
                     bias=self.bias)
        return self._resource

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

    def probabilities(self, features: scipy.sparse.csr_matrix) -> np.ndarray:
        """Softmax over the intents for one row of features."""
        assert self.weights is not None and self.bias is not None  # noqa: S101
        scores = np.asarray(features @ self.weights.T).ravel() + self.bias
        scores = np.exp(scores - scores.max())
        return scores / scores.sum()

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets intent and intent_ranking on every message that has features."""
        for message in messages:
            features = sentence_features(message)
            if self.intents is None or features is None:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            probabilities = self.probabilities(features)
            order = np.argsort(-probabilities)
            ranking = [{"name": str(self.intents[i]), "confidence": float(probabilities[i])}
                       for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            if self._config[RANKING_LENGTH] > 0:
                ranking = ranking[: self._config[RANKING_LENGTH]]
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
