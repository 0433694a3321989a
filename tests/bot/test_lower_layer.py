"""A lower MiniLM layer's mean beside the embedding: one pass, the same at training and at
parse time, stored with the public examples, and never read by the nearest examples' vote."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_intent_classifier import EXPENSIVE_ORIGIN, minilm_vector
from bot.nlu.minilm_featurizer import PENDING_EMBEDDING, MiniLMFeaturizer, embed_pending
from bot.nlu.sentence_encoder import encoder_identity, shared_encoder
from bot.nlu.stored_embeddings import StoredEmbeddings, write_store

TEXTS = ["I have moved house to LS6 2QT", "my dd bounced", "when does the strike ballot close"]


def make_featurizer(tmp_path: Path, **config: object) -> MiniLMFeaturizer:
    context = ExecutionContext(GraphSchema({}), node_name=EXPENSIVE_ORIGIN)
    return MiniLMFeaturizer.create(
        {**MiniLMFeaturizer.get_default_config(), **config},
        LocalModelStorage(tmp_path / "model"), Resource(EXPENSIVE_ORIGIN), context,
    )


def tokenized(*texts: str) -> list[Message]:
    messages = [Message(data={TEXT: text, "intent": "any"}) for text in texts]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    return messages


def block(message: Message) -> np.ndarray:
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None and sentence is not None
    return sentence.features[0]


def test_the_lower_layer_follows_the_embedding_from_the_same_pass() -> None:
    encoder = shared_encoder()
    plain = encoder.encode(TEXTS, cache=False)
    both = encoder.encode(TEXTS, cache=False, lower_layer=3)
    assert both.shape == (3, 768)
    assert np.allclose(both[:, :384], plain, atol=1e-6)
    assert np.allclose(np.linalg.norm(both[:, 384:], axis=1), 1.0, atol=1e-5)
    # A different view of the text, not a copy of the embedding.
    assert not np.allclose(both[:, 384:], plain, atol=1e-2)
    assert not np.allclose(encoder.encode(TEXTS, cache=False, lower_layer=4)[:, 384:],
                           both[:, 384:], atol=1e-2)


def test_the_cache_keeps_each_layer_apart() -> None:
    encoder = shared_encoder()
    assert encoder.encode(["my dd bounced"]).shape == (1, 384)
    cached = encoder.encode(["my dd bounced"], lower_layer=3)
    assert cached.shape == (1, 768)
    assert np.allclose(cached, encoder.encode(["my dd bounced"], cache=False, lower_layer=3),
                       atol=1e-6)
    assert encoder.encode(["my dd bounced"]).shape == (1, 384)


@pytest.mark.parametrize("layer", [0, 6, -1])
def test_a_layer_the_encoder_lacks_is_refused(layer: int) -> None:
    with pytest.raises(ValueError, match="lower_layer"):
        shared_encoder().encode(TEXTS, lower_layer=layer)


@pytest.mark.parametrize("layer", [0, 6, True, "3", 2.5])
def test_a_bad_lower_layer_setting_is_refused(tmp_path: Path, layer: object) -> None:
    with pytest.raises(InvalidConfigException, match="lower_layer"):
        make_featurizer(tmp_path, lower_layer=layer)


def test_parse_time_gives_the_block_training_gave(tmp_path: Path) -> None:
    featurizer = make_featurizer(tmp_path, lower_layer=3)
    data = TrainingData(training_examples=tokenized(*TEXTS))
    featurizer.process_training_data(data)
    trained = np.stack([block(m) for m in data.training_examples])
    assert trained.shape == (3, 768)

    # At parse time the featurizer leaves the block pending; the classifier adds it.
    parsed = featurizer.process(tokenized(*TEXTS))
    assert all(m.get(PENDING_EMBEDDING)["lower_layer"] == 3 for m in parsed)
    embed_pending(parsed, featurizer.encoder)
    assert np.allclose(np.stack([block(m) for m in parsed]), trained, atol=1e-5)
    assert not any(m.get(PENDING_EMBEDDING) for m in parsed)


def test_a_store_holds_the_lower_layer_and_is_refused_for_another(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    encoder = shared_encoder()
    path = tmp_path / "public.embeddings.npz"
    assert write_store(path, TEXTS, encoder, lower_layer=3) == 3
    identity = encoder_identity(encoder)

    with_layer = StoredEmbeddings.read(path, identity, 3)
    fresh = encoder.encode(TEXTS, cache=False, lower_layer=3)
    assert np.allclose(np.stack([with_layer.get(t) for t in TEXTS]), fresh, atol=1e-5)
    alone = StoredEmbeddings.read(path, identity)
    assert np.allclose(np.stack([alone.get(t) for t in TEXTS]), fresh[:, :384], atol=1e-5)

    with caplog.at_level(logging.WARNING):
        assert len(StoredEmbeddings.read(path, identity, 4)) == 0
    assert "lack layer 4" in caplog.text


def test_training_with_a_store_gives_what_encoding_gives(tmp_path: Path) -> None:
    path = tmp_path / "public.embeddings.npz"
    write_store(path, TEXTS[:2], shared_encoder(), lower_layer=3)
    stored = TrainingData(training_examples=tokenized(*TEXTS))
    make_featurizer(tmp_path, lower_layer=3,
                    stored_embeddings=[str(path)]).process_training_data(stored)
    fresh = TrainingData(training_examples=tokenized(*TEXTS))
    make_featurizer(tmp_path, lower_layer=3).process_training_data(fresh)
    assert np.allclose(np.stack([block(m) for m in stored.training_examples]),
                       np.stack([block(m) for m in fresh.training_examples]), atol=1e-5)


def test_the_vote_reads_the_embedding_only() -> None:
    (message,) = tokenized("my dd bounced")
    both = shared_encoder().encode(["my dd bounced"], lower_layer=3)
    message.features.append(Features(both, "sentence", TEXT, EXPENSIVE_ORIGIN))
    vector = minilm_vector(message)
    assert vector is not None and vector.shape == (384,)
    assert np.allclose(vector, both[0, :384])
