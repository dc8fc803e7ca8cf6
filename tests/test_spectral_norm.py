"""Spectral normalization: W / sigma(W) against SVD, its gradient against the closed form, u's updates."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.nets import spectral_norm as sn
from tfgan_app.nets.precision import precision_policy

# Float32 arithmetic on matrices of <= 200 entries: the SVD's and the power method's
# rounding is ~1e-7 relative per operation and a few dozen operations deep; 1e-5 leaves
# 100x headroom yet fails an estimate that is off by the power method's error at a few
# iteration from a random start (below: s2 / s1 = 0.8, and sigma's estimate ||W^T W u|| /
# ||W u|| converges like (s2 / s1)^4 = 0.41 per iteration).
TOL = 1e-5


def _layers():
    """(layer, input) for each wrapped kind, built."""
    rng = np.random.default_rng(0)
    cases = [(sn.Dense(5), rng.normal(size=(4, 6))),
             (sn.Conv2D(6, 3, 2, "same"), rng.normal(size=(2, 8, 8, 3))),
             (sn.Conv2DTranspose(6, 4, 2, "same"), rng.normal(size=(2, 4, 4, 3))),
             (sn.Conv2DTranspose(6, 4, 2, "same", fast=False), rng.normal(size=(2, 4, 4, 3)))]
    for layer, x in cases:
        layer(tf.constant(x, tf.float32))
    return [(layer, tf.constant(x, tf.float32)) for layer, x in cases]


def _set_spectrum(layer, singular_values, seed=1):
    """Sets the layer's kernel so that its matrix (kernel_matrix) has these leading singular values."""
    rng = np.random.default_rng(seed)
    w = layer.kernel.numpy()
    m = sn.kernel_matrix(w, layer._transposed_kernel).numpy()
    u, _, vt = np.linalg.svd(rng.normal(size=m.shape), full_matrices=False)
    s = np.linspace(0.2, 0.5, len(vt))[::-1].copy()
    s[:len(singular_values)] = singular_values
    matrix = (u * s) @ vt  # (m, n)
    if layer._transposed_kernel:
        kh, kw, out, cin = w.shape
        kernel = matrix.reshape(kh, kw, cin, out).transpose(0, 1, 3, 2)  # back to (kh, kw, out, in)
    else:
        kernel = matrix.reshape(w.shape)
    layer.kernel.assign(kernel.astype(np.float32))
    return matrix


def _top_singular_value(layer, kernel) -> float:
    return float(np.linalg.svd(sn.kernel_matrix(np.asarray(kernel), layer._transposed_kernel).numpy(),
                               compute_uv=False)[0])


@pytest.mark.parametrize("case", range(4), ids=["dense", "conv", "conv_transpose", "conv_transpose_keras"])
def test_normalized_kernel_has_largest_singular_value_one(case):
    layer, x = _layers()[case]
    _set_spectrum(layer, [3.0, 2.4])
    early = _top_singular_value(layer, layer.normalized_kernel())  # one iteration from the initial u
    for _ in range(60):  # 0.41^60 ~ 1e-23: converged to float32 precision
        layer(x, training=True)
    assert abs(_top_singular_value(layer, layer.normalized_kernel()) - 1.0) < TOL
    assert abs(float(layer.sigma()) - 3.0) < 3.0 * TOL
    assert abs(early - 1.0) > TOL  # the tolerance can tell a converged u from an early one


def test_conv_transpose_normalises_over_its_output_filters():
    layer = sn.Conv2DTranspose(6, 4, 2, "same")
    layer(tf.zeros([1, 4, 4, 3]))
    assert layer.kernel.shape == (4, 4, 6, 3)  # Keras: (kh, kw, out, in)
    assert sn.kernel_matrix(layer.kernel, transpose=True).shape == (4 * 4 * 3, 6)
    assert layer.sn_u.shape == (6,)


