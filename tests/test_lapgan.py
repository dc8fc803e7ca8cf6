"""LAPGAN (games/lapgan.py, nets/lapgan.py): a level's step written out, the cascade, a run that
trains every level and resumes exactly, levels trained one at a time and joined, refusals."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import killed_and_resumed
from tfgan_app import config as cfg
from tfgan_app import games
from tfgan_app.export import archive as exporting
from tfgan_app.export.c_api import run_signature
from tfgan_app.export.lapgan import level_noises
from tfgan_app.nets import lapgan as lapgan_nets
from tfgan_app.nets import pyramid
from tfgan_app.training import train as training

TINY = dict(width=4, g_hidden=(16, 16), d_hidden=(16,), latent_dim=8, batch_size=4, steps_per_epoch=2,
            epochs=2, plot_every=1)


def write_digits(path, n=16, seed=0) -> str:
    rng = np.random.default_rng(seed)
    np.savez(path, x=rng.integers(0, 256, size=(n, 28, 28, 1), dtype=np.uint8))
    return f"npz:{path}"


def build(config):
    return games.build(config, (28, 28, 1))


def softplus(x):
    return tf.nn.softplus(x)


def test_a_band_levels_step_is_the_non_saturating_gan_written_out():
    config = cfg.preset("lapgan-mnist", dataset="npz:unused", **dict(TINY, optimizer="sgd", momentum=0.0,
                                                              lr_decay=1.0, g_lr=0.1, d_lr=0.1))
    keras.utils.set_random_seed(0)
    game = build(config)
    game.trained = (0,)
    real = tf.random.stateless_uniform((4, 28, 28, 1), [1, 2], -1, 1)
    gauss = pyramid.gaussian_pyramid(real, 3)
    coarse = pyramid.upsample(gauss[1])
    band = gauss[0] - coarse
    noises = [tf.random.stateless_uniform((4, 28, 28, 1), [5, i], -1, 1) for i in range(2)]
    g, d = game.g0, game.d0
    g_start, d_start = g.get_weights(), d.get_weights()
    # The hand version (dropout off in both: rate 0 so the forward passes agree).
    for layer in d.layers:
        if hasattr(layer, "rate"):
            layer.rate = 0.0
    fake = g([noises[0], coarse])
    with tf.GradientTape() as tape:  # D: -log D(h) - log(1 - D(h~)), D seeing band + l
        loss = tf.reduce_mean(softplus(-d([band, coarse]))) + tf.reduce_mean(softplus(d([fake, coarse])))
    for v, grad in zip(d.trainable_weights, tape.gradient(loss, d.trainable_weights)):
        v.assign_sub(0.1 * grad)
    with tf.GradientTape() as tape:  # G: -log D(G(z, l)) on fresh noise, through the updated D
        loss = tf.reduce_mean(softplus(-d([g([noises[1], coarse]), coarse])))
    for v, grad in zip(g.trainable_weights, tape.gradient(loss, g.trainable_weights)):
        v.assign_sub(0.1 * grad)
    want = g.get_weights() + d.get_weights()
    g.set_weights(g_start)
    d.set_weights(d_start)
    calls = iter(noises)
    game.level_noise = lambda k, n, seed: next(calls)  # the same two draws
    game.train_step(real)
    for got, expected in zip(g.get_weights() + d.get_weights(), want):
        np.testing.assert_allclose(got, expected, atol=1e-6)
    assert game.g1.get_weights()[0].shape and int(game.g1_optimizer.iterations) == 0  # level 1 untouched


def test_the_cascade_adds_each_generated_band_to_the_upsampled_coarser_image():
    game = build(cfg.preset("lapgan-mnist", dataset="npz:unused", **TINY))
    images = game.sample_levels(5, (3, 4))
    assert [x.shape for x in images] == [(5, 28, 28, 1), (5, 14, 14, 1), (5, 7, 7, 1)]
    noises = game.noises(5, (3, 4))
    for k in (0, 1):
        coarse = pyramid.upsample(images[k + 1])
        band = game.g0 if k == 0 else game.g1
        np.testing.assert_allclose(images[k] - coarse.numpy(), band([noises[k], coarse]).numpy(), atol=1e-5)
    np.testing.assert_array_equal(game.samples(5, (3, 4)), images[0])  # same seed, same images
    assert not np.array_equal(game.samples(5, (3, 5)), images[0])
    draw, rows = game.sample_grid((0, 1))
    assert rows == 3 and draw().shape == (24, 28, 28, 1)  # coarse to fine, each at full size


def test_a_run_trains_every_level_and_resumes_after_sigkill_to_the_uninterrupted_weights(tmp_path):
    config = cfg.preset("lapgan-mnist", dataset=write_digits(tmp_path / "d.npz"), **TINY)
    whole = training.train(config, tmp_path / "whole", verbose=0)
    for k in range(3):
        assert int(whole.gan.optimizers[f"g{k}_optimizer"].iterations) == 4
        assert int(whole.gan.optimizers[f"d{k}_optimizer"].iterations) == 4
    assert (tmp_path / "whole" / "grids").is_dir() and list((tmp_path / "whole" / "grids").glob("*.png"))
    _, resumed, epoch = killed_and_resumed(config, tmp_path / "cut")  # SIGKILL in epoch 2, then train.py again
    assert epoch == 2
    for a, b in zip(whole.gan.get_weights(), resumed.get_weights()):  # every level's nets
        np.testing.assert_array_equal(a, b)

    # The export runs the cascade through TF Serving's loader: the same seeds, the same images.
    export = exporting.export_run(tmp_path / "whole", tmp_path / "exports", "lapgan")
    assert set(export.signatures) == {"serving_default", "generate", "generate_levels", "generate_png"}
    seeds = np.array([0, 7, -3, 2**62], np.int64)
    levels = run_signature(export.export_dir, "generate_levels", {"seeds": seeds})
    assert [levels[f"level_{k}"].shape for k in range(3)] == [(4, 28, 28, 1), (4, 14, 14, 1), (4, 7, 7, 1)]
    want = whole.gan.cascade(level_noises(seeds, [28, 14, 7], 8))
    for k in range(3):
        np.testing.assert_allclose(levels[f"level_{k}"], want[k].numpy(), atol=1e-5)
    one = run_signature(export.export_dir, "generate", {"seeds": seeds[1:2]})["samples"]
    np.testing.assert_allclose(one[0], levels["level_0"][1], atol=1e-5)  # a seed's images do not depend on the batch


def test_levels_trained_one_at_a_time_join_with_init_from(tmp_path):
    data = write_digits(tmp_path / "d.npz")
    base = training.train(cfg.preset("lapgan-mnist", dataset=data, level=2, **dict(TINY, epochs=1)),
                          tmp_path / "base", verbose=0)
    assert int(base.gan.g2_optimizer.iterations) == 2 and int(base.gan.g1_optimizer.iterations) == 0
    fine = training.train(cfg.preset("lapgan-mnist", dataset=data, level=1, init_from=str(tmp_path / "base"),
                                     **dict(TINY, epochs=1)), tmp_path / "fine", verbose=0)
    for name in ("g2", "d2"):  # the base level as run 1 left it
        for a, b in zip(base.gan.networks[name].get_weights(), fine.gan.networks[name].get_weights()):
            np.testing.assert_array_equal(a, b)
    assert int(fine.gan.g1_optimizer.iterations) == 2
    moved = [not np.array_equal(a, b) for a, b in zip(base.gan.g1.get_weights(), fine.gan.g1.get_weights())]
    assert any(moved)


def test_refusals_name_the_field():
    with pytest.raises(cfg.ConfigError, match="levels.*7 does not halve"):
        build(cfg.preset("lapgan-mnist", dataset="npz:unused", levels=4, **TINY))
    with pytest.raises(cfg.ConfigError, match="level.*0..2"):
        cfg.preset("lapgan-mnist", dataset="npz:unused", level=3)
    with pytest.raises(ValueError, match="at least 13"):
        lapgan_nets.band_discriminator(cfg.preset("lapgan-mnist", dataset="npz:unused"), 12, 1, "d")
    with pytest.raises(games.GameConfigError, match="--init-from: expected a LAPGAN"):
        build(cfg.preset("lapgan-mnist", dataset="npz:unused", **TINY)).initialize_from(object())
