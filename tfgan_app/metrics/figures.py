"""Sample-quality figures: toy problems (docs/benchmarks.md Q1, Q2), images (Q4) and translations (Q5-Q7).

Toys compare samples with the known density.  Images are compared in the feature
space of a classifier (tfgan_app/metrics/classifier.py): Frechet distance, KID, a
classifier ("Inception") score, precision/recall, and mode coverage.  Every
function here is plain NumPy/SciPy on arrays, so it can be checked by hand.
"""

from __future__ import annotations

import warnings

import math

import numpy as np

from tfgan_app.config import ConfigError
from tfgan_app.data import toy as toy_data


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


# --- images: figures in a classifier's feature space (issue #6) -------------------------
#
# `features` are (N, D) activations of a classifier's penultimate layer; `probs` are
# (N, K) softmax outputs.  tfgan_app/metrics/classifier.py computes both.


def mode_coverage(mode_ids, num_modes: int) -> dict:
    """Modes hit by samples and KL(generated mode histogram || uniform).

    Args:
      mode_ids: (N,) integer mode of each sample in 0..num_modes-1 (Stacked MNIST: the
        triple of digit labels r * 100 + g * 10 + b).
      num_modes: K, the number of modes of the data.
    Returns:
      modes: number of modes with at least one sample;
      num_modes: K;
      kl: sum_k p_k log(p_k K) with p the normalised histogram (0 when every mode is hit
        equally often, log K when all samples fall in one mode; inf without samples).
    """
    counts = np.bincount(np.asarray(mode_ids, np.int64).ravel(), minlength=num_modes)
    if counts.sum() == 0:
        return {"modes": 0, "num_modes": int(num_modes), "kl": float("inf")}
    p = counts / counts.sum()
    nz = p > 0
    return {"modes": int(nz.sum()), "num_modes": int(num_modes),
            "kl": float(np.sum(p[nz] * np.log(p[nz] * num_modes)))}


# --- translations: an output against its true target, images in [-1, 1] ------------------------


def l1_error(outputs, targets) -> float:
    """Mean |y - G(x)| over every pixel (pix2pix's L1, eq. 3), images in [-1, 1]."""
    return float(np.mean(np.abs(np.asarray(outputs, np.float64) - np.asarray(targets, np.float64))))


