"""Image figures in a classifier's feature space, against a dataset's cached reference statistics.

    reference_statistics(spec, featurizer, shape)   real images -> features, probabilities, mu, sigma (cached)
    image_metrics(samples, featurizer, reference)   FCD, KID, classifier score, precision/recall, modes
    inception_metrics(samples, featurizer, ref)     FID and Inception Score on Inception-V3 features
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from tfgan_app.data import images as image_data
from tfgan_app.metrics import classifier as clf
from tfgan_app.metrics import figures as metrics

REFERENCE_EXAMPLES = 10_000   # real images behind the reference statistics (all of MNIST's test split)
PR_MAX = 10_000               # precision/recall: at most this many points per set (k-NN is quadratic)
PR_K = 3                      # Kynkaanniemi et al.'s k
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
REFERENCE_VERSION = 1         # bump when the reference file's content changes


class ReferenceError(ValueError):
    """The reference images do not fit the generator (the message names --dataset)."""


def _resolved_spec(spec: str) -> tuple[str, int]:
    """(spec with its path made absolute, the path's mtime in ns or 0): part of the cache key."""
    scheme, _, arg = spec.partition(":")
    if scheme in ("mnist-idx", "folder", "npz") and arg:
        path = Path(arg).expanduser().resolve()
        return f"{scheme}:{path}", path.stat().st_mtime_ns if path.exists() else 0
    return spec, 0


def reference_path(spec: str, featurizer, sample_shape: tuple, max_examples: int) -> Path:
    """The cache file of a dataset's reference statistics: keyed by dataset, shape, count, network."""
    resolved, mtime = _resolved_spec(spec)
    key = json.dumps({"v": REFERENCE_VERSION, "dataset": resolved, "mtime": mtime,
                      "shape": list(sample_shape), "examples": int(max_examples),
                      "featurizer": featurizer.fingerprint}, sort_keys=True)
    return clf.cache_dir() / "reference" / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"


def reference_statistics(spec: str, featurizer, sample_shape: tuple, data_dir: str | None = None,
                         max_examples: int = REFERENCE_EXAMPLES) -> dict:
    """Features, probabilities, mean and covariance of (up to max_examples) real images of `spec`.

    Computed once per (dataset, sample shape, count, network) and cached in
    $TFGAN_APP_CACHE/reference/KEY.npz (written atomically), so evaluations do not
    recompute them.

    Returns:
      dict of mu (D,), sigma (D, D), features (n, D), probs (n, G, K), examples n,
      path (the cache file) and cached (whether it was read from the cache).
    Raises:
      image_data.DataError: the dataset cannot be read.
    """
    import tensorflow as tf

    path = reference_path(spec, featurizer, sample_shape, max_examples)
    if path.is_file():
        try:
            with np.load(path) as f:
                ref = {k: f[k] for k in ("mu", "sigma", "features", "probs")}
            return {**ref, "examples": len(ref["features"]), "path": str(path), "cached": True}
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache file: recompute and replace it
    h, w, c = sample_shape
    try:
        ds, source = image_data.load_examples(spec, image_size=h if h == w else None, channels=c,
                                              data_dir=data_dir or None)
    except image_data.DataError as e:
        raise image_data.DataError(f"{e} (the reference images; --dataset SPEC names others, "
                                   f"e.g. mnist-idx:DIR)") from None
    if source.image_shape != tuple(sample_shape):
        raise ReferenceError(f"--dataset {spec}: holds {source.image_shape} images but the generator "
                              f"makes {tuple(sample_shape)}")
    images = next(iter(ds.take(max_examples).batch(max_examples)))[0]  # (n, H, W, C) uint8, first n
    x = tf.cast(images, tf.float32).numpy() / 127.5 - 1.0
    features, probs = featurizer(x)
    mu, sigma = metrics.feature_statistics(features)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.npz")
    np.savez(tmp, mu=mu, sigma=sigma, features=features.astype(np.float32), probs=probs.astype(np.float32))
    os.replace(tmp, path)
    return {"mu": mu, "sigma": sigma, "features": features, "probs": probs, "examples": len(features),
            "path": str(path), "cached": False}


# --- figures -------------------------------------------------------------------------------


def image_metrics(samples, featurizer, reference: dict, seed: int = 0, kid_subsets: int = KID_SUBSETS) -> dict:
    """Image figures of `samples` (N, H, W, C) in [-1, 1] against `reference` (same featurizer).

    Returns:
      fcd: Frechet distance of the feature Gaussians (FID-style; FID on Inception features);
      kid, kid_std: unbiased polynomial-kernel MMD^2, mean and std over subsets of 1,000;
      is, is_std: Inception-Score formula on the network's class probabilities (the joint
        probabilities of the per-channel labels for Stacked MNIST), over 10 splits;
      precision, recall: k-NN manifolds, k = 3, on at most PR_MAX points per set;
      modes, num_modes, mode_kl: label (tuples) hit, of K^G, and KL(histogram || uniform).
    """
    features, probs = featurizer(samples)
    mu, sigma = metrics.feature_statistics(features)
    real = np.asarray(reference["features"], np.float64)
    kid, kid_std = metrics.kernel_distance(real, features, kid_subsets, KID_SUBSET_SIZE, seed)
    score, score_std = metrics.classifier_score(clf.joint_probabilities(probs))
    m = min(len(real), len(features), PR_MAX)
    rng = np.random.default_rng(seed)
    pr = metrics.precision_recall(real[rng.choice(len(real), m, replace=False)],
                                  features[rng.choice(len(features), m, replace=False)], PR_K)
    modes = metrics.mode_coverage(clf.mode_ids(probs), probs.shape[-1] ** probs.shape[1])
    return {"fcd": metrics.frechet_distance(mu, sigma, reference["mu"], reference["sigma"]),
            "kid": kid, "kid_std": kid_std, "is": score, "is_std": score_std, **pr,
            "modes": modes["modes"], "num_modes": modes["num_modes"], "mode_kl": modes["kl"]}


def reference_figures(reference: dict) -> dict:
    """What the network says about the real images themselves: the ceiling for is / modes."""
    probs = np.asarray(reference["probs"], np.float64)
    score, _ = metrics.classifier_score(clf.joint_probabilities(probs))
    modes = metrics.mode_coverage(clf.mode_ids(probs), probs.shape[-1] ** probs.shape[1])
    return {"examples": int(reference["examples"]), "is": score, "modes": modes["modes"],
            "num_modes": modes["num_modes"], "mode_kl": modes["kl"], "cache": reference["path"]}


def inception_metrics(samples, featurizer, reference: dict) -> dict:
    """FID and Inception Score on Inception-V3 (fid, inception_score, inception_score_std)."""
    features, probs = featurizer(samples)
    mu, sigma = metrics.feature_statistics(features)
    score, score_std = metrics.classifier_score(probs[:, 0])
    return {"fid": metrics.frechet_distance(mu, sigma, reference["mu"], reference["sigma"]),
            "inception_score": score, "inception_score_std": score_std}
