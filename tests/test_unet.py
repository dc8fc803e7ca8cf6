"""pix2pix's U-Net (nets/unet.py): shapes, levels, the skips, dropout's masks and seeds."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import config as cfg
from tfgan_app.nets import unet

CONFIG = cfg.preset("pix2pix-edges2digits", width=4)


@pytest.mark.parametrize("side,levels", [(28, 5), (32, 5), (64, 6), (256, 8)])
def test_levels_reach_one_pixel(side, levels):
    assert unet.unet_levels(side) == levels


@pytest.mark.parametrize("side,cin,cout", [(28, 1, 1), (32, 3, 3), (64, 1, 3)])
def test_output_has_the_input_size_and_the_target_channels_in_tanh_range(side, cin, cout):
    net = unet.build_unet(CONFIG, (side, side, cin), cout)
    x = tf.random.stateless_uniform((2, side, side, cin), [0, 1], -1, 1)
    y = net(x, training=True).numpy()
    assert y.shape == (2, side, side, cout) and y.dtype == np.float32
    assert np.abs(y).max() <= 1.0
    # The paper's encoder: filters double per level up to 8 x width; the bottleneck is 1x1.
    assert net.get_layer(f"down{unet.unet_levels(side) - 1}_conv").output.shape[1:3] == (1, 1)
    assert net.get_layer("down3_conv").filters == 32 and net.get_layer("down4_conv").filters == 32


def test_inference_is_deterministic_and_per_example():
    net = unet.build_unet(CONFIG, (28, 28, 1), 1)
    x = tf.random.stateless_uniform((4, 28, 28, 1), [0, 2], -1, 1)
    full = net(x, training=False).numpy()
    np.testing.assert_array_equal(full, net(x, training=False).numpy())  # dropout off
    # Instance normalisation: an example's output does not depend on the rest of the batch.
    np.testing.assert_allclose(net(x[:1], training=False).numpy(), full[:1], atol=1e-6)


def test_dropout_only_in_the_first_three_decoder_blocks_at_half_rate():
    net = unet.build_unet(CONFIG, (32, 32, 1), 1)
    drops = [layer for layer in net.layers if isinstance(layer, unet.GlobalDropout)]
    assert [d.name for d in drops] == ["up0_dropout", "up1_dropout", "up2_dropout"]
    assert all(d.rate == 0.5 for d in drops)


def test_global_dropout_keeps_half_the_units_scaled_by_two():
    layer = unet.GlobalDropout(0.5, seed=3)
    y = layer(tf.ones((64, 8, 8, 4)), training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert abs((y > 0).mean() - 0.5) < 0.02  # 16,384 units: std of the fraction 0.004


def test_seeded_dropout_depends_only_on_each_examples_seed():
    layer = unet.GlobalDropout(0.5, salt=1, seed=0)
    x = tf.ones((3, 4, 4, 2))
    seeds = tf.constant([[1, 2], [3, 4], [1, 2]], tf.int64)
    y = layer(x, seeds=seeds).numpy()
    np.testing.assert_array_equal(y[0], y[2])  # same seed, same mask
    assert not np.array_equal(y[0], y[1])
    np.testing.assert_array_equal(layer(x[1:2], seeds=seeds[1:2]).numpy()[0], y[1])  # alone or batched
    other_layer = unet.GlobalDropout(0.5, salt=2, seed=0)
    assert not np.array_equal(other_layer(x, seeds=seeds).numpy(), y)  # each layer its own masks


def test_sampled_unet_shares_the_weights_and_draws_masks_from_the_seeds():
    net = unet.build_unet(CONFIG, (28, 28, 1), 1)
    sampler = unet.sampled(net)
    assert len(sampler.weights) == len(net.weights)
    assert {id(w) for w in sampler.weights} == {id(w) for w in net.weights}
    x = tf.random.stateless_uniform((2, 28, 28, 1), [0, 3], -1, 1)
    a = sampler([x, tf.constant([[5, 6], [5, 6]], tf.int64)]).numpy()
    b = sampler([x, tf.constant([[5, 6], [7, 8]], tf.int64)]).numpy()
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[1], b[1])
    assert not np.allclose(a[0], net(x, training=False).numpy()[0])  # dropout is on
