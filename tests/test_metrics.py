"""tfgan_app.metrics: every figure against an answer known in closed form."""

import math

import numpy as np
import pytest
from scipy import stats

from tfgan_app import config as cfg
from tfgan_app.metrics import figures as metrics
from tfgan_app.data import toy as toy_data

# --- Q2: mixtures ------------------------------------------------------------------------


@pytest.mark.parametrize("problem", ["ring8", "grid25"])
def test_samples_exactly_at_the_modes_cover_all_with_full_quality_and_zero_kl(problem):
    modes = toy_data.mixture_modes(problem)
    samples = np.tile(modes, (100, 1))  # every mode 100 times
    q = metrics.mixture_quality(samples, modes, toy_data.mixture_std(problem))
    assert q == {"modes": len(modes), "num_modes": len(modes), "high_quality": 1.0, "reverse_kl": 0.0}


@pytest.mark.parametrize("problem", ["ring8", "grid25"])
def test_samples_of_one_mode_give_one_mode_and_kl_log_k(problem):
    modes, std = toy_data.mixture_modes(problem), toy_data.mixture_std(problem)
    samples = modes[3] + np.random.default_rng(0).normal(0, std / 2, (2500, 2))  # within 3 std
    q = metrics.mixture_quality(samples, modes, std)
    assert q["modes"] == 1
    assert q["reverse_kl"] == pytest.approx(math.log(len(modes)))
    assert q["high_quality"] > 0.99


def test_high_quality_is_within_three_std_and_kl_counts_only_high_quality_samples():
    modes, std = toy_data.mixture_modes("ring8"), toy_data.RING_STD
    near = modes[:4] + [2.9 * std, 0]        # 4 modes, high quality
    far = modes[4:] + [3.1 * std, 0]         # nearest mode is right, but too far
    q = metrics.mixture_quality(np.concatenate([near, far]), modes, std)
    assert (q["modes"], q["high_quality"]) == (4, 0.5)
    assert q["reverse_kl"] == pytest.approx(math.log(2))  # uniform over 4 of 8: sum 1/4 log(8/4)
    q = metrics.mixture_quality(far, modes, std)
    assert q["modes"] == 0 and q["reverse_kl"] == math.inf


def test_mode_coverage():
    assert metrics.mode_coverage(np.arange(1000) % 10, 10) == {"modes": 10, "num_modes": 10, "kl": 0.0}
    one = metrics.mode_coverage(np.full(50, 7), 1000)
    assert one["modes"] == 1 and one["kl"] == pytest.approx(math.log(1000))
    half = metrics.mode_coverage(np.arange(100) % 5, 10)  # 5 of 10 modes, evenly
    assert half["modes"] == 5 and half["kl"] == pytest.approx(math.log(2))
    assert metrics.mode_coverage(np.zeros(0, int), 10)["kl"] == math.inf


# --- Q1: 1-D Gaussian --------------------------------------------------------------------


def test_gaussian_quality_of_exact_quantiles_and_of_a_shift():
    mean, std, n = toy_data.GAUSSIAN_MEAN, toy_data.GAUSSIAN_STD, 10_000
    exact = stats.norm(mean, std).ppf((np.arange(n) + 0.5) / n)
    q = metrics.gaussian_quality(exact)
    assert q["mean_error"] < 1e-6 and q["std_ratio"] == pytest.approx(1.0, abs=2e-3)
    assert q["ks"] == pytest.approx(0.5 / n)  # the empirical CDF jumps half a step around each quantile
    assert q["w1"] == pytest.approx(0.0, abs=1e-12)
    q = metrics.gaussian_quality(exact + 0.5 * std)
    assert q["mean_error"] == pytest.approx(0.5)
    assert q["w1"] == pytest.approx(0.5 * std)
    assert q["ks"] == pytest.approx(2 * stats.norm.cdf(0.25) - 1, abs=1e-4)  # sup |Phi(z) - Phi(z - 1/2)|


# --- Frechet distance --------------------------------------------------------------------


def test_frechet_distance_of_identical_gaussians_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 16))
    mu, sigma = metrics.feature_statistics(x)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_diagonal_gaussians_has_the_closed_form():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    s1, s2 = rng.uniform(0.1, 3, 8), rng.uniform(0.1, 3, 8)
    want = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert metrics.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(want, rel=1e-9)


def test_frechet_distance_of_scaled_full_covariances():
    # sigma2 = c^2 sigma1: Tr(sigma1 + c^2 sigma1 - 2 c sigma1) = (1 - c)^2 Tr(sigma1).
    a = np.random.default_rng(2).normal(size=(10, 10))
    sigma = a @ a.T + 0.1 * np.eye(10)
    mu = np.zeros(10)
    got = metrics.frechet_distance(mu, sigma, mu + 1, 9 * sigma)
    assert got == pytest.approx(10 + 4 * np.trace(sigma), rel=1e-8)


def test_frechet_distance_of_singular_covariances_is_finite_and_right():
    # Rank-deficient (more dimensions than samples is the usual cause): diag(1, 0) vs diag(4, 0).
    got = metrics.frechet_distance(np.zeros(2), np.diag([1.0, 0.0]), np.zeros(2), np.diag([4.0, 0.0]))
    assert got == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="shapes do not match"):
        metrics.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


