"""The GAN model: Algorithm 1's step counts, seeding, refusals, and learning the toys."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import config as cfg
from tfgan_app import games
from tfgan_app.metrics import figures as metrics
from tfgan_app.nets import mlp as models
from tfgan_app import data
from tfgan_app.data import toy as toy_data
from tfgan_app.games.gan import GAN, GANConfigError


def fit_toy(config, steps):
    """Builds and fits `config` for `steps` generator steps; returns the GAN."""
    keras.utils.set_random_seed(config.seed)
    gan = games.build(config, (toy_data.data_dim(config.problem),))
    ds, _, _ = data.data_stream(config)
    gan.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return gan


def tiny(problem="ring8", **kw):
    base = dict(g_hidden=(16,), d_hidden=(16,), batch_size=32)
    base.update(kw)
    return cfg.preset(problem, **base)


@pytest.mark.parametrize("loss,n_critic", [("non-saturating", 3), ("wgan-gp", 5), ("wgan-clip", 2)])
def test_discriminator_takes_n_critic_steps_per_generator_step(loss, n_critic):
    gan = fit_toy(tiny(loss=loss, n_critic=n_critic), steps=7)
    assert int(gan.g_optimizer.iterations) == 7
    assert int(gan.d_optimizer.iterations) == 7 * n_critic


def test_generator_takes_g_steps_steps_after_the_critic_steps():
    gan = fit_toy(tiny(n_critic=2, g_steps=3), steps=4)
    assert int(gan.g_optimizer.iterations) == 4 * 3
    assert int(gan.d_optimizer.iterations) == 4 * 2


def test_g_steps_2_is_one_critic_step_then_two_generator_steps():
    """One train step with g_steps=2 == the three steps by hand, in Algorithm 1's order."""
    config = tiny(g_steps=2)
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (config.batch_size, 2)), tf.float32)
    twice = games.build(config, (2,))
    start = twice.get_weights()
    by_hand = games.build(dataclasses.replace(config, g_steps=1), (2,))
    by_hand.set_weights(start)
    twice.train_step(x)
    by_hand.discriminator_step(x)
    by_hand.generator_step(config.batch_size)
    by_hand.generator_step(config.batch_size)
    for a, b in zip(twice.get_weights(), by_hand.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    once = games.build(dataclasses.replace(config, g_steps=1), (2,))
    once.set_weights(start)  # same start, one generator step fewer: a different generator
    once.train_step(x)
    assert any(not np.allclose(a, b) for a, b in zip(once.generator.get_weights(), twice.generator.get_weights()))


def test_learning_rates_decay_per_epoch_whatever_the_step_counts():
    """lr_decay 0.5 every epoch of 4 train steps: 8 critic and 12 generator iterations are one epoch."""
    gan = fit_toy(tiny(n_critic=2, g_steps=3, lr_decay=0.5, lr_decay_epochs=1, steps_per_epoch=4,
                       g_lr=1e-3, d_lr=2e-3), steps=3)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(2e-3)
    ds, _, _ = data.data_stream(tiny(n_critic=2, g_steps=3))
    gan.fit(ds, epochs=1, steps_per_epoch=1, verbose=0)  # the epoch's 4th step
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.5e-3)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-3)


def test_progress_metrics_per_loss_family():
    ns = fit_toy(tiny(loss="non-saturating"), steps=2)
    assert set(t.name for t in ns.metrics) == {"d_loss", "g_loss", "d_real", "d_fake", "d_objective"}
    gp = fit_toy(tiny(loss="wgan-gp", n_critic=2), steps=2)
    assert set(t.name for t in gp.metrics) == {"d_loss", "g_loss", "d_real", "d_fake", "w_dist", "gp"}
    assert gp.trackers["gp"].result() > 0


@pytest.mark.parametrize("loss,penalty,shown", [
    ("hinge", "none", {"d_real", "d_fake"}),
    ("least-squares", "lp", {"d_real", "d_fake", "lp"}),
    ("wasserstein", "fd", {"d_real", "d_fake", "w_dist", "fd"}),
    ("non-saturating", "dragan", {"d_real", "d_fake", "d_objective", "dragan"}),
])
def test_every_loss_and_penalty_trains_and_shows_its_trackers(loss, penalty, shown):
    gan = fit_toy(tiny(loss=loss, penalty=penalty, n_critic=2), steps=3)
    assert set(t.name for t in gan.metrics) == {"d_loss", "g_loss"} | shown
    assert all(np.isfinite(float(t.result())) for t in gan.metrics)
    if penalty not in ("none", "lp"):  # lp is one-sided: 0 while the critic's slopes are below 1
        assert float(gan.trackers[penalty].result()) > 0
    assert int(gan.d_optimizer.iterations) == 6


