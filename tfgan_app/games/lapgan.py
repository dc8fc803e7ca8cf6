"""LAPGAN (Denton et al. 2015): a Laplacian pyramid of GANs, sampled coarse to fine.

The image is split into a Laplacian pyramid (nets/pyramid.py): I_0 = x, I_{k+1} = d(I_k), the
bands h_k = I_k - u(I_{k+1}).  Level K-1 is a GAN on the coarsest image; each finer level k
is a conditional GAN whose generator makes the band h_k from noise and the blurry upsample
l_k = u(I_{k+1}), and whose discriminator tells real bands from generated ones given l_k
(nets/lapgan.py).  Every level trains on *real* coarse images -- the levels are independent
games, not one network trained end to end (§3.2: "each level trained independently") -- so they
train together in one step here (`levels` trains a subset: `--level k`).  Sampling runs the
cascade (§3.1, eq. 3):

    I~_{K-1} = G_{K-1}(z_{K-1}),    I~_k = u(I~_{k+1}) + G_k(z_k, u(I~_{k+1})).

Each level's game is the non-saturating GAN (the code: BCE, G's targets 1) with one D step and
one G step on fresh noise; noise is uniform in [-1, 1] (the code).  The code's D step sees half
a batch of real and half of generated examples, the paper's "mixture of 50/50"; here a full
batch of each with equal weight: the same expected gradient.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.games import losses, optimizers
from tfgan_app.games.base import AdversarialGame, GameConfigError
from tfgan_app.nets import lapgan as lapgan_nets
from tfgan_app.nets import pyramid


class LAPGAN(AdversarialGame):
    """K levels of (G_k, D_k), level 0 the finest.

    Args:
      levels: [(G_k, D_k)] for k = 0 .. K-1 (nets/lapgan.py's `build_levels`).
      sides: the image side at each level, finest first (pyramid.sides).
      latent_dim: size of the coarsest level's z.
      trained: the levels the train step trains (default: all).
      seed: seed of the noise generator the model owns.
    """

    def __init__(self, levels: list, *, sides: list[int], latent_dim: int, trained=None, seed: int = 0, **kwargs):
        if len(levels) != len(sides) or len(levels) < 2:
            raise GameConfigError(f"LAPGAN: {len(levels)} levels of nets for sides {sides}; expected one per "
                                  f"side, at least 2")
        count = len(levels)
        trained = tuple(range(count)) if trained is None else tuple(sorted(set(trained)))
        if not trained or any(not 0 <= k < count for k in trained):
            raise GameConfigError(f"LAPGAN: levels to train {trained}; expected some of 0..{count - 1}")
        networks = {}
        for k, (g, d) in enumerate(levels):
            networks[f"g{k}"], networks[f"d{k}"] = g, d
        super().__init__(networks, seed=seed,
                         trackers=[f"{name}_{k}" for k in trained for name in ("d_loss", "g_loss", "d_real", "d_fake")],
                         **kwargs)
        self.sides = [int(s) for s in sides]
        self.count = count
        self.latent_dim = int(latent_dim)
        self.trained = trained
        self.d_loss_fn, self.g_loss_fn = losses.LOSS_FAMILIES["non-saturating"]

    def compile(self, optimizers: dict, **kwargs):
        """optimizers: "gK_optimizer" / "dK_optimizer" -> optimizer, for every level (trained or not,
        so checkpoints of runs training different levels hold the same items)."""
        super().compile({name: (opt, name.split("_")[0]) for name, opt in optimizers.items()}, **kwargs)

    @property
    def coarsest(self) -> int:
        return self.count - 1

    # -- noise and the generators ------------------------------------------------------
    def level_noise(self, k: int, n, seed) -> tf.Tensor:
        """Level k's noise, uniform in [-1, 1]: z (n, latent_dim) at the coarsest level, else one
        plane (n, S_k, S_k, 1)."""
        shape = [n, self.latent_dim] if k == self.coarsest else [n, self.sides[k], self.sides[k], 1]
        return tf.random.stateless_uniform(shape, seed, -1.0, 1.0)

    def make(self, k: int, noise, coarse=None, training: bool = False):
        """G_k's output as float32: the coarsest image, or the band for the blurry `coarse`."""
        g = self.networks[f"g{k}"]
        return tf.cast(g(noise if k == self.coarsest else [noise, coarse], training=training), tf.float32)

    def judge(self, k: int, x, coarse=None, training: bool = False):
        """D_k's logits (B, 1) for an image (coarsest level) or a band given its `coarse` upsample."""
        d = self.networks[f"d{k}"]
        return tf.cast(d(x if k == self.coarsest else [x, coarse], training=training), tf.float32)

    def cascade(self, noises: list, training: bool = False) -> list:
        """[I~_0, ..., I~_{K-1}] (finest first) from one noise tensor per level (finest first):
        the coarsest image from its z, then each finer image as u(coarser) + its generated band."""
        images = [None] * self.count
        images[self.coarsest] = self.make(self.coarsest, noises[self.coarsest], training=training)
        for k in range(self.coarsest - 1, -1, -1):
            coarse = pyramid.upsample(images[k + 1])
            images[k] = coarse + self.make(k, noises[k], coarse, training=training)
        return images

    def noises(self, n, seed) -> list:
        """One noise tensor per level for n samples, all fixed by the stateless `seed`."""
        seeds = tf.unstack(tf.random.experimental.stateless_split(tf.constant(seed, tf.int64), self.count))
        return [self.level_noise(k, n, seeds[k]) for k in range(self.count)]

    # -- what training, evaluation and export ask (AdversarialGame) ---------------------
    def samples(self, n: int, seed, batch: int = 500) -> np.ndarray:
        """n full-resolution samples of the cascade."""
        noises = self.noises(n, seed)
        return np.concatenate([self.cascade([z[i:i + batch] for z in noises])[0].numpy()
                               for i in range(0, n, batch)])

    def sample_levels(self, n: int, seed) -> list[np.ndarray]:
        """Each level's image of n cascade samples (finest first): what `samples` builds on."""
        return [x.numpy() for x in self.cascade(self.noises(n, seed))]

    def sample_grid(self, seed, examples=None):
        """8 samples, one row per level, coarse to fine, each level enlarged to full size
        (pixel repetition) so the rows line up: how every level adds detail."""
        noises = self.noises(8, seed)
        side = self.sides[0]

        def draw():
            images = self.cascade(noises)
            rows = [tf.image.resize(images[k], [side, side], method="nearest") for k in range(self.coarsest, -1, -1)]
            return tf.concat(rows, 0).numpy()

        return draw, self.count

    def exported_networks(self) -> dict:
        """Every level's generator: the cascade needs them all."""
        return {f"g{k}": self.networks[f"g{k}"] for k in range(self.count)}

    def initialize_from(self, other) -> None:
        """--init-from a LAPGAN run with the same levels: every level's G and D (and so the
        levels trained there) start from it -- how levels trained one at a time (--level k)
        become one cascade."""
        if not isinstance(other, LAPGAN) or other.sides != self.sides:
            raise GameConfigError(f"--init-from: expected a LAPGAN run with levels of sides {self.sides}; got "
                                  f"{type(other).__name__}{' with sides ' + str(other.sides) if isinstance(other, LAPGAN) else ''}")
        for name, net in self.networks.items():
            net.set_weights(other.networks[name].get_weights())

    # -- the algorithm ---------------------------------------------------------------
    def train_step(self, data):
        """For every trained level, on the Laplacian pyramid of the real batch: one D step and
        one G step of that level's GAN (each level on real coarse images, independently)."""
        real = data[0] if isinstance(data, (tuple, list)) else data
        gauss = pyramid.gaussian_pyramid(tf.cast(real, tf.float32), self.count)
        for k in self.trained:
            if k == self.coarsest:
                self.level_step(k, gauss[k])
            else:
                coarse = pyramid.upsample(gauss[k + 1])  # l_k = u(I_{k+1})
                self.level_step(k, gauss[k] - coarse, coarse)  # h_k = I_k - l_k
        return self.results()

    def level_step(self, k: int, real, coarse=None):
        """Level k's GAN: ascend D_k's objective on real against generated (bands), then descend
        G_k's non-saturating loss on fresh noise."""
        n = tf.shape(real)[0]
        d_seed, g_seed = self.next_seed(2)
        fake = self.make(k, self.draw(lambda m: self.level_noise(k, m, d_seed), n), coarse, training=True)
        d_opt, g_opt = self.optimizers[f"d{k}_optimizer"], self.optimizers[f"g{k}_optimizer"]
        with tf.GradientTape() as tape:
            real_logits = self.judge(k, real, coarse, training=True)
            fake_logits = self.judge(k, fake, coarse, training=True)
            d_loss = self.d_loss_fn(real_logits, fake_logits, reduce=self.reduce)
            scaled = self.scaled(d_opt, d_loss)
        ok = self.descend(f"d{k}_optimizer", tape, scaled)
        with tf.GradientTape() as tape:
            fake = self.make(k, self.draw(lambda m: self.level_noise(k, m, g_seed), n), coarse, training=True)
            g_loss = self.g_loss_fn(self.judge(k, fake, coarse, training=True), reduce=self.reduce)
            scaled = self.scaled(g_opt, g_loss)
        self.descend(f"g{k}_optimizer", tape, scaled, ok)
        self.track(f"d_loss_{k}", d_loss)
        self.track(f"g_loss_{k}", g_loss)
        self.track(f"d_real_{k}", tf.reduce_mean(tf.sigmoid(real_logits)), global_loss=False)
        self.track(f"d_fake_{k}", tf.reduce_mean(tf.sigmoid(fake_logits)), global_loss=False)


def from_config(config, data_shape: tuple | None = None, num_classes: int = 0) -> LAPGAN:
    """The LAPGAN of `config`: `config.levels` levels over the data's (S, S, C) images, every
    level's nets and SGD optimizers, compiled; `config.level` >= 0 trains that level only."""
    from tfgan_app.config import ConfigError

    if data_shape is None or len(data_shape) != 3 or data_shape[0] != data_shape[1]:
        raise ConfigError("problem", f"lapgan generates square images; got data of shape {data_shape}")
    try:
        sides = pyramid.sides(data_shape[0], config.levels)
        levels = lapgan_nets.build_levels(config, sides, data_shape[2])
    except ValueError as e:
        raise ConfigError("levels", str(e)) from None
    trained = None if config.level < 0 else (config.level,)
    game = LAPGAN(levels, sides=sides, latent_dim=config.latent_dim, trained=trained, seed=config.seed)
    steps_per_decay = config.lr_decay_epochs * config.steps_per_epoch
    opts = {}
    for k in range(len(sides)):
        opts[f"g{k}_optimizer"] = optimizers.from_config(config, config.g_lr, steps_per_decay)
        opts[f"d{k}_optimizer"] = optimizers.from_config(config, config.d_lr, steps_per_decay)
    game.compile(opts, jit_compile=config.jit_compile, steps_per_execution=config.steps_per_execution)
    return game
