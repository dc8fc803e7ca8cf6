"""Pyramids (nets/pyramid.py): the binomial filter by hand, exact reconstruction, constants kept."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.nets import pyramid


def impulse(side: int, y: int, x: int) -> tf.Tensor:
    a = np.zeros((1, side, side, 1), np.float32)
    a[0, y, x, 0] = 1.0
    return tf.constant(a)


def test_downsample_of_an_impulse_is_the_binomial_kernel_by_hand():
    # d(delta at (4, 4)) keeps the blurred values at even coordinates: output (i, j) = input (2i, 2j).
    out = pyramid.downsample(impulse(8, 4, 4)).numpy()[0, :, :, 0]
    assert out.shape == (4, 4)
    assert out[2, 2] == pytest.approx(36 / 256)  # 6 x 6
    assert out[2, 1] == pytest.approx(6 / 256) and out[1, 2] == pytest.approx(6 / 256)  # 6 x 1 (offset 2)
    assert out[1, 1] == pytest.approx(1 / 256)  # 1 x 1
    assert out[0].max() == 0.0  # offset 4: outside the 5 taps


def test_upsample_of_an_impulse_is_four_times_the_kernel_by_hand():
    # delta at (1, 1) of 4x4 -> zeros inserted: delta at (2, 2) of 8x8 -> blurred with gain 4.
    out = pyramid.upsample(impulse(4, 1, 1)).numpy()[0, :, :, 0]
    assert out.shape == (8, 8)
    assert out[2, 2] == pytest.approx(4 * 36 / 256)
    assert out[2, 3] == pytest.approx(4 * 24 / 256)  # taps 6 and 4
    assert out[3, 3] == pytest.approx(4 * 16 / 256)  # taps 4 and 4
    assert out[2, 5] == 0.0


@pytest.mark.parametrize("op", [pyramid.downsample, pyramid.upsample])
def test_a_constant_image_stays_that_constant_borders_included(op):
    x = tf.fill([2, 14, 14, 3], 0.37)
    np.testing.assert_allclose(op(x).numpy(), 0.37, rtol=1e-6)


@pytest.mark.parametrize("shape, levels", [((3, 28, 28, 1), 3), ((2, 32, 32, 3), 4)])
def test_reconstruct_inverts_the_laplacian_pyramid(shape, levels):
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, shape), tf.float32)
    pyr = pyramid.laplacian_pyramid(x, levels)
    assert [p.shape[1] for p in pyr] == pyramid.sides(shape[1], levels)
    np.testing.assert_allclose(pyramid.reconstruct(pyr).numpy(), x.numpy(), atol=2e-6)
    # The bands of a constant image are zero; its coarsest level is the constant.
    flat = pyramid.laplacian_pyramid(tf.fill(shape, -0.5), levels)
    assert all(np.abs(b.numpy()).max() < 1e-6 for b in flat[:-1])
    np.testing.assert_allclose(flat[-1].numpy(), -0.5, rtol=1e-6)


def test_the_pyramid_runs_in_a_graph_with_an_unknown_batch():
    f = tf.function(lambda x: pyramid.reconstruct(pyramid.laplacian_pyramid(x, 3)),
                    input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)])
    x = tf.constant(np.random.default_rng(1).uniform(-1, 1, (5, 28, 28, 1)), tf.float32)
    np.testing.assert_allclose(f(x).numpy(), x.numpy(), atol=2e-6)


def test_sides_that_do_not_halve_are_refused_with_the_side_named():
    assert pyramid.sides(28, 3) == [28, 14, 7]
    with pytest.raises(ValueError, match="7 does not halve"):
        pyramid.sides(28, 4)
