"""LAPGAN's and StackGAN's steps as a user writes them without the project: the same networks
(tfgan_app/nets), plain optimizers and one `@tf.function` step, no game base, no `fit`.

No public TF 2 version of either exists to compare with (the authors' code is Torch and TF 0.x),
so these are the baseline `game_throughput.py` measures the games' machinery against: a ratio
near 1 says the shared base (trackers, replica-aware noise, loss scaling hooks) costs nothing.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgan_app.nets import pyramid


def _bce(logits, label: float):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), label), logits))


def lapgan_step(levels, sides, latent_dim: int, lr: float = 0.02, momentum: float = 0.5):
    """step(real): every level's D step then G step, as games/lapgan.py, written out."""
    opts = [(keras.optimizers.SGD(lr, momentum=momentum), keras.optimizers.SGD(lr, momentum=momentum))
            for _ in levels]
    top = len(levels) - 1

    def noise(k, n):
        shape = [n, latent_dim] if k == top else [n, sides[k], sides[k], 1]
        return tf.random.uniform(shape, -1.0, 1.0)

    @tf.function
    def step(real):
        gauss = pyramid.gaussian_pyramid(real, len(levels))
        n = tf.shape(real)[0]
        for k, ((g, d), (g_opt, d_opt)) in enumerate(zip(levels, opts)):
            if k == top:
                x, coarse = gauss[k], None
                gen = lambda z: g(z, training=True)  # noqa: E731
                disc = lambda img: d(img, training=True)  # noqa: E731
            else:
                coarse = pyramid.upsample(gauss[k + 1])
                x = gauss[k] - coarse
                gen = lambda z, c=coarse: g([z, c], training=True)  # noqa: E731
                disc = lambda band, c=coarse: d([band, c], training=True)  # noqa: E731
            fake = gen(noise(k, n))
            with tf.GradientTape() as tape:
                d_loss = _bce(disc(x), 1.0) + _bce(disc(fake), 0.0)
            d_opt.apply_gradients(zip(tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))
            with tf.GradientTape() as tape:
                g_loss = _bce(disc(gen(noise(k, n))), 1.0)
            g_opt.apply_gradients(zip(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))

    return step


def stackgan_step(text_model, g1, d1, latent_dim: int, c_dim: int, kl_weight: float = 2.0, side: int = 14):
    """step(images, captions): Stage I's D step then G step, as games/stackgan.py, written out."""
    g_opt, d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)

    def fake(phi, n):
        return g1([tf.random.normal([n, latent_dim]), tf.random.normal([n, c_dim]), phi], training=True)

    @tf.function
    def step(images, captions):
        real = tf.image.resize(images, [side, side], method="bilinear", antialias=True)
        phi = text_model(captions, training=False)
        wrong = tf.roll(phi, 1, axis=0)
        n = tf.shape(real)[0]
        image, _, _ = fake(phi, n)
        with tf.GradientTape() as tape:
            d_loss = (_bce(d1([real, phi], training=True), 1.0)
                      + 0.5 * (_bce(d1([real, wrong], training=True), 0.0) + _bce(d1([image, phi], training=True), 0.0)))
        d_opt.apply_gradients(zip(tape.gradient(d_loss, d1.trainable_variables), d1.trainable_variables))
        with tf.GradientTape() as tape:
            image, mu, log_sigma = fake(phi, n)
            kl = tf.reduce_mean(-log_sigma + 0.5 * (tf.exp(2.0 * log_sigma) + tf.square(mu) - 1.0))
            g_loss = _bce(d1([image, phi], training=True), 1.0) + kl_weight * kl
        g_opt.apply_gradients(zip(tape.gradient(g_loss, g1.trainable_variables), g1.trainable_variables))

    return step
