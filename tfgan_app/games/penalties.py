"""Penalties on the discriminator (critic), and one on the generator's weights, as pure functions;
any of them goes with any loss.

    --penalty gp       two-sided gradient penalty at real-fake interpolates   (Gulrajani et al. 2017)
    --penalty lp       one-sided Lipschitz penalty at the same points         (Petzka et al. 2018)
    --penalty fd       finite-difference slope on a real-fake line: no double backpropagation
    --penalty dragan   gradient penalty around the real data                  (Kodali et al. 2017)
    --r1-weight        R1: squared gradient norm on real data                 (Mescheder et al. 2018)
    --loss wgan-clip   weight clipping                                        (Arjovsky et al. 2017)
    --ortho-weight     orthogonal regularization of G's weights               (Brock et al. 2019)

Each returns a scalar already reduced with `reduce` (the batch mean by default; under a
tf.distribute strategy the game passes `tf.nn.compute_average_loss`, which divides by the
*global* batch).  The penalties that differentiate the critic with respect to its input
(gp, lp, dragan, r1) take that inner gradient with their own tape *inside* the caller's
tape, so the caller can differentiate the penalty with respect to the critic's weights
(second-order gradients).  Norms are computed in float32 whatever the critic's dtype.

Under float16 the inner gradient underflows like any other: pass the loss scale as `scale`;
the critic's scores are multiplied by it inside the inner tape and the gradient divided by
it, in float32, before the norm.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

Reduce = Callable[[tf.Tensor], tf.Tensor]

# The finite-difference penalty's guard: ||x1 - x2|| below this is taken as this (see
# `finite_difference_penalty`).
FD_MIN_DISTANCE = 1e-4


def _per_example(scores) -> tf.Tensor:
    scores = tf.cast(tf.convert_to_tensor(scores), tf.float32)
    return tf.reshape(scores, [tf.shape(scores)[0]])  # (B, 1) -> (B,)


def _expand(weights: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """(B,) -> (B, 1, ..., 1) broadcastable against `like` (B, ...), in like's dtype."""
    shape = tf.concat([tf.shape(weights), tf.ones([tf.rank(like) - 1], tf.int32)], 0)
    return tf.reshape(tf.cast(weights, like.dtype), shape)


def _norms(x: tf.Tensor, epsilon: float = 0.0) -> tf.Tensor:
    """sqrt(sum over all but the batch axis of x^2 + epsilon): (B, ...) -> (B,), in float32."""
    x = tf.cast(x, tf.float32)
    return tf.sqrt(tf.reduce_sum(tf.square(x), axis=tf.range(1, tf.rank(x))) + epsilon)


