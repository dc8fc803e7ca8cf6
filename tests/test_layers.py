"""tfgan_app.nets.layers compute what Keras's layers compute, and a model built from either
trains to the same weights and restores the other's checkpoints."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import config as cfg
from tfgan_app import games
from tfgan_app.nets.precision import precision_policy
from tfgan_app.nets import layers
from tfgan_app.training.run_dir import TrainingState


def outputs_and_gradients(layer, x, training_=True):
    """(y, dL/dx, dL/d each trainable weight) for L = sum(y * fixed random cotangent)."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training_)
        cot = tf.constant(np.random.default_rng(99).normal(size=y.shape), y.dtype)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.cast(cot, tf.float32))
    grads = tape.gradient(loss, [x] + layer.trainable_weights)
    return [y] + grads


def twins(ours, theirs, x):
    """Builds both layers on x and gives the Keras one our weights."""
    ours(x)
    theirs(x)
    theirs.set_weights([w + np.random.default_rng(5).normal(size=w.shape).astype(w.dtype) * 0.1
                        for w in ours.get_weights()])
    ours.set_weights(theirs.get_weights())


def assert_close(a, b, tol):
    for u, v in zip(a, b):
        u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
        assert u.shape == v.shape
        assert np.abs(u - v).max() <= tol * max(1.0, np.abs(v).max()), (np.abs(u - v).max(), np.abs(v).max())


X28 = np.random.default_rng(0).normal(size=(4, 28, 28, 3)).astype(np.float32)
X7 = np.random.default_rng(1).normal(size=(4, 7, 7, 64)).astype(np.float32)


@pytest.mark.parametrize("args,x", [((8, 4, 2, "same"), X28), ((5, 5, 1, "same"), X28), ((6, 3, 2, "valid"), X28),
                                    ((1, 5, 2, "same"), X7), ((64, 5, 2, "same"), X7)])
def test_conv2d_is_keras_conv2d(args, x):
    ours, theirs = layers.Conv2D(*args), keras.layers.Conv2D(*args)
    twins(ours, theirs, x)
    assert_close(outputs_and_gradients(ours, x), outputs_and_gradients(theirs, x), 1e-5)


@pytest.mark.parametrize("args,x", [((1, 5, 2, "same"), X7), ((3, 4, 2, "same"), X7), ((32, 5, 1, "same"), X7),
                                    ((4, 3, 2, "valid"), X7)])  # valid: Keras's own path
def test_conv2d_transpose_is_keras_conv2d_transpose(args, x):
    ours, theirs = layers.Conv2DTranspose(*args), keras.layers.Conv2DTranspose(*args)
    twins(ours, theirs, x)
    assert_close(outputs_and_gradients(ours, x), outputs_and_gradients(theirs, x), 1e-5)


@pytest.mark.parametrize("x", [X7, X7.reshape(4, -1)[:, :300] * 3 + 1])  # 4-D, and 2-D (after a Dense)
def test_batch_normalization_is_kerass_in_training_and_inference(x):
    ours, theirs = layers.BatchNormalization(momentum=0.9), keras.layers.BatchNormalization(momentum=0.9)
    twins(ours, theirs, x)
    assert_close(outputs_and_gradients(ours, x), outputs_and_gradients(theirs, x), 1e-5)
    # one training call moved the moving statistics the same way (biased variance)
    assert not np.allclose(ours.moving_variance.numpy(), 1.0)
    assert_close([ours.moving_mean, ours.moving_variance], [theirs.moving_mean, theirs.moving_variance], 1e-6)
    assert_close(outputs_and_gradients(ours, x, False), outputs_and_gradients(theirs, x, False), 1e-5)


