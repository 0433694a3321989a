"""The spelling corrector: what the classifier reads is corrected, what the member typed is kept."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import TEXT_AS_READ
from bot.nlu.spelling import (
    Speller,
    SpellingCorrector,
    english_words,
    one_edit_away,
    text_as_read,
)
from bot.nlu.typo_copies import misspell_word

DATA = """
version: "3.1"
nlu:
- intent: change_employment
  examples: |
    - my subs come out of my payroll now
    - I pay through payroll deduction
- intent: change_personal_details
  examples: |
    - please update my surname
"""


@pytest.fixture(scope="module")
def english() -> dict[str, int]:
    return english_words()


def tokenized(*texts: str) -> list[Message]:
    messages = [Message(data={TEXT: text}) for text in texts]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    return messages


def corrector(tmp_path: Path, **config: object) -> tuple[SpellingCorrector, LocalModelStorage]:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), node_name="spelling")
    made = SpellingCorrector.create({**SpellingCorrector.get_default_config(), **config},
                                    storage, Resource("spelling"), context)
    return made, storage


def trained(tmp_path: Path) -> SpellingCorrector:
    """A corrector trained on DATA, saved, and loaded back as serving loads it."""
    made, storage = corrector(tmp_path)
    data = RasaYAMLReader().reads(DATA)
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process_training_data(data)
    resource = made.train(data)
    return SpellingCorrector.load(SpellingCorrector.get_default_config(), storage, resource,
                                  ExecutionContext(GraphSchema({}), node_name="spelling"))


def test_the_english_words_come_from_the_installed_package(english: dict[str, int]) -> None:
    assert len(english) > 80_000
    assert english["membership"] > english["membranes"] > 0


def test_every_single_edit_is_tried() -> None:
    edits = set(one_edit_away("pay"))
    assert {"ay", "apy", "pey", "pays", "spay"} <= edits
    assert "pya" in edits and "yap" not in edits  # a swap is of neighbours only
    chance = random.Random(11)
    for _ in range(300):
        assert "membership" in set(one_edit_away(misspell_word("membership", chance)))


def test_a_typo_is_read_as_our_word_before_a_commoner_english_one(
        english: dict[str, int]) -> None:
    speller = Speller({"payroll": 2, "surname": 1}, english, 4)
    assert english["patrol"] > 0  # "payrol" is one edit from both
    assert speller.correction("payrol") == "payroll"
    assert speller.correction("surnme") == "surname"
    assert speller.correction("Membreship") == "membership"  # then the commonest English word
    assert speller.correction("cancle") == "cancel"


@pytest.mark.parametrize("typed", [
    "the", "membership",  # known words
    "adn", "ur",  # shorter than four letters: too many neighbours
    "Okafor", "Zbigniewski",  # no word one edit away: left as typed
    "1000002", "bs14jq", "m14", "e-mail", "café",  # not plain ASCII letters
])
def test_known_short_and_unmatched_words_are_left_alone(
        typed: str, english: dict[str, int]) -> None:
    assert Speller({"payroll": 1}, english, 4).correction(typed) is None


def test_the_classifier_reads_corrections_and_the_message_keeps_what_was_typed(
        tmp_path: Path) -> None:
    spelling = trained(tmp_path)
    typed = "Hi, pls updat my surnme to O'Neill - payrol dept, Okafor"
    (message,) = spelling.process(tokenized(typed))
    assert message.get(TEXT) == typed
    assert [t.text for t in message.get(TOKENS_NAMES[TEXT])] == [
        "Hi", "pls", "update", "my", "surname", "to", "O", "neil", "payroll", "dept",
        "Okafor"]
    assert text_as_read(message) == (
        "Hi, pls update my surname to O'neil - payroll dept, Okafor")
    # A name one edit from a known word is read as that word, like any typo: harmless, as
    # only the intent and what the request is about are read from it. Values, and the entity
    # patterns, are read from what was typed.
    # The parse carries it for the actions; the text stays as typed.
    parsed = message.as_dict(only_output_properties=True)
    assert parsed[TEXT_AS_READ] == text_as_read(message) and parsed[TEXT] == typed


def test_a_message_without_typos_is_read_as_typed(tmp_path: Path) -> None:
    spelling = trained(tmp_path)
    (message,) = spelling.process(tokenized("I pay through payroll deduction"))
    assert message.get(TEXT_AS_READ) is None
    assert text_as_read(message) == "I pay through payroll deduction"


def test_training_words_travel_with_the_model(tmp_path: Path) -> None:
    spelling = trained(tmp_path)
    assert spelling.speller.training_words["payroll"] == 2
    assert spelling.speller.correction("payrol") == "payroll"


def test_a_model_saved_without_the_words_still_corrects_to_english(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    loaded = SpellingCorrector.load(SpellingCorrector.get_default_config(), storage,
                                    Resource("never-trained"),
                                    ExecutionContext(GraphSchema({}), node_name="spelling"))
    assert loaded.speller.correction("cancle") == "cancel"


@pytest.mark.parametrize("length", [2, 0, "4", True, 3.5])
def test_a_word_length_below_three_or_not_whole_is_refused(tmp_path: Path,
                                                           length: object) -> None:
    with pytest.raises(InvalidConfigException):
        corrector(tmp_path, min_word_length=length)


def test_the_training_data_is_read_as_written(tmp_path: Path) -> None:
    spelling = trained(tmp_path)
    data = RasaYAMLReader().reads(DATA + "    - my surnme is wrong\n")
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process_training_data(data)
    spelling.process_training_data(data)
    assert all(example.get(TEXT_AS_READ) is None for example in data.training_examples)