def interpolate(real: tf.Tensor, fake: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """x_hat = alpha * x + (1 - alpha) * x_fake, one alpha per example.

    `alpha` has shape (B,); it is broadcast over the other axes.
    """
    real = tf.convert_to_tensor(real)
    alpha = _expand(alpha, real)  # (B, 1, ..., 1)
    return alpha * real + (1.0 - alpha) * tf.cast(fake, real.dtype)


def input_gradients(critic: Callable, x: tf.Tensor, scale=None) -> tuple[tf.Tensor, tf.Tensor]:
    """(grad_x sum D(x) in float32 (B, ...), D(x)): the inner gradient of the gradient penalties.

    Taken with its own tape, so it is differentiable again when called inside another tape.
    `scale`: a float16 critic's loss scale (the gradient is computed scaled, then unscaled).
    """
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = critic(x)
        scaled = tf.cast(scores, tf.float32)
        if scale is not None:
            scaled = scaled * tf.cast(scale, tf.float32)
    grads = tf.cast(tape.gradient(scaled, x), tf.float32)  # (B, ...)
    if scale is not None:
        grads = grads / tf.cast(scale, tf.float32)
    return grads, scores


def gradient_penalty(critic: Callable, real, fake, alpha, *, weight: float = 10.0,
                     epsilon: float = 1e-10, reduce: Reduce = tf.reduce_mean, scale=None):
    """L_GP = lambda * E[(||grad_x_hat D(x_hat)||_2 - 1)^2]   (Gulrajani et al. 2017, eq. 3).

    x_hat = alpha * x + (1 - alpha) * x_fake with alpha ~ U[0, 1] drawn per example
    (passed in, so the function stays pure).  The norm is sqrt(sum g^2 + epsilon): the
    epsilon inside the sqrt keeps the derivative finite at g = 0 (TF-GAN's
    `wasserstein_gradient_penalty`).

    Args:
      critic: callable mapping a batch to scores of shape (B,) or (B, 1).
      real, fake: batches of the same shape (B, ...).
      alpha: interpolation weights, shape (B,), in [0, 1].
      weight: lambda.
      scale: loss scale of a float16 critic (e.g. LossScaleOptimizer.dynamic_scale), or None.
    Returns:
      The scalar penalty.
    """
    grads, _ = input_gradients(critic, interpolate(real, fake, alpha), scale)
    return weight * reduce(tf.square(_norms(grads, epsilon) - 1.0))


def lipschitz_penalty(critic: Callable, real, fake, alpha, *, weight: float = 10.0,
                      epsilon: float = 1e-10, reduce: Reduce = tf.reduce_mean, scale=None):
    """L_LP = lambda * E[max(0, ||grad_x_hat D(x_hat)||_2 - 1)^2]   (Petzka et al. 2018, eq. 8).

    The one-sided form of the gradient penalty, at the same interpolates x_hat: only
    slopes above 1 are penalised, which is what a 1-Lipschitz constraint asks (the
    two-sided penalty also pushes slopes below 1 up).  Arguments as `gradient_penalty`.
    """
    grads, _ = input_gradients(critic, interpolate(real, fake, alpha), scale)
    return weight * reduce(tf.square(tf.nn.relu(_norms(grads, epsilon) - 1.0)))


def finite_difference_penalty(critic: Callable, real, fake, a, b, *, weight: float = 10.0,
                              min_distance: float = FD_MIN_DISTANCE, reduce: Reduce = tf.reduce_mean):
    """L_FD = lambda * E[(|D(x1) - D(x2)| / ||x1 - x2||_2 - 1)^2], the finite-difference penalty.

    Two points on the same real-fake line, x1 = x + a (x_fake - x) and x2 = x + b (x_fake - x)
    with a, b ~ U[0, 1] per example: the critic's slope between them is a finite-difference
    estimate of its directional derivative along the line, and it is pushed to 1 as the
    gradient penalty pushes the gradient norm (the WGAN-GP explainer's alternative).  It needs
    two critic passes (one, on the concatenated batch) and no gradient of a gradient, so no
    double backpropagation.  For a linear critic D(x) = w.x + c it is exactly
    lambda E[(|w.u| - 1)^2], u the unit direction of x_fake - x: it constrains the slope along
    the line only, where the gradient penalty constrains the whole gradient.

    Guard: ||x1 - x2|| = |a - b| ||x_fake - x|| is floored at `min_distance` (1e-4), so a pair
    that nearly coincides (a ~ b, or x_fake ~ x) cannot divide rounding noise by ~0; such a
    pair's quotient is then an underestimate of the slope.  (At 1e-4 the float32 rounding of
    x1 - x2 and of the critic's two scores is still ~1e-3 of the quotient; with a, b ~ U[0, 1]
    a pair is floored with probability ~2e-4 / ||x_fake - x||.)

    Args:
      critic: callable mapping a batch to scores of shape (B,) or (B, 1).
      real, fake: batches of the same shape (B, ...).
      a, b: positions on the line, shape (B,), in [0, 1].
      weight: lambda.
      min_distance: the floor of ||x1 - x2||.
    Returns:
      The scalar penalty.
    """
    real = tf.convert_to_tensor(real)
    direction = tf.cast(fake, real.dtype) - real  # (B, ...)
    x1 = real + _expand(a, real) * direction
    x2 = real + _expand(b, real) * direction
    n = tf.shape(real)[0]
    scores = _per_example(critic(tf.concat([x1, x2], 0)))  # one pass: (2B,)
    distance = tf.maximum(_norms(x1 - x2), min_distance)  # (B,)
    slope = tf.abs(scores[:n] - scores[n:]) / distance
    return weight * reduce(tf.square(slope - 1.0))


def dragan_penalty(critic: Callable, real, noise, alpha, std, *, weight: float = 10.0,
                   epsilon: float = 1e-10, reduce: Reduce = tf.reduce_mean, scale=None):
    """L_DRAGAN = lambda * E[(||grad_x_hat D(x_hat)||_2 - 1)^2] around the real data
    (Kodali et al. 2017, "On Convergence and Stability of GANs"), as the authors' code does it
    (kodalinaveen3/DRAGAN): x_p = x + 0.5 std(x) u with u ~ U[0, 1] per coordinate and std(x)
    the standard deviation of the whole real batch, then x_hat = x + alpha (x_p - x) with
    alpha ~ U[0, 1] per example.

    compare_gan's variant differs (it clips x_p to [0, 1], assuming data there); this one
    follows the authors' code.  Any loss goes with it; the paper trains with the
    non-saturating one.

    Args:
      critic: callable mapping a batch to scores of shape (B,) or (B, 1).
      real: a batch of real examples (B, ...).
      noise: u ~ U[0, 1], the shape of `real`.
      alpha: interpolation weights, shape (B,), in [0, 1].
      std: the standard deviation of the real batch (a scalar; under a strategy, of the
        global batch, so R replicas compute what one device computes).
      weight: lambda.
      scale: loss scale of a float16 critic, or None.
    Returns:
      The scalar penalty.
    """
    real = tf.convert_to_tensor(real)
    perturbed = real + 0.5 * tf.cast(std, real.dtype) * tf.cast(noise, real.dtype)
    grads, _ = input_gradients(critic, interpolate(perturbed, real, alpha), scale)  # x + alpha (x_p - x)
    return weight * reduce(tf.square(_norms(grads, epsilon) - 1.0))


def r1_penalty(critic: Callable, real, *, weight: float = 10.0, reduce: Reduce = tf.reduce_mean, scale=None):
    """(L_R1, D(x)) with L_R1 = gamma / 2 * E_x[||grad_x D(x)||_2^2] on real data only
    (Mescheder et al. 2018, eq. 9; D's logit, the pre-sigmoid score).

    It penalises the discriminator for gradients on the data manifold, which makes the
    non-saturating game locally convergent.  `real` is what the discriminator sees (PacGAN's
    packed inputs when packing), so the norm is that of D's whole input gradient.  The logits
    D(x) of the penalty's forward pass are returned so the caller does not run D on x twice.

    Args:
      critic: callable mapping a batch to logits of shape (B,) or (B, 1).
      real: a batch of real examples (B, ...).
      weight: gamma.
      scale: loss scale of a float16 critic, or None.
    Returns:
      (the scalar penalty, the logits (B, ...)).
    """
    grads, logits = input_gradients(critic, real, scale)
    sq_norm = tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads)))  # (B,)
    return 0.5 * weight * reduce(sq_norm), logits


