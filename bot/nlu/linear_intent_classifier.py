"""A multinomial logistic-regression intent classifier over sentence features.

It trains in seconds where DIET takes minutes. Each featurizer's sentence features are
scaled to unit length before they are put side by side, so no block (thousands of character
n-gram counts, or a 256-wide word-vector mean) drowns out the others; `feature_weights` can
then make one featurizer's block count more, keyed by the featurizer's `alias`. The model is
saved as plain numpy arrays, so loading it runs no pickled code.

The cascade: besides the full model it trains a cheap one, the same regression on the same
examples and weights without the MiniLM block (EXPENSIVE_ORIGIN), whose encoder costs nine
tenths of a parse. At parse time the cheap model scores first; when its top probability
reaches `cheap_enough` its ranking is the answer and the text is never embedded. Otherwise the
text is embedded (the featurizer left it pending, bot/nlu/minilm_featurizer.py) and the full
model answers. `cheap_enough` 1.0, the default, always asks the full model.

The full model's answer can be blended with the vote of the training examples nearest to the
message in MiniLM's space (bot/nlu/neighbours.py): `neighbours` examples vote, and the vote
makes up `neighbour_share` of the probabilities. 0 neighbours, the default, is the regression
alone. The examples' vectors are saved with the model for that.
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

from bot.nlu.minilm_featurizer import PENDING_EMBEDDING, embed_pending
from bot.nlu.neighbours import NearestExamples
from bot.nlu.sentence_encoder import shared_encoder

logger = logging.getLogger(__name__)

# The featurizer whose block the cheap model does without: MiniLMFeaturizer's alias in
# config.yml, the `origin` of the features it adds.
EXPENSIVE_ORIGIN = "minilm"

MODEL_FILE = "linear_intent_classifier.npz"
# A training example's own weight, on top of its source's: the misspelt copies
# bot/nlu/typo_copies.py adds set it. Examples without it count 1.
EXAMPLE_WEIGHT = "example_weight"


def sentence_features(message: Message, weights: dict[str, float] | None = None,
                      without: str | None = None) -> scipy.sparse.csr_matrix | None:
    """The sentence features, each featurizer's block scaled to length weights.get(alias, 1);
    the block of the featurizer named `without` is left out."""
    blocks = []
    for features in message.features:
        if features.attribute != TEXT or features.type != "sentence":
            continue
        if without is not None and features.origin == without:
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


def source_of(message: Message) -> str | None:
    """The `source` its intent block's metadata names (public.yml's examples: "public")."""
    metadata = message.get(METADATA) or {}
    block = metadata.get(METADATA_INTENT) if isinstance(metadata, dict) else None
    return block.get("source") if isinstance(block, dict) else None


def minilm_vector(message: Message) -> np.ndarray | None:
    """The message's MiniLM sentence embedding, if it has one yet."""
    for features in message.features:
        if (features.attribute == TEXT and features.type == "sentence"
                and features.origin == EXPENSIVE_ORIGIN):
            return np.asarray(features.features, dtype=np.float32).ravel()
    return None


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

        cheap_enough is the cheap model's top probability from which its answer stands
        without the MiniLM block; 1.0 always asks the full model (and trains no cheap one).

        neighbours is how many nearest training examples vote on the full model's answer
        (0: none), neighbour_share the part of the probabilities their vote makes up, and
        neighbour_temperature how much nearer examples outweigh further ones.
        """
        return {"C": 10.0, "max_iter": 1000, "feature_weights": {}, "source_weights": {},
                "cheap_enough": 1.0, "neighbours": 0, "neighbour_share": 0.5,
                "neighbour_temperature": 0.05, RANKING_LENGTH: LABEL_RANKING_LENGTH}

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
        cheap: tuple[np.ndarray, np.ndarray] | None = None,
        nearest: NearestExamples | None = None,
    ) -> None:
        """A classifier, trained when intents, weights and bias are given; `cheap` is the
        cheap model's (weights, bias), None when it was not trained (an older model file);
        `nearest`, the training examples that vote, None when none do."""
        if float(config["C"]) <= 0:
            raise InvalidConfigException(f"{type(self).__name__}: C must be positive")
        cheap_enough = config.get("cheap_enough", 1.0)
        if (isinstance(cheap_enough, bool) or not isinstance(cheap_enough, (int, float))
                or not 0 < cheap_enough <= 1):
            raise InvalidConfigException(
                f"{type(self).__name__}: cheap_enough must be a probability above 0 and at "
                f"most 1 (1 always asks the full model), not {cheap_enough!r}"
            )
        neighbours = config.get("neighbours", 0)
        if isinstance(neighbours, bool) or not isinstance(neighbours, int) or neighbours < 0:
            raise InvalidConfigException(
                f"{type(self).__name__}: neighbours must be a whole number, 0 or more "
                f"(0: no vote), not {neighbours!r}")
        for key, low_ok in (("neighbour_share", True), ("neighbour_temperature", False)):
            value = config.get(key, LinearIntentClassifier.get_default_config()[key])
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not (0 <= value <= 1 if low_ok else value > 0)):
                raise InvalidConfigException(
                    f"{type(self).__name__}: {key} must be "
                    f"{'from 0 to 1' if low_ok else 'above 0'}, not {value!r}")
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
        self.cheap = cheap
        self.nearest = nearest
        self._by_feature: np.ndarray | None = None
        self._cheap_by_feature: np.ndarray | None = None

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
        """Fits the full model (and, when the cascade is on, the cheap one) and saves them."""
        weights_by = self._config.get("feature_weights")
        rows, cheap_rows, labels, counts, vectors = [], [], [], [], []
        for message in training_data.intent_examples:
            features = sentence_features(message, weights_by)
            if features is not None and message.get(INTENT):
                rows.append(features)
                cheap_rows.append(sentence_features(message, weights_by, EXPENSIVE_ORIGIN))
                labels.append(message.get(INTENT))
                counts.append(self._weight_of(message))
                vectors.append(minilm_vector(message))
        if len(set(labels)) < 2:
            logger.warning(f"{type(self).__name__} needs two intents or more; not trained.")
            return self._resource
        sample_weight = np.array(counts, dtype=np.float64)
        self.intents, self.weights, self.bias = self._fit(rows, labels, sample_weight)
        self.cheap = None
        if float(self._config.get("cheap_enough", 1.0)) < 1.0:
            if any(row is None for row in cheap_rows) or all(
                    row.shape == full.shape for row, full in zip(cheap_rows, rows, strict=True)):
                # Only the MiniLM block, or none at all: nothing cheaper to fall back on.
                logger.warning(f"{type(self).__name__}: the cascade needs the "
                               f"'{EXPENSIVE_ORIGIN}' block and others; no cheap model trained.")
            else:
                intents, cheap_weights, cheap_bias = self._fit(cheap_rows, labels, sample_weight)
                self.cheap = (cheap_weights, cheap_bias)
        self.nearest = self._voters(vectors, labels)
        self._by_feature = self._cheap_by_feature = None
        with self._model_storage.write_to(self._resource) as folder:
            cheap_arrays = ({"cheap_weights": self.cheap[0], "cheap_bias": self.cheap[1]}
                            if self.cheap is not None else {})
            # Half precision on disk (similarities move by under 1e-3); float32 in memory.
            voter_arrays = ({"neighbour_vectors": self.nearest.vectors.astype(np.float16),
                             "neighbour_intents": self.nearest.intents}
                            if self.nearest is not None else {})
            np.savez(folder / MODEL_FILE, intents=self.intents, weights=self.weights,
                     bias=self.bias, **cheap_arrays, **voter_arrays)
        return self._resource

    def _voters(self, vectors: list[np.ndarray | None], labels: list[str]
                ) -> NearestExamples | None:
        """The training examples that vote, when `neighbours` asks for a vote and every
        example has a MiniLM vector."""
        if int(self._config.get("neighbours", 0)) == 0:
            return None
        if any(vector is None for vector in vectors):
            logger.warning(f"{type(self).__name__}: the nearest examples' vote needs the "
                           f"'{EXPENSIVE_ORIGIN}' block on every example; no vote.")
            return None
        assert self.intents is not None  # noqa: S101
        index = {str(intent): i for i, intent in enumerate(self.intents)}
        return self._nearest(NearestExamples.unit_rows(np.vstack(vectors)),
                             np.array([index[label] for label in labels]))

    def _nearest(self, vectors: np.ndarray, intents: np.ndarray) -> NearestExamples:
        return NearestExamples(vectors, intents, int(self._config["neighbours"]),
                               float(self._config.get("neighbour_temperature", 0.05)))

    def _fit(self, rows: list[scipy.sparse.csr_matrix], labels: list[str],
             sample_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(intents, weights, bias) of a logistic regression on the rows."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=float(self._config["C"]),
                                   max_iter=int(self._config["max_iter"]))
        with warnings.catch_warnings():
            # max_iter is set low on purpose (config.yml): past it the fit changes no
            # prediction on validation data, and scikit-learn would warn at every training.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(scipy.sparse.vstack(rows, format="csr"), labels,
                      sample_weight=sample_weight)
        intents = model.classes_.astype(str)
        coef, intercept = model.coef_, model.intercept_
        if len(intents) == 2:
            # With two intents scikit-learn keeps one row, the second intent's log-odds; a
            # zero row for the first gives the same probabilities through the softmax.
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([np.zeros_like(intercept), intercept])
        return intents, coef.astype(np.float32), intercept.astype(np.float32)

    def _weight_of(self, message: Message) -> float:
        """How much a training example counts: its intent block's metadata `source`, weighed,
        times the example's own EXAMPLE_WEIGHT."""
        by_source = float((self._config.get("source_weights") or {}).get(source_of(message),
                                                                         1.0))
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
                # A model trained before the cascade (or with it off) has no cheap model:
                # the full model answers every message.
                cheap = ((saved["cheap_weights"], saved["cheap_bias"])
                         if "cheap_weights" in saved.files else None)
                classifier = cls(config, model_storage, resource, saved["intents"],
                                 saved["weights"], saved["bias"], cheap)
                # A model trained without the vote (or with it off now) has the regression
                # alone.
                if "neighbour_vectors" in saved.files and int(config.get("neighbours", 0)):
                    classifier.nearest = classifier._nearest(
                        saved["neighbour_vectors"].astype(np.float32),
                        saved["neighbour_intents"])
                return classifier
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
        return self._blockwise(message, self._by_feature, self.bias, without=None)

    def cheap_scores(self, message: Message) -> np.ndarray | None:
        """The cheap model's scores, from every block but MiniLM's (whether the message has it
        yet or not). None without a cheap model or without other sentence features."""
        if self.cheap is None:
            return None
        if self._cheap_by_feature is None:
            self._cheap_by_feature = np.ascontiguousarray(self.cheap[0].T, dtype=np.float64)
        return self._blockwise(message, self._cheap_by_feature, self.cheap[1],
                               without=EXPENSIVE_ORIGIN)

    def _blockwise(self, message: Message, by_feature: np.ndarray, bias: np.ndarray,
                   without: str | None) -> np.ndarray | None:
        """Scores from the message's sentence blocks (but `without`'s) and a model's
        per-column weights."""
        weights = self._config.get("feature_weights") or {}
        total = bias.astype(np.float64)
        offset, found = 0, False
        for features in message.features:
            if features.attribute != TEXT or features.type != "sentence":
                continue
            if without is not None and features.origin == without:
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
            if norm > 0 and offset + width <= by_feature.shape[0]:
                rows = (by_feature[offset + columns] if columns is not None
                        else by_feature[offset:offset + width])
                scale = float(weights.get(str(features.origin), 1.0)) / norm
                total = total + scale * (values @ rows)
            offset += width
        if not found:
            return None
        if offset != by_feature.shape[0]:
            raise ValueError(
                f"{type(self).__name__}: the message has {offset} sentence feature columns, "
                f"the model was trained on {by_feature.shape[0]}: retrain the model"
            )
        return total

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets intent and intent_ranking on every message that has features.

        The cheap model answers the messages it is sure enough of; the others are embedded
        (those the featurizer left pending, in one batch) and the full model answers them.
        """
        if self.intents is None:
            for message in messages:
                self._answer(message, None)
            return messages
        cheap_enough = float(self._config.get("cheap_enough", 1.0))
        unsure = []
        for message in messages:
            cheap = self.cheap_scores(message) if cheap_enough < 1.0 else None
            if cheap is not None:
                probabilities = softmax(cheap)
                if probabilities.max() >= cheap_enough:
                    logger.debug(f"{type(self).__name__}: the cheap model answered "
                                 f"({probabilities.max():.3f} >= {cheap_enough}).")
                    self._answer(message, probabilities)
                    continue
            unsure.append(message)
        self._embed_pending(unsure)
        for message in unsure:
            self._answer(message, self.full_probabilities(message))
        return messages

    def full_probabilities(self, message: Message) -> np.ndarray | None:
        """The full model's probabilities, blended with the nearest examples' vote when
        there is one; None when the message has no sentence features."""
        scores = self.scores(message)
        if scores is None:
            return None
        probabilities = softmax(scores)
        vector = minilm_vector(message)
        if self.nearest is None or vector is None:
            return probabilities
        share = float(self._config.get("neighbour_share", 0.5))
        return ((1 - share) * probabilities
                + share * self.nearest.vote(vector, len(probabilities)))

    @staticmethod
    def _embed_pending(messages: list[Message]) -> None:
        """Adds the MiniLM block the featurizer left pending, with the process's encoder."""
        by_encoder: dict[tuple[str, str | None], list[Message]] = {}
        for message in messages:
            pending = message.get(PENDING_EMBEDDING)
            if pending:
                key = (pending["embedding_dtype"], pending.get("tuned_layers"))
                by_encoder.setdefault(key, []).append(message)
        for (dtype, tuned_layers), chosen in by_encoder.items():
            embed_pending(chosen, shared_encoder(dtype, tuned_layers))

    def _answer(self, message: Message, probabilities: np.ndarray | None) -> None:
        """Sets the intent and its ranking from the probabilities (none: no intent)."""
        if probabilities is None or self.intents is None:
            message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [], add_to_output=True)
            return
        order = np.argsort(-probabilities)
        if self._config[RANKING_LENGTH] > 0:
            order = order[: self._config[RANKING_LENGTH]]
        ranking = [{"name": str(self.intents[i]), "confidence": float(probabilities[i])}
                   for i in order]
        message.set(INTENT, ranking[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
