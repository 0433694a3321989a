"""The linear intent classifier's feature blocks: unit length, then weighted by alias."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.linear_intent_classifier import LinearIntentClassifier, sentence_features


def message_with_blocks() -> Message:
    message = Message(data={TEXT: "cancel my membership"})
    message.add_features(Features(np.array([[3.0, 4.0]]), "sentence", TEXT, "counts"))
    message.add_features(Features(np.array([[0.0, 2.0, 0.0]]), "sentence", TEXT, "minilm"))
    message.add_features(Features(np.ones((3, 2)), "sequence", TEXT, "counts"))
    return message


def test_each_sentence_block_is_unit_length_by_default() -> None:
    features = sentence_features(message_with_blocks()).toarray()[0]
    assert features.shape == (5,)
    assert np.allclose(features, [0.6, 0.8, 0.0, 1.0, 0.0])


def test_feature_weights_lengthen_the_named_block_only() -> None:
    features = sentence_features(message_with_blocks(), {"minilm": 2.5}).toarray()[0]
    assert np.allclose(features, [0.6, 0.8, 0.0, 2.5, 0.0])


@pytest.mark.parametrize("weights", [{"minilm": 0}, {"minilm": "two"}, ["minilm"]])
def test_bad_feature_weights_are_refused(tmp_path: Path, weights: object) -> None:
    config = {**LinearIntentClassifier.get_default_config(), "feature_weights": weights}
    with pytest.raises(InvalidConfigException):
        LinearIntentClassifier(config, LocalModelStorage(tmp_path), Resource("classifier"))


def test_a_trained_classifier_loads_and_predicts_with_feature_weights(tmp_path: Path) -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.shared.nlu.training_data.training_data import TrainingData

    def example(vector: list[float], intent: str | None = None) -> Message:
        message = Message(data={TEXT: "x", **({"intent": intent} if intent else {})})
        message.add_features(Features(np.array([vector]), "sentence", TEXT, "minilm"))
        return message

    config = {**LinearIntentClassifier.get_default_config(), "feature_weights": {"minilm": 3.0}}
    storage, resource = LocalModelStorage(tmp_path), Resource("classifier")
    context = ExecutionContext(GraphSchema({}), node_name="classifier")
    classifier = LinearIntentClassifier.create(config, storage, resource, context)
    classifier.train(TrainingData([example([1.0, 0.1], "greet"), example([0.1, 1.0], "goodbye"),
                                   example([0.9, 0.0], "greet"), example([0.0, 0.9], "goodbye")]))
    loaded = LinearIntentClassifier.load(config, storage, resource, context)
    (message,) = loaded.process([example([0.2, 1.0])])
    assert message.get("intent")["name"] == "goodbye"
    # Two intents: both can win (scikit-learn keeps a single row of weights for two).
    (other,) = loaded.process([example([1.0, 0.2])])
    assert other.get("intent")["name"] == "greet"
    assert other.get("intent")["confidence"] > 0.5
    assert isinstance(loaded.weights, np.ndarray)


def test_scores_block_by_block_equal_the_stacked_features_times_the_weights(
    tmp_path: Path,
) -> None:
    chance = np.random.default_rng(3)
    intents, widths = 6, (40, 3, 12)
    config = {**LinearIntentClassifier.get_default_config(), "feature_weights": {"minilm": 3.0}}
    classifier = LinearIntentClassifier(
        config, LocalModelStorage(tmp_path), Resource("classifier"),
        intents=np.array([f"intent_{i}" for i in range(intents)]),
        weights=chance.normal(size=(intents, sum(widths))).astype(np.float32),
        bias=chance.normal(size=intents).astype(np.float32),
    )
    for _ in range(50):
        message = Message(data={TEXT: "x"})
        counts = scipy.sparse.random(1, widths[0], density=0.2, random_state=chance,
                                     format="coo")
        message.add_features(Features(counts, "sentence", TEXT, "counts"))
        message.add_features(Features(chance.normal(size=(1, widths[1])), "sentence", TEXT,
                                      "minilm"))
        message.add_features(Features(scipy.sparse.coo_matrix((1, widths[2])), "sentence",
                                      TEXT, "empty"))
        message.add_features(Features(np.ones((2, 3)), "sequence", TEXT, "counts"))
        stacked = sentence_features(message, config["feature_weights"])
        expected = np.asarray(stacked @ classifier.weights.T).ravel() + classifier.bias
        assert np.allclose(classifier.scores(message), expected, atol=1e-9)
    assert classifier.scores(Message(data={TEXT: "no features"})) is None


def test_features_of_another_width_than_the_model_are_refused(tmp_path: Path) -> None:
    config = LinearIntentClassifier.get_default_config()
    classifier = LinearIntentClassifier(
        config, LocalModelStorage(tmp_path), Resource("classifier"),
        intents=np.array(["a", "b"]), weights=np.ones((2, 4), dtype=np.float32),
        bias=np.zeros(2, dtype=np.float32),
    )
    message = Message(data={TEXT: "x"})
    message.add_features(Features(np.ones((1, 5)), "sentence", TEXT, "counts"))
    with pytest.raises(ValueError, match="retrain"):
        classifier.scores(message)


@pytest.mark.parametrize("weights", [{"public": 0}, {"public": "low"}, ["public"]])
def test_bad_source_weights_are_refused(tmp_path: Path, weights: object) -> None:
    config = {**LinearIntentClassifier.get_default_config(), "source_weights": weights}
    with pytest.raises(InvalidConfigException):
        LinearIntentClassifier(config, LocalModelStorage(tmp_path), Resource("classifier"))


PUBLIC_AND_OWN = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello there
- intent: goodbye
  metadata:
    source: public
  examples: |
    - hello again
    - hello once more
    - hello for the third time
"""


@pytest.mark.parametrize(("source_weights", "winner"), [({}, "goodbye"),
                                                         ({"public": 0.1}, "greet")])
def test_examples_from_a_weighed_source_count_less(
    tmp_path: Path, source_weights: dict[str, float], winner: str
) -> None:
    """The intent block's metadata, as Rasa reads it from YAML, sets each example's weight:
    three public examples outvote one of ours at full weight, not at a tenth."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = RasaYAMLReader().reads(PUBLIC_AND_OWN)
    for message in data.intent_examples:
        message.add_features(Features(np.array([[1.0, 0.0]]), "sentence", TEXT, "minilm"))
    config = {**LinearIntentClassifier.get_default_config(), "source_weights": source_weights}
    storage, resource = LocalModelStorage(tmp_path), Resource("classifier")
    context = ExecutionContext(GraphSchema({}), node_name="classifier")
    classifier = LinearIntentClassifier.create(config, storage, resource, context)
    classifier.train(data)
    probe = Message(data={TEXT: "hello"})
    probe.add_features(Features(np.array([[1.0, 0.0]]), "sentence", TEXT, "minilm"))
    (message,) = classifier.process([probe])
    assert message.get("intent")["name"] == winner
