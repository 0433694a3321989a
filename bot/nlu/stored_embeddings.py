"""Sentence embeddings of generated training examples, computed once and kept beside them.

Embedding every training example is most of a training's time (about 100 of 180 s on two
cores), and more than half of the examples are data/nlu/public.yml's, which change only when
scripts/generate_nlu_from_public.py rewrites that file. So that script stores their embeddings
in bot/nlu/stored/public.embeddings.npz, and the featurizer looks each training text up there
before it encodes anything. (Not in data/: Rasa's `load_data` on a folder reads every file in
it as training data.)

A store is only used with the encoder that wrote it: it carries the encoder's identity (the
weights package's version, the storage type of its word table, the token limit and the
forward pass's revision), and a store written by any other is ignored as a whole. A text that
is not in the store is encoded as before, so a stale store costs time, never accuracy.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.nlu.sentence_encoder import DIMENSIONS, SentenceEncoder, encoder_identity

logger = logging.getLogger(__name__)

# Where the public examples' store lives, from the project's root (config.yml names it too).
PUBLIC_STORE = "bot/nlu/stored/public.embeddings.npz"


class StoredEmbeddings:
    """Embeddings by exact text, from one encoder."""

    def __init__(self, vectors_by_text: dict[str, np.ndarray]) -> None:
        """A store of the given vectors (unit length, float32, 384 wide)."""
        self.vectors_by_text = vectors_by_text

    def __len__(self) -> int:
        """How many texts the store holds."""
        return len(self.vectors_by_text)

    def get(self, text: str) -> np.ndarray | None:
        """The stored embedding of exactly this text, or None."""
        return self.vectors_by_text.get(text)

    @classmethod
    def read(cls, path: Path, identity: str) -> StoredEmbeddings:
        """The store at `path`; empty (with a warning saying why) when it is missing,
        unreadable or written by another encoder, since encoding afresh is always right."""
        if not path.is_file():
            logger.warning(f"No stored embeddings at '{path}': every training example will be "
                           f"encoded.")
            return cls({})
        try:
            with np.load(path, allow_pickle=False) as saved:
                stored_identity = str(saved["identity"])
                texts, vectors = saved["texts"], saved["vectors"]
        # A damaged file can fail as any of these, depending on where it is cut.
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            logger.warning(f"The stored embeddings at '{path}' cannot be read ({error}): "
                           f"every training example will be encoded.")
            return cls({})
        if stored_identity != identity:
            logger.warning(f"The stored embeddings at '{path}' come from another encoder "
                           f"({stored_identity!r}, not {identity!r}): they are not used. Run "
                           f"scripts/generate_nlu_from_public.py to write them again.")
            return cls({})
        if vectors.ndim != 2 or vectors.shape != (len(texts), DIMENSIONS):
            logger.warning(f"The stored embeddings at '{path}' have the shape "
                           f"{vectors.shape} for {len(texts)} texts: they are not used.")
            return cls({})
        return cls({str(text): vector for text, vector in
                    zip(texts, vectors.astype(np.float32), strict=True)})


def write_store(path: Path, texts: Sequence[str], encoder: SentenceEncoder) -> int:
    """Encodes the distinct texts and writes them, with the encoder's identity, to `path`;
    returns how many were stored."""
    distinct = sorted(set(texts))
    vectors = encoder.encode(distinct, cache=False).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed over it: a training never reads half a store.
    partial = path.with_name(path.name + ".partial.npz")
    np.savez_compressed(partial, identity=np.array(encoder_identity(encoder)),
                        texts=np.array(distinct, dtype=str), vectors=vectors)
    partial.replace(path)
    return len(distinct)
