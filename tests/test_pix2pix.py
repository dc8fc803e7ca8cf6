"""pix2pix (games/pix2pix.py): its step against the paper's algorithm written out, L1, a run, resume."""

import dataclasses
import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import SHARED_MNIST, killed_and_resumed
from fake_tf_serving import run_client
from tfgan_app import config as cfg
from tfgan_app import games
from tfgan_app.data import DataError, prepare, splits
from tfgan_app.export import archive as exporting
from tfgan_app.export.c_api import TFCApiError, run_signature
from tfgan_app.games import pix2pix
from tfgan_app.nets import patchgan, unet
from tfgan_app.training import train as training

TINY = dict(width=4, batch_size=4, steps_per_epoch=2, epochs=1, plot_every=1)


def test_l1_distance_by_hand():
    y = tf.constant([[[[1.0], [0.0]]], [[[-1.0], [0.5]]]])   # (2, 1, 2, 1)
    g = tf.constant([[[[0.5], [0.0]]], [[[1.0], [0.5]]]])
    # per example: mean(|0.5|, 0) = 0.25; mean(|-2|, 0) = 1.0; batch mean 0.625
    assert float(pix2pix.l1_distance(y, g)) == pytest.approx(0.625)


def test_one_step_is_the_papers_algorithm_written_out():
    # Section 3.3 / the authors' optimize_parameters, by hand with SGD: one forward pass of G,
    # D descends (1/2) L_cGAN, then G descends -log D(x, G(x)) + 100 L1 through the new D.
    config = cfg.preset("pix2pix-edges2digits", width=4, optimizer="sgd", g_lr=0.1, d_lr=0.1)
    keras.utils.set_random_seed(0)
    g = unet.build_unet(config, (28, 28, 1), 1, dropout=0.0)  # no dropout: the masks would differ
    d = patchgan.build_patchgan(config, (28, 28, 1), (28, 28, 1), 1)
    x = tf.random.stateless_uniform((4, 28, 28, 1), [1, 1], -1, 1)
    y = tf.random.stateless_uniform((4, 28, 28, 1), [1, 2], -1, 1)
    g0, d0 = g.get_weights(), d.get_weights()

    fake = g(x, training=True)
    with tf.GradientTape() as tape:
        real_l, fake_l = d([x, y], training=True), d([x, fake], training=True)
        d_loss = 0.5 * (tf.reduce_mean(tf.nn.softplus(-real_l)) + tf.reduce_mean(tf.nn.softplus(fake_l)))
    grads = tape.gradient(d_loss, d.trainable_weights)
    for v, gr in zip(d.trainable_weights, grads):
        v.assign_sub(0.1 * gr)
    with tf.GradientTape() as tape:
        fake = g(x, training=True)
        g_loss = tf.reduce_mean(tf.nn.softplus(-d([x, fake], training=True))) + 100 * tf.reduce_mean(tf.abs(y - fake))
    grads = tape.gradient(g_loss, g.trainable_weights)
    for v, gr in zip(g.trainable_weights, grads):
        v.assign_sub(0.1 * gr)
    want_g, want_d = g.get_weights(), d.get_weights()

    g.set_weights(g0)
    d.set_weights(d0)
    game = pix2pix.Pix2Pix(g, d, l1_weight=100.0)
    game.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    logs = game.train_step((x, y))
    for got, want in zip(g.get_weights() + d.get_weights(), want_g + want_d):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert float(logs["d_loss"]) == pytest.approx(float(d_loss), rel=1e-5)
    assert max(float(np.abs(a - b).max()) for a, b in zip(want_g, g0)) > 1e-3  # G moved


def test_simultaneous_step_is_the_tutorials_order():
    # --update simultaneous (W3): both gradients from one forward pass, D's before its update.
    config = cfg.preset("pix2pix-edges2digits", width=4)
    keras.utils.set_random_seed(1)
    g = unet.build_unet(config, (28, 28, 1), 1, dropout=0.0)
    d = patchgan.build_patchgan(config, (28, 28, 1), (28, 28, 1), 1)
    x = tf.random.stateless_uniform((2, 28, 28, 1), [2, 1], -1, 1)
    y = tf.random.stateless_uniform((2, 28, 28, 1), [2, 2], -1, 1)
    g0, d0 = g.get_weights(), d.get_weights()
    with tf.GradientTape() as gt, tf.GradientTape() as dt:
        fake = g(x, training=True)
        real_l, fake_l = d([x, y], training=True), d([x, fake], training=True)
        d_loss = 0.5 * (tf.reduce_mean(tf.nn.softplus(-real_l)) + tf.reduce_mean(tf.nn.softplus(fake_l)))
        g_loss = tf.reduce_mean(tf.nn.softplus(-fake_l)) + 100 * tf.reduce_mean(tf.abs(y - fake))
    for net, tape, loss in ((g, gt, g_loss), (d, dt, d_loss)):
        grads = tape.gradient(loss, net.trainable_weights)
        for v, gr in zip(net.trainable_weights, grads):
            v.assign_sub(0.1 * gr)
    want = g.get_weights() + d.get_weights()
    g.set_weights(g0)
    d.set_weights(d0)
    game = pix2pix.Pix2Pix(g, d, update="simultaneous")
    game.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    game.train_step((x, y))
    for got, w in zip(g.get_weights() + d.get_weights(), want):
        np.testing.assert_allclose(got, w, atol=1e-6)


