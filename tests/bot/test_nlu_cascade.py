"""The NLU cascade: the cheap model answers when sure, MiniLM is embedded only when it is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import sentence_encoder
from bot.nlu.linear_intent_classifier import MODEL_FILE, LinearIntentClassifier, softmax
from bot.nlu.minilm_featurizer import PENDING_EMBEDDING, MiniLMFeaturizer, embed_pending

EXAMPLES = {
    "cancel_membership": ["cancel my membership", "I want to leave the union",
                          "please end my membership", "stop my union membership"],
    "update_address": ["I have moved house", "change my address", "my new address is",
                       "update my home address"],
    "ask_opening_hours": ["when are you open", "what are your opening hours",
                          "is the office open on saturday", "opening times please"],
}


class CountingEncoder:
    """The real encoder, counting the calls that embed texts."""

    def __init__(self, encoder: sentence_encoder.SentenceEncoder) -> None:
        self.encoder = encoder
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str], cache: bool = True) -> np.ndarray:
        self.calls.append(list(texts))
        return self.encoder.encode(texts, cache=cache)


def context(name: str) -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name=name)


class Pipeline:
    """Tokenizer, word counts, MiniLM and the classifier, trained on EXAMPLES."""

    def __init__(self, folder: Path) -> None:
        self.storage = LocalModelStorage(folder)
        self.tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
        self.counts = CountVectorsFeaturizer.create(
            CountVectorsFeaturizer.get_default_config(), self.storage, Resource("counts"),
            context("counts"))
        self.minilm = MiniLMFeaturizer.create(
            {**MiniLMFeaturizer.get_default_config(), "alias": "minilm"}, self.storage,
            Resource("minilm"), context("minilm"))
        self.resource = Resource("classifier")
        data = TrainingData([Message(data={TEXT: text, "intent": intent})
                             for intent, texts in EXAMPLES.items() for text in texts])
        self.tokenizer.process_training_data(data)
        self.counts.train(data)
        self.counts.process_training_data(data)
        self.minilm.process_training_data(data)
        trainer = LinearIntentClassifier.create(self.config(0.5), self.storage, self.resource,
                                                context("classifier"))
        trainer.train(data)

    @staticmethod
    def config(cheap_enough: float) -> dict[str, Any]:
        return {**LinearIntentClassifier.get_default_config(), "cheap_enough": cheap_enough}

    def classifier(self, cheap_enough: float) -> LinearIntentClassifier:
        return LinearIntentClassifier.load(self.config(cheap_enough), self.storage,
                                           self.resource, context("classifier"))

    def featurized(self, *texts: str, embed_now: bool = False) -> list[Message]:
        """Messages as the pipeline hands them to the classifier at parse time (or, with
        embed_now, with the MiniLM block already added, as before the cascade)."""
        messages = [Message(data={TEXT: text}) for text in texts]
        self.tokenizer.process(messages)
        self.counts.process(messages)
        if embed_now:
            return self.minilm.embed_now(messages)
        return self.minilm.process(messages)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return Pipeline(tmp_path_factory.mktemp("cascade"))


@pytest.fixture()
def counting(monkeypatch: pytest.MonkeyPatch, pipeline: Pipeline) -> CountingEncoder:
    """Every encoder the parse can reach, counted: the process's shared one and the
    featurizer's own reference to it."""
    wrapper = CountingEncoder(sentence_encoder.shared_encoder("float16"))
    monkeypatch.setitem(sentence_encoder._SHARED, ("float16", None), wrapper)
    monkeypatch.setattr(pipeline.minilm, "encoder", wrapper)
    return wrapper


def cheap_top(pipeline: Pipeline, text: str) -> float:
    """The cheap model's top probability for text."""
    (message,) = pipeline.featurized(text)
    scores = pipeline.classifier(0.5).cheap_scores(message)
    assert scores is not None
    return float(softmax(scores).max())


def ranking(message: Message) -> list[tuple[str, float]]:
    return [(r["name"], round(r["confidence"], 9)) for r in message.get("intent_ranking")]


def test_the_parse_leaves_the_text_unembedded_until_the_classifier(
    pipeline: Pipeline, counting: CountingEncoder,
) -> None:
    (message,) = pipeline.featurized("cancel my membership")
    assert message.get(PENDING_EMBEDDING)["origin"] == "minilm"
    assert message.get_dense_features(TEXT) == (None, None)
    assert counting.calls == []
    assert PENDING_EMBEDDING not in message.as_dict(only_output_properties=True)


def test_a_message_the_cheap_model_is_sure_of_is_never_embedded(
    pipeline: Pipeline, counting: CountingEncoder,
) -> None:
    text = "cancel my membership"
    bound = cheap_top(pipeline, text) - 0.01
    (message,) = pipeline.classifier(bound).process(pipeline.featurized(text))
    assert message.get("intent")["name"] == "cancel_membership"
    assert counting.calls == []
    assert message.get_dense_features(TEXT) == (None, None)


