"""The nearest training examples' vote, alone and blended into the classifier's answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_intent_classifier import MODEL_FILE, LinearIntentClassifier, softmax
from bot.nlu.neighbours import NearestExamples

CONTEXT = ExecutionContext(GraphSchema({}), node_name="classifier")


def test_the_nearest_examples_outvote_the_further_ones() -> None:
    vectors = NearestExamples.unit_rows(np.array(
        [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.2, 0.8]]))
    nearest = NearestExamples(vectors, np.array([0, 0, 1, 1, 1]), k=3, temperature=0.05)
    shares = nearest.vote(np.array([1.0, 0.05]), intent_count=3)
    assert shares.sum() == pytest.approx(1.0)
    # Two of the three nearest are intent 0, and they are far nearer than the third.
    assert shares[0] > 0.99
    assert shares[2] == 0.0


def test_only_k_examples_vote() -> None:
    vectors = NearestExamples.unit_rows(np.array([[1.0, 0.0]] * 2 + [[0.0, 1.0]] * 5))
    nearest = NearestExamples(vectors, np.array([0, 0, 1, 1, 1, 1, 1]), k=2,
                              temperature=100.0)
    # Five examples of intent 1 exist, but only the two nearest vote.
    assert nearest.vote(np.array([1.0, 0.1]), 2)[0] == pytest.approx(1.0)


def test_a_message_without_a_vector_gets_no_vote() -> None:
    nearest = NearestExamples(np.eye(2, dtype=np.float32), np.array([0, 1]), k=1,
                              temperature=0.05)
    assert not nearest.vote(np.zeros(2), 2).any()


def example(vector: list[float], intent: str | None = None) -> Message:
    message = Message(data={TEXT: "x", **({"intent": intent} if intent else {})})
    message.add_features(Features(np.array([vector]), "sentence", TEXT, "minilm"))
    return message


# Two intents no straight boundary can part (each holds two opposite corners), with a few
# examples near each corner.
CORNERS = {(1.0, 1.0, 0.2): "greet", (-1.0, -1.0, 0.2): "greet",
           (1.0, -1.0, 0.2): "goodbye", (-1.0, 1.0, 0.2): "goodbye"}


def corner_examples() -> TrainingData:
    chance = np.random.default_rng(7)
    return TrainingData([example(list(np.array(corner) + chance.normal(0, 0.05, 3)), intent)
                         for corner, intent in CORNERS.items() for _ in range(5)])


def trained(tmp_path: Path, **settings: object) -> tuple[LinearIntentClassifier, dict]:
    config = {**LinearIntentClassifier.get_default_config(), **settings}
    tmp_path.mkdir(parents=True, exist_ok=True)
    storage, resource = LocalModelStorage(tmp_path), Resource("classifier")
    LinearIntentClassifier.create(config, storage, resource, CONTEXT).train(corner_examples())
    return LinearIntentClassifier.load(config, storage, resource, CONTEXT), config


def answers(classifier: LinearIntentClassifier) -> list[bool]:
    """Whether each corner is answered with its own intent."""
    return [classifier.process([example(list(corner))])[0].get("intent")["name"] == intent
            for corner, intent in CORNERS.items()]


def test_the_vote_finds_what_a_straight_boundary_cannot(tmp_path: Path) -> None:
    alone, _ = trained(tmp_path / "alone")
    assert alone.nearest is None
    assert not all(answers(alone))
    voted, _ = trained(tmp_path / "voted", neighbours=3, neighbour_share=0.5)
    assert voted.nearest is not None
    assert all(answers(voted))


def test_the_answer_is_the_regression_and_the_vote_blended(tmp_path: Path) -> None:
    classifier, config = trained(tmp_path, neighbours=4, neighbour_share=0.3)
    assert classifier.nearest is not None
    message = example([0.7, 0.9, 0.1])
    (answered,) = classifier.process([message])
    probabilities = softmax(classifier.scores(message))
    vote = classifier.nearest.vote(np.array([0.7, 0.9, 0.1]), len(probabilities))
    blended = 0.7 * probabilities + 0.3 * vote
    assert answered.get("intent")["confidence"] == pytest.approx(blended.max(), abs=1e-6)
    assert answered.get("intent")["name"] == str(classifier.intents[blended.argmax()])


def test_a_model_saved_without_voters_answers_with_the_regression(tmp_path: Path) -> None:
    classifier, config = trained(tmp_path, neighbours=3)
    folder = next(tmp_path.glob(f"**/{MODEL_FILE}")).parent
    with np.load(folder / MODEL_FILE) as saved:
        kept = {name: saved[name] for name in saved.files if not name.startswith("neighbour")}
    np.savez(folder / MODEL_FILE, **kept)
    loaded = LinearIntentClassifier.load(config, LocalModelStorage(tmp_path),
                                         Resource("classifier"), CONTEXT)
    assert loaded.nearest is None
    message = example([0.7, 0.9, 0.1])
    (answered,) = loaded.process([message])
    assert answered.get("intent")["confidence"] == pytest.approx(
        softmax(loaded.scores(message)).max(), abs=1e-6)


def test_no_vote_without_minilm_vectors_on_every_example(tmp_path: Path) -> None:
    data = corner_examples()
    counts_only = Message(data={TEXT: "x", "intent": "greet"})
    counts_only.add_features(Features(np.array([[1.0, 0.0, 0.0]]), "sentence", TEXT, "counts"))
    data.training_examples.append(counts_only)
    config = {**LinearIntentClassifier.get_default_config(), "neighbours": 3}
    classifier = LinearIntentClassifier.create(config, LocalModelStorage(tmp_path),
                                               Resource("classifier"), CONTEXT)
    classifier.train(data)
    assert classifier.nearest is None


@pytest.mark.parametrize("settings", [
    {"neighbours": -1}, {"neighbours": 2.5}, {"neighbours": True},
    {"neighbour_share": 1.5}, {"neighbour_share": "half"},
    {"neighbour_temperature": 0}, {"neighbour_temperature": -0.1},
])
def test_bad_vote_settings_are_refused(tmp_path: Path, settings: dict) -> None:
    config = {**LinearIntentClassifier.get_default_config(), **settings}
    with pytest.raises(InvalidConfigException):
        LinearIntentClassifier(config, LocalModelStorage(tmp_path), Resource("classifier"))