def test_wgan_gp_is_the_wasserstein_loss_with_the_gradient_penalty():
    alias, explicit = tiny(loss="wgan-gp", n_critic=2), tiny(loss="wasserstein", penalty="gp", n_critic=2)
    assert alias == explicit
    a, b = fit_toy(alias, steps=3), fit_toy(explicit, steps=3)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)


def test_weight_clipping_bounds_the_critic():
    gan = fit_toy(tiny(loss="wgan-clip", clip_value=0.05, d_lr=0.1), steps=3)
    for w in gan.discriminator.trainable_weights:
        assert np.max(np.abs(w.numpy())) <= 0.05 + 1e-7


def test_same_seed_same_weights_different_seed_different():
    a = fit_toy(tiny(seed=3), steps=5).generator.get_weights()
    b = fit_toy(tiny(seed=3), steps=5).generator.get_weights()
    c = fit_toy(tiny(seed=4), steps=5).generator.get_weights()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert any(not np.allclose(x, z) for x, z in zip(a, c))


def test_batchnorm_in_wgan_gp_critic_is_refused():
    config = tiny(loss="wgan-gp")
    g = models.toy_generator(config)
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8),
                          keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    with pytest.raises(GANConfigError, match="BatchNormalization.*LayerNorm"):
        GAN(g, d, latent_dim=2, loss="wgan-gp")
    GAN(g, d, latent_dim=2, loss="non-saturating")  # fine for the other losses


def test_stratified_noise_is_the_tutorials_linspace():
    config = cfg.preset("gaussian1d")
    gan = games.build(config, (1,))
    z = gan.sample_noise(5, tf.constant([1, 2], tf.int64)).numpy().ravel()
    jitter = z - np.linspace(-5, 5, 5)  # linspace(-r, r, M) + U(0, 0.01)
    assert np.all((jitter >= 0) & (jitter < 0.01))


def test_gaussian1d_learns_mean_and_std():
    # N(4, 0.5) with the `gaussian1d-adam` preset: bounded (uniform) noise and a
    # learning rate halved every 500 steps, so the game settles instead of orbiting
    # (with normal noise and a constant rate the std swung between 0.5x and 3x,
    # measured every 500 steps).  Measured at 3,000 steps: mean error 0.01 sigma,
    # std ratio 0.93, KS 0.06.  Tolerance: mean within 0.2 sigma, std within 20%,
    # KS < 0.15; the generator starts ~8 sigma away (KS ~ 1).
    config = cfg.preset("gaussian1d-adam")
    gan = fit_toy(config, steps=3000)
    z = gan.sample_noise(10000, tf.constant([0, 1], tf.int64))
    q = metrics.gaussian_quality(gan.generate(z).numpy())
    assert q["mean_error"] < 0.2, q
    assert 0.8 < q["std_ratio"] < 1.2, q
    assert q["ks"] < 0.15, q


def test_ring8_wgan_gp_covers_the_modes():
    config = cfg.preset("ring8-wgan-gp")
    gan = fit_toy(config, steps=1000)
    z = gan.sample_noise(2500, tf.constant([0, 1], tf.int64))
    q = metrics.mixture_quality(gan.generate(z).numpy(), toy_data.mixture_modes("ring8"), toy_data.RING_STD)
    assert q["modes"] >= 7, q


