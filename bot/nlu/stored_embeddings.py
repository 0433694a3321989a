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

Besides the embeddings (`vectors`), a store may hold the same mean taken after a lower layer
(`layer_3`: see SentenceEncoder.encode's `lower_layer`), written for the layer config.yml's
featurizer reads. A featurizer that wants a layer the store lacks ignores the store.
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
    def read(cls, path: Path, identity: str, lower_layer: int | None = None
             ) -> StoredEmbeddings:
        """The store at `path`, each vector followed by its `lower_layer` mean when one is
        asked for (as SentenceEncoder.encode returns them); empty (with a warning saying why)
        when it is missing, unreadable, written by another encoder or without that layer,
        since encoding afresh is always right."""
        if not path.is_file():
            logger.warning(f"No stored embeddings at '{path}': every training example will be "
                           f"encoded.")
            return cls({})
        try:
            with np.load(path, allow_pickle=False) as saved:
                stored_identity = str(saved["identity"])
                texts, vectors = saved["texts"], saved["vectors"]
                lower_name = None if lower_layer is None else layer_name(lower_layer)
                lower = (None if lower_name is None or lower_name not in saved.files
                         else saved[lower_name])
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
        if lower_layer is not None and lower is None:
            logger.warning(f"The stored embeddings at '{path}' lack layer {lower_layer}'s "
                           f"mean: they are not used. Run scripts/generate_nlu_from_public.py "
                           f"--embeddings-only to write them again.")
            return cls({})
        for array in (vectors,) if lower is None else (vectors, lower):
            if array.ndim != 2 or array.shape != (len(texts), DIMENSIONS):
                logger.warning(f"The stored embeddings at '{path}' have the shape "
                               f"{array.shape} for {len(texts)} texts: they are not used.")
                return cls({})
        if lower is not None:
            vectors = np.hstack([vectors, lower])
        return cls({str(text): vector for text, vector in
                    zip(texts, vectors.astype(np.float32), strict=True)})


def layer_name(lower_layer: int) -> str:
    """The name of a lower layer's array in a store."""
    return f"layer_{lower_layer}"


def write_store(path: Path, texts: Sequence[str], encoder: SentenceEncoder,
                lower_layer: int | None = None) -> int:
    """Encodes the distinct texts and writes them, with the encoder's identity (and each
    text's `lower_layer` mean, when given), to `path`; returns how many were stored."""
    distinct = sorted(set(texts))
    encoded = encoder.encode(distinct, cache=False, lower_layer=lower_layer).astype(np.float32)
    vectors = encoded[:, :DIMENSIONS]
    lower = {} if lower_layer is None else {layer_name(lower_layer): encoded[:, DIMENSIONS:]}
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed over it: a training never reads half a store.
    partial = path.with_name(path.name + ".partial.npz")
    np.savez_compressed(partial, identity=np.array(encoder_identity(encoder)),
                        texts=np.array(distinct, dtype=str), vectors=vectors, **lower)
    partial.replace(path)
    return len(distinct)