def psnr(outputs, targets, data_range: float = 2.0) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(range^2 / MSE) per image, averaged over images
    (range 2 for images in [-1, 1]); an exact image counts as 100 dB."""
    diff = np.asarray(outputs, np.float64) - np.asarray(targets, np.float64)
    mse = np.mean(diff.reshape(len(diff), -1) ** 2, axis=1)
    per_image = np.where(mse > 0, 10 * np.log10(data_range ** 2 / np.maximum(mse, 1e-20)), 100.0)
    return float(per_image.mean())


def sharpness(images) -> float:
    """Mean gradient magnitude sqrt(dx^2 + dy^2) of images (N, H, W, C), forward differences over
    the interior: blur (what an L1-only generator gives: the median of the possible outputs)
    lowers it; compare outputs with their targets as a ratio."""
    x = np.asarray(images, np.float64)
    dx, dy = x[:, :-1, 1:] - x[:, :-1, :-1], x[:, 1:, :-1] - x[:, :-1, :-1]
    return float(np.mean(np.sqrt(dx ** 2 + dy ** 2)))


def luma(images) -> np.ndarray:
    """ITU-R BT.601 Y of RGB images in [-1, 1], on [16, 235] (MATLAB's rgb2ycbcr, which the
    super-resolution literature scores on): (N, H, W, 3) -> (N, H, W, 1)."""
    x = (np.asarray(images, np.float64) + 1.0) / 2.0  # [0, 1]
    return (16.0 + x @ np.array([65.481, 128.553, 24.966]))[..., None]


def ssim(outputs, targets, data_range: float = 2.0) -> float:
    """Structural similarity (Wang et al. 2004): Gaussian window sigma 1.5 (truncated at 11 px),
    K1 0.01, K2 0.03, per channel, averaged over pixels, channels and images."""
    from scipy.ndimage import gaussian_filter

    x, y = np.asarray(outputs, np.float64), np.asarray(targets, np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    blur = lambda a: gaussian_filter(a, sigma=(0, 1.5, 1.5, 0), truncate=3.5)  # noqa: E731  (11x11 window)
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return float(s.mean())


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), covariance (D, D)) of features (N, D), in float64 (covariance with N - 1)."""
    x = np.asarray(features, np.float64)
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2) (FID: Heusel et al. 2017).

        d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))

    On a classifier's features this is the FID-style "FCD"; on Inception-V3 pool
    features it is FID.  (sigma1 sigma2)^(1/2) comes from scipy.linalg.sqrtm.  When the
    product is near-singular sqrtm may return non-finite values: then eps I is added to
    both covariances (as pytorch-fid does).  Rounding can leave a complex result; an
    imaginary part below 1e-3 of the trace is dropped.  A larger one means sqrtm failed:
    then the trace is computed from the eigenvalues of the symmetric PSD matrix
    sigma1^(1/2) sigma2 sigma1^(1/2), which has the same spectrum as sigma1 sigma2.

    Returns:
      d^2 (>= 0 up to rounding), a float.
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"frechet_distance: shapes do not match: mu {mu1.shape}, {mu2.shape}; "
                         f"sigma {s1.shape}, {s2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products are handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.all(np.isfinite(covmean)):
            offset = eps * np.eye(len(s1))
            covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    trace_sqrt = np.trace(covmean)
    if np.iscomplexobj(covmean):
        if np.all(np.isfinite(covmean)) and abs(trace_sqrt.imag) <= 1e-3 * max(1.0, abs(trace_sqrt.real)):
            trace_sqrt = trace_sqrt.real
        else:  # fall back to the spectrum of the symmetric form
            w, v = np.linalg.eigh(s1)
            root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # sigma1^(1/2)
            trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)))
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * float(np.real(trace_sqrt)))


def polynomial_mmd2(x, y) -> float:
    """Unbiased MMD^2 between samples x (m, D) and y (n, D), kernel k(a, b) = (a.b / D + 1)^3.

        MMD_u^2 = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1))
                  - 2 sum_{i, j} k(x_i, y_j) / (m n)

    Its expectation is the population MMD^2 (0 for equal distributions), so a single
    estimate can be negative.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m, n, d = len(x), len(y), x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kernel_distance(real, fake, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID (Binkowski et al. 2018): polynomial_mmd2 averaged over random subsets.

    Each of `subsets` rounds draws min(subset_size, len(real), len(fake)) rows of each set
    without replacement and computes the unbiased MMD^2.

    Returns:
      (mean, std) over the subsets; the mean is unbiased (near 0, possibly negative, for
      samples of the same distribution).
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise ValueError(f"kernel_distance: needs at least 2 samples per set, got {len(real)} and {len(fake)}")
    rng = np.random.default_rng(seed)
    values = [polynomial_mmd2(real[rng.choice(len(real), m, replace=False)],
                              fake[rng.choice(len(fake), m, replace=False)]) for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def classifier_score(probs, splits: int = 10) -> tuple[float, float]:
    """Inception Score (Salimans et al. 2016) of class probabilities probs (N, K).

        IS = exp( E_x KL(p(y|x) || p(y)) ),   p(y) = E_x p(y|x)

    computed on each of `splits` consecutive equal parts (0 log 0 = 0).  It lies in
    [1, K]: K when every sample is classified with certainty and the classes are used
    equally often; 1 when every sample gets the same prediction.

    Returns:
      (mean, std) over the splits.
    """
    probs = np.asarray(probs, np.float64)
    splits = max(1, min(int(splits), len(probs)))
    scores = []
    for part in np.array_split(probs, splits):
        py = part.mean(0, keepdims=True)  # (1, K)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0).sum(1)  # (n,)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _squared_distances(a, b) -> np.ndarray:
    """||a_i - b_j||^2 (len(a), len(b)), clipped at 0 against rounding."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0.0)


