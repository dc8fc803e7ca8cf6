"""GAN losses as pure functions of discriminator logits.

Every function takes logits (pre-sigmoid scores), never probabilities, and
computes log-sigmoids with softplus:  log D = -softplus(-l),
log(1 - D) = -softplus(l), where D = sigmoid(l).  That is exact and does not
overflow where log(sigmoid(l)) does.

`reduce` turns per-example values into the loss.  The default is the batch mean;
under a tf.distribute strategy the GAN passes `tf.nn.compute_average_loss`,
which divides by the *global* batch so summed replica gradients are right.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

Reduce = Callable[[tf.Tensor], tf.Tensor]


def _per_example(logits: tf.Tensor) -> tf.Tensor:
    logits = tf.convert_to_tensor(logits)
    return tf.reshape(logits, [tf.shape(logits)[0]])  # (B, 1) -> (B,)


def minimax_discriminator_loss(real_logits, fake_logits, reduce: Reduce = tf.reduce_mean):
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))]   (Goodfellow et al. 2014, eq. 1).

    Equals 2 ln 2 at the optimum of the game, D = 1/2 everywhere.
    """
    real, fake = _per_example(real_logits), _per_example(fake_logits)
    return reduce(tf.nn.softplus(-real)) + reduce(tf.nn.softplus(fake))


def minimax_generator_loss(fake_logits, reduce: Reduce = tf.reduce_mean):
    """L_G = E[log(1 - D(G(z)))]   (Goodfellow et al. 2014, the saturating loss).

    Its gradient vanishes when D confidently rejects the fakes.
    """
    return -reduce(tf.nn.softplus(_per_example(fake_logits)))


def non_saturating_generator_loss(fake_logits, reduce: Reduce = tf.reduce_mean):
    """L_G = -E[log D(G(z))]   (Goodfellow et al. 2014, section 3, the "-log D trick")."""
    return reduce(tf.nn.softplus(-_per_example(fake_logits)))


def wasserstein_discriminator_loss(real_scores, fake_scores, reduce: Reduce = tf.reduce_mean):
    """L_D = E[D(G(z))] - E[D(x)]   (Arjovsky et al. 2017, the critic's loss).

    Minus this loss estimates the Wasserstein-1 distance when D is 1-Lipschitz.
    """
    return reduce(_per_example(fake_scores)) - reduce(_per_example(real_scores))


def wasserstein_generator_loss(fake_scores, reduce: Reduce = tf.reduce_mean):
    """L_G = -E[D(G(z))]   (Arjovsky et al. 2017)."""
    return -reduce(_per_example(fake_scores))


def interpolate(real: tf.Tensor, fake: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """x_hat = alpha * x + (1 - alpha) * x_fake, one alpha per example.

    `alpha` has shape (B,); it is broadcast over the other axes.
    """
    shape = tf.concat([tf.shape(alpha), tf.ones([tf.rank(real) - 1], tf.int32)], 0)
    alpha = tf.reshape(tf.cast(alpha, real.dtype), shape)  # (B, 1, ..., 1)
    return alpha * real + (1.0 - alpha) * tf.cast(fake, real.dtype)


def gradient_penalty(critic: Callable, real, fake, alpha, *, weight: float = 10.0,
                     epsilon: float = 1e-10, reduce: Reduce = tf.reduce_mean, scale=None):
    """L_GP = lambda * E[(||grad_x_hat D(x_hat)||_2 - 1)^2]   (Gulrajani et al. 2017, eq. 3).

    x_hat = alpha * x + (1 - alpha) * x_fake with alpha ~ U[0, 1] drawn per example
    (passed in, so the function stays pure).  The norm is sqrt(sum g^2 + epsilon):
    the epsilon inside the sqrt keeps the derivative finite at g = 0.

    The inner gradient is taken with its own tape *inside* the caller's tape, so
    the caller can differentiate the penalty with respect to the critic's weights
    (second-order gradients).  The norm is computed in float32 whatever the
    critic's compute dtype.

    Under float16 the inner gradient underflows like any other: pass the loss scale as
    `scale`; the critic's scores are multiplied by it inside the inner tape and the
    gradient is divided by it, in float32, before the norm.

    Args:
      critic: callable mapping a batch to scores of shape (B,) or (B, 1).
      real, fake: batches of the same shape (B, ...).
      alpha: interpolation weights, shape (B,), in [0, 1].
      weight: lambda.
      scale: loss scale of a float16 critic (e.g. LossScaleOptimizer.dynamic_scale), or None.
    Returns:
      The scalar penalty.
    """
    x_hat = interpolate(tf.convert_to_tensor(real), tf.convert_to_tensor(fake), alpha)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat)
        if scale is not None:
            scores = tf.cast(scores, tf.float32) * tf.cast(scale, tf.float32)
    grads = tf.cast(tape.gradient(scores, x_hat), tf.float32)  # (B, ...)
    if scale is not None:
        grads = grads / tf.cast(scale, tf.float32)
    axes = tf.range(1, tf.rank(grads))
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes) + epsilon)  # (B,)
    return weight * reduce(tf.square(norm - 1.0))


def r1_penalty(critic: Callable, real, *, weight: float = 10.0, reduce: Reduce = tf.reduce_mean, scale=None):
    """(L_R1, D(x)) with L_R1 = gamma / 2 * E_x[||grad_x D(x)||_2^2] on real data only
    (Mescheder et al. 2018, eq. 9; D's logit, the pre-sigmoid score).

    It penalises the discriminator for gradients on the data manifold, which makes the
    non-saturating game locally convergent.  The inner gradient is taken with its own tape
    inside the caller's tape (second-order gradients), like `gradient_penalty`; the logits
    D(x) of that forward pass are returned so the caller does not run D on x twice.

    Args:
      critic: callable mapping a batch to logits of shape (B,) or (B, 1).
      real: a batch of real examples (B, ...).
      weight: gamma.
      scale: loss scale of a float16 critic, or None (see `gradient_penalty`).
    Returns:
      (the scalar penalty, the logits (B, ...)).
    """
    real = tf.convert_to_tensor(real)
    with tf.GradientTape() as tape:
        tape.watch(real)
        logits = critic(real)
        scores = tf.cast(logits, tf.float32)
        if scale is not None:
            scores = scores * tf.cast(scale, tf.float32)
    grads = tf.cast(tape.gradient(scores, real), tf.float32)  # (B, ...)
    if scale is not None:
        grads = grads / tf.cast(scale, tf.float32)
    sq_norm = tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads)))  # (B,)
    return 0.5 * weight * reduce(sq_norm), logits


def clip_weights(variables, clip_value: float) -> None:
    """Clamps every variable to [-c, c]: WGAN's original Lipschitz constraint."""
    for v in variables:
        v.assign(tf.clip_by_value(v, -clip_value, clip_value))


def auxiliary_classifier_loss(class_logits, labels, reduce: Reduce = tf.reduce_mean):
    """L_C = -E[log P(C = c | x)]   (Odena et al. 2017, AC-GAN): cross-entropy of the class head."""
    per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=tf.cast(class_logits, tf.float32))
    return reduce(per_example)


# name -> (discriminator loss, generator loss)
LOSS_FAMILIES = {
    "minimax": (minimax_discriminator_loss, minimax_generator_loss),
    "non-saturating": (minimax_discriminator_loss, non_saturating_generator_loss),
    "wgan-gp": (wasserstein_discriminator_loss, wasserstein_generator_loss),
    "wgan-clip": (wasserstein_discriminator_loss, wasserstein_generator_loss),
}
