"""The out-of-scope signals bench/nlu/oos_validation.py scores, on vectors small enough to
check by hand: the findings written in its docstring rest on them."""

from __future__ import annotations

import numpy as np

from bench.nlu.oos_validation import mahalanobis, nearest_other


def unit(rows: list[list[float]]) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_row_is_never_its_own_nearest_other_row() -> None:
    rows = unit([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0.8, 0.6]])

    similarity = nearest_other(rows)

    # The two identical rows find each other; the others find their nearest other row.
    assert np.allclose(similarity, [1.0, 1.0, 0.8, 0.8])


def test_nearest_other_is_the_same_in_any_chunk_size() -> None:
    rows = unit(np.random.default_rng(7).normal(size=(50, 8)).tolist())

    assert np.allclose(nearest_other(rows, chunk=3), nearest_other(rows, chunk=2048))


def test_a_text_at_an_intents_mean_is_near_and_a_text_far_from_all_is_rare() -> None:
    chance = np.random.default_rng(11).normal
    centres = np.array([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    trained = np.vstack([centre + chance(scale=0.5, size=(200, 3)) for centre in centres])
    intents = np.array(["join_membership"] * 200 + ["cancel_membership"] * 200)
    texts = np.vstack([trained[:200].mean(axis=0), [0.0, 0.0, 40.0]])

    distance, p_value = mahalanobis(trained, intents, texts)

    assert distance[0] < 0.1
    assert p_value[0] > 0.95  # almost every training row lies further from its own mean
    assert distance[1] > 100
    assert p_value[1] == 0.0  # no training row lies as far out
