"""The DCGAN builder: feature-map sides and channels per layer, with and without --depth; initial weights."""

import keras
import numpy as np
import pytest

from tfgan_app import config as cfg
from tfgan_app.nets import dcgan as image_models


@pytest.mark.parametrize("side, depth, sides", [
    (28, 0, [7, 14, 28]),            # the DCGAN guidelines' 28 px start
    (32, 0, [4, 8, 16, 32]),
    (64, 0, [4, 8, 16, 32, 64]),
    (28, 4, [2, 4, 7, 14, 28]),      # PacGAN's Stacked MNIST generator: 28 -> 14 -> 7 -> 4 -> 2 reversed
    (28, 3, [4, 7, 14, 28]),
    (32, 4, [2, 4, 8, 16, 32]),
    (64, 5, [2, 4, 8, 16, 32, 64]),
])
def test_dcgan_sizes(side, depth, sides):
    assert image_models.dcgan_sizes(side, depth) == sides


def _maps(model, layer_type):
    return [tuple(layer.output.shape[1:]) for layer in model.layers if isinstance(layer, layer_type)]


def test_depth_4_at_28_px_halves_channels_from_8w_and_mirrors_the_discriminator():
    w = 4
    config = cfg.preset("dcgan", dataset="npz:unused.npz", width=w, depth=4, pack=2, batch_size=4)
    g, d = image_models.build(config, (28, 28, 3))
    # Dense -> (2, 2, 8w); each ConvT doubles the side (4 -> 7 by output_padding 1) and halves channels.
    reshaped = [tuple(layer.output.shape[1:]) for layer in g.layers if isinstance(layer, keras.layers.Reshape)]
    assert reshaped == [(2, 2, 8 * w)]
    assert _maps(g, keras.layers.Conv2DTranspose) == [(4, 4, 4 * w), (7, 7, 2 * w), (14, 14, w), (28, 28, 3)]
    # D takes 2 packed samples as 6 channels; 'same' stride-2 convs: 28 -> 14 -> 7 -> 4 -> 2.
    assert tuple(d.input_shape[1:]) == (28, 28, 6)
    assert _maps(d, keras.layers.Conv2D) == [(14, 14, w), (7, 7, 2 * w), (4, 4, 4 * w), (2, 2, 8 * w)]
    z = np.random.default_rng(0).normal(size=(5, config.latent_dim)).astype("float32")
    x = g(z)
    assert x.shape == (5, 28, 28, 3) and np.all(np.abs(x) <= 1)
    assert d(np.zeros((5, 28, 28, 6), "float32")).shape == (5, 1)


def test_depth_0_keeps_the_two_layer_28_px_generator():
    config = cfg.preset("dcgan", dataset="npz:unused.npz", width=4)
    g, d = image_models.build(config, (28, 28, 1))
    assert _maps(g, keras.layers.Conv2DTranspose) == [(14, 14, 4), (28, 28, 1)]
    assert _maps(d, keras.layers.Conv2D) == [(14, 14, 4), (7, 7, 8)]


def test_a_depth_that_shrinks_the_image_below_2x2_is_refused():
    config = cfg.preset("dcgan", dataset="npz:unused.npz", width=4, depth=5)
    with pytest.raises(cfg.ConfigError, match=r"--depth: 5 stride-2 layers shrink 28 px below 2x2; use at most 4"):
        image_models.build(config, (28, 28, 1))


def test_depth_is_only_for_the_dcgan_architecture():
    with pytest.raises(cfg.ConfigError, match=r"--depth: only the dcgan architecture"):
        cfg.preset("dcgan-mnist", dataset="npz:unused.npz", depth=3)
    with pytest.raises(cfg.ConfigError, match=r"--depth: expected an integer >= 0"):
        cfg.preset("dcgan", dataset="npz:unused.npz", depth=-1)


def _dcgan_kernels(seed):
    keras.utils.set_random_seed(seed)  # what training.train does with --seed before building
    g, d = image_models.build(cfg.preset("dcgan", dataset="npz:unused.npz", width=4), (28, 28, 1))
    return [w.numpy() for w in g.weights + d.weights if w.path.endswith("kernel")]


def test_dcgan_weights_are_drawn_from_n_0_0_02_per_layer_and_by_the_seed():
    first, again, other = _dcgan_kernels(0), _dcgan_kernels(0), _dcgan_kernels(1)
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)  # --seed fixes every layer's start ...
        assert not np.array_equal(a, c)  # ... and decides it
    assert len({k.ravel()[0] for k in first}) == len(first)  # each layer its own draws, not one shared stream
    dense = first[0]  # G's Dense: 100 x (7 * 7 * 2w) = 39,200 draws; std of the mean 1e-4, of the std 7e-5
    assert dense.shape == (100, 7 * 7 * 8)
    assert abs(dense.mean()) < 0.0005 and abs(dense.std() - 0.02) < 0.0005