def test_pack_samples_concatenates_consecutive_samples():
    from tfgan_app.games.gan import pack_samples

    x = np.arange(12, dtype=np.float32).reshape(6, 2)  # samples (0,1), (2,3), ...
    np.testing.assert_array_equal(pack_samples(x, 3), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    images = np.arange(4 * 2 * 2 * 3, dtype=np.float32).reshape(4, 2, 2, 3)
    packed = pack_samples(images, 2).numpy()
    assert packed.shape == (2, 2, 2, 6)
    np.testing.assert_array_equal(packed[1, :, :, :3], images[2])  # pack 1 = samples 2 and 3 as channels
    np.testing.assert_array_equal(packed[1, :, :, 3:], images[3])
    assert pack_samples(images, 1) is images


def test_a_packed_discriminator_judges_packs():
    gan = fit_toy(tiny(pack=4), steps=3)
    assert gan.discriminator.input_shape == (None, 8)  # 4 samples of ring8's 2 dimensions
    logits, _ = gan.discriminate(tf.zeros([32, 2]))
    assert logits.shape == (8, 1)
    # WGAN-GP's penalty on packed interpolates: one eps per pack, finite, positive.
    gp = fit_toy(tiny(pack=2, loss="wgan-gp", n_critic=2), steps=2)
    assert np.isfinite(float(gp.trackers["gp"].result())) and float(gp.trackers["gp"].result()) > 0


def test_pack_must_divide_the_batch_and_is_unconditional():
    with pytest.raises(cfg.ConfigError, match="--pack: 3 does not divide --batch-size 32"):
        tiny(pack=3)
    with pytest.raises(cfg.ConfigError, match="--pack"):
        cfg.preset("cgan-mnist", pack=2)
    with pytest.raises(GANConfigError, match="pack"):
        GAN(models.toy_generator(tiny()), models.toy_discriminator(tiny()), latent_dim=2, pack=2,
            conditioning="cgan", num_classes=3)


def test_step_counts_below_one_and_simultaneous_with_extra_g_steps_are_refused():
    g, d = models.toy_generator(tiny()), models.toy_discriminator(tiny())
    with pytest.raises(GANConfigError, match="g_steps=0: both must be >= 1"):
        GAN(g, d, latent_dim=2, g_steps=0)
    with pytest.raises(GANConfigError, match="'simultaneous' with n_critic=1 and g_steps=1"):
        GAN(g, d, latent_dim=2, update="simultaneous", g_steps=2)


def tiny_bn_gan(ema_decay, g_steps=1):
    """A 2-D GAN whose generator has BatchNorm (non-trainable statistics), built by seed 0."""
    keras.utils.set_random_seed(0)
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8), keras.layers.BatchNormalization(),
                          keras.layers.ReLU(), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    gan = GAN(g, d, latent_dim=2, g_steps=g_steps, ema_decay=ema_decay)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    return gan


def test_weight_average_is_the_recursion_over_every_generator_variable():
    """g_steps=2, beta=0.75: avg = beta (beta theta0 + (1-beta) theta1) + (1-beta) theta2, BN statistics too."""
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (16, 2)), tf.float32)
    averaged = tiny_bn_gan(0.75, g_steps=2)
    theta0 = averaged.generator.get_weights()
    assert len(theta0) == 8 and len(averaged.generator.trainable_weights) == 6  # + 2 BN statistics
    for a, b in zip(averaged.generator_ema.get_weights(), theta0):  # the average starts at theta0
        np.testing.assert_array_equal(a, b)
    by_hand = tiny_bn_gan(0.0)
    by_hand.set_weights(averaged.generator.get_weights() + averaged.discriminator.get_weights())
    averaged.train_step(x)
    by_hand.discriminator_step(x)
    by_hand.generator_step(16)
    theta1 = by_hand.generator.get_weights()
    by_hand.generator_step(16)
    theta2 = by_hand.generator.get_weights()
    for a, b in zip(averaged.generator.get_weights(), theta2):  # averaging does not touch training
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for avg, t0, t1, t2 in zip(averaged.generator_ema.get_weights(), theta0, theta1, theta2):
        np.testing.assert_allclose(avg, 0.75 * (0.75 * t0 + 0.25 * t1) + 0.25 * t2, rtol=1e-6, atol=1e-7)
    moved = [np.abs(t2 - t0).max() for t0, t2 in zip(theta0, theta2)]
    # The check has teeth: the kernels and the BN statistics (moving mean, variance) moved.
    assert min(moved[0], moved[2], moved[6]) > 1e-2 and min(moved[4], moved[5]) > 5e-4, moved


def test_samples_come_from_the_average_and_training_from_the_generator():
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (16, 2)), tf.float32)
    gan = tiny_bn_gan(0.5)
    gan.train_step(x)
    z = tf.constant(np.random.default_rng(1).normal(size=(5, 2)), tf.float32)
    np.testing.assert_array_equal(gan.generate(z).numpy(), gan.generator_ema(z, training=False).numpy())
    assert gan.sampler is gan.generator_ema
    assert np.abs(gan.generate(z).numpy() - gan.generator(z, training=False).numpy()).max() > 1e-3
    plain = tiny_bn_gan(0.0)
    assert plain.generator_ema is None and plain.sampler is plain.generator
    with pytest.raises(GANConfigError, match=r"ema_decay: 1.0; expected 0 \(no average\) or a decay in \(0, 1\)"):
        tiny_bn_gan(1.0)