def test_l1_only_baseline_trains_the_generator_alone():
    config = cfg.preset("pix2pix-edges2digits", width=4, gan_weight=0.0)
    game = pix2pix.from_config(config, {"inputs": (28, 28, 1), "targets": (28, 28, 1)})
    d0 = game.discriminator.get_weights()
    x = tf.random.stateless_uniform((2, 28, 28, 1), [4, 1], -1, 1)
    logs = game.train_step((x, x))
    assert int(game.d_optimizer.iterations) == 0 and int(game.g_optimizer.iterations) == 1
    assert all(np.array_equal(a, b) for a, b in zip(game.discriminator.get_weights(), d0))
    assert float(logs["g_loss"]) == pytest.approx(100 * float(logs["g_l1"]), rel=1e-6)


def write_digits(path, n=splits.HELD_OUT + 40):
    rng = np.random.default_rng(0)
    x = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):  # a bright rectangle per image: real edges to translate
        r, c = rng.integers(4, 14, 2)
        x[i, r:r + rng.integers(6, 12), c:c + rng.integers(3, 10)] = 255
    np.savez(path, x=x, y=np.arange(n) % 10)
    return f"edges2digits:npz:{path}"


def test_a_run_writes_its_grid_and_resumes_after_sigkill_to_the_uninterrupted_weights(tmp_path):
    spec = write_digits(tmp_path / "d.npz")
    config = cfg.preset("pix2pix-edges2digits", dataset=spec, jitter=286 / 256, mirror=True, **TINY)
    whole = training.train(dataclasses.replace(config, epochs=2), tmp_path / "whole", verbose=0)
    # SIGKILL in epoch 2, then train.py again
    _, resumed, epoch = killed_and_resumed(dataclasses.replace(config, epochs=2), tmp_path / "cut")
    assert epoch == 2
    for a, b in zip(whole.gan.generator.get_weights() + whole.gan.discriminator.get_weights(),
                    resumed.generator.get_weights() + resumed.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)  # dropout masks and jitter crops included
    assert (tmp_path / "whole" / "samples.png").read_bytes()[:4] == b"\x89PNG"
    header = (tmp_path / "whole" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"d_loss", "g_loss", "g_gan", "g_l1"} <= set(header)
    assert int(whole.gan.g_optimizer.iterations) == 4 and int(whole.gan.d_optimizer.iterations) == 4


def test_unpaired_data_is_refused_with_the_expected_forms(tmp_path):
    np.savez(tmp_path / "x.npz", x=np.zeros((8, 28, 28), np.uint8))
    config = cfg.preset("pix2pix-edges2digits", dataset=f"npz:{tmp_path / 'x.npz'}", **TINY)
    with pytest.raises(games.GameConfigError, match="pairs:DIR"):
        training.train(config, tmp_path / "run", verbose=0)
    assert not (tmp_path / "run" / "config.json").exists()


