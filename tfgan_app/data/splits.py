"""The held-out part of a labelled dataset: the examples the project's classifier never trains on.

Only MNIST's 10,000-image test split is available offline, so the classifier
(metrics/classifier.py) trains on a seeded permutation's first N - HELD_OUT examples and
is scored on the rest.  Games that evaluate with the classifier on real inputs (pix2pix
on edge maps of held-out digits) train on the same first part, so neither the classifier
nor the game has seen the images it is scored on.
"""

from __future__ import annotations

import numpy as np

HELD_OUT = 2000    # examples of the (test) split never trained on
SPLIT_SEED = 0     # the permutation's seed


def split_examples(n: int, held_out: int = HELD_OUT, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices), each sorted, of a seeded permutation of 0..n-1.

    Raises:
      ValueError: held_out is not in (0, n).
    """
    if not 0 < held_out < n:
        raise ValueError(f"--held-out {held_out}: expected 0 < held-out < {n} (the dataset's size)")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:n - held_out]), np.sort(order[n - held_out:])
