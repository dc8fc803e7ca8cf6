"""Sample-quality figures for the toy problems (../shared/BENCHMARKS.md Q1, Q2)."""

from __future__ import annotations

import numpy as np

from tfgan_app import toy_data


def mixture_quality(samples: np.ndarray, modes: np.ndarray, std: float) -> dict:
    """Q2 figures of 2-D samples against a Gaussian mixture (PacGAN's definitions).

    Each sample goes to its nearest mode; it is high quality if within 3 std of it.
      modes: number of modes with at least one high-quality sample.
      high_quality: fraction of samples that are high quality.
      reverse_kl: KL(p || uniform) of the mode histogram of high-quality samples,
        sum_k p_k log(p_k K)  (0 when every mode is hit equally; inf if none are).
    """
    samples = np.asarray(samples, np.float64).reshape(-1, 2)
    d = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)  # (N, K)
    nearest, dist = d.argmin(1), d.min(1)
    hq = dist <= 3 * std
    counts = np.bincount(nearest[hq], minlength=len(modes))
    if counts.sum() == 0:
        kl = float("inf")
    else:
        p = counts / counts.sum()
        nz = p > 0
        kl = float(np.sum(p[nz] * np.log(p[nz] * len(modes))))
    return {"modes": int((counts > 0).sum()), "num_modes": int(len(modes)),
            "high_quality": float(hq.mean()), "reverse_kl": kl}


def gaussian_quality(samples: np.ndarray, mean: float = toy_data.GAUSSIAN_MEAN,
                     std: float = toy_data.GAUSSIAN_STD) -> dict:
    """Q1 figures of 1-D samples against N(mean, std).

      mean_error: |sample mean - mean| / std.
      std_ratio: sample std / std.
      ks: Kolmogorov-Smirnov statistic sup_x |F_n(x) - Phi((x - mean) / std)|.
      w1: 1-Wasserstein distance, estimated against the exact quantiles.
    """
    from scipy import stats

    x = np.sort(np.asarray(samples, np.float64).ravel())
    n = len(x)
    ks = stats.kstest(x, stats.norm(mean, std).cdf).statistic
    quantiles = stats.norm(mean, std).ppf((np.arange(n) + 0.5) / n)
    return {"mean_error": float(abs(x.mean() - mean) / std), "std_ratio": float(x.std() / std),
            "ks": float(ks), "w1": float(np.mean(np.abs(x - quantiles)))}


def sine_quality(samples: np.ndarray) -> dict:
    """Distance of generated 15-point curves to sin(pi x): RMS error and mean per-point std."""
    samples = np.asarray(samples, np.float64)
    target = np.sin(np.pi * toy_data.sine_x())
    return {"rmse": float(np.sqrt(np.mean((samples - target) ** 2))),
            "point_std": float(samples.std(0).mean())}


def toy_quality(problem: str, samples: np.ndarray) -> dict:
    if problem == "gaussian1d":
        return gaussian_quality(samples)
    if problem == "sine":
        return sine_quality(samples)
    return mixture_quality(samples, toy_data.mixture_modes(problem), toy_data.mixture_std(problem))
