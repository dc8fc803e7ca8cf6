"""SRGAN (games/srgan.py): the step against the paper's written out, SRResNet, --init-from, the export."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import killed_and_resumed
from tfgan_app import config as cfg
from tfgan_app.export import archive as exporting
from tfgan_app.export.c_api import TFCApiError, run_signature
from tfgan_app.games import GameConfigError, srgan
from tfgan_app.nets import srresnet
from tfgan_app.training import run_dir
from tfgan_app.training import train as training

TINY = dict(width=4, res_blocks=1, image_size=16, batch_size=2, steps_per_epoch=2, epochs=1, plot_every=1)


def test_mse_by_hand():
    a, b = tf.zeros((2, 1, 2, 1)), tf.constant([[[[1.0], [0.0]]], [[[2.0], [2.0]]]])
    assert float(srgan.mse(a, b)) == pytest.approx((0.5 + 4.0) / 2)


def test_one_step_is_the_papers_algorithm_written_out():
    config = cfg.preset("srgan-photos", width=4, optimizer="sgd", g_lr=0.1, d_lr=0.1)
    keras.utils.set_random_seed(0)
    g = srresnet.build_srresnet(config, 3, blocks=1)
    d = srresnet.build_sr_discriminator(config, (16, 16, 3))
    lr = tf.random.stateless_uniform((2, 4, 4, 3), [3, 1], -1, 1)
    hr = tf.random.stateless_uniform((2, 16, 16, 3), [3, 2], -1, 1)
    g0, d0 = g.get_weights(), d.get_weights()
    sr = g(lr, training=True)
    with tf.GradientTape() as tape:  # D: -log D(HR) - log(1 - D(G(LR)))
        loss = tf.reduce_mean(tf.nn.softplus(-d(hr, training=True))) + tf.reduce_mean(tf.nn.softplus(d(sr, training=True)))
    for v, grad in zip(d.trainable_weights, tape.gradient(loss, d.trainable_weights)):
        v.assign_sub(0.1 * grad)
    with tf.GradientTape() as tape:  # G: MSE + 1e-3 (-log D(G(LR))), through the updated D
        sr = g(lr, training=True)
        loss = tf.reduce_mean(tf.square(sr - hr)) + 1e-3 * tf.reduce_mean(tf.nn.softplus(-d(sr, training=True)))
    for v, grad in zip(g.trainable_weights, tape.gradient(loss, g.trainable_weights)):
        v.assign_sub(0.1 * grad)
    want = g.get_weights() + d.get_weights()
    g.set_weights(g0)
    d.set_weights(d0)
    game = srgan.SRGAN(g, d, content="pixels", gan_weight=1e-3)
    game.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    game.train_step((lr, hr))
    # BatchNorm's moving statistics moved twice in the hand version (two forward passes of G):
    # compare the trainable weights.
    trainable = {id(v) for v in g.trainable_weights + d.trainable_weights}
    for v, w in zip(g.weights + d.weights, want):
        if id(v) in trainable:
            np.testing.assert_allclose(v.numpy(), w, atol=1e-5)


def test_vgg19_content_needs_a_local_weights_file(tmp_path):
    with pytest.raises(GameConfigError, match="--content-weights .*VGG19's ImageNet weights as a local file"):
        srgan.vgg19_features(str(tmp_path / "missing.h5"))


def test_srresnet_then_srgan_from_it_resumed_and_exported(tmp_path):
    pre = training.train(cfg.preset("srresnet-photos", **TINY), tmp_path / "srresnet", verbose=0)
    assert int(pre.gan.d_optimizer.iterations) == 0  # SRResNet: G alone
    config = cfg.preset("srgan-photos", init_from=str(tmp_path / "srresnet"), **dict(TINY, epochs=2))
    _, restored, _ = run_dir.restore_run(tmp_path / "srresnet")
    result = training.train(config, tmp_path / "srgan", verbose=0)
    assert int(result.gan.d_optimizer.iterations) == 4
    moved = max(float(np.abs(a - b).max()) for a, b in zip(result.gan.generator.get_weights(),
                                                          restored.generator.get_weights()))
    assert 0 < moved < 0.05  # four small steps from the SRResNet, not from a fresh initialisation
    # SIGKILLed in epoch 2 and resumed: the checkpoint, not the SRResNet again, is where it goes on.
    _, resumed, epoch = killed_and_resumed(config, tmp_path / "cut")
    assert epoch == 2
    for a, b in zip(result.gan.generator.get_weights() + result.gan.discriminator.get_weights(),
                    resumed.generator.get_weights() + resumed.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)

    export = exporting.export_run(tmp_path / "srgan", tmp_path / "exports", "sr")
    assert set(export.signatures) == {"serving_default", "upscale", "upscale_png"}
    x = np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 3)).astype(np.float32)
    out = run_signature(export.export_dir, "upscale", {"images": x})["images"]
    assert out.shape == (2, 16, 16, 3)
    np.testing.assert_allclose(out, result.gan.upscale(x), atol=1e-5)
    with pytest.raises(TFCApiError, match=r"images must be \[batch, 4, 4, 3\]"):
        run_signature(export.export_dir, "upscale", {"images": np.zeros((1, 8, 8, 3), np.float32)})


def test_init_from_a_run_of_another_game_is_refused_before_anything_is_written(tmp_path):
    toy = training.train(cfg.preset("ring8", steps_per_epoch=2, epochs=1, g_hidden=(8,), d_hidden=(8,)),
                         tmp_path / "toy", verbose=0)
    assert toy.initial_epoch == 0
    config = cfg.preset("srgan-photos", init_from=str(tmp_path / "toy"), **TINY)
    with pytest.raises(GameConfigError, match="--init-from: that run trained GAN"):
        training.train(config, tmp_path / "srgan", verbose=0)
    assert not (tmp_path / "srgan" / "config.json").exists()
    with pytest.raises(ValueError, match="--init-from .*nope"):
        training.train(cfg.preset("srgan-photos", init_from=str(tmp_path / "nope"), **TINY), tmp_path / "x", verbose=0)


def test_discriminator_content_without_a_discriminator_is_refused():
    with pytest.raises(cfg.ConfigError, match="--content: the discriminator's features need a discriminator"):
        cfg.preset("srresnet-photos", content="discriminator")
