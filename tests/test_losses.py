"""Every loss against hand-computed values on one fixture of fixed logits."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.games import losses

# One fixture, many expectations (TF-GAN _LossesTest style).
REAL = [2.0, -1.0, 0.5]   # discriminator logits on real examples
FAKE = [-3.0, 0.0, 1.0]   # discriminator logits on generated examples


def log_sigmoid(l):  # log D, written the naive way: fine for these small logits
    return math.log(1.0 / (1.0 + math.exp(-l)))


def log_one_minus_sigmoid(l):  # log(1 - D)
    return math.log(1.0 - 1.0 / (1.0 + math.exp(-l)))


def mean(xs):
    return sum(xs) / len(xs)


def test_minimax_discriminator_loss_by_hand():
    # L_D = -E[log D(x)] - E[log(1 - D(G(z)))]
    #     = (0.126928 + 1.313262 + 0.474077)/3 + (0.048587 + 0.693147 + 1.313262)/3
    expected = -mean([log_sigmoid(l) for l in REAL]) - mean([log_one_minus_sigmoid(l) for l in FAKE])
    assert expected == pytest.approx(1.323088, abs=1e-6)
    assert float(losses.minimax_discriminator_loss(REAL, FAKE)) == pytest.approx(expected, rel=1e-6)


def test_optimal_discriminator_gives_two_ln_two():
    # D = 1/2 everywhere (logit 0): L_D = ln 2 + ln 2.
    zeros = tf.zeros([5, 1])
    assert float(losses.minimax_discriminator_loss(zeros, zeros)) == pytest.approx(2 * math.log(2), rel=1e-7)


def test_minimax_generator_loss_by_hand():
    # L_G = E[log(1 - D(G(z)))] = -(0.048587 + 0.693147 + 1.313262)/3
    expected = mean([log_one_minus_sigmoid(l) for l in FAKE])
    assert expected == pytest.approx(-0.684999, abs=1e-6)
    assert float(losses.minimax_generator_loss(FAKE)) == pytest.approx(expected, rel=1e-6)


def test_non_saturating_generator_loss_by_hand():
    # L_G = -E[log D(G(z))] = (3.048587 + 0.693147 + 0.313262)/3
    expected = -mean([log_sigmoid(l) for l in FAKE])
    assert expected == pytest.approx(1.351665, abs=1e-6)
    assert float(losses.non_saturating_generator_loss(FAKE)) == pytest.approx(expected, rel=1e-6)


def test_wasserstein_losses_by_hand():
    # L_D = E[D(G(z))] - E[D(x)] = (-2/3) - (1.5/3) = -7/6;  L_G = -E[D(G(z))] = 2/3
    assert float(losses.wasserstein_discriminator_loss(REAL, FAKE)) == pytest.approx(-7 / 6, rel=1e-6)
    assert float(losses.wasserstein_generator_loss(FAKE)) == pytest.approx(2 / 3, rel=1e-6)


def test_losses_accept_column_logits_and_custom_reduction():
    col = tf.constant(FAKE)[:, None]  # (B, 1) as a Dense(1) head returns
    total = losses.non_saturating_generator_loss(col, reduce=tf.reduce_sum)
    assert float(total) == pytest.approx(-sum(log_sigmoid(l) for l in FAKE), rel=1e-6)


def test_losses_are_stable_for_large_logits():
    # log(sigmoid(-200)) underflows to -inf; softplus gives the exact 200.
    big = tf.constant([200.0])
    assert float(losses.non_saturating_generator_loss(-big)) == pytest.approx(200.0)
    assert float(losses.minimax_discriminator_loss(-big, big)) == pytest.approx(400.0)
    assert np.isfinite(float(losses.minimax_generator_loss(big)))


def test_auxiliary_classifier_loss_by_hand():
    logits = [[2.0, 0.0], [0.0, 1.0]]
    labels = [0, 0]
    # -log softmax: example 1: -log(e^2/(e^2+1)); example 2: -log(1/(1+e))
    expected = mean([-math.log(math.exp(2) / (math.exp(2) + 1)), -math.log(1 / (1 + math.e))])
    assert float(losses.auxiliary_classifier_loss(logits, labels)) == pytest.approx(expected, rel=1e-6)


def test_hinge_losses_by_hand():
    # L_D = E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]
    #     = (0 + 2 + 0.5)/3 + (0 + 1 + 2)/3 = 2.5/3 + 3/3;  L_G = -E[D(G(z))] = 2/3
    assert float(losses.hinge_discriminator_loss(REAL, FAKE)) == pytest.approx(5.5 / 3, rel=1e-6)
    assert float(losses.hinge_generator_loss(FAKE)) == pytest.approx(2 / 3, rel=1e-6)


def test_least_squares_losses_by_hand():
    # L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2] = 1/2 (1 + 4 + 0.25)/3 + 1/2 (9 + 0 + 1)/3
    # L_G = 1/2 E[(D(G(z)) - 1)^2] = 1/2 (16 + 1 + 0)/3
    assert float(losses.least_squares_discriminator_loss(REAL, FAKE)) == pytest.approx(
        0.5 * 5.25 / 3 + 0.5 * 10 / 3, rel=1e-6)
    assert float(losses.least_squares_generator_loss(FAKE)) == pytest.approx(0.5 * 17 / 3, rel=1e-6)


def test_every_config_loss_is_a_family():
    from tfgan_app import config as cfg

    assert set(cfg.LOSSES) == set(losses.LOSS_FAMILIES)
    assert set(losses.PROBABILITY_LOSSES) <= set(losses.LOSS_FAMILIES)



def test_patch_logits_average_the_loss_over_each_examples_patches():
    # A PatchGAN's (B, h, w, 1) logits: the loss at every patch, averaged per example, then
    # over the batch.  Example 0's patches are REAL + [0.0], example 1's FAKE + [3.0].
    patches = tf.reshape(tf.constant(REAL + [0.0] + FAKE + [3.0]), (2, 2, 2, 1))
    per_example = [mean([-log_sigmoid(l) for l in REAL + [0.0]]), mean([-log_sigmoid(l) for l in FAKE + [3.0]])]
    assert float(losses.non_saturating_generator_loss(patches)) == pytest.approx(mean(per_example), rel=1e-6)
    # Not the loss of the mean logit (the loss is not linear in the logits).
    assert float(losses.non_saturating_generator_loss(tf.reduce_mean(patches, [1, 2]))) != pytest.approx(
        mean(per_example), rel=1e-3)
    ls = mean([mean([(l - 1) ** 2 for l in REAL + [0.0]]), mean([(l - 1) ** 2 for l in FAKE + [3.0]])]) / 2
    assert float(losses.least_squares_generator_loss(patches)) == pytest.approx(ls, rel=1e-6)


def test_conditioning_augmentation_kl_by_hand():
    assert float(losses.conditioning_augmentation_kl(tf.zeros((3, 4)), tf.zeros((3, 4)))) == 0.0
    # dims (mu 1, sigma 1) and (mu 2, sigma 2): 0.5 (1 + 1 - 1) and -log 2 + 0.5 (4 + 4 - 1), averaged.
    got = float(losses.conditioning_augmentation_kl(tf.constant([[1.0, 2.0]]), tf.constant([[0.0, math.log(2.0)]])))
    assert got == pytest.approx((0.5 + 3.5 - math.log(2.0)) / 2, rel=1e-6)
    # Against KL(p || q) = integral of p log(p / q), summed numerically, for one dimension.
    mu, sigma = 0.5, 0.7
    x = np.linspace(-10, 10, 200_001)
    p = np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    q = np.exp(-0.5 * x ** 2) / math.sqrt(2 * math.pi)
    numeric = float(np.sum(p * np.log(p / q)) * (x[1] - x[0]))
    closed = float(losses.conditioning_augmentation_kl(tf.constant([[mu]]), tf.constant([[math.log(sigma)]])))
    assert closed == pytest.approx(numeric, rel=1e-6)


def test_matching_aware_discriminator_loss_by_hand():
    zero = tf.zeros((2, 1))
    # Every D output 1/2: -log 1/2 + (-log 1/2 - log 1/2) / 2 = 2 log 2.
    assert float(losses.matching_aware_discriminator_loss(zero, zero, zero)) == pytest.approx(2 * math.log(2.0))
    big = tf.fill((2, 1), 30.0)  # real sure-real, wrong and fake sure-fake: no loss
    assert float(losses.matching_aware_discriminator_loss(big, -big, -big)) == pytest.approx(0.0, abs=1e-9)


def test_midinets_smoothed_discriminator_loss_and_feature_matching_by_hand():
    real, fake = tf.constant([[2.0], [-1.0]]), tf.constant([[0.5], [-3.0]])
    sp = lambda x: np.log1p(np.exp(x))  # noqa: E731  softplus
    want = np.mean([0.9 * sp(-2) + 0.1 * sp(2), 0.9 * sp(1) + 0.1 * sp(-1)]) + np.mean([sp(0.5), sp(-3)])
    assert losses.smoothed_discriminator_loss(real, fake, 0.9).numpy() == pytest.approx(want, rel=1e-6)
    assert losses.feature_matching_loss([1.0, 2.0], [0.0, 4.0]).numpy() == pytest.approx(0.5 * (1 + 4))
