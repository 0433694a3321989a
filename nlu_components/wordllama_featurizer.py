"""A dense featurizer from static word vectors (the `wordllama` wheel's l2_supercat_256).

Each Rasa token gets the mean of its subword vectors; the sentence vector pools the token
vectors. No network, no GPU and no torch: numpy, safetensors and tokenizers only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import MAX_POOLING, MEAN_POOLING, POOLING

from nlu_components.word_vectors import MAX_DIMENSIONS, WordVectors


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class WordLlamaFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds token (sequence) and sentence features from static word vectors."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Needs tokens to featurize."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Defaults: every dimension, case kept, mean pooling, unit-length sentence vector."""
        return {
            **DenseFeaturizer.get_default_config(),
            "dimensions": MAX_DIMENSIONS,
            "lowercase": False,
            POOLING: MEAN_POOLING,
            # A unit-length sentence vector keeps its scale comparable with other features.
            "normalize_sentence": True,
        }

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages the component needs (wordllama only for its data files)."""
        return ["numpy", "safetensors", "tokenizers"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Rejects a pooling or a size that cannot work."""
        if config.get(POOLING, MEAN_POOLING) not in (MEAN_POOLING, MAX_POOLING):
            raise InvalidConfigException(
                f"{cls.__name__}: pooling must be '{MEAN_POOLING}' or '{MAX_POOLING}'"
            )
        dimensions = config.get("dimensions", MAX_DIMENSIONS)
        if not isinstance(dimensions, int) or not 1 <= dimensions <= MAX_DIMENSIONS:
            raise InvalidConfigException(
                f"{cls.__name__}: dimensions must be an integer from 1 to {MAX_DIMENSIONS}"
            )

    def __init__(self, config: dict[str, Any], name: str, vectors: WordVectors) -> None:
        """A featurizer over already loaded vectors."""
        super().__init__(name, config)
        self.vectors = vectors

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> WordLlamaFeaturizer:
        """Loads the vectors (about 16 MB, a fraction of a second) when the graph is built."""
        cls.validate_config(config)
        vectors = WordVectors.load(config["dimensions"], lowercase=config["lowercase"])
        return cls(config, execution_context.node_name, vectors)

    def features(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Sequence features (one row per word) and the sentence feature (one row)."""
        sequence = self.vectors.words(words)
        if not len(sequence):
            return sequence, np.zeros((1, self.vectors.dimensions), dtype=np.float32)
        sentence = self.aggregate_sequence_features(sequence, self._config[POOLING])
        if self._config["normalize_sentence"]:
            norm = float(np.linalg.norm(sentence))
            if norm > 0.0:
                sentence = sentence / norm
        return sequence, sentence.astype(np.float32)

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes every message in place; a message without tokens gets no features."""
        for message in messages:
            for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
                tokens = message.get(TOKENS_NAMES[attribute])
                if not tokens:
                    continue
                sequence, sentence = self.features([token.text for token in tokens])
                self.add_features_to_message(sequence, sentence, attribute, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes the training examples in place."""
        self.process(training_data.training_examples)
        return training_data
