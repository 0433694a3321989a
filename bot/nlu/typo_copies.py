"""Misspelt copies of the training examples, so the intent classifier learns to read typos.

Members type fast, on phones: "cancle my membreship". Every featurizer reads a misspelt word
differently from the word (a new word to the word counts, a few new letter n-grams, often
another word to MiniLM), and the classifier had only ever seen the words spelt right. This
component sits first in the pipeline, so every featurizer after it, MiniLM included, reads the
copies exactly as it will read a member's typo at serving time.

At training time it adds, for each intent example (or a seeded `share` of them), `copies`
copies with one random letter edit (dropped, put in, replaced, or swapped with its
neighbour) in every word of `min_word_length` letters or more. The edits come from its own
random generator seeded by `seed`, so one set of data always trains the same model. Each copy
counts `weight` times as much as its original in the classifier (EXAMPLE_WEIGHT), and keeps
the original's metadata, so its source's weight applies too. A copy carries the intent
only: its entity spans would no longer fit the misspelt text.

At serving time it does nothing: a member's message goes through unchanged.
"""

from __future__ import annotations

import random
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_intent_classifier import EXAMPLE_WEIGHT

LOWERCASE = "abcdefghijklmnopqrstuvwxyz"


def misspell_word(word: str, chance: random.Random) -> str:
    """`word` with one letter dropped, put in, replaced, or swapped with the next one."""
    place = chance.randrange(len(word))
    edit = chance.randrange(4)
    if edit == 0:
        return word[:place] + word[place + 1:]
    if edit == 1:
        return word[:place] + chance.choice(LOWERCASE) + word[place:]
    if edit == 2:
        others = [letter for letter in LOWERCASE if letter != word[place].lower()]
        return word[:place] + chance.choice(others) + word[place + 1:]
    # A swap needs a next letter: the last letter swaps with the one before it.
    place = min(place, len(word) - 2)
    return word[:place] + word[place + 1] + word[place] + word[place + 2:]


def misspell(text: str, chance: random.Random, min_word_length: int = 4) -> str:
    """`text` with one edit in every word of `min_word_length` letters or more."""
    long_word = re.compile(rf"[^\W\d_]{{{min_word_length},}}")
    return long_word.sub(lambda found: misspell_word(found.group(0), chance), text)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class TypoCopies(GraphComponent):
    """Adds misspelt copies of the intent examples to the training data; serving untouched."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No copies unless asked: `copies` per example, each counting `weight`.

        `share` is the part of the intent examples that get copies (a seeded sample): every
        copy costs MiniLM as much as its original to featurize, at every training.
        """
        return {"copies": 0, "weight": 1.0, "share": 1.0, "seed": 4242, "min_word_length": 4}

    def __init__(self, config: dict[str, Any]) -> None:
        """Checks the configuration: a whole number of copies, a positive weight."""
        copies, weight = config.get("copies"), config.get("weight")
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 0:
            raise InvalidConfigException(
                f"{type(self).__name__}: copies must be a whole number, 0 or more")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
            raise InvalidConfigException(f"{type(self).__name__}: weight must be positive")
        share = config.get("share", 1.0)
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise InvalidConfigException(
                f"{type(self).__name__}: share must be above 0 and at most 1")
        if int(config.get("min_word_length", 4)) < 2:
            raise InvalidConfigException(
                f"{type(self).__name__}: min_word_length must be 2 or more (a swap needs two)")
        self._config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TypoCopies:
        """The component; it keeps nothing between training and serving."""
        return cls(config)

    def copies_of(self, examples: list[Message]) -> list[Message]:
        """The misspelt copies of `examples`, the same ones for the same examples every time.

        Each round of copies has its own generator, so two copies per example keep the one
        copy's typos and add a second round: more copies add typos, never reshuffle them.
        """
        min_word_length = int(self._config["min_word_length"])
        share = float(self._config.get("share", 1.0))
        if share < 1:
            sample = random.Random(f"{self._config['seed']}:sample")
            chosen = set(sample.sample(range(len(examples)), round(share * len(examples))))
            examples = [e for i, e in enumerate(examples) if i in chosen]
        copies = []
        for round_ in range(int(self._config["copies"])):
            chance = random.Random(f"{self._config['seed']}:{round_}")
            for example in examples:
                text = example.get(TEXT)
                typed = misspell(text, chance, min_word_length)
                if typed == text:
                    continue  # no word long enough to misspell: the original says it all
                data = {TEXT: typed, INTENT: example.get(INTENT),
                        EXAMPLE_WEIGHT: float(self._config["weight"])}
                if example.get(METADATA) is not None:
                    data[METADATA] = example.get(METADATA)
                copies.append(Message(data=data))
        return copies

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """The training data with the misspelt copies of its intent examples added."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        copies = self.copies_of(examples)
        if not copies:
            return training_data
        return TrainingData(
            training_examples=[*training_data.training_examples, *copies],
            entity_synonyms=training_data.entity_synonyms,
            regex_features=training_data.regex_features,
            lookup_tables=training_data.lookup_tables,
            responses=training_data.responses,
        )

    def process(self, messages: list[Message]) -> list[Message]:
        """Serving: members' messages pass through unchanged."""
        return messages