def knn_radii(x, k: int = 3, batch: int = 2000) -> np.ndarray:
    """Distance of each row of x (N, D) to its k-th nearest other row: (N,)."""
    x = np.asarray(x, np.float64)
    if len(x) <= k:
        raise ValueError(f"knn_radii: needs more than k={k} samples, got {len(x)}")
    out = np.empty(len(x))
    for i in range(0, len(x), batch):
        d = _squared_distances(x[i:i + batch], x)  # (b, N); column of self is 0
        out[i:i + batch] = np.sqrt(np.partition(d, k, axis=1)[:, k])  # index 0 is the point itself
    return out


def _inside_manifold(points, centres, radii, batch: int = 2000) -> np.ndarray:
    """(len(points),) bool: inside at least one ball B(centre_j, radius_j)."""
    hit = np.zeros(len(points), bool)
    r2 = radii[None, :] ** 2
    for i in range(0, len(points), batch):
        hit[i:i + batch] = (_squared_distances(points[i:i + batch], centres) <= r2).any(1)
    return hit


def precision_recall(real, fake, k: int = 3) -> dict:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of features real (N, D), fake (M, D).

    Each set's manifold is the union of balls around its points, of radius the distance
    to the point's k-th nearest neighbour in the same set.
      precision: fraction of fake points inside the real manifold (quality);
      recall: fraction of real points inside the fake manifold (coverage).
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    precision = _inside_manifold(fake, real, knn_radii(real, k)).mean()
    recall = _inside_manifold(real, fake, knn_radii(fake, k)).mean()
    return {"precision": float(precision), "recall": float(recall)}


# Which way is better for each figure a run can be judged by (`--eval-metric`).
HIGHER_IS_BETTER = ("modes", "high_quality", "is", "precision", "recall", "scale", "chord_tones")
LOWER_IS_BETTER = ("reverse_kl", "mode_kl", "ks", "w1", "mean_error", "rmse", "fcd", "kid", "fid",
                   "js1", "js2", "js3", "js4", "pitch_js", "interval_js", "empty")


# --- which figures, and which is better ------------------------------------------------------

# Figures each problem produces, and the default `eval_metric` ("auto").
PROBLEM_FIGURES = {
    "ring8": ("modes", "high_quality", "reverse_kl"),
    "grid25": ("modes", "high_quality", "reverse_kl"),
    "gaussian1d": ("mean_error", "ks", "w1"),
    "sine": ("rmse",),
    "image": ("fcd", "kid", "is", "precision", "recall", "modes", "mode_kl"),
    "text": ("js1", "js2", "js3", "js4"),  # metrics/ngrams.py
    "music": ("pitch_js", "interval_js", "scale", "empty", "chord_tones"),  # metrics/melody.py
}
AUTO_METRIC = {"ring8": "modes", "grid25": "modes", "gaussian1d": "ks", "sine": "rmse", "image": "fcd",
               "text": "js4", "music": "pitch_js"}


def resolve_metric(problem: str, name: str) -> str:
    """`eval_metric` for `problem` ("auto": AUTO_METRIC); ConfigError if the problem has no such figure."""
    metric = AUTO_METRIC[problem] if name == "auto" else name
    if metric not in PROBLEM_FIGURES[problem]:
        raise ConfigError("eval_metric", f"{name!r} is not a figure of --problem {problem}; "
                                         f"it has: {', '.join(PROBLEM_FIGURES[problem])}")
    return metric


def score(figures: dict, metric: str) -> tuple:
    """Sort key, bigger is better: the metric (negated if lower is better), then for
    'modes' the histogram's KL (lower is better) to break ties.  NaN counts as worst."""
    def better_up(name):
        v = float(figures.get(name, math.nan))
        if math.isnan(v):
            return -math.inf
        return v if name in HIGHER_IS_BETTER else -v

    key = (better_up(metric),)
    if metric == "modes":
        key += (better_up("reverse_kl" if "reverse_kl" in figures else "mode_kl"),)
    return key


def jsonable(value):
    """JSON without NaN/Infinity (not JSON): non-finite floats become the strings 'inf', 'nan'."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else str(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value
