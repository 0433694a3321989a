"""Stored training embeddings: looked up in place of encoding, and never used when they could
be wrong (another encoder, a damaged file), so a store changes a training's time only."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.minilm_featurizer import MiniLMFeaturizer, configured_encoder
from bot.nlu.sentence_encoder import SentenceEncoder, encoder_identity, shared_encoder
from bot.nlu.stored_embeddings import PUBLIC_STORE, StoredEmbeddings, write_store

ROOT = Path(__file__).resolve().parents[2]
STORED = ["I have moved house to LS6 2QT", "can I get my money back", "my dd bounced"]
NOT_STORED = ["when does the strike ballot close", "I got married, new surname"]


def training_data(*texts: str) -> TrainingData:
    messages = [Message(data={TEXT: text, "intent": "any"}) for text in texts]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    return TrainingData(training_examples=messages)


def make_featurizer(tmp_path: Path, stores: list[str]) -> MiniLMFeaturizer:
    context = ExecutionContext(GraphSchema({}), node_name="minilm")
    config = {**MiniLMFeaturizer.get_default_config(), "stored_embeddings": stores}
    return MiniLMFeaturizer.create(config, LocalModelStorage(tmp_path / "model"),
                                  Resource("minilm"), context)


def text_rows(data: TrainingData) -> np.ndarray:
    rows = []
    for message in data.training_examples:
        sequence, sentence = message.get_dense_features(TEXT)
        assert sequence is None and sentence is not None
        rows.append(sentence.features[0])
    return np.stack(rows)


class CountingEncoder:
    """The real encoder, counting the texts it is asked to encode."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self.word_embeddings = encoder.word_embeddings
        self.tuned_digest = encoder.tuned_digest
        self.encoded: list[str] = []

    def encode(self, texts: list[str], cache: bool = True) -> np.ndarray:
        self.encoded.extend(texts)
        return self.encoder.encode(texts, cache=cache)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stores") / "some.embeddings.npz"
    assert write_store(path, [*STORED, STORED[0]], shared_encoder()) == len(STORED)
    return path


def test_stored_texts_are_looked_up_and_give_what_encoding_gives(
    tmp_path: Path, store: Path
) -> None:
    with_store = make_featurizer(tmp_path, [str(store)])
    counting = CountingEncoder(with_store.encoder)
    with_store.encoder = counting  # type: ignore[assignment]
    data = training_data(*STORED, *NOT_STORED)
    with_store.process_training_data(data)
    assert counting.encoded == NOT_STORED

    fresh = training_data(*STORED, *NOT_STORED)
    make_featurizer(tmp_path, []).process_training_data(fresh)
    assert np.allclose(text_rows(data), text_rows(fresh), atol=1e-5)


def test_a_store_from_another_encoder_is_not_used(
    tmp_path: Path, store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with np.load(store) as saved:
        arrays = {name: saved[name] for name in saved.files}
    other = tmp_path / "other.npz"
    np.savez(other, **{**arrays, "identity": np.array("another-encoder==2.0")})
    assert len(StoredEmbeddings.read(store, encoder_identity(shared_encoder()))) == len(STORED)
    with caplog.at_level(logging.WARNING):
        assert len(StoredEmbeddings.read(other, encoder_identity(shared_encoder()))) == 0
    assert "another encoder" in caplog.text

    featurizer = make_featurizer(tmp_path, [str(other)])
    counting = CountingEncoder(featurizer.encoder)
    featurizer.encoder = counting  # type: ignore[assignment]
    featurizer.process_training_data(training_data(*STORED))
    assert counting.encoded == STORED


@pytest.mark.parametrize("content", [b"", b"not an npz file", b"PK\x03\x04broken"])
def test_a_damaged_or_missing_store_means_encoding_everything(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(content)
    featurizer = make_featurizer(tmp_path, [str(damaged), str(tmp_path / "missing.npz")])
    counting = CountingEncoder(featurizer.encoder)
    featurizer.encoder = counting  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING):
        featurizer.process_training_data(training_data(*STORED))
    assert counting.encoded == STORED
    assert "cannot be read" in caplog.text and "No stored embeddings" in caplog.text


def test_a_store_of_the_wrong_shape_is_not_used(tmp_path: Path, store: Path) -> None:
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, identity=np.array(encoder_identity(shared_encoder())),
             texts=np.array(STORED), vectors=np.zeros((len(STORED), 3), dtype=np.float32))
    assert len(StoredEmbeddings.read(wrong, encoder_identity(shared_encoder()))) == 0


def test_serving_never_reads_the_store(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                       ) -> None:
    # A parse looks nothing up in a store: a missing one is not even noticed.
    featurizer = make_featurizer(tmp_path, [str(tmp_path / "missing.npz")])
    messages = training_data("hello").training_examples
    with caplog.at_level(logging.WARNING):
        featurizer.embed_now(messages)
        featurizer.process(training_data("hi there").training_examples)
    assert messages[0].get_dense_features(TEXT)[1] is not None
    assert "stored embeddings" not in caplog.text.lower()


@pytest.mark.parametrize("stores", ["bot/nlu/stored/public.embeddings.npz", [""], [3]])
def test_a_bad_stored_embeddings_setting_is_refused(tmp_path: Path, stores: object) -> None:
    with pytest.raises(InvalidConfigException, match="stored_embeddings"):
        make_featurizer(tmp_path, stores)  # type: ignore[arg-type]


def test_the_shipped_store_holds_every_public_example_as_the_encoder_gives_it() -> None:
    # Regenerating data/nlu/public.yml without its store would leave trainings a minute
    # longer: the generator writes both, and this fails when only one was written.
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    (minilm,) = [c for c in config["pipeline"] if c["name"].endswith("MiniLMFeaturizer")]
    assert minilm["stored_embeddings"] == [PUBLIC_STORE]

    encoder = configured_encoder(ROOT / "config.yml")
    shipped = StoredEmbeddings.read(ROOT / PUBLIC_STORE, encoder_identity(encoder))
    public = load_data(str(ROOT / "data" / "nlu" / "public.yml"))
    texts = {m.get(TEXT) for m in public.training_examples if m.get(TEXT)}
    assert set(shipped.vectors_by_text) == texts
    sample = random.Random(0).sample(sorted(texts), 24)
    fresh = encoder.encode(sample, cache=False)
    stored = np.stack([shipped.get(text) for text in sample])
    assert np.allclose(stored, fresh, atol=1e-5)


def test_the_nlu_folder_holds_training_data_only() -> None:
    # Rasa's load_data reads every file of a folder as training data: a store kept in
    # data/nlu broke every tool that loads the folder whole (the NLU benchmark among them).
    data = load_data(str(ROOT / "data" / "nlu"))
    assert len(data.intent_examples) > 5000
