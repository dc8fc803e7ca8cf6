"""Every penalty against its closed form on a linear critic D(x) = w.x + b, eagerly and in
tf.function, with its gradient with respect to w (the second-order gradient the critic's
optimizer takes)."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.games import penalties

GRAPH = pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])


def _inputs(n=6, d=2, seed=0):
    rng = np.random.default_rng(seed)
    real = tf.constant(rng.normal(size=(n, d)), tf.float32)
    fake = tf.constant(rng.normal(size=(n, d)), tf.float32)
    return real, fake, rng


def _linear(w):
    return lambda x: tf.linalg.matvec(x, w)[:, None] + 0.7  # (B, 1)


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

    def test_float16_loss_scale_keeps_a_gradient_that_would_underflow(self):
        # A float16 critic with gradients ~1e-8 (below float16's smallest subnormal, 6e-8):
        # unscaled they flush to zero; scaled by 2^15 inside the inner tape and unscaled in
        # float32 after, the penalty matches the float32 critic's.
        x = tf.constant(self.X)
        w = np.array([1e-8, -2e-8], np.float32)
        expected, _ = penalties.r1_penalty(lambda v: tf.reduce_sum(w * tf.square(v), axis=-1), x,
                                           weight=self.GAMMA)
        w16 = tf.constant(w, tf.float16)
        critic16 = lambda v: tf.reduce_sum(w16 * tf.square(tf.cast(v, tf.float16)), axis=-1)
        unscaled, _ = penalties.r1_penalty(critic16, x, weight=self.GAMMA)
        scaled, _ = penalties.r1_penalty(critic16, x, weight=self.GAMMA, scale=2.0 ** 15)
        assert float(expected) > 0 and float(unscaled) == 0.0  # the underflow the scale exists for
        assert float(scaled) == pytest.approx(float(expected), rel=2e-2)  # float16's precision


class TestLipschitzPenalty:
    """Linear critic: grad = w everywhere, so L_LP = lambda max(0, ||w|| - 1)^2."""

    LAMBDA = 10.0

    def _penalty_and_grad(self, w, real, fake, alpha):
        with tf.GradientTape() as tape:
            lp = penalties.lipschitz_penalty(_linear(w), real, fake, alpha, weight=self.LAMBDA)
        return lp, tape.gradient(lp, w)

    @GRAPH
    def test_steep_critic_closed_form_and_gradient(self, graph):
        real, fake, rng = _inputs()
        w = tf.Variable([3.0, 4.0])  # ||w|| = 5
        fn = tf.function(self._penalty_and_grad) if graph else self._penalty_and_grad
        lp, grad = fn(w, real, fake, tf.constant(rng.uniform(size=6), tf.float32))
        assert float(lp) == pytest.approx(self.LAMBDA * 16, rel=1e-5)
        np.testing.assert_allclose(grad.numpy(), 2 * self.LAMBDA * 4 * np.array([3.0, 4.0]) / 5, rtol=1e-5)

    @GRAPH
    def test_gentle_critic_is_not_penalised(self, graph):
        # The two-sided penalty would push ||w|| = 0.5 up (lambda 0.25); the one-sided leaves it.
        real, fake, rng = _inputs()
        w = tf.Variable([0.3, 0.4])
        fn = tf.function(self._penalty_and_grad) if graph else self._penalty_and_grad
        lp, grad = fn(w, real, fake, tf.constant(rng.uniform(size=6), tf.float32))
        assert float(lp) == 0.0
        np.testing.assert_array_equal(grad.numpy(), [0.0, 0.0])


class TestFiniteDifferencePenalty:
    """Linear critic: |D(x1) - D(x2)| / ||x1 - x2|| = |w.u| with u the unit direction of
    x_fake - x, so L_FD = lambda mean_b (|w.u_b| - 1)^2 and
    dL_FD/dw = lambda mean_b 2 (|w.u_b| - 1) sign(w.u_b) u_b."""

    LAMBDA = 10.0
    W = np.array([3.0, -4.0], np.float32)

    def _penalty_and_grad(self, w, real, fake, a, b):
        with tf.GradientTape() as tape:
            fd = penalties.finite_difference_penalty(_linear(w), real, fake, a, b, weight=self.LAMBDA)
        return fd, tape.gradient(fd, w)

    @GRAPH
    def test_closed_form_and_gradient(self, graph):
        real, fake, rng = _inputs(n=8)
        a = tf.constant(rng.uniform(size=8), tf.float32)
        b = tf.constant(rng.uniform(size=8), tf.float32)
        fn = tf.function(self._penalty_and_grad) if graph else self._penalty_and_grad
        fd, grad = fn(tf.Variable(self.W), real, fake, a, b)
        d = (fake.numpy() - real.numpy()).astype(np.float64)
        distance = np.abs(a.numpy() - b.numpy()) * np.linalg.norm(d, axis=1)
        assert distance.min() > penalties.FD_MIN_DISTANCE  # the guard stays out of this check
        u = d / np.linalg.norm(d, axis=1, keepdims=True)
        wu = u @ self.W.astype(np.float64)
        # float32 differences of nearby points (down to ~1e-3 apart here) carry ~1e-4 relative error
        assert float(fd) == pytest.approx(self.LAMBDA * np.mean((np.abs(wu) - 1) ** 2), rel=1e-3)
        expected = self.LAMBDA * np.mean((2 * (np.abs(wu) - 1) * np.sign(wu))[:, None] * u, axis=0)
        np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-3)

    def test_it_sees_only_the_slope_along_the_line(self):
        # w orthogonal to every real-fake direction: zero slope, penalty lambda, whatever ||w||.
        real = tf.constant([[0.0, 0.0], [1.0, 1.0]])
        fake = tf.constant([[2.0, 0.0], [-1.0, 1.0]])  # directions (1, 0), (-1, 0)
        fd, _ = self._penalty_and_grad(tf.Variable([0.0, 100.0]), real, fake,
                                       tf.constant([0.1, 0.2]), tf.constant([0.9, 0.7]))
        assert float(fd) == pytest.approx(self.LAMBDA, rel=1e-6)

    def test_nearly_coinciding_points_are_guarded(self):
        # a = b: ||x1 - x2|| = 0 is floored at FD_MIN_DISTANCE, so the quotient is 0, not NaN.
        real, fake, _ = _inputs(n=2)
        same = tf.constant([0.5, 0.5])
        fd, grad = self._penalty_and_grad(tf.Variable(self.W), real, fake, same, same)
        assert float(fd) == pytest.approx(self.LAMBDA, rel=1e-6)
        assert np.all(np.isfinite(grad.numpy()))

    def test_image_shaped_inputs_in_one_critic_pass(self):
        calls = []

        def critic(x):  # 0.5 * sum of pixels: slope along u is 0.5 * sum(u)
            calls.append(x.shape[0])
            return 0.5 * tf.reduce_sum(x, axis=[1, 2, 3])

        real = tf.zeros([3, 2, 2, 1])
        fake = tf.ones([3, 2, 2, 1])  # u = (1, 1, 1, 1) / 2: slope 0.5 * 4 / 2 = 1
        fd = penalties.finite_difference_penalty(critic, real, fake, tf.constant([0.1, 0.2, 0.3]),
                                                 tf.constant([0.6, 0.8, 0.9]))
        assert float(fd) == pytest.approx(0.0, abs=1e-5)
        assert calls == [6]  # x1 and x2 together


class TestDraganPenalty:
    """Linear critic: the gradient is w at every perturbed point, L = lambda (||w|| - 1)^2.
    The points themselves: with D(x) = ||x||^2 / 2 (gradient x_hat), the penalty is
    lambda mean (||x_hat|| - 1)^2 at x_hat = x + alpha 0.5 std u, computed here by hand."""

    LAMBDA = 10.0

    def _penalty_and_grad(self, w, real, u, alpha, std):
        with tf.GradientTape() as tape:
            p = penalties.dragan_penalty(_linear(w), real, u, alpha, std, weight=self.LAMBDA)
        return p, tape.gradient(p, w)

    @GRAPH
    def test_linear_critic_closed_form_and_gradient(self, graph):
        real, _, rng = _inputs()
        u = tf.constant(rng.uniform(size=(6, 2)), tf.float32)
        alpha = tf.constant(rng.uniform(size=6), tf.float32)
        fn = tf.function(self._penalty_and_grad) if graph else self._penalty_and_grad
        p, grad = fn(tf.Variable([3.0, 4.0]), real, u, alpha, tf.math.reduce_std(real))
        assert float(p) == pytest.approx(self.LAMBDA * 16, rel=1e-5)
        np.testing.assert_allclose(grad.numpy(), 2 * self.LAMBDA * 4 * np.array([3.0, 4.0]) / 5, rtol=1e-5)

    def test_points_are_the_authors_perturbation_of_real_data(self):
        real, _, rng = _inputs()
        u = rng.uniform(size=(6, 2)).astype(np.float32)
        alpha = rng.uniform(size=6).astype(np.float32)
        std = float(np.std(real.numpy()))
        critic = lambda x: 0.5 * tf.reduce_sum(tf.square(x), axis=1)
        p = penalties.dragan_penalty(critic, real, tf.constant(u), tf.constant(alpha), std, weight=self.LAMBDA)
        x_hat = real.numpy() + alpha[:, None] * (0.5 * std * u)
        expected = self.LAMBDA * np.mean((np.linalg.norm(x_hat, axis=1) - 1) ** 2)
        assert float(p) == pytest.approx(expected, rel=1e-5)


# --- orthogonal regularization (BigGAN) on W = [[1, 2], [3, 4]] ---------------------
# W^T W = [[10, 14], [14, 20]]: off the diagonal 14 twice, so ||W^T W (1 - I)||_F^2 = 2 * 14^2 = 392;
# its gradient 4 W (W^T W (1 - I)) = 4 [[1, 2], [3, 4]] [[0, 14], [14, 0]] = [[112, 56], [224, 168]].
ORTHO_W = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)


@pytest.mark.parametrize("shape", [(2, 2), (1, 1, 2, 2)], ids=["dense", "conv_1x1"])
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf.function"])
def test_orthogonal_regularization_closed_form_and_gradient(shape, compiled):
    w = tf.Variable(ORTHO_W.reshape(shape))
    fn = lambda: penalties.orthogonal_regularization([w], weight=1e-4)
    fn = tf.function(fn) if compiled else fn
    with tf.GradientTape() as tape:
        r = fn()
    np.testing.assert_allclose(float(r), 1e-4 * 392.0, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(r, w).numpy().reshape(2, 2),
                               1e-4 * np.array([[112.0, 56.0], [224.0, 168.0]]), rtol=1e-6)


def test_orthogonal_regularization_ignores_filter_norms_and_sums_kernels():
    orthogonal = tf.constant([[3.0, 0.0], [0.0, 0.5]])  # orthogonal columns of any norms: no penalty
    assert float(penalties.orthogonal_regularization([orthogonal], weight=1.0)) == 0.0
    both = penalties.orthogonal_regularization([orthogonal, tf.constant(ORTHO_W)], weight=1.0)
    assert float(both) == 392.0