def test_under_mixed_bfloat16_the_layers_are_float32_keras_within_rounding():
    with precision_policy("mixed_bfloat16"):
        ours = [layers.Conv2D(64, 5, 2, "same"), layers.Conv2DTranspose(64, 5, 2, "same"),
                layers.BatchNormalization()]
    theirs = [keras.layers.Conv2D(64, 5, 2, "same"), keras.layers.Conv2DTranspose(64, 5, 2, "same"),
              keras.layers.BatchNormalization()]
    for a, b in zip(ours, theirs):
        twins(a, b, X7)
        got, want = outputs_and_gradients(a, X7), outputs_and_gradients(b, X7)
        assert got[0].dtype == tf.bfloat16
        # 8-bit mantissas, rounded at every op: measured up to 1.2e-2 of the largest value
        # (a bias gradient, a bfloat16 sum of 64 terms); Keras's own bfloat16 layers: up to 5.8e-2.
        assert_close(got, want, 3e-2)


def test_auto_is_tfgan_on_this_cpu_and_keras_for_a_tpu():
    base = cfg.Config()
    assert layers.implementation(base) == "tfgan"  # the tests run on CPU
    assert layers.implementation(dataclasses.replace(base, strategy="tpu")) == "keras"
    assert layers.implementation(dataclasses.replace(base, layer_impl="keras")) == "keras"
    with pytest.raises(cfg.ConfigError, match="--layer-impl"):
        dataclasses.replace(base, layer_impl="cudnn").validate()


def tiny(name, impl, **kw):
    config = cfg.preset(name, dataset="npz:unused.npz", width=8, latent_dim=8, batch_size=8, d_dropout=0.0,
                        layer_impl=impl, **kw)
    keras.utils.set_random_seed(0)
    return config, games.build(config, (28, 28, 1))


@pytest.mark.parametrize("name", ["dcgan", "dcgan-mnist", "wgan-gp-mnist"])
def test_models_of_either_implementation_take_the_same_training_step(name):
    # Same weights, same batches, same noise: BatchNorm in G and D (dcgan), W1's simultaneous
    # step, W2's penalty (second derivatives through conv_ops).  float32 sums in other orders.
    # SGD, not Adam: a bias before BatchNorm has a zero gradient up to rounding, which Adam
    # would scale up to a full step of random sign.
    sgd = dict(optimizer="sgd", g_lr=0.01, d_lr=0.01)
    (_, ours), (_, theirs) = tiny(name, "tfgan", **sgd), tiny(name, "keras", **sgd)
    assert isinstance(ours.generator.layers[-2], (layers.Conv2DTranspose, layers.BatchNormalization))
    assert not isinstance(theirs.generator.layers[-2], (layers.Conv2DTranspose, layers.BatchNormalization))
    for a, b in ((ours.generator, theirs.generator), (ours.discriminator, theirs.discriminator)):
        b.set_weights(a.get_weights())
    real = tf.constant(np.random.default_rng(2).uniform(-1, 1, (8 * ours.n_critic, 28, 28, 1)), tf.float32)
    before = ours.generator.get_weights()
    for gan in (ours, theirs):
        for _ in range(2):
            gan.train_step(real)
    moved = max(np.abs(a - b).max() for a, b in zip(ours.generator.get_weights(), before))
    assert moved > 1e-4
    for a, b in ((ours.generator, theirs.generator), (ours.discriminator, theirs.discriminator)):
        assert_close(a.get_weights(), b.get_weights(), 2e-5)


def test_a_keras_layers_checkpoint_restores_into_tfgan_layers(tmp_path):
    # --layer-impl may change when a run resumes: the variables are the same.
    _, theirs = tiny("dcgan", "keras")
    TrainingState(tmp_path, theirs, keep=1).save(1)
    _, ours = tiny("dcgan", "tfgan")
    ours.generator.set_weights([np.zeros_like(w) for w in ours.generator.get_weights()])
    assert TrainingState(tmp_path, ours, keep=1).restore() == 1
    assert_close(ours.generator.get_weights(), theirs.generator.get_weights(), 0)


def test_dropout_keeps_one_minus_rate_scaled():
    x = np.ones((2000, 100), np.float32)
    y = layers.Dropout(0.3, seed=1)(x, training=True).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.7)}
    assert abs((y != 0).mean() - 0.7) < 0.005  # 200,000 units: 4 standard deviations
    np.testing.assert_array_equal(layers.Dropout(0.3)(x, training=False), x)
