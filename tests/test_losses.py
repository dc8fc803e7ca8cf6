"""Every loss against hand-computed values on one fixture of fixed logits."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.games import losses
from tfgan_app.games import penalties

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


class TestGradientPenalty:
    """For a linear critic D(x) = w.x + b, grad_x D = w for every x_hat, so
    L_GP = lambda (||w|| - 1)^2 and dL_GP/dw = 2 lambda (||w|| - 1) w / ||w||."""

    W = np.array([3.0, 4.0], np.float32)  # ||w|| = 5
    LAMBDA = 10.0

    def _penalty_and_grad(self, w, real, fake, alpha):
        with tf.GradientTape() as tape:
            critic = lambda x: tf.linalg.matvec(x, w) + 0.7
            gp = penalties.gradient_penalty(critic, real, fake, alpha, weight=self.LAMBDA)
        return gp, tape.gradient(gp, w)

    def _inputs(self):
        rng = np.random.default_rng(0)
        real = tf.constant(rng.normal(size=(6, 2)), tf.float32)
        fake = tf.constant(rng.normal(size=(6, 2)), tf.float32)
        alpha = tf.constant(rng.uniform(size=6), tf.float32)
        return real, fake, alpha

    @pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
    def test_closed_form_value_and_second_order_gradient(self, graph):
        w = tf.Variable(self.W)
        fn = tf.function(self._penalty_and_grad) if graph else self._penalty_and_grad
        gp, grad = fn(w, *self._inputs())
        assert float(gp) == pytest.approx(self.LAMBDA * (5 - 1) ** 2, rel=1e-5)  # 160
        expected = 2 * self.LAMBDA * (5 - 1) * self.W / 5  # [48, 64]
        np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-5)

    def test_unit_norm_critic_has_zero_penalty(self):
        w = tf.Variable([0.6, 0.8])
        gp, grad = self._penalty_and_grad(w, *self._inputs())
        assert float(gp) == pytest.approx(0.0, abs=1e-6)
        np.testing.assert_allclose(grad.numpy(), [0.0, 0.0], atol=1e-4)

    def test_zero_gradient_is_finite(self):
        # epsilon inside the sqrt: a constant critic has grad 0 and a finite derivative.
        w = tf.Variable([0.0, 0.0])
        gp, grad = self._penalty_and_grad(w, *self._inputs())
        assert float(gp) == pytest.approx(self.LAMBDA, rel=1e-4)
        assert np.all(np.isfinite(grad.numpy()))

    def test_interpolation_is_per_example(self):
        real = tf.constant([[1.0, 1.0], [2.0, 2.0]])
        fake = tf.constant([[0.0, 0.0], [0.0, 0.0]])
        x_hat = penalties.interpolate(real, fake, tf.constant([0.25, 1.0]))
        np.testing.assert_allclose(x_hat.numpy(), [[0.25, 0.25], [2.0, 2.0]])

    def test_image_shaped_inputs(self):
        # critic on (B, 2, 2, 1): sum of pixels times 0.5 -> grad 0.5 everywhere, norm 1.
        real = tf.ones([3, 2, 2, 1])
        critic = lambda x: 0.5 * tf.reduce_sum(x, axis=[1, 2, 3])
        gp = penalties.gradient_penalty(critic, real, -real, tf.constant([0.1, 0.5, 0.9]))
        assert float(gp) == pytest.approx(0.0, abs=1e-6)


class TestR1Penalty:
    """For D_w(x) = sum_i w_i x_i^2, grad_x D = 2 w * x, so
    L_R1 = gamma / 2 * mean_b sum_i 4 w_i^2 x_bi^2 and dL_R1/dw_i = 4 gamma w_i mean_b x_bi^2."""

    GAMMA = 3.0
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 3.0]], np.float32)
    W = np.array([0.5, -2.0], np.float32)

    def _penalty_and_grad(self, w, x):
        with tf.GradientTape() as tape:
            critic = lambda x: tf.reduce_sum(w * tf.square(x), axis=-1, keepdims=True)  # (B, 1)
            r1, logits = penalties.r1_penalty(critic, x, weight=self.GAMMA)
        return r1, logits, tape.gradient(r1, w)

    @pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
    def test_closed_form_value_and_second_order_gradient(self, graph):
        w = tf.Variable(self.W)
        fn = tf.function(self._penalty_and_grad) if graph else self._penalty_and_grad
        r1, logits, grad = fn(w, tf.constant(self.X))
        # x^2 = [[1, 4], [1, .25], [0, 9]], w^2 = [.25, 4]: sum_i w_i^2 x_i^2 = [16.25, 1.25, 36]
        assert float(r1) == pytest.approx(self.GAMMA / 2 * 4 * (16.25 + 1.25 + 36) / 3, rel=1e-6)  # 107
        # mean_b x_b^2 = [2/3, 13.25/3]
        np.testing.assert_allclose(grad.numpy(), 4 * self.GAMMA * self.W * np.array([2 / 3, 13.25 / 3]), rtol=1e-5)
        np.testing.assert_allclose(logits.numpy()[:, 0], [-7.5, -0.0, -18.0], rtol=1e-6)  # D(x), returned

    def test_flat_discriminator_has_zero_penalty(self):
        r1, _, grad = self._penalty_and_grad(tf.Variable([0.0, 0.0]), tf.constant(self.X))
        assert float(r1) == 0.0
        np.testing.assert_allclose(grad.numpy(), [0.0, 0.0])

    def test_loss_scale_is_undone(self):
        # A float16 critic's loss scale multiplies the scores inside and divides the gradient after.
        w = tf.Variable(self.W)
        critic = lambda x: tf.reduce_sum(w * tf.square(x), axis=-1)
        plain, _ = penalties.r1_penalty(critic, tf.constant(self.X), weight=self.GAMMA)
        scaled, _ = penalties.r1_penalty(critic, tf.constant(self.X), weight=self.GAMMA, scale=1024.0)
        assert float(scaled) == pytest.approx(float(plain), rel=1e-6)
