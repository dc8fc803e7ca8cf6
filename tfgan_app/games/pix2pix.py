"""pix2pix (Isola et al. 2017): image-to-image translation with a conditional GAN.

    G* = arg min_G max_D  L_cGAN(G, D) + lambda L_L1(G)                      (eq. 4)
    L_cGAN(G, D) = E_{x,y}[log D(x, y)] + E_x[log(1 - D(x, G(x)))]            (eq. 1)
    L_L1(G)      = E_{x,y}[||y - G(x)||_1]                                    (eq. 3)

with the U-Net generator (nets/unet.py; no noise input: the paper's only noise is dropout)
and the PatchGAN discriminator (nets/patchgan.py), whose logits are averaged over patches.
Training follows the paper's Sec. 3.3 and the authors' code (pytorch-CycleGAN-and-pix2pix,
`Pix2PixModel.optimize_parameters`): one forward pass of G; one gradient step on D with
its objective divided by 2 ("to slow down the rate at which D learns"); then one step on G
with the non-saturating loss (-log D(x, G(x))) plus lambda = 100 times the L1 distance,
through the updated D and the same forward pass of G.  Adam(2e-4, 0.5, 0.999).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfgan_app.config import Config
from tfgan_app.games import losses, optimizers
from tfgan_app.games.base import AdversarialGame, GameConfigError
from tfgan_app.nets import patchgan, unet
from tfgan_app.nets.precision import precision_policy


def l1_distance(targets, outputs, reduce=tf.reduce_mean):
    """L_L1 = E[||y - G(x)||_1] with the norm taken as the mean absolute difference per pixel
    (the authors' nn.L1Loss and the TF tutorial's reduce_mean(abs(.)))."""
    diff = tf.abs(tf.cast(targets, tf.float32) - tf.cast(outputs, tf.float32))
    return reduce(tf.reduce_mean(tf.reshape(diff, [tf.shape(diff)[0], -1]), axis=1))


class Pix2Pix(AdversarialGame):
    """The pix2pix game.  data: (inputs x, targets y), float32 in [-1, 1]."""

    def __init__(self, generator, discriminator, *, l1_weight: float = 100.0, gan_weight: float = 1.0,
                 update: str = "alternating", seed: int = 0, **kwargs):
        super().__init__({"generator": generator, "discriminator": discriminator}, seed=seed,
                         trackers=("d_loss", "g_loss", "g_gan", "g_l1", "d_real", "d_fake"), **kwargs)
        self.l1_weight, self.gan_weight = float(l1_weight), float(gan_weight)
        if update not in ("alternating", "simultaneous"):
            raise GameConfigError(f"--update {update!r}: expected alternating or simultaneous")
        self.update = update

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile({"g_optimizer": (g_optimizer, "generator"),
                         "d_optimizer": (d_optimizer, "discriminator")}, **kwargs)

    def train_step(self, data):
        x, y = data
        if not self.gan_weight:
            return self.l1_step(x, y)
        if self.update == "simultaneous":
            return self.simultaneous_step(x, y)
        with tf.GradientTape() as g_tape:  # G's forward pass, recorded for its step below
            fake = tf.cast(self.generator(x, training=True), tf.float32)
        # 1. D: descend -(1/2) L_cGAN on (x, y) against (x, G(x)), G held fixed.
        with tf.GradientTape() as d_tape:
            real_logits = self.discriminator([x, y], training=True)
            fake_logits = self.discriminator([x, tf.stop_gradient(fake)], training=True)
            d_loss = 0.5 * losses.minimax_discriminator_loss(real_logits, fake_logits, self.reduce)
            scaled = self.scaled(self.d_optimizer, d_loss)
        d_ok = self.descend("d_optimizer", d_tape, scaled)
        # 2. G: descend -log D(x, G(x)) + lambda ||y - G(x)||_1 through the updated D.
        with g_tape:
            fooled = self.discriminator([x, fake], training=True)
            g_gan = losses.non_saturating_generator_loss(fooled, self.reduce)
            g_l1 = l1_distance(y, fake, self.reduce)
            g_loss = self.gan_weight * g_gan + self.l1_weight * g_l1
            scaled = self.scaled(self.g_optimizer, g_loss)
        self.descend("g_optimizer", g_tape, scaled, ok=d_ok)
        return self._track_step(d_loss, g_loss, g_gan, g_l1, real_logits, fake_logits)

    def simultaneous_step(self, x, y):
        """The TF pix2pix tutorial's step (`--update simultaneous`): one forward pass of G and of
        D on real and generated pairs, both gradients from it, both applied (D's 'fake' logits
        are the ones G is trained through, before D's update).  One D pass less than the
        authors' order: W3 compares it with the tutorial's step."""
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = tf.cast(self.generator(x, training=True), tf.float32)
            real_logits = self.discriminator([x, y], training=True)
            fake_logits = self.discriminator([x, fake], training=True)
            d_loss = 0.5 * losses.minimax_discriminator_loss(real_logits, fake_logits, self.reduce)
            g_gan = losses.non_saturating_generator_loss(fake_logits, self.reduce)
            g_l1 = l1_distance(y, fake, self.reduce)
            g_loss = self.gan_weight * g_gan + self.l1_weight * g_l1
            d_scaled = self.scaled(self.d_optimizer, d_loss)
            g_scaled = self.scaled(self.g_optimizer, g_loss)
        d_ok = self.descend("d_optimizer", d_tape, d_scaled)
        self.descend("g_optimizer", g_tape, g_scaled, ok=d_ok)
        return self._track_step(d_loss, g_loss, g_gan, g_l1, real_logits, fake_logits)

    def _track_step(self, d_loss, g_loss, g_gan, g_l1, real_logits, fake_logits) -> dict:
        """The step's losses and D's mean outputs into the trackers; their values."""
        for name, value in (("d_loss", d_loss), ("g_loss", g_loss), ("g_gan", g_gan), ("g_l1", g_l1)):
            self.track(name, value)
        self.track("d_real", tf.reduce_mean(tf.sigmoid(real_logits)), global_loss=False)
        self.track("d_fake", tf.reduce_mean(tf.sigmoid(fake_logits)), global_loss=False)
        return self.results()

    def l1_step(self, x, y):
        """The paper's L1-only baseline (gan_weight 0): G descends lambda ||y - G(x)||_1; no D."""
        with tf.GradientTape() as tape:
            fake = tf.cast(self.generator(x, training=True), tf.float32)
            g_l1 = l1_distance(y, fake, self.reduce)
            g_loss = self.l1_weight * g_l1
            scaled = self.scaled(self.g_optimizer, g_loss)
        self.descend("g_optimizer", tape, scaled)
        self.track("g_loss", g_loss)
        self.track("g_l1", g_l1)
        return self.results()

    # -- what training, evaluation and export ask -----------------------------------------
    def translate(self, x, batch: int = 500) -> np.ndarray:
        """G(x) in inference mode (dropout off), float32, `batch` images at a time."""
        return np.concatenate([tf.cast(self.generator(x[i:i + batch], training=False), tf.float32).numpy()
                               for i in range(0, len(x), batch)])

    def sample_grid(self, seed, examples=None):
        """Inputs, their translations and the targets, a row each, for up to 3 groups of 8 pairs
        of the data's first examples."""
        if examples is None:
            raise GameConfigError("pix2pix's picture grid shows real inputs: pass examples()")
        x, y = (np.asarray(t) for t in examples())
        cols = min(8, len(x))
        groups = min(3, len(x) // cols)
        x, y = x[:groups * cols], y[:groups * cols]

        def draw():
            out = self.translate(x)
            c = out.shape[-1]

            def show(a):  # the inputs in the outputs' channels (an edge map beside a photo)
                if a.shape[-1] == c:
                    return a
                return np.repeat(a, c, -1) if a.shape[-1] == 1 else a.mean(-1, keepdims=True)
            return np.concatenate([np.concatenate([show(x[i:i + cols]), out[i:i + cols], y[i:i + cols]])
                                   for i in range(0, len(x), cols)])

        return draw, 3 * groups

    def samples(self, n, seed, batch=500):
        raise GameConfigError("pix2pix translates inputs and has no samples of its own; its figures "
                              "(L1, PSNR and the classifier's agreement on held-out pairs) are not built yet")

    def exported_networks(self) -> dict:
        return {"generator": self.generator}


def from_config(config: Config, data_shape: dict | None = None, num_classes: int = 0) -> Pix2Pix:
    """pix2pix's U-Net and PatchGAN for data of shape {"inputs": (S, S, Ci), "targets": (S, S, Co)}."""
    if not isinstance(data_shape, dict) or set(data_shape) != {"inputs", "targets"}:
        raise GameConfigError(f"--game pix2pix translates paired images: expected --dataset pairs:DIR, "
                              f"pairs:DIR_A,DIR_B, edges2digits:SPEC or tfrecords:DIR prepared from one of them, "
                              f"got data of shape {data_shape}")
    inputs, targets = tuple(data_shape["inputs"]), tuple(data_shape["targets"])
    if inputs[:2] != targets[:2]:
        raise GameConfigError(f"pix2pix: inputs {inputs} and targets {targets} differ in size")
    with precision_policy(config.precision):
        generator = unet.build_unet(config, inputs, targets[-1], name="generator")
        discriminator = patchgan.build_patchgan(config, inputs, targets, config.patch_layers, name="discriminator")
    game = Pix2Pix(generator, discriminator, l1_weight=config.l1_weight, gan_weight=config.gan_weight,
                   update=config.update, seed=config.seed)
    decay = config.lr_decay_epochs * config.steps_per_epoch
    game.compile(g_optimizer=optimizers.from_config(config, config.g_lr, decay),
                 d_optimizer=optimizers.from_config(config, config.d_lr, decay),
                 jit_compile=config.jit_compile, steps_per_execution=config.steps_per_execution)
    return game
