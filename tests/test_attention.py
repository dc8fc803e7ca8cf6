"""SAGAN's self-attention block: identity at initialisation, a softmax over pooled positions, shapes."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.nets.attention import SelfAttention


def _x(side, channels=16, seed=0):
    return tf.random.stateless_normal([2, side, side, channels], (seed, 1))


@pytest.mark.parametrize("side", [7, 8, 14, 16, 32])  # the blocks' sides at 28, 32 and 64 px
def test_identity_at_initialisation_and_shapes(side):
    layer = SelfAttention()
    x = _x(side)
    y = layer(x, training=True)
    assert y.shape == x.shape
    np.testing.assert_array_equal(y.numpy(), x.numpy())  # gamma = 0
    pooled = (-(-side // 2)) ** 2  # 2x2 max-pool, 'same': ceil(side / 2)^2 keys
    beta = layer.attention_map(x)
    assert beta.shape == (2, side * side, pooled)
    # A float32 softmax row of N' <= 256 terms sums to 1 within ~N' * 2^-24 < 2e-5.
    np.testing.assert_allclose(tf.reduce_sum(beta, -1).numpy(), 1.0, atol=2e-5)
    assert float(tf.reduce_min(beta)) >= 0.0
    # Projections as the authors' code: C/8 query and key, C/2 value, back to C.
    assert (layer.theta.filters, layer.phi.filters, layer.g.filters, layer.o.filters) == (2, 2, 8, 16)


def test_output_is_x_plus_gamma_times_the_attended_values():
    layer = SelfAttention(spectral=False)
    x = _x(4, channels=8)
    layer(x)
    layer.gamma.assign(0.5)
    # By hand: softmax(theta phi^T) g, through o, scaled by gamma, added to x.
    theta = tf.reshape(layer.theta(x), [2, 16, 1]).numpy()
    phi = tf.reshape(tf.nn.max_pool2d(layer.phi(x), 2, 2, "SAME"), [2, 4, 1]).numpy()
    g = tf.reshape(tf.nn.max_pool2d(layer.g(x), 2, 2, "SAME"), [2, 4, 4]).numpy()
    logits = theta @ phi.transpose(0, 2, 1)  # (2, 16, 4)
    beta = np.exp(logits - logits.max(-1, keepdims=True))
    beta /= beta.sum(-1, keepdims=True)
    attended = (beta @ g).reshape(2, 4, 4, 4)
    expected = x.numpy() + 0.5 * layer.o(tf.constant(attended, tf.float32)).numpy()
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_spectral_norm_inside_and_gamma_trained():
    layer = SelfAttention()
    x = _x(8)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) ** 2)
    names = {w.name for w in layer.non_trainable_weights}
    assert names == {"sn_u"} and len(layer.non_trainable_weights) == 4  # one u per projection
    grads = dict(zip([w.path for w in layer.trainable_weights], tape.gradient(loss, layer.trainable_weights)))
    gamma_grad = [g for p, g in grads.items() if p.endswith("gamma")][0]
    assert abs(float(gamma_grad)) > 0  # at gamma = 0 the block still learns to open
