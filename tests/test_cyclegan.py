"""CycleGAN (games/cyclegan.py): the history pool against the authors' loop, one step written out,
a run that resumes with its pools, the export's two directions."""


import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import killed_and_resumed
from tfgan_app import config as cfg
from tfgan_app import games
from tfgan_app.data import DataError, prepare, splits
from tfgan_app.export import archive as exporting
from tfgan_app.export.c_api import run_signature
from tfgan_app.games import cyclegan
from tfgan_app.nets import patchgan, resnet
from tfgan_app.training import train as training

TINY = dict(width=4, res_blocks=1, batch_size=2, steps_per_epoch=2, epochs=1, plot_every=1, pool_size=3,
            linear_decay_epochs=0)


def authors_pool(size, batches, coins, slots):
    """The authors' ImagePool.query, one image at a time, with given coin flips and slot draws."""
    pool, returned, k = [], [], 0
    for batch in batches:
        out = []
        for image in batch:
            if len(pool) < size:
                pool.append(image)
                out.append(image)
            elif coins[k] > 0.5:
                old = pool[slots[k]]
                pool[slots[k]] = image
                out.append(old)
            else:
                out.append(image)
            k += 1
        returned.append(np.stack(out))
    return returned


def test_history_pool_is_the_authors_image_pool():
    holder = keras.Model()
    pool = cyclegan.HistoryPool(holder, "pool", 3, (1, 1, 1))
    batches = [np.arange(i * 2, i * 2 + 2, dtype=np.float32).reshape(2, 1, 1, 1) for i in range(6)]
    seeds = [tf.constant([i, 7], tf.int64) for i in range(6)]
    got = [pool.query(tf.constant(b), s).numpy() for b, s in zip(batches, seeds)]
    coins, slots = [], []
    for s in seeds:  # the draws query makes from each seed
        u, j = tf.unstack(tf.random.experimental.stateless_split(s, 2))
        coins += list(tf.random.stateless_uniform([2], u).numpy())
        slots += list(tf.random.stateless_uniform([2], j, 0, 3, dtype=tf.int32).numpy())
    want = authors_pool(3, batches, coins, slots)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert int(pool.count.numpy()) == 3
    assert any(not np.array_equal(g, b) for g, b in zip(got[2:], batches[2:]))  # it did hand back old images


def test_generator_loss_is_the_papers_least_squares_without_the_half():
    scores = tf.constant([[0.5], [2.0]])
    # E[(D - 1)^2] = (0.25 + 1) / 2
    assert float(cyclegan.least_squares_generator_loss(scores)) == pytest.approx(0.625)


def build(config, shape=(8, 8, 1)):
    keras.utils.set_random_seed(0)
    nets = {"g_ab": resnet.build_resnet_generator(config, shape, 1, 1, name="g_ab"),
            "g_ba": resnet.build_resnet_generator(config, shape, 1, 1, name="g_ba"),
            "d_a": patchgan.build_single_patchgan(config, shape, 1, name="d_a"),
            "d_b": patchgan.build_single_patchgan(config, shape, 1, name="d_b")}
    return nets


def test_one_step_is_the_papers_algorithm_written_out():
    config = cfg.preset("cyclegan-digits2mnist", width=4)
    nets = build(config)
    a = tf.random.stateless_uniform((2, 8, 8, 1), [2, 1], -1, 1)
    b = tf.random.stateless_uniform((2, 8, 8, 1), [2, 2], -1, 1)
    start = {k: n.get_weights() for k, n in nets.items()}
    g_ab, g_ba, d_a, d_b = nets["g_ab"], nets["g_ba"], nets["d_a"], nets["d_b"]
    mse = lambda x, t: tf.reduce_mean(tf.square(x - t))  # noqa: E731  the authors' nn.MSELoss
    l1 = lambda x, t: tf.reduce_mean(tf.abs(x - t))  # noqa: E731
    with tf.GradientTape() as tape:
        fake_b, fake_a = g_ab(a, training=True), g_ba(b, training=True)
        loss = (mse(d_b(fake_b), 1.0) + mse(d_a(fake_a), 1.0)
                + 10 * (l1(g_ba(fake_b), a) + l1(g_ab(fake_a), b))
                + 5 * (l1(g_ab(b), b) + l1(g_ba(a), a)))
    gvars = g_ab.trainable_weights + g_ba.trainable_weights
    for v, g in zip(gvars, tape.gradient(loss, gvars)):
        v.assign_sub(0.1 * g)
    with tf.GradientTape() as tape:  # a pool that is not full hands back the new images
        loss = (0.5 * (mse(d_a(a), 1.0) + mse(d_a(fake_a), 0.0)) + 0.5 * (mse(d_b(b), 1.0) + mse(d_b(fake_b), 0.0)))
    dvars = d_a.trainable_weights + d_b.trainable_weights
    for v, g in zip(dvars, tape.gradient(loss, dvars)):
        v.assign_sub(0.1 * g)
    want = {k: n.get_weights() for k, n in nets.items()}
    for k, n in nets.items():
        n.set_weights(start[k])
    game = cyclegan.CycleGAN(**nets, pool_size=50)
    game.compile({k: keras.optimizers.SGD(0.1) for k in nets})
    game.train_step((a, b))
    for k, n in nets.items():
        for got, w in zip(n.get_weights(), want[k]):
            np.testing.assert_allclose(got, w, atol=1e-6, err_msg=k)
    assert max(float(np.abs(x - y).max()) for x, y in zip(want["g_ab"], start["g_ab"])) > 1e-3
    assert int(game.pool_a.count.numpy()) == 2


