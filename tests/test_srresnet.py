"""SRGAN's networks (nets/srresnet.py): 4x upscaling, the sub-pixel shuffle, the discriminator."""

import numpy as np
import tensorflow as tf

from tfgan_app import config as cfg
from tfgan_app.nets import srresnet

CONFIG = cfg.preset("srresnet-photos", width=4)


def test_generator_upscales_any_size_four_times():
    g = srresnet.build_srresnet(CONFIG, 3, blocks=2)
    for h, w in ((6, 6), (5, 9)):
        y = g(tf.zeros((1, h, w, 3)), training=False)
        assert y.shape == (1, 4 * h, 4 * w, 3) and y.dtype == tf.float32
    assert len([layer for layer in g.layers if layer.name.startswith("res") and layer.name[3:].isdigit()]) == 2


def test_depth_to_space_by_hand():
    x = tf.reshape(tf.range(4.0), (1, 1, 1, 4))  # one pixel, 4 channels -> a 2x2 block
    assert srresnet.DepthToSpace(2)(x).numpy()[0, :, :, 0].tolist() == [[0.0, 1.0], [2.0, 3.0]]


def test_discriminator_logits_and_features():
    d = srresnet.build_sr_discriminator(CONFIG, (32, 32, 3))
    assert d(tf.zeros((2, 32, 32, 3))).shape == (2, 1)
    f = srresnet.features(d)
    assert f(tf.zeros((2, 32, 32, 3))).shape == (2, 2, 2, 32)  # 4 stride-2 layers, 8 x width channels
    assert {id(w) for w in f.weights} <= {id(w) for w in d.weights}
    np.testing.assert_array_equal(f.get_layer("conv1").kernel.numpy(), d.get_layer("conv1").kernel.numpy())
