"""The character language model's nets (nets/charconv.py): shapes, the residual block, the init."""

import keras
import numpy as np
import pytest

from tfgan_app.nets import charconv


def test_the_generator_gives_a_distribution_per_position_and_the_critic_a_score():
    g = charconv.generator(seq_len=12, vocab_size=7, latent_dim=5, width=8, blocks=2)
    d = charconv.critic(seq_len=12, vocab_size=7, width=8, blocks=2)
    x = g(np.random.default_rng(0).normal(size=(3, 5)).astype("float32")).numpy()
    assert x.shape == (3, 12, 7)
    np.testing.assert_allclose(x.sum(-1), 1.0, atol=1e-6)
    assert d(x).shape == (3, 1)
    convs = [layer.kernel.shape for layer in g.layers if isinstance(layer, keras.layers.Conv1D)]
    assert convs == [(5, 8, 8)] * 4 + [(1, 8, 7)]  # two kernel-5 convs a block, then the 1x1 output


def test_a_residual_block_adds_three_tenths_of_its_branch():
    inputs = keras.Input((6, 4))
    model = keras.Model(inputs, charconv.res_block(inputs, 4, "b"))
    conv2 = model.get_layer("b_conv2")
    kernel, _ = conv2.get_weights()
    conv2.set_weights([np.zeros_like(kernel), np.array([1.0, -2.0, 0.5, 0.0], "float32")])  # branch = its bias
    x = np.random.default_rng(1).normal(size=(2, 6, 4)).astype("float32")
    np.testing.assert_allclose(model(x).numpy(), x + 0.3 * np.array([1.0, -2.0, 0.5, 0.0]), atol=1e-6)


def test_convolutions_start_as_tflibs_he_init():
    keras.utils.set_random_seed(0)
    d = charconv.critic(seq_len=8, vocab_size=5, width=256, blocks=1)
    kernel = d.get_layer("block1_conv1").get_weights()[0]  # (5, 256, 256): fan_in = fan_out = 5 * 256
    assert kernel.std() == pytest.approx(np.sqrt(4.0 / (2 * 5 * 256)), rel=0.02)
    assert np.abs(kernel).max() <= np.sqrt(3 * 4.0 / (2 * 5 * 256))  # uniform: |w| <= sqrt(3) std