def write_domains(path, n=splits.HELD_OUT + 20):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    np.savez(path, x=x, y=np.arange(n) % 10)
    return f"digits2mnist:npz:{path}"


def test_a_run_resumes_after_sigkill_to_the_uninterrupted_weights_pools_and_schedule_included(tmp_path):
    config = cfg.preset("cyclegan-digits2mnist", dataset=write_domains(tmp_path / "m.npz"),
                        **dict(TINY, epochs=2, linear_decay_epochs=1))
    whole = training.train(config, tmp_path / "whole", verbose=0)
    _, resumed, epoch = killed_and_resumed(config, tmp_path / "cut")  # SIGKILL in epoch 2, then train.py again
    assert epoch == 2
    for name, net in whole.gan.networks.items():
        for x, y in zip(net.get_weights(), resumed.networks[name].get_weights()):
            np.testing.assert_array_equal(x, y, err_msg=name)
    for pool in ("pool_a", "pool_b"):
        np.testing.assert_array_equal(getattr(whole.gan, pool).images.numpy(),
                                      getattr(resumed, pool).images.numpy())
    # The rate after the last of 4 steps: constant for 2 steps, then linearly to 0 over 2.
    assert float(whole.gan.g_ab_optimizer.learning_rate.numpy()) == pytest.approx(0.0)
    assert (tmp_path / "whole" / "samples.png").read_bytes()[:4] == b"\x89PNG"
    header = (tmp_path / "whole" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"g_loss", "cycle", "identity", "d_a_loss", "d_b_loss", "lr_g_ab", "lr_d_b"} <= set(header)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("cyclegan")
    config = cfg.preset("cyclegan-digits2mnist", dataset=write_domains(root / "m.npz"), **TINY)
    result = training.train(config, root / "run", verbose=0)
    return result.gan, exporting.export_run(root / "run", root / "exports", "digits")


def test_export_serves_both_directions_through_tf_servings_loader(exported):
    game, result = exported
    assert set(result.signatures) == {"serving_default", "a_to_b", "a_to_b_png", "b_to_a", "b_to_a_png"}
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
    for name, want in (("a_to_b", game.a_to_b(x)), ("b_to_a", game.b_to_a(x))):
        np.testing.assert_allclose(run_signature(result.export_dir, name, {"images": x})["images"], want, atol=1e-5)


def test_a_run_on_prepared_domains_and_what_it_refuses(tmp_path):
    prepare.prepare(write_domains(tmp_path / "m.npz"), tmp_path / "rec", shards=2)
    config = cfg.preset("cyclegan-digits2mnist", dataset=f"tfrecords:{tmp_path / 'rec'}", **TINY)
    result = training.train(config, tmp_path / "run", verbose=0)
    assert int(result.gan.g_ab_optimizer.iterations) == 2
    with pytest.raises(DataError, match="the tf.data service reads prepared images; .* holds domains"):
        training.train(dataclasses.replace(config, data_service="grpc://127.0.0.1:1"), tmp_path / "refused",
                       verbose=0)
    # A game that generates from noise names what the data holds instead of failing inside its nets.
    with pytest.raises(games.GameConfigError, match=r"--game gan generates images or points from noise; .* holds a, b"):
        training.train(dataclasses.replace(config, game="gan"), tmp_path / "refused", verbose=0)
    assert not (tmp_path / "refused" / "config.json").exists()