def tiny_tanh_gan(r1_weight):
    """A 2-D GAN, D(x) = w2 . tanh(W1 x + b1) + b2, SGD(0.1) for both nets, built by seed 0."""
    keras.utils.set_random_seed(0)
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    gan = GAN(g, d, latent_dim=2, r1_weight=r1_weight)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    return gan


def test_r1_step_adds_the_penalty_gradient_on_real_data():
    """grad_x D(x) = W1 (w2 * (1 - tanh^2(W1 x + b1))) in closed form; the discriminator step
    with gamma = 2 descends L_D + gamma / 2 mean ||grad_x D(x)||^2, on the real batch only."""
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (16, 2)), tf.float32)
    with_r1, plain = tiny_tanh_gan(2.0), tiny_tanh_gan(0.0)
    w1, b1, w2, b2 = with_r1.discriminator.trainable_weights
    with tf.GradientTape() as tape:
        grad_x = tf.matmul((1.0 - tf.tanh(tf.matmul(x, w1) + b1) ** 2) * w2[:, 0], w1, transpose_b=True)  # (16, 2)
        penalty = 2.0 / 2 * tf.reduce_mean(tf.reduce_sum(grad_x ** 2, axis=1))
    by_hand = tape.gradient(penalty, [w1, b1, w2])
    by_hand.append(tf.zeros_like(b2))  # grad_x D does not depend on b2
    with_r1.discriminator_step(x)
    plain.discriminator_step(x)  # the same fakes: same seed, same generator
    for a, b, g in zip(with_r1.discriminator.get_weights(), plain.discriminator.get_weights(), by_hand):
        np.testing.assert_allclose(a, b - 0.1 * g.numpy(), rtol=1e-5, atol=1e-6)
    assert max(float(tf.reduce_max(tf.abs(g))) for g in by_hand) > 1e-2  # the check has teeth
    assert float(with_r1.trackers["r1"].result()) == pytest.approx(float(penalty), rel=1e-5)
    assert "r1" not in plain.trackers
    for a, b in zip(with_r1.generator.get_weights(), plain.generator.get_weights()):
        np.testing.assert_array_equal(a, b)  # a discriminator step: the generator untouched


def test_r1_with_acgan_keeps_the_class_head_and_negative_gamma_is_refused():
    # R1's forward pass on the real batch is D's only one: its class logits must feed AC-GAN's
    # loss and accuracy exactly as a plain step's own pass does (same weights, same fakes).
    x = tf.random.stateless_uniform([8, 28, 28, 1], [1, 2], -1, 1)
    y = tf.range(8) % 10
    with_r1, plain = (games.build(cfg.preset("acgan-mnist", width=8, batch_size=8, r1_weight=gamma), (28, 28, 1), 10)
                      for gamma in (1.0, 0.0))
    plain.generator.set_weights(with_r1.generator.get_weights())  # the same start
    plain.discriminator.set_weights(with_r1.discriminator.get_weights())
    with_r1.discriminator_step(x, y)
    plain.discriminator_step(x, y)
    assert float(with_r1.trackers["r1"].result()) > 0
    for name in ("aux_loss", "aux_acc", "d_real", "d_fake"):
        assert float(with_r1.trackers[name].result()) == pytest.approx(float(plain.trackers[name].result()),
                                                                        rel=1e-5), name
    with pytest.raises(GANConfigError, match="r1_weight"):
        tiny_tanh_gan(-1.0)


def test_r1_acts_on_the_packed_input_the_discriminator_sees():
    """With --pack 2, D sees (B/2, 4): R1 = gamma / 2 mean over packs of ||grad D(packed x)||^2
    (before the fix it was the mean over the B unpacked examples: half of that)."""
    keras.utils.set_random_seed(0)
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    gan = GAN(g, d, latent_dim=2, r1_weight=3.0, pack=2)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (16, 2)), tf.float32)
    packed = tf.reshape(x, [8, 4])  # consecutive pairs side by side
    with tf.GradientTape() as tape:
        tape.watch(packed)
        scores = d(packed)
    by_hand = 3.0 / 2 * tf.reduce_mean(tf.reduce_sum(tape.gradient(scores, packed) ** 2, axis=1))
    gan.discriminator_step(x)
    assert float(gan.trackers["r1"].result()) == pytest.approx(float(by_hand), rel=1e-5)
