"""The word-vector featurizer: shapes, determinism, unknown words, empty text."""

from __future__ import annotations

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

from nlu_components.word_vectors import WordVectors, package_folder
from nlu_components.wordllama_featurizer import WordLlamaFeaturizer


def make_featurizer(tmp_path: Path, **config: object) -> WordLlamaFeaturizer:
    context = ExecutionContext(GraphSchema({}), node_name="word_vectors")
    return WordLlamaFeaturizer.create(
        {**WordLlamaFeaturizer.get_default_config(), **config},
        LocalModelStorage(tmp_path), Resource("word_vectors"), context,
    )


def featurize(featurizer: WordLlamaFeaturizer, text: str) -> Message:
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    featurizer.process([message])
    return message


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory: pytest.TempPathFactory) -> WordLlamaFeaturizer:
    return make_featurizer(tmp_path_factory.mktemp("storage"))


def test_one_row_per_token_and_one_sentence_row(featurizer: WordLlamaFeaturizer) -> None:
    message = featurize(featurizer, "I have moved house to LS6 2QT")
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is not None and sentence is not None
    assert sequence.features.shape == (7, 256)
    assert sentence.features.shape == (1, 256)
    assert sequence.features.dtype == np.float32
    assert np.linalg.norm(sentence.features) == pytest.approx(1.0, abs=1e-5)


def test_the_same_text_always_gets_the_same_features(tmp_path: Path) -> None:
    first = featurize(make_featurizer(tmp_path / "a"), "my direct debit failed")
    second = featurize(make_featurizer(tmp_path / "b"), "my direct debit failed")
    for one, other in zip(first.get_dense_features(TEXT), second.get_dense_features(TEXT),
                          strict=True):
        assert np.array_equal(one.features, other.features)


def test_related_requests_are_closer_than_unrelated_ones(
    featurizer: WordLlamaFeaturizer,
) -> None:
    def sentence(text: str) -> np.ndarray:
        return featurize(featurizer, text).get_dense_features(TEXT)[1].features[0]

    moved = sentence("I have moved house")
    relocated = sentence("we relocated to a new home")
    refund = sentence("refund my subscription payment")
    assert moved @ relocated > moved @ refund


def test_unknown_and_misspelt_words_still_get_non_zero_vectors(
    featurizer: WordLlamaFeaturizer,
) -> None:
    message = featurize(featurizer, "adress qwzxjv Ychwanegu")
    sequence = message.get_dense_features(TEXT)[0].features
    assert sequence.shape == (3, 256)
    assert np.all(np.linalg.norm(sequence, axis=1) > 0)
    # Byte fallback: even a symbol no word piece covers gets a vector.
    emoji = featurizer.vectors.words(["😀"])
    assert emoji.shape == (1, 256) and np.linalg.norm(emoji) > 0


def test_empty_text_gets_zero_features_and_does_not_fail(
    featurizer: WordLlamaFeaturizer,
) -> None:
    # The whitespace tokenizer turns "" into one empty token, which has no word pieces.
    sequence, sentence = featurize(featurizer, "").get_dense_features(TEXT)
    assert sequence.features.shape == (1, 256) and not sequence.features.any()
    assert sentence.features.shape == (1, 256) and not sentence.features.any()
    assert featurizer.vectors.words([]).shape == (0, 256)
    assert featurizer.features([])[1].shape == (1, 256)


def test_fewer_dimensions_and_max_pooling(tmp_path: Path) -> None:
    featurizer = make_featurizer(tmp_path, dimensions=64, pooling="max",
                                 normalize_sentence=False)
    sequence, sentence = featurize(featurizer, "cancel my membership").get_dense_features(TEXT)
    assert sequence.features.shape == (3, 64)
    assert np.array_equal(sentence.features[0], sequence.features.max(axis=0))


def test_lowercase_makes_case_irrelevant(tmp_path: Path) -> None:
    vectors = WordVectors.load(lowercase=True)
    assert np.array_equal(vectors.words(["HELLO"]), vectors.words(["hello"]))


@pytest.mark.parametrize("config", [{"pooling": "median"}, {"dimensions": 1024}])
def test_bad_configuration_is_refused(tmp_path: Path, config: dict[str, object]) -> None:
    with pytest.raises(InvalidConfigException):
        make_featurizer(tmp_path, **config)


def test_training_data_is_featurized_in_place(featurizer: WordLlamaFeaturizer) -> None:
    messages = [Message(data={TEXT: "hello there", "intent": "greet"})]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    featurizer.process_training_data(TrainingData(messages))
    assert messages[0].get_dense_features(TEXT)[1].features.shape == (1, 256)


def test_the_vectors_come_from_the_installed_wheel_without_importing_it() -> None:
    import sys

    assert (package_folder() / "weights").is_dir()
    assert "wordllama" not in sys.modules
