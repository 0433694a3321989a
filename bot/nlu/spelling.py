"""Reads a misspelt word as the word the member meant, for the intent classifier only.

Members type fast, on phones: "updat my surnam", "cancle my membreship", "payrol". Every
featurizer reads a misspelt word as another word: the word counts see a word they never met,
MiniLM splits it into pieces that mean something else. So a message with a typo in each long
word lost 9 points of accuracy (docs/benchmarks-nlu.md).

This component runs after the tokenizer. A token of `min_word_length` letters or more that
is neither a word of the training data nor an English word is replaced, in the tokens the
featurizers read, by the known word one edit away (a letter dropped, put in, replaced, or
swapped with its neighbour). Words of the training data come first, because they are the
words our requests are made of ("payrol" is "payroll" here, not "patrol"); among the rest,
the more common English word. A word with no such neighbour is left as typed.

What is corrected is only what the classifier reads:
- the tokens' text (the word and letter counts read it), and
- the text MiniLM embeds (`text_as_read`), the message with each corrected word put back
  in its place.
The message's own text is never changed: the actions, the entity patterns and the tracker
keep exactly what the member typed (a surname is not "corrected" into another name). The
corrected text goes with the parse as `text_as_read`, for the actions to find which thing a
request is about; values are always read from what was typed.

The English words are symspellpy's frequency dictionary (82,834 words with their counts,
MIT licence), read from the installed package: nothing is downloaded. Candidates are found
by trying every single edit of the unknown word against that dictionary (a few hundred set
lookups, well under a millisecond), which needs no index: building symspellpy's own
delete index took two seconds and 65 MB at every start for the same answers at one edit.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import TEXT_AS_READ

logger = logging.getLogger(__name__)

VOCABULARY_FILE = "training_words.json"
ENGLISH_WORDS_FILE = "frequency_dictionary_en_82_765.txt"
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def english_words() -> dict[str, int]:
    """symspellpy's English frequency dictionary: word -> how common it is."""
    words: dict[str, int] = {}
    text = resources.files("symspellpy").joinpath(ENGLISH_WORDS_FILE).read_text("utf-8")
    for line in text.splitlines():
        word, _, count = line.partition(" ")
        if word and count.isdigit():
            words[word] = int(count)
    return words


def one_edit_away(word: str) -> Iterator[str]:
    """Every string one letter dropped, swapped, replaced or put in away from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for left, right in splits:
        if right:
            yield left + right[1:]
            if len(right) > 1:
                yield left + right[1] + right[0] + right[2:]
            for letter in LETTERS:
                if letter != right[0]:
                    yield left + letter + right[1:]
        for letter in LETTERS:
            yield left + letter + right


class Speller:
    """Knows the training data's words and the English words, and corrects the rest."""

    def __init__(self, training_words: dict[str, int], english: dict[str, int],
                 min_word_length: int) -> None:
        self.training_words = training_words
        self.english = english
        self.min_word_length = min_word_length

    def is_known(self, word: str) -> bool:
        return word in self.training_words or word in self.english

    def correction(self, typed: str) -> str | None:
        """The word `typed` was meant to be, or None when it is known, short or unclear."""
        word = typed.lower()
        if len(word) < self.min_word_length or not word.isalpha() or not word.isascii():
            return None
        if self.is_known(word):
            return None
        candidates = set(one_edit_away(word))
        ours = [(self.training_words[c], c) for c in candidates if c in self.training_words]
        if ours:
            return max(ours)[1]
        english = [(self.english[c], c) for c in candidates if c in self.english]
        return max(english)[1] if english else None

    def correct(self, message: Message) -> None:
        """Puts the corrections into the message's tokens and its text as read."""
        tokens: list[Token] = message.get(TOKENS_NAMES[TEXT]) or []
        text = message.get(TEXT) or ""
        pieces, last = [], 0
        for token in tokens:
            meant = self.correction(token.text)
            if meant is None:
                continue
            typed = token.text
            token.text = token.lemma = meant
            # WhitespaceTokenizer's offsets point into the message's text. A token whose
            # span does not hold what it says (another tokenizer's cleaning) is corrected in
            # the tokens only.
            if token.start >= last and text[token.start:token.end] == typed:
                pieces += [text[last:token.start], meant]
                last = token.end
        if pieces:
            # In the parse too: the actions find what a request is about in it ("my old
            # surnme"), while every value they store is read from the text as typed.
            message.set(TEXT_AS_READ, "".join([*pieces, text[last:]]), add_to_output=True)


def text_as_read(message: Message) -> str:
    """The message's text with its corrected words, as the classifier should read it."""
    return message.get(TEXT_AS_READ) or message.get(TEXT) or ""


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True
)
class SpellingCorrector(GraphComponent):
    """Corrects misspelt words in what the featurizers read; the message text stays."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Corrects tokens, so it runs after a tokenizer."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Words of four letters or more (shorter ones have too many neighbours)."""
        return {"min_word_length": 4}

    @staticmethod
    def required_packages() -> list[str]:
        """symspellpy, for its English word list only."""
        return ["symspellpy"]

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage,
                 resource: Resource, training_words: dict[str, int] | None = None) -> None:
        """Checks the configuration; the English words are read once, here."""
        length = config.get("min_word_length", 4)
        if isinstance(length, bool) or not isinstance(length, int) or length < 3:
            raise InvalidConfigException(
                f"{type(self).__name__}: min_word_length must be a whole number, 3 or more")
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self.speller = Speller(training_words or {}, english_words(), length)

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SpellingCorrector:
        """An untrained corrector: it knows the English words only."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Learns the training data's words (as tokenized), and saves them with the model."""
        counts: Counter[str] = Counter()
        for example in training_data.training_examples:
            for token in example.get(TOKENS_NAMES[TEXT]) or []:
                word = token.text.lower()
                if word.isalpha():
                    counts[word] += 1
        self.speller.training_words = dict(counts)
        with self._model_storage.write_to(self._resource) as folder:
            (folder / VOCABULARY_FILE).write_text(json.dumps(counts, sort_keys=True), "utf-8")
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SpellingCorrector:
        """The corrector with the words of the data it was trained on."""
        try:
            with model_storage.read_from(resource) as folder:
                words = json.loads((folder / VOCABULARY_FILE).read_text("utf-8"))
        except (ValueError, FileNotFoundError):
            # A model trained without this step's data corrects towards English words only.
            logger.warning("%s: no training words saved; correcting to English words only",
                           cls.__name__)
            words = {}
        return cls(config, model_storage, resource, words)

    def process(self, messages: list[Message]) -> list[Message]:
        """Corrects each message's tokens in place."""
        for message in messages:
            self.speller.correct(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Unchanged: every word of the training data is a training word (`train`), so
        nothing in it is corrected, and going through it would only cost time."""
        return training_data
