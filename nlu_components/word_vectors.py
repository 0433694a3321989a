"""Static word vectors shipped as data files inside the `wordllama` wheel.

Only the wheel's data files are read (a safetensors matrix and a tokenizer json): the
package's own Python code needs pydantic 2, which Rasa 3.6 cannot live with, so it is
installed with `--no-deps` and never imported.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

PACKAGE = "wordllama"
WEIGHTS_FILE = "weights/l2_supercat_256.safetensors"
TOKENIZER_FILE = "tokenizers/l2_supercat_tokenizer_config.json"
MAX_DIMENSIONS = 256
# Words seen by a long-running server are cached; past this many the cache starts afresh.
CACHE_LIMIT = 100_000


class WordVectorsMissing(RuntimeError):
    """The wordllama wheel (or one of its data files) is not installed."""


def package_folder(package: str = PACKAGE) -> Path:
    """Where an installed package's files are, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WordVectorsMissing(
            f"the '{package}' package is not installed: run `make setup` "
            f"(it is pinned in requirements/bot-nodeps.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass
class WordVectors:
    """Looks up one vector per word: the mean of its subword vectors (the matrix's rows)."""

    matrix: np.ndarray
    tokenizer: Tokenizer
    lowercase: bool = False
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, dimensions: int = MAX_DIMENSIONS, lowercase: bool = False) -> WordVectors:
        """Reads the matrix and the tokenizer from the installed wheel."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        if not 1 <= dimensions <= MAX_DIMENSIONS:
            raise ValueError(f"dimensions must be between 1 and {MAX_DIMENSIONS}")
        folder = package_folder()
        weights, tokenizer_json = folder / WEIGHTS_FILE, folder / TOKENIZER_FILE
        for path in (weights, tokenizer_json):
            if not path.is_file():
                raise WordVectorsMissing(f"{path} is missing from the '{PACKAGE}' wheel")
        (matrix,) = load_file(str(weights)).values()
        # The vectors are trained Matryoshka-style, so a prefix of the dimensions is itself
        # a usable (smaller) embedding.
        matrix = np.ascontiguousarray(matrix[:, :dimensions], dtype=np.float32)
        return cls(matrix=matrix, tokenizer=Tokenizer.from_file(str(tokenizer_json)),
                   lowercase=lowercase)

    @property
    def dimensions(self) -> int:
        """Length of every vector."""
        return int(self.matrix.shape[1])

    def words(self, words: Sequence[str]) -> np.ndarray:
        """One row per word, shape (len(words), dimensions); zeros for a word with no subwords."""
        keys = [word.lower() if self.lowercase else word for word in words]
        missing = sorted({key for key in keys if key not in self._cache})
        if missing:
            if len(self._cache) + len(missing) > CACHE_LIMIT:
                self._cache.clear()
            encodings = self.tokenizer.encode_batch(missing, add_special_tokens=False)
            for key, encoding in zip(missing, encodings, strict=True):
                ids = encoding.ids
                self._cache[key] = (
                    self.matrix[ids].mean(axis=0) if ids
                    else np.zeros(self.dimensions, dtype=np.float32)
                )
        if not keys:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self._cache[key] for key in keys])
