"""--precision: mixed bfloat16/float16 WGAN-GP stays finite, its penalty matches float32, and
float16's two loss-scaled optimizers skip a step together.

A tiny W2 (wgan-gp-mnist at width 8): convolutions, LeakyReLU, a float32 output layer.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import config as cfg
from tfgan_app import games
from tfgan_app.games import penalties

SHAPE = (28, 28, 1)


def tiny_w2(precision="float32", **kw):
    config = cfg.preset("wgan-gp-mnist", **{**dict(dataset="npz:unused.npz", width=8, batch_size=16), **kw},
                        precision=precision)
    return config, games.build(config, SHAPE)


def batches(config, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, (config.batch_size * config.n_critic,) + SHAPE)
    return tf.data.Dataset.from_tensors(tf.constant(x, tf.float32)).repeat()


def penalty_and_gradient(gan, real, fake, alpha):
    """(L_GP, dL_GP/d critic weights) as train_step computes them, loss scaling included."""
    critic = gan.discriminator
    scale = gan.loss_scale(gan.d_optimizer)
    s = 1.0 if scale is None else tf.cast(scale, tf.float32)
    with tf.GradientTape() as tape:
        gp = penalties.gradient_penalty(lambda x: critic(x, training=True), real, fake, alpha, scale=scale)
        scaled = gp * s
    grads = [g / s for g in tape.gradient(scaled, critic.trainable_weights) if g is not None]
    return float(gp), np.concatenate([g.numpy().ravel() for g in grads])


def test_penalty_under_mixed_precision_is_close_to_float32():
    # The same critic weights in three precisions, the same (x, G(z), eps).  Measured over a few
    # initialisations: penalty relative error 4e-4..1e-3 (bfloat16: 8-bit mantissa) and
    # 3e-6..2e-4 (float16: 11 bits); its gradient 1.7e-2..1.8e-2 and 5e-3..1.1e-2.  Tolerances
    # 5-10x those; a wrongly unscaled inner gradient is off by the loss scale, 2^15.
    rng = np.random.default_rng(1)
    real, fake = (tf.constant(rng.uniform(-1, 1, (16,) + SHAPE), tf.float32) for _ in range(2))
    alpha = tf.constant(rng.uniform(0, 1, 16), tf.float32)
    keras.utils.set_random_seed(0)
    _, reference = tiny_w2("float32")
    gp32, grad32 = penalty_and_gradient(reference, real, fake, alpha)
    for precision, gp_tol, grad_tol in (("mixed_bfloat16", 1e-2, 1e-1), ("mixed_float16", 2e-3, 5e-2)):
        _, gan = tiny_w2(precision)
        assert gan.discriminator.layers[1].compute_dtype == precision.split("_")[1]
        gan.discriminator.set_weights(reference.discriminator.get_weights())
        gp, grad = penalty_and_gradient(gan, real, fake, alpha)
        assert abs(gp - gp32) / gp32 < gp_tol, (precision, gp, gp32)
        assert np.linalg.norm(grad - grad32) / np.linalg.norm(grad32) < grad_tol, precision


def test_penalty_scale_cancels_out():
    # scale multiplies the scores inside the inner tape and divides the gradient: the same penalty.
    critic = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    x, y = tf.random.stateless_normal([5, 3], [0, 1]), tf.random.stateless_normal([5, 3], [0, 2])
    alpha = tf.random.stateless_uniform([5], [0, 3])
    plain = penalties.gradient_penalty(critic, x, y, alpha)
    scaled = penalties.gradient_penalty(critic, x, y, alpha, scale=tf.constant(2.0 ** 15))
    np.testing.assert_allclose(plain.numpy(), scaled.numpy(), rtol=1e-6)


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_wgan_gp_trains_finite(precision):
    config, gan = tiny_w2(precision)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building
    float16 = precision == "mixed_float16"
    for opt in (gan.g_optimizer, gan.d_optimizer):  # both wrapped, not only "the" optimizer
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer) == float16
    history = gan.fit(batches(config), epochs=1, steps_per_epoch=3, verbose=0).history
    assert all(math.isfinite(v[-1]) for v in history.values()), history
    assert history["gp"][-1] > 0
    for w in gan.generator.weights + gan.discriminator.weights:
        assert np.all(np.isfinite(w.numpy())), w.name
    assert gan.generator(tf.zeros([1, config.latent_dim])).dtype == tf.float32  # G's output layer
    assert int(gan.g_optimizer.iterations) == 3
    assert int(gan.d_optimizer.iterations) == 3 * config.n_critic
    if float16:
        assert 1 <= float(gan.d_optimizer.dynamic_scale) <= 2.0 ** 15


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_float16_overflow_skips_critic_and_generator_together(update):
    config, gan = tiny_w2("mixed_float16", update=update, n_critic=1, batch_size=8)
    ds = batches(config)
    gan.d_optimizer.dynamic_scale.assign(1e30)  # the critic's scaled gradients overflow float16
    before = [w.numpy() for w in gan.generator.trainable_weights + gan.discriminator.trainable_weights]
    gan.fit(ds, epochs=1, steps_per_epoch=1, verbose=0)
    after = [w.numpy() for w in gan.generator.trainable_weights + gan.discriminator.trainable_weights]
    for a, b in zip(before, after):  # neither net moved
        np.testing.assert_array_equal(a, b)
    assert int(gan.d_optimizer.iterations) == 0 and int(gan.g_optimizer.iterations) == 0
    assert float(gan.d_optimizer.dynamic_scale) == pytest.approx(5e29, rel=1e-6)  # halved, as after any overflow
    assert float(gan.g_optimizer.dynamic_scale) == 2.0 ** 14  # skipped with it (and halved)
    gan.d_optimizer.dynamic_scale.assign(2.0 ** 10)  # a sane scale: both step again
    gan.fit(ds, epochs=1, steps_per_epoch=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 1 and int(gan.g_optimizer.iterations) == 1