@pytest.mark.parametrize("case", range(3), ids=["dense", "conv", "conv_transpose"])
def test_gradient_is_that_of_w_over_sigma_by_svd(case):
    """d/dW sum(C * W / sigma(W)) = C / sigma - <C, W> / sigma^2 * a b^T, a, b the top singular
    vectors of W (d sigma / dW = a b^T): the gradient flows through sigma (tensorflow/addons#2414)."""
    layer, x = _layers()[case]
    _set_spectrum(layer, [2.0, 1.0])
    for _ in range(30):
        layer(x, training=True)
    c = tf.constant(np.random.default_rng(2).normal(size=layer.kernel.shape), tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(c * layer.normalized_kernel())
    grad = tape.gradient(loss, layer.kernel)

    transpose = layer._transposed_kernel
    w = sn.kernel_matrix(layer.kernel, transpose).numpy().astype(np.float64)
    cm = sn.kernel_matrix(c, transpose).numpy().astype(np.float64)
    left, s, right = np.linalg.svd(w)
    sigma = s[0]
    expected = cm / sigma - np.sum(cm * w) / sigma ** 2 * np.outer(left[:, 0], right[0])
    got = sn.kernel_matrix(grad, transpose).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    # Without the sigma term (Keras's assign-to-kernel design) the gradient would be C / sigma:
    assert np.abs(got - cm / sigma).max() > 1e-2


@pytest.mark.parametrize("case", range(3), ids=["dense", "conv", "conv_transpose"])
def test_layer_gradient_through_its_call_is_the_chain_rule_through_w_over_sigma(case):
    """d/dW sum(R * layer(x)): the op's gradient with respect to its kernel W_bar = W / sigma
    (tf.nn's ops on a plain variable), then the closed form of d W_bar / dW by SVD.  Runs the
    layer's own call: its casts and conv_ops' custom gradients."""
    layer, x = _layers()[case]
    _set_spectrum(layer, [2.0, 1.0])
    for _ in range(30):
        layer(x, training=True)
    transpose = layer._transposed_kernel
    w = sn.kernel_matrix(layer.kernel, transpose).numpy().astype(np.float64)
    left, s, right = np.linalg.svd(w)
    sigma = s[0]
    w_bar = tf.Variable(layer.kernel.numpy() / np.float32(sigma))
    r = tf.constant(np.random.default_rng(3).normal(size=layer(x).shape), tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(r * layer(x))
    got = sn.kernel_matrix(tape.gradient(loss, layer.kernel), transpose).numpy()

    with tf.GradientTape() as tape:  # the same layer computed with tf.nn on W_bar
        if case == 0:
            y = tf.matmul(x, w_bar)
        elif case == 1:
            y = tf.nn.conv2d(x, w_bar, 2, "SAME")
        else:
            y = tf.nn.conv2d_transpose(x, w_bar, [2, 8, 8, 6], 2, "SAME")
        loss = tf.reduce_sum(r * (y + layer.bias))
    g_bar = sn.kernel_matrix(tape.gradient(loss, w_bar), transpose).numpy().astype(np.float64)
    expected = g_bar / sigma - np.sum(g_bar * w) / sigma ** 2 * np.outer(left[:, 0], right[0])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


def test_training_call_advances_u_and_inference_call_computes_the_same_without_storing():
    layer, x = _layers()[1]
    u0 = layer.sn_u.numpy()
    trained = layer(x, training=True).numpy()
    u1 = layer.sn_u.numpy()
    assert np.abs(u1 - u0).max() > 1e-3  # one power iteration moved u
    layer.sn_u.assign(u0)  # the same u again: inference gives what training gave
    np.testing.assert_array_equal(layer(x, training=False).numpy(), trained)
    np.testing.assert_array_equal(layer.sn_u.numpy(), u0)  # and stores nothing
    kernel = layer.kernel.numpy()
    layer(x, training=True)
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)  # the trainable kernel is never written


def test_u_is_a_non_trainable_float32_weight_in_the_checkpoint(tmp_path):
    layer, x = _layers()[0]
    for _ in range(3):
        layer(x, training=True)
    assert layer.sn_u in layer.non_trainable_weights and layer.sn_u.dtype == "float32"
    path = tf.train.Checkpoint(layer=layer).write(str(tmp_path / "ckpt"))
    saved = layer.sn_u.numpy()
    layer(x, training=True)
    tf.train.Checkpoint(layer=layer).read(path).assert_consumed()
    np.testing.assert_array_equal(layer.sn_u.numpy(), saved)


def test_under_bfloat16_sigma_is_float32_and_outputs_finite():
    with precision_policy("mixed_bfloat16"):
        dense, conv = sn.Dense(8), sn.Conv2D(8, 3)
        emb = sn.Embedding(10, 8)
    x = tf.random.stateless_normal([4, 8, 8, 3], (0, 1)) * 100.0  # large inputs: bf16's range, not precision
    with tf.GradientTape() as tape:
        y = dense(tf.reshape(conv(x, training=True), [4, -1]), training=True)
        loss = tf.reduce_sum(tf.cast(y, tf.float32)) + tf.reduce_sum(tf.cast(emb(tf.constant([1, 2]), training=True), tf.float32))
    assert y.dtype == tf.bfloat16 and conv.kernel.dtype == "float32"
    assert conv.normalized_kernel().dtype == tf.float32
    grads = tape.gradient(loss, dense.trainable_weights + conv.trainable_weights + emb.trainable_weights)
    assert all(np.isfinite(g.numpy()).all() for g in grads)
    assert np.isfinite(y.numpy().astype(np.float32)).all()


def test_embedding_rows_come_from_the_normalised_table():
    emb = sn.Embedding(4, 3)
    emb.build()
    for _ in range(30):
        emb(tf.constant([0]), training=True)
    table = emb.embeddings.numpy()
    sigma = np.linalg.svd(table, compute_uv=False)[0]
    np.testing.assert_allclose(emb(tf.constant([2, 0])).numpy(), table[[2, 0]] / sigma, rtol=1e-5)