def test_an_unsure_message_is_embedded_exactly_once_and_the_full_model_answers(
    pipeline: Pipeline, counting: CountingEncoder,
) -> None:
    text = "we relocated to a new flat"
    bound = min(cheap_top(pipeline, text) + 0.01, 1.0)
    assert bound < 1.0
    (message,) = pipeline.classifier(bound).process(pipeline.featurized(text))
    assert counting.calls == [[text]]
    assert message.get(PENDING_EMBEDDING) is None
    (old,) = pipeline.classifier(1.0).process(pipeline.featurized(text, embed_now=True))
    assert ranking(message) == ranking(old)


def test_unsure_messages_of_one_batch_share_one_encoder_call(
    pipeline: Pipeline, counting: CountingEncoder,
) -> None:
    texts = ("we relocated to a new flat", "any chance you are around on sunday")
    classifier = pipeline.classifier(1.0 - 1e-9)
    classifier.process(pipeline.featurized(*texts))
    assert counting.calls == [list(texts)]


def test_with_the_cascade_off_every_answer_is_the_old_full_model_answer(
    pipeline: Pipeline, counting: CountingEncoder,
) -> None:
    texts = [text for examples in EXAMPLES.values() for text in examples] + [
        "we relocated to a new flat", "hello", ""]
    cascade_off = pipeline.classifier(1.0).process(pipeline.featurized(*texts))
    before = pipeline.classifier(1.0).process(pipeline.featurized(*texts, embed_now=True))
    assert [ranking(m) for m in cascade_off] == [ranking(m) for m in before]
    assert len(counting.calls) == 2  # one batch each way: the cascade off embeds them all


def test_an_old_model_file_without_the_cheap_model_loads_and_answers_with_the_full_one(
    pipeline: Pipeline, counting: CountingEncoder, tmp_path: Path,
) -> None:
    trained = pipeline.classifier(0.5)
    assert trained.cheap is not None
    storage, resource = LocalModelStorage(tmp_path), Resource("old-classifier")
    with storage.write_to(resource) as folder:
        np.savez(folder / MODEL_FILE, intents=trained.intents, weights=trained.weights,
                 bias=trained.bias)
    old = LinearIntentClassifier.load(Pipeline.config(0.5), storage, resource,
                                      context("classifier"))
    assert old.cheap is None and old.intents is not None
    (message,) = old.process(pipeline.featurized("cancel my membership"))
    assert counting.calls == [["cancel my membership"]]
    (full,) = pipeline.classifier(1.0).process(
        pipeline.featurized("cancel my membership", embed_now=True))
    assert ranking(message) == ranking(full)


def test_the_cascade_off_trains_no_cheap_model(pipeline: Pipeline, tmp_path: Path) -> None:
    storage, resource = LocalModelStorage(tmp_path), Resource("classifier")
    classifier = LinearIntentClassifier.create(Pipeline.config(1.0), storage, resource,
                                               context("classifier"))
    data = TrainingData([Message(data={TEXT: text, "intent": intent})
                         for intent, texts in EXAMPLES.items() for text in texts])
    pipeline.tokenizer.process_training_data(data)
    pipeline.counts.process_training_data(data)
    pipeline.minilm.process_training_data(data)
    classifier.train(data)
    with storage.read_from(resource) as folder, np.load(folder / MODEL_FILE) as saved:
        assert "cheap_weights" not in saved.files


def test_the_pending_block_goes_where_the_featurizer_would_have_put_it(
    counting: CountingEncoder,
) -> None:
    message = Message(data={TEXT: "cancel my membership"})
    message.add_features(Features(np.ones((1, 2)), "sentence", TEXT, "counts"))
    message.set(PENDING_EMBEDDING, {"origin": "minilm", "embedding_dtype": "float16",
                                    "position": 1})
    message.add_features(Features(np.ones((1, 3)), "sentence", TEXT, "later"))
    embed_pending([message], counting)
    assert [f.origin for f in message.features] == ["counts", "minilm", "later"]
    assert message.features[1].features.shape == (1, 384)
    assert message.get(PENDING_EMBEDDING) is None


@pytest.mark.parametrize("cheap_enough", [0, -0.5, 1.01, "high", True, None])
def test_cheap_enough_must_be_a_probability_above_0(tmp_path: Path, cheap_enough: object) -> None:
    with pytest.raises(InvalidConfigException, match="cheap_enough"):
        LinearIntentClassifier({**LinearIntentClassifier.get_default_config(),
                                "cheap_enough": cheap_enough},
                               LocalModelStorage(tmp_path), Resource("classifier"))


@pytest.mark.parametrize("cheap_enough", [1, 1.0, 0.9, 0.01])
def test_cheap_enough_in_range_is_accepted(tmp_path: Path, cheap_enough: float) -> None:
    classifier = LinearIntentClassifier({**LinearIntentClassifier.get_default_config(),
                                         "cheap_enough": cheap_enough},
                                        LocalModelStorage(tmp_path), Resource("classifier"))
    assert classifier.cheap is None


def test_a_message_that_already_has_the_block_is_not_marked_again(
    pipeline: Pipeline, counting: CountingEncoder,
) -> None:
    (message,) = pipeline.featurized("cancel my membership", embed_now=True)
    pipeline.minilm.process([message])
    assert message.get(PENDING_EMBEDDING) is None
    (answered,) = pipeline.classifier(1.0).process([message])
    assert [f.origin for f in answered.features if f.type == "sentence"].count("minilm") == 1
    assert len(counting.calls) == 1