def orthogonal_regularization(kernels, *, weight: float = 1e-4) -> tf.Tensor:
    """R_beta = beta * sum_W ||W^T W * (1 - I)||_F^2   (Brock et al. 2019, BigGAN, eq. 3).

    Each kernel is reshaped to a matrix W (m, n) whose n columns are its output filters
    (Dense (in, out), Conv2D (kh, kw, in, out): (-1, last axis)), so W^T W (n, n) holds the
    inner products of the filters; the penalty pushes distinct filters towards orthogonality
    and leaves their norms free ("1 - I": the diagonal is not penalised).  A weight decay-like
    term on the model, not on a batch: no reduction over examples.  Computed in float32.

    BigGAN's released PyTorch code (utils.ortho) adds beta * 2 (W W^T * (1 - I)) W to the
    gradient instead, which is the gradient of (beta / 2) * ||...||_F^2: the loss form here with
    the paper's beta = 1e-4 is twice as strong as that code's.
    """
    total = tf.constant(0.0, tf.float32)
    for kernel in kernels:
        w = tf.cast(kernel, tf.float32)
        w = tf.reshape(w, [-1, w.shape[-1]])  # (m, n): output filters as columns
        gram = tf.matmul(w, w, transpose_a=True)  # (n, n)
        off_diagonal = gram * (1.0 - tf.eye(gram.shape[0]))
        total += tf.reduce_sum(tf.square(off_diagonal))
    return weight * total


def clip_weights(variables, clip_value: float) -> None:
    """Clamps every variable to [-c, c]: WGAN's original Lipschitz constraint (Arjovsky et al. 2017)."""
    for v in variables:
        v.assign(tf.clip_by_value(v, -clip_value, clip_value))


# --penalty name -> the function; "none" has none.
PENALTIES = {
    "gp": gradient_penalty,
    "lp": lipschitz_penalty,
    "fd": finite_difference_penalty,
    "dragan": dragan_penalty,
}
