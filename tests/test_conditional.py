"""Conditional BatchNorm and the projection discriminator's head against hand computations."""

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.nets.conditional import ConditionalBatchNorm, projection_logits


def _x(seed=0):
    return tf.random.stateless_normal([4, 3, 3, 2], (seed, 2)) * 3.0 + 1.0


def _normalised(x, epsilon=1e-3):  # Keras BatchNormalization in training: batch moments, biased variance
    x = x.numpy()
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    return (x - mean) / np.sqrt(var + epsilon)


def test_per_class_gain_and_bias():
    cbn = ConditionalBatchNorm(num_classes=3)
    x, labels = _x(), tf.constant([0, 1, 2, 1])
    np.testing.assert_allclose(cbn([x, labels], training=True).numpy(), _normalised(x), rtol=1e-4, atol=1e-5)
    cbn.gain.embeddings.assign([[1.0, 1.0], [2.0, -1.0], [1.0, 1.0]])
    cbn.bias.embeddings.assign([[0.0, 0.0], [0.5, 0.0], [0.0, -3.0]])
    gain = np.array([[1, 1], [2, -1], [1, 1], [2, -1]], np.float32)[:, None, None, :]
    bias = np.array([[0, 0], [0.5, 0], [0, -3], [0.5, 0]], np.float32)[:, None, None, :]
    np.testing.assert_allclose(cbn([x, labels], training=True).numpy(), _normalised(x) * gain + bias,
                               rtol=1e-4, atol=1e-5)


def test_vector_condition_gives_one_plus_linear_gain_and_linear_bias():
    cbn = ConditionalBatchNorm(spectral=False)
    x, c = _x(1), tf.constant([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    cbn([x, c], training=True)
    wg, wb = np.array([[0.5, -1.0], [2.0, 0.0]], np.float32), np.array([[1.0, 0.0], [0.0, -2.0]], np.float32)
    cbn.gain.kernel.assign(wg)
    cbn.bias.kernel.assign(wb)
    c_ = c.numpy()
    expected = _normalised(x) * (1 + c_ @ wg)[:, None, None, :] + (c_ @ wb)[:, None, None, :]
    np.testing.assert_allclose(cbn([x, c], training=True).numpy(), expected, rtol=1e-4, atol=1e-5)
    assert cbn([x, c], training=False).shape == x.shape  # moving statistics at inference


def test_projection_logits_are_psi_of_phi_plus_class_embedding_dot_phi():
    features = keras.Input((3,))
    labels = keras.Input((), dtype="int32")
    model = keras.Model([features, labels], projection_logits(features, labels, 4, spectral=False))
    phi = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]], np.float32)
    y = np.array([2, 0], np.int32)
    psi = model.get_layer("logits")
    psi.kernel.assign([[0.1], [0.2], [0.3]])
    psi.bias.assign([0.5])
    table = np.arange(12, dtype=np.float32).reshape(4, 3) / 10.0
    model.get_layer("class_projection").embeddings.assign(table)
    expected = phi @ np.array([0.1, 0.2, 0.3]) + 0.5 + np.sum(table[y] * phi, axis=1)
    np.testing.assert_allclose(model([phi, y]).numpy()[:, 0], expected, rtol=1e-6)
    # Swapping the labels changes only the projection term.
    other = model([phi, np.array([1, 3], np.int32)]).numpy()[:, 0]
    np.testing.assert_allclose(other - expected, np.sum((table[[1, 3]] - table[y]) * phi, axis=1), rtol=1e-5)
