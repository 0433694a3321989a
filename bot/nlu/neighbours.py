"""The nearest training examples' vote: which intents the examples most like a message have.

A logistic regression draws one straight boundary per intent through the sentence features.
Some requests sit in a pocket of another intent's examples that no straight boundary reaches:
"my card payment was declined" near the failed-payment examples, though most card words
belong to making a payment. The training examples nearest to the message in MiniLM's space
know that pocket. Their vote, blended with the regression's probabilities, is what the
classifier answers when the full model is asked (bot/nlu/linear_intent_classifier.py).

The vote: the `k` examples with the highest cosine similarity to the message, each weighing
exp(similarity / temperature), so a near-identical example outvotes a merely similar one;
the weights are summed per intent and made to add up to one.
"""

from __future__ import annotations

import numpy as np


class NearestExamples:
    """The training examples' unit-length MiniLM vectors and the index of each one's intent."""

    def __init__(self, vectors: np.ndarray, intents: np.ndarray, k: int,
                 temperature: float) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.intents = np.asarray(intents, dtype=np.int64)
        self.k = min(int(k), len(self.intents))
        self.temperature = float(temperature)

    @staticmethod
    def unit_rows(vectors: np.ndarray) -> np.ndarray:
        """Each row scaled to length one (a zero row stays zero)."""
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)

    def vote(self, vector: np.ndarray, intent_count: int) -> np.ndarray:
        """The share of the nearest examples' weight that each intent holds."""
        query = np.asarray(vector, dtype=np.float32).ravel()
        norm = float(np.linalg.norm(query))
        shares = np.zeros(intent_count, dtype=np.float64)
        if norm == 0 or self.k == 0:
            return shares
        similarity = self.vectors @ (query / norm)
        nearest = np.argpartition(-similarity, self.k - 1)[: self.k]
        closeness = similarity[nearest].astype(np.float64)
        # Relative to the nearest one's, so the exponentials cannot overflow.
        weights = np.exp((closeness - closeness.max()) / self.temperature)
        np.add.at(shares, self.intents[nearest], weights)
        return shares / shares.sum()
