"""The toy distributions: 1-D Gaussian, sine curves, 2-D Gaussian mixtures.

Each sampler is a stateless function of a seed, so batch i of a run is a fixed
function of (run seed, i): a resumed run sees exactly the batches an
uninterrupted run would.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

GAUSSIAN_MEAN, GAUSSIAN_STD = 4.0, 0.5        # gaussian1d: N(4, 0.5)
SINE_POINTS, SINE_NOISE = 15, 0.02            # sine: sin(pi x) + 0.02 n at 15 points
RING_RADIUS, RING_STD = 1.0, 0.01             # ring8 (BENCHMARKS.md Q2)
GRID_STD = 0.05                               # grid25 (BENCHMARKS.md Q2)


def sine_x() -> np.ndarray:
    """The 15 abscissae in [-1, 1] at which a sine "painting" is sampled."""
    return np.linspace(-1.0, 1.0, SINE_POINTS).astype(np.float32)


def mixture_modes(problem: str) -> np.ndarray:
    """Mode centres, shape (K, 2): ring8 at (cos 2pi k/8, sin 2pi k/8); grid25 at {-4..4 step 2}^2."""
    if problem == "ring8":
        angles = 2 * math.pi * np.arange(8) / 8
        return (RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], 1)).astype(np.float32)
    if problem == "grid25":
        g = np.arange(-4, 5, 2, dtype=np.float32)
        return np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    raise ValueError(f"{problem!r} is not a Gaussian mixture")


def mixture_std(problem: str) -> float:
    return {"ring8": RING_STD, "grid25": GRID_STD}[problem]


def data_dim(problem: str) -> int:
    return {"gaussian1d": 1, "sine": SINE_POINTS, "ring8": 2, "grid25": 2}[problem]


def sample(problem: str, n, seed) -> tf.Tensor:
    """n real examples of `problem`, shape (n, data_dim), drawn with stateless seed (2,)."""
    seed = tf.cast(seed, tf.int64)
    if problem == "gaussian1d":
        return GAUSSIAN_MEAN + GAUSSIAN_STD * tf.random.stateless_normal([n, 1], seed)
    if problem == "sine":
        x = tf.constant(sine_x())[tf.newaxis, :]  # (1, 15)
        return tf.sin(math.pi * x) + SINE_NOISE * tf.random.stateless_normal([n, SINE_POINTS], seed)
    modes = tf.constant(mixture_modes(problem))  # (K, 2)
    k_seed, n_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    which = tf.random.stateless_uniform([n], k_seed, 0, modes.shape[0], dtype=tf.int64)
    noise = mixture_std(problem) * tf.random.stateless_normal([n, 2], n_seed)
    return tf.gather(modes, which) + noise


def toy_batches(problem: str, *, batch_size: int, seed: int, start_batch: int = 0) -> tf.data.Dataset:
    """Infinite stream of batches (batch_size, data_dim); batch i uses seed (seed, i)."""
    def make(i):
        return sample(problem, batch_size, tf.stack([tf.constant(seed, tf.int64), i]))

    return (tf.data.Dataset.range(start_batch, np.iinfo(np.int64).max)
            .map(make, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE))