# --- KID ---------------------------------------------------------------------------------


def test_polynomial_mmd2_is_the_unbiased_estimator_written_out():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    k = lambda a, b: (a @ b / 3 + 1) ** 3
    xx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
    yy = sum(k(y[i], y[j]) for i in range(4) for j in range(4) if i != j) / 12
    xy = sum(k(x[i], y[j]) for i in range(5) for j in range(4)) / 20
    assert metrics.polynomial_mmd2(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_is_unbiased_on_one_distribution_and_positive_on_a_shift():
    rng = np.random.default_rng(4)
    estimates = [metrics.polynomial_mmd2(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)))
                 for _ in range(40)]
    sem = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates)) < 3 * sem  # mean ~ 0: unbiased
    assert min(estimates) < 0  # a single estimate can be negative
    real, same = rng.normal(size=(1000, 8)), rng.normal(size=(1000, 8))
    mean, std = metrics.kernel_distance(real, same, subsets=20, subset_size=200)
    assert abs(mean) < 3 * std + 1e-3
    mean_shift, _ = metrics.kernel_distance(real, same + 0.5, subsets=20, subset_size=200)
    assert mean_shift > 10 * max(abs(mean), std)


# --- classifier score --------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 10, 1000])
def test_score_of_certain_predictions_spread_evenly_over_k_classes_is_k(k):
    probs = np.eye(k)[np.arange(10 * k) % k]  # each of 10 splits holds every class once
    mean, std = metrics.classifier_score(probs, splits=10)
    assert mean == pytest.approx(k) and std == pytest.approx(0.0, abs=1e-9)


def test_score_is_one_when_every_sample_gets_the_same_prediction():
    assert metrics.classifier_score(np.eye(10)[np.zeros(100, int)])[0] == pytest.approx(1.0)
    assert metrics.classifier_score(np.full((100, 10), 0.1))[0] == pytest.approx(1.0)


# --- precision / recall ------------------------------------------------------------------


def test_knn_radius_is_the_distance_to_the_kth_other_point():
    points = np.arange(10, dtype=float)[:, None]  # 0, 1, ..., 9 on a line
    radii = metrics.knn_radii(points, k=3)
    assert radii[5] == 2.0  # neighbours at 1, 1, 2, 2, ...: the third is 2 away
    assert radii[0] == 3.0  # 1, 2, 3


def test_precision_recall_of_identical_and_disjoint_sets():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(300, 4))
    assert metrics.precision_recall(real, real.copy()) == {"precision": 1.0, "recall": 1.0}
    far = rng.normal(size=(300, 4)) + 100.0
    assert metrics.precision_recall(real, far) == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_see_a_dropped_mode_as_lower_recall_only():
    rng = np.random.default_rng(6)
    centres = np.array([[0.0, 0.0], [50.0, 0.0]])
    real = np.concatenate([c + rng.normal(size=(400, 2)) for c in centres])
    one_mode = centres[0] + rng.normal(size=(800, 2))
    pr = metrics.precision_recall(real, one_mode)
    assert pr["precision"] > 0.95 and 0.4 < pr["recall"] < 0.55


def test_every_eval_metric_has_a_direction():
    named = set(cfg.EVAL_METRICS) - {"auto"}
    assert named <= set(metrics.HIGHER_IS_BETTER) | set(metrics.LOWER_IS_BETTER)
    assert not set(metrics.HIGHER_IS_BETTER) & set(metrics.LOWER_IS_BETTER)


def test_l1_and_psnr_by_hand():
    target = np.zeros((2, 2, 2, 1))
    out = target.copy()
    out[0, 0, 0, 0] = 1.0  # image 0: one pixel off by 1; image 1 exact
    assert metrics.l1_error(out, target) == pytest.approx(1 / 8)
    # image 0: MSE 1/4 -> 10 log10(4 / 0.25) = 12.04 dB; image 1: exact -> 100 dB
    assert metrics.psnr(out, target) == pytest.approx((10 * math.log10(16) + 100) / 2)


def test_sharpness_of_a_ramp_and_of_a_flat_image():
    ramp = np.tile(np.arange(4.0), (4, 1))[None, :, :, None]  # d/dx = 1, d/dy = 0 everywhere
    assert metrics.sharpness(ramp) == pytest.approx(1.0)
    assert metrics.sharpness(np.full((1, 4, 4, 1), 0.3)) == 0.0
    assert metrics.sharpness(2 * ramp) == pytest.approx(2.0)


def test_ssim_of_equal_and_of_constant_images_by_hand():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 1))
    assert metrics.ssim(x, x) == pytest.approx(1.0)
    # Two flat images a and b: no variance, so SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 2)^2.
    a, b, c1 = 0.2, -0.3, 0.02 ** 2
    got = metrics.ssim(np.full((1, 12, 12, 1), a), np.full((1, 12, 12, 1), b))
    assert got == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1))


def test_luma_of_black_white_and_pure_green():
    rgb = np.array([[-1, -1, -1], [1, 1, 1], [-1, 1, -1]], np.float64).reshape(1, 1, 3, 3)
    np.testing.assert_allclose(metrics.luma(rgb)[0, 0, :, 0], [16.0, 235.0, 16.0 + 128.553])
