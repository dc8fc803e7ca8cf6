"""conv_ops computes what tf.nn computes: values, gradients and second derivatives.

Exactness is checked in float64, where any wrong tap, padding or phase shows as an O(1)
error and a right one as ~1e-14; the 16-bit path against float32 within bfloat16's rounding.
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.nets import conv_ops

# (size, kernel, stride, padding): odd and even sizes, kernels smaller and larger than the
# stride, sizes the stride does not divide (SAME pads unevenly), VALID windows that skip rows.
GEOMETRIES = [(h, k, s, p) for h, k, s, p in itertools.product((7, 8, 14), (3, 4, 5), (1, 2, 3), ("SAME", "VALID"))
              if not (p == "VALID" and h < k)]


def random(shape, seed, dtype=tf.float64):
    return tf.constant(np.random.default_rng(seed).normal(size=shape), dtype)


def max_diff(a, b):
    return float(tf.reduce_max(tf.abs(tf.cast(a, tf.float64) - tf.cast(b, tf.float64))))


@pytest.mark.parametrize("h,k,s,padding", GEOMETRIES)
def test_filter_gradient_as_forward_convolution_is_tfs(h, k, s, padding):
    out = conv_ops._pads(h, s, k, padding)[0]
    x, dy = random([3, h, h + 1, 2], 0), random([3, out, conv_ops._pads(h + 1, s, k, padding)[0], 5], 1)
    reference = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=[k, k, 2, 5], out_backprop=dy,
                                                strides=[1, s, s, 1], padding=padding)
    assert max_diff(conv_ops.filter_gradient(x, dy, (k, k), s, padding, method="forward"), reference) < 1e-10


@pytest.mark.parametrize("h,k,s", [(h, k, s) for h, k, s, p in GEOMETRIES if p == "SAME" and s > 1])
@pytest.mark.parametrize("channels", [1, 3])
def test_subpixel_transposed_convolution_is_tfs(h, k, s, channels):
    x, w = random([2, h, h, 6], 2), random([k, k, channels, 6], 3)
    reference = tf.nn.conv2d_transpose(x, w, [2, h * s, h * s, channels], s, "SAME")
    got = conv_ops.transpose_conv(x, w, s, "SAME", (h * s, h * s), method="subpixel")
    assert got.shape == reference.shape
    assert max_diff(got, reference) < 1e-10


def test_subpixel_refuses_what_it_does_not_cover():
    with pytest.raises(ValueError, match="subpixel"):
        conv_ops.transpose_conv(random([1, 4, 4, 2], 0), random([3, 3, 1, 2], 1), 2, "VALID", (9, 9),
                                method="subpixel")


def value_and_gradients(f, x, w, dy):
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        y = f(x, w)
        loss = tf.reduce_sum(y * dy)
    return [y, *tape.gradient(loss, [x, w])]


@pytest.fixture(params=["onednn", "eigen"])
def kernels(request, monkeypatch):
    """conv_ops' choices for either of TF's CPU kernel sets, whichever this process runs."""
    monkeypatch.setattr(conv_ops, "onednn_enabled", lambda: request.param == "onednn")
    return request.param


@pytest.mark.parametrize("h,k", [(h, k) for h, k, s, p in GEOMETRIES if s == 1 and p == "SAME" and k % 2])
@pytest.mark.parametrize("channels", [1, 3])
def test_flipped_kernel_transposed_convolution_is_tfs(h, k, channels):
    x, w = random([2, h, h, 6], 15), random([k, k, channels, 6], 16)
    reference = tf.nn.conv2d_transpose(x, w, [2, h, h, channels], 1, "SAME")
    assert max_diff(conv_ops.transpose_conv(x, w, 1, "SAME", (h, h), method="flipped"), reference) < 1e-10
    with pytest.raises(ValueError, match="stride 1, 'SAME' padding and an odd square kernel"):
        conv_ops.transpose_conv(x, random([4, 4, channels, 6], 17), 1, "SAME", (h, h), method="flipped")


@pytest.mark.parametrize("h,k,s,padding", GEOMETRIES)
@pytest.mark.parametrize("c_in", [1, 6])  # the input gradient's choice differs between 1 and 6 channels
def test_conv2d_value_and_gradients_are_tfs(h, k, s, padding, c_in, kernels):
    x, w = random([2, h, h, c_in], 4), random([k, k, c_in, 3], 5)
    dy = random(tf.nn.conv2d(x, w, s, padding).shape, 6)
    got = value_and_gradients(lambda x, w: conv_ops.conv2d(x, w, s, padding), x, w, dy)
    want = value_and_gradients(lambda x, w: tf.nn.conv2d(x, w, s, padding), x, w, dy)
    assert max(max_diff(a, b) for a, b in zip(got, want)) < 1e-10


@pytest.mark.parametrize("h,k,s", [(h, k, s) for h, k, s, p in GEOMETRIES if p == "SAME"])
@pytest.mark.parametrize("c_out", [1, 6])  # the forward pass's choice differs between 1 and 6 channels
def test_conv2d_transpose_value_and_gradients_are_tfs(h, k, s, c_out, kernels):
    x, w = random([2, h, h, 4], 7), random([k, k, c_out, 4], 8)
    dy = random([2, h * s, h * s, c_out], 9)
    got = value_and_gradients(lambda x, w: conv_ops.conv2d_transpose(x, w, s), x, w, dy)
    want = value_and_gradients(lambda x, w: tf.nn.conv2d_transpose(x, w, [2, h * s, h * s, c_out], s, "SAME"),
                               x, w, dy)
    assert max(max_diff(a, b) for a, b in zip(got, want)) < 1e-10


def penalty_gradient(conv, x, w1, w2):
    """d/d(w1, w2) of sum((||d critic / dx|| - 1)^2), critic = sum(conv(leaky(conv(x, w1)), w2)^2)."""
    with tf.GradientTape() as outer:
        outer.watch([w1, w2])
        with tf.GradientTape() as inner:
            inner.watch(x)
            h = tf.nn.leaky_relu(conv(x, w1, 2))
            score = tf.reduce_sum(tf.square(conv(h, w2, 2)), axis=[1, 2, 3])
        g = inner.gradient(score, x)  # inside the outer tape: the penalty's inner gradient
        penalty = tf.reduce_sum(tf.square(tf.sqrt(tf.reduce_sum(g * g, axis=[1, 2, 3]) + 1e-12) - 1.0))
    return outer.gradient(penalty, [w1, w2])


def test_second_derivatives_for_the_gradient_penalty_are_tfs(kernels):
    # WGAN-GP differentiates the critic's input gradient: through conv_ops' gradient functions.
    x, w1, w2 = random([3, 8, 8, 1], 10), random([4, 4, 1, 6], 11), random([3, 3, 6, 5], 12)
    got = penalty_gradient(lambda x, w, s: conv_ops.conv2d(x, w, s, "SAME"), x, w1, w2)
    want = penalty_gradient(lambda x, w, s: tf.nn.conv2d(x, w, s, "SAME"), x, w1, w2)
    assert all(float(tf.reduce_max(tf.abs(b))) > 1e-3 for b in want)  # the penalty depends on both
    assert max(max_diff(a, b) for a, b in zip(got, want)) < 1e-9


@pytest.mark.parametrize("dtype", [tf.bfloat16, tf.float16])
@pytest.mark.parametrize("h,k,s,c_in,c_out", [(14, 5, 2, 64, 128), (7, 5, 1, 128, 256)])
def test_half_precision_takes_the_forward_path_within_rounding(dtype, h, k, s, c_in, c_out):
    # W1's layer shapes (MIN_CHANNELS on both sides: "auto" picks the forward convolution).  The
    # inputs are rounded to 8 (bfloat16) or 11 (float16) bits, the result once more; measured
    # relative error (max / max) ~3.5e-3 and ~5e-4.  A wrong tap or phase would be O(1).
    assert min(c_in, c_out) >= conv_ops.MIN_CHANNELS
    x, dy = random([8, h, h, c_in], 13, tf.float32), random([8, -(-h // s), -(-h // s), c_out], 14, tf.float32)
    reference = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=[k, k, c_in, c_out], out_backprop=dy,
                                                strides=[1, s, s, 1], padding="SAME")
    got = conv_ops.filter_gradient(tf.cast(x, dtype), tf.cast(dy, dtype), (k, k), s, "SAME")
    assert got.dtype == dtype
    tol = 1e-2 if dtype == tf.bfloat16 else 2e-3
    assert max_diff(got, reference) / float(tf.reduce_max(tf.abs(reference))) < tol


def test_conv2d_transpose_is_same_padding_only():
    with pytest.raises(ValueError, match="padding"):
        conv_ops.conv2d_transpose(random([1, 4, 4, 2], 0), random([3, 3, 1, 2], 1), 2, "VALID")


@pytest.mark.parametrize("h,k,s", [(7, 5, 1), (8, 4, 2), (14, 5, 2)])  # sizes the stride divides: sub-pixel applies
def test_wide_layers_take_their_kernel_sets_paths_and_equal_tfs(h, k, s, kernels):
    # MIN_CHANNELS on both sides: on Eigen no backward-data or backward-filter kernel is left.
    c = conv_ops.MIN_CHANNELS
    x, w = random([2, h, h, c], 18), random([k, k, c, c], 19)
    dy = random(tf.nn.conv2d(x, w, s, "SAME").shape, 20)
    got = tf.function(lambda x, w: value_and_gradients(lambda x, w: conv_ops.conv2d(x, w, s, "SAME"), x, w, dy))
    want = value_and_gradients(lambda x, w: tf.nn.conv2d(x, w, s, "SAME"), x, w, dy)
    assert max(max_diff(a, b) for a, b in zip(got(x, w), want)) < 1e-9
    xt, dyt = random([2, h, h, c], 21), random([2, h * s, h * s, c], 22)
    got_t = tf.function(lambda x, w: value_and_gradients(lambda x, w: conv_ops.conv2d_transpose(x, w, s), x, w, dyt))
    want_t = value_and_gradients(lambda x, w: tf.nn.conv2d_transpose(x, w, [2, h * s, h * s, c], s, "SAME"), xt, w, dyt)
    assert max(max_diff(a, b) for a, b in zip(got_t(xt, w), want_t)) < 1e-9
    ops = {op.type for f, args in ((got, (x, w)), (got_t, (xt, w)))
           for op in f.get_concrete_function(*args).graph.get_operations()}
    backward = {"Conv2DBackpropInput", "Conv2DBackpropFilter"} & ops
    assert backward == (set() if kernels == "eigen" else {"Conv2DBackpropInput", "Conv2DBackpropFilter"}), backward
