"""Misspelt copies of the training examples: one edit per long word, seeded, weighed, and
nothing changed at serving time."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_intent_classifier import EXAMPLE_WEIGHT, LinearIntentClassifier
from bot.nlu.typo_copies import TypoCopies, misspell, misspell_word

DATA = """
version: "3.1"
nlu:
- intent: cancel_membership
  examples: |
    - I want to cancel my membership
    - please stop my subscription
- intent: change_address
  examples: |
    - I've moved to [LS6 2QT](postcode)
- intent: payment_failed
  metadata:
    source: public
  examples: |
    - why did my direct debit bounce
"""


def one_edit_apart(word: str, typed: str) -> bool:
    """Whether `typed` is `word` with one letter dropped, put in, replaced or swapped."""
    if len(typed) == len(word) - 1:
        return any(word[:i] + word[i + 1:] == typed for i in range(len(word)))
    if len(typed) == len(word) + 1:
        return any(typed[:i] + typed[i + 1:] == word for i in range(len(typed)))
    if len(typed) != len(word):
        return False
    differ = [i for i in range(len(word)) if word[i] != typed[i]]
    return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1
                                and word[differ[0]] == typed[differ[1]]
                                and word[differ[1]] == typed[differ[0]])


def make_copies(tmp_path: Path, **config: object) -> TypoCopies:
    return TypoCopies.create({**TypoCopies.get_default_config(), **config},
                             LocalModelStorage(tmp_path), Resource("typos"),
                             ExecutionContext(GraphSchema({}), node_name="typos"))


def test_every_long_word_gets_exactly_one_edit_and_short_words_none() -> None:
    chance = random.Random(8)
    text = "I want to cancel my membership, ok? Ref 12 Elm Road"
    for _ in range(200):
        typed = misspell(text, chance)
        words, typed_words = text.split(), typed.split()
        assert len(words) == len(typed_words)
        for word, typed_word in zip(words, typed_words, strict=True):
            letters = re.sub(r"[^A-Za-z]", "", word)
            if len(letters) >= 4:
                assert one_edit_apart(letters, re.sub(r"[^A-Za-z]", "", typed_word)), (
                    word, typed_word)
            else:
                assert typed_word == word


def test_all_four_kinds_of_edit_happen() -> None:
    chance = random.Random(3)
    typed = {misspell_word("membership", chance) for _ in range(200)}
    assert {len(t) for t in typed} == {9, 10, 11}
    assert any(sorted(t) == sorted("membership") and t != "membership" for t in typed)
    assert any(len(t) == 10 and sorted(t) != sorted("membership") for t in typed)


def test_copies_are_added_with_intent_weight_and_source_but_no_entities(
    tmp_path: Path,
) -> None:
    data = RasaYAMLReader().reads(DATA)
    originals = [m.get(TEXT) for m in data.training_examples]
    augmented = make_copies(tmp_path, copies=2, weight=0.5).process_training_data(data)

    assert [m.get(TEXT) for m in augmented.training_examples[:4]] == originals
    copies = augmented.training_examples[4:]
    assert len(copies) == 8
    for copy in copies:
        assert copy.get(TEXT) not in originals
        assert copy.get(EXAMPLE_WEIGHT) == 0.5
        assert not copy.get("entities")
    assert {c.get("intent") for c in copies} == {"cancel_membership", "change_address",
                                                 "payment_failed"}
    public = [c for c in copies if c.get("intent") == "payment_failed"]
    assert all(c.get("metadata")["intent"]["source"] == "public" for c in public)
    # The entity examples the entity extractors learn from are still the originals'.
    assert [m.get(TEXT) for m in augmented.entity_examples] == ["I've moved to LS6 2QT"]


def test_the_same_seed_gives_the_same_copies_and_more_copies_keep_the_first(
    tmp_path: Path,
) -> None:
    def copies(**config: object) -> list[str]:
        data = RasaYAMLReader().reads(DATA)
        augmented = make_copies(tmp_path, **config).process_training_data(data)
        return [m.get(TEXT) for m in augmented.training_examples[4:]]

    assert copies(copies=1) == copies(copies=1)
    assert copies(copies=2)[:4] == copies(copies=1)
    assert copies(copies=1, seed=1) != copies(copies=1, seed=2)


def test_a_share_copies_that_part_of_the_examples_only(tmp_path: Path) -> None:
    data = RasaYAMLReader().reads(DATA)
    augmented = make_copies(tmp_path, copies=2, share=0.5).process_training_data(data)
    copies = augmented.training_examples[4:]
    assert len(copies) == 4
    # Both rounds copy the same two examples.
    assert len({c.get("intent") for c in copies}) <= 2


def test_no_copies_leaves_the_training_data_alone(tmp_path: Path) -> None:
    data = RasaYAMLReader().reads(DATA)
    assert make_copies(tmp_path, copies=0).process_training_data(data) is data


def test_serving_passes_messages_through_unchanged(tmp_path: Path) -> None:
    messages = [Message(data={TEXT: "I want to cancel my membership"})]
    (message,) = make_copies(tmp_path, copies=3).process(messages)
    assert message.get(TEXT) == "I want to cancel my membership"


@pytest.mark.parametrize("config", [{"copies": -1}, {"copies": 1.5}, {"copies": True},
                                    {"weight": 0}, {"weight": "half"}, {"share": 0},
                                    {"share": 1.5},
                                    {"min_word_length": 1}])
def test_bad_configuration_is_refused(tmp_path: Path, config: dict[str, object]) -> None:
    with pytest.raises(InvalidConfigException):
        make_copies(tmp_path, **config)


@pytest.mark.parametrize(("copy_weight", "winner"), [(1.0, "goodbye"), (0.1, "greet")])
def test_the_classifier_counts_a_copy_by_its_weight(
    tmp_path: Path, copy_weight: float, winner: str
) -> None:
    """One example against three copies that look the same to the classifier: the copies
    outvote it at full weight, not at a tenth."""

    def example(intent: str, weight: float | None = None, text: str = "hello") -> Message:
        message = Message(data={TEXT: text, "intent": intent,
                                **({EXAMPLE_WEIGHT: weight} if weight else {})})
        message.add_features(Features(np.array([[1.0, 0.0]]), "sentence", TEXT, "minilm"))
        return message

    # Told apart by their texts: training data drops duplicate examples.
    data = TrainingData([example("greet"), *(example("goodbye", copy_weight, f"hello {i}")
                                             for i in range(3))])
    context = ExecutionContext(GraphSchema({}), node_name="classifier")
    classifier = LinearIntentClassifier.create(LinearIntentClassifier.get_default_config(),
                                               LocalModelStorage(tmp_path),
                                               Resource("classifier"), context)
    classifier.train(data)
    (message,) = classifier.process([example("unknown")])
    assert message.get("intent")["name"] == winner
