"""nets/blocks.py: reflection padding, cropping, instance normalisation."""

import numpy as np
import tensorflow as tf

from tfgan_app.nets import blocks


def test_reflection_pad_and_crop_by_hand():
    x = tf.reshape(tf.range(1.0, 4.0), (1, 1, 3, 1))  # one row: 1 2 3
    padded = blocks.ReflectionPad((0, 0, 2, 1))(x)
    assert padded.numpy()[0, 0, :, 0].tolist() == [3.0, 2.0, 1.0, 2.0, 3.0, 2.0]
    assert blocks.Crop(0, 2, 1, 3)(padded).numpy()[0, 0, :, 0].tolist() == [1.0, 2.0, 3.0]


def test_instance_norm_normalises_each_example_and_channel():
    x = tf.random.stateless_normal((3, 5, 5, 2), [0, 1]) * [2.0, 7.0] + [1.0, -4.0]
    for affine in (True, False):
        y = blocks.instance_norm("n", affine=affine)(x).numpy()
        np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-5)
        np.testing.assert_allclose(y.var(axis=(1, 2)), 1, atol=1e-3)  # eps 1e-5 against variances >= ~1
    plain = blocks.instance_norm("m", affine=False)
    plain(x)
    assert plain.weights == []  # CycleGAN's InstanceNorm2d(affine=False): nothing to learn