def test_one_step_on_real_mnist_edges(tmp_path):
    if not SHARED_MNIST.exists():
        pytest.skip(f"needs the MNIST test split at {SHARED_MNIST} (CI has it; a clone does not)")
    config = cfg.preset("pix2pix-edges2digits", dataset=f"edges2digits:mnist-idx:{SHARED_MNIST}",
                        **dict(TINY, steps_per_epoch=1))
    result = training.train(config, tmp_path, verbose=0)
    assert result.gan.generator.output_shape[1:] == (28, 28, 1)
    assert np.isfinite(result.history["g_l1"][0])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A one-epoch edges2digits run and its export."""
    root = tmp_path_factory.mktemp("pix2pix")
    config = cfg.preset("pix2pix-edges2digits", dataset=write_digits(root / "d.npz"), **TINY)
    result = training.train(config, root / "run", verbose=0)
    return result.gan, exporting.export_run(root / "run", root / "exports", "edges")


def test_export_translates_as_the_generator_does_through_tf_servings_loader(exported):
    game, result = exported
    assert set(result.signatures) == {"serving_default", "translate", "translate_png", "translate_sampled"}
    x = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    served = run_signature(result.export_dir, "translate", {"images": x})
    np.testing.assert_allclose(served["images"], game.translate(x), atol=1e-5)
    # Another size is refused in the graph, naming the size the export takes.
    with pytest.raises(TFCApiError, match=r"images must be \[batch, 28, 28, 1\]"):
        run_signature(result.export_dir, "translate", {"images": np.zeros((1, 32, 32, 1), np.float32)})


def test_png_in_png_out_resizes_any_image_to_the_exports_size(exported):
    game, result = exported
    big = np.zeros((56, 70), np.uint8)  # 56 px high: centre square 56x56 -> 28x28
    big[10:40, 30:40] = 255
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, format="PNG")
    served = run_signature(result.export_dir, "translate_png", {"images_bytes": np.array([buf.getvalue()], object)})
    out = np.asarray(Image.open(io.BytesIO(served["images_bytes"][0])))
    assert out.shape == (28, 28)
    square = tf.image.resize(tf.constant(big[:, 7:63, None], tf.float32), (28, 28), antialias=True)
    x = (np.round(square.numpy()) / 127.5 - 1)[None]
    want = np.clip(np.round((game.translate(x.astype(np.float32))[0, ..., 0] + 1) * 127.5), 0, 255)
    assert np.abs(out.astype(int) - want.astype(int)).max() <= 1


def test_sampled_translation_is_fixed_by_the_seed(exported):
    _, result = exported
    x = np.random.default_rng(1).uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
    loaded = tf.saved_model.load(str(result.export_dir))
    fn = loaded.signatures["translate_sampled"]
    a = fn(images=tf.constant(x), seeds=tf.constant([7, 8], tf.int64))["images"].numpy()
    b = fn(images=tf.constant(x[::-1]), seeds=tf.constant([8, 7], tf.int64))["images"].numpy()
    np.testing.assert_allclose(a, b[::-1], atol=1e-6)  # each image with its own seed, wherever it sits
    c = fn(images=tf.constant(x), seeds=tf.constant([9, 8], tf.int64))["images"].numpy()
    assert not np.allclose(a[0], c[0]) and np.allclose(a[1], c[1], atol=1e-6)


def test_client_translates_a_png_over_rest(exported, tmp_path):
    game, result = exported
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    Image.fromarray(digit).save(tmp_path / "in.png")
    out, bad = run_client(result, "edges", ["translate", "--png", str(tmp_path / "in.png"), "--out", str(tmp_path / "o.png")],
                          ["translate", "--signature", "a_to_b", "--png", str(tmp_path / "in.png"), "--out",
                           str(tmp_path / "x.png")])
    assert out.returncode == 0, out.stderr
    assert bad.returncode == 1 and "has no a_to_b_png signature; it has: translate" in bad.stderr
    got = np.asarray(Image.open(tmp_path / "o.png")).astype(int)
    want = np.round((game.translate(digit[None, ..., None].astype(np.float32) / 127.5 - 1)[0, ..., 0] + 1) * 127.5)
    assert np.abs(got - want).max() <= 1


def test_periodic_evaluation_is_refused_for_a_translation_game():
    with pytest.raises(cfg.ConfigError, match="--eval-every: periodic evaluation scores a game's own samples"):
        cfg.preset("pix2pix-edges2digits", eval_every=1)


def test_a_run_on_prepared_pairs_and_what_it_refuses(tmp_path):
    prepare.prepare(write_digits(tmp_path / "d.npz"), tmp_path / "rec", shards=2)
    config = cfg.preset("pix2pix-edges2digits", dataset=f"tfrecords:{tmp_path / 'rec'}", **TINY)
    result = training.train(config, tmp_path / "run", verbose=0)
    assert int(result.gan.g_optimizer.iterations) == 2 and result.gan.generator.output.shape[1:] == (28, 28, 1)
    # The tf.data service and file sharding read prepared images only: refused before anything is written.
    for flags, message in (({"data_service": "grpc://127.0.0.1:1"}, "the tf.data service reads prepared images"),
                           ({"data_sharding": "file"}, "holds pairs, which every worker reads whole")):
        with pytest.raises(DataError, match=message):
            training.train(dataclasses.replace(config, **flags), tmp_path / "refused", verbose=0)
        assert not (tmp_path / "refused" / "config.json").exists()
    np.savez(tmp_path / "x.npz", x=np.zeros((8, 28, 28), np.uint8))  # prepared images are not pairs
    prepare.prepare(f"npz:{tmp_path / 'x.npz'}", tmp_path / "images", shards=2)
    with pytest.raises(games.GameConfigError, match="or tfrecords:DIR prepared from one of them"):
        training.train(dataclasses.replace(config, dataset=f"tfrecords:{tmp_path / 'images'}"), tmp_path / "refused",
                       verbose=0)
    assert not (tmp_path / "refused" / "config.json").exists()
