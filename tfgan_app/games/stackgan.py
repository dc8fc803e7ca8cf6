"""StackGAN (Zhang et al. 2017): text to image in two stages, with Conditioning Augmentation.

A frozen text encoder (nets/text_encoder.py: Reed et al.'s joint embedding) turns each
caption into phi_t.  Stage I draws a low-resolution image from (z, c1); Stage II redraws it at
full resolution from (the Stage-I image, c2); each stage's c = mu + sigma * eps comes from its own
Conditioning Augmentation (nets/stackgan.py), whose KL to N(0, I) joins the generator's loss
with weight 2 (the authors' TRAIN.COEFF.KL; the paper writes lambda = 1).  Stage I trains first;
Stage II trains with Stage I frozen (`--stage 2 --init-from STAGE1_RUN`), as the paper.

One step of a stage (the authors' trainer; Reed et al.'s GAN-CLS):
  1. D: real image with its caption -> real; real image with a mismatched caption ("wrong": the
     global batch's captions rolled by one, as the authors' PyTorch code) and the generated image
     with the caption -> fake, half weight each (losses.matching_aware_discriminator_loss);
  2. G: the non-saturating loss of D on a fresh generated image, + kl_weight x KL(CA).
Stage I's discriminator sees real images downsized to its resolution (bilinear, antialiased).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfgan_app.data import captions as caption_words
from tfgan_app.games import losses, optimizers
from tfgan_app.games.base import AdversarialGame, GameConfigError
from tfgan_app.nets import stackgan as stackgan_nets


class StackGAN(AdversarialGame):
    """Text encoder (frozen), Stage I (g1, d1) and, for stage 2, Stage II (g2, d2).

    Args:
      text_encoder: strings (B,) -> phi_t (B, phi_dim), not trained here.
      g1, d1: Stage I's generator [z, eps, phi] -> (image, mu, log_sigma) and D [image, phi] -> logit.
      g2, d2: Stage II's (stage 2 only).
      stage: 1 or 2 (the stage this game trains; Stage I is frozen in stage 2).
      latent_dim, c_dim: sizes of z and of c.
      kl_weight: weight of the CA's KL term.
      augment: False: no Conditioning Augmentation (eps = 0 and no KL: c = mu, the ablation).
      seed: seed of the noise generator the model owns.
    """

    def __init__(self, text_encoder, g1, d1, g2=None, d2=None, *, stage: int = 1, latent_dim: int = 100,
                 c_dim: int = 128, kl_weight: float = 2.0, augment: bool = True, seed: int = 0, **kwargs):
        if stage not in (1, 2) or (stage == 2 and (g2 is None or d2 is None)):
            raise GameConfigError(f"stage {stage}: expected 1, or 2 with Stage II's networks")
        networks = {"text_encoder": text_encoder, "g1": g1, "d1": d1}
        if stage == 2:
            networks.update(g2=g2, d2=d2)
        super().__init__(networks, seed=seed, trackers=("d_loss", "g_loss", "kl", "d_real", "d_wrong", "d_fake"),
                         **kwargs)
        text_encoder.trainable = False
        if stage == 2:
            g1.trainable = d1.trainable = False  # Stage I is frozen while Stage II trains
        self.stage = stage
        self.latent_dim, self.c_dim = int(latent_dim), int(c_dim)
        self.kl_weight = float(kl_weight) if augment else 0.0
        self.augment = bool(augment)

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        g, d = ("g1", "d1") if self.stage == 1 else ("g2", "d2")
        super().compile({"g_optimizer": (g_optimizer, g), "d_optimizer": (d_optimizer, d)}, **kwargs)

    @property
    def generator(self):
        return self.networks["g1" if self.stage == 1 else "g2"]

    @property
    def discriminator(self):
        return self.networks["d1" if self.stage == 1 else "d2"]

    @property
    def side(self) -> int:
        """The side of the images this game makes."""
        return int(self.generator.output[0].shape[1])

    # -- text, noise and the generators -----------------------------------------------
    def embed(self, text):
        """phi_t (B, phi_dim) float32 of strings (B,), from the frozen encoder."""
        return tf.cast(self.networks["text_encoder"](text, training=False), tf.float32)

    def noise(self, n, seed) -> tuple:
        """(z (n, latent_dim), eps1 (n, c_dim), eps2 (n, c_dim)), all N(0, I), from a stateless seed;
        eps is zero without Conditioning Augmentation."""
        seeds = tf.unstack(tf.random.experimental.stateless_split(tf.constant(seed, tf.int64)
                                                                  if not tf.is_tensor(seed) else seed, 3))
        z = tf.random.stateless_normal([n, self.latent_dim], seeds[0])
        eps = [tf.random.stateless_normal([n, self.c_dim], s) if self.augment else tf.zeros([n, self.c_dim])
               for s in seeds[1:]]
        return z, eps[0], eps[1]

    def make(self, z, eps1, eps2, phi, training: bool = False):
        """(image, mu, log_sigma) of the trained stage: Stage I's, or Stage II's on Stage I's image."""
        low, mu, log_sigma = self.networks["g1"]([z, eps1, phi], training=training and self.stage == 1)
        if self.stage == 1:
            return tf.cast(low, tf.float32), mu, log_sigma
        image, mu, log_sigma = self.networks["g2"]([low, eps2, phi], training=training)
        return tf.cast(image, tf.float32), mu, log_sigma

    def generate_from_text(self, text, z, eps1, eps2):
        """Images (B, S, S, C) for captions (B,) and noise, in inference mode: what the export serves."""
        return self.make(z, eps1, eps2, self.embed(text))[0]

    # -- what training, evaluation and export ask (AdversarialGame) ---------------------
    @staticmethod
    def evaluation_captions(n: int) -> np.ndarray:
        """n captions cycling every (digit, thickness, slant, width) in the first training phrasing:
        what `samples` draws for (the classifier-based figures get every digit equally often)."""
        combos = [(d, t, s, w) for d in range(10) for t in range(3) for s in range(3) for w in range(2)]
        return np.array([caption_words.caption(*combos[i % len(combos)], caption_words.TRAIN_TEMPLATES[0])
                         for i in range(n)])

    def samples(self, n: int, seed, batch: int = 500) -> np.ndarray:
        text = self.evaluation_captions(n)
        z, e1, e2 = self.noise(n, seed)
        return np.concatenate([self.generate_from_text(tf.constant(text[i:i + batch]), z[i:i + batch],
                                                       e1[i:i + batch], e2[i:i + batch]).numpy()
                               for i in range(0, n, batch)])

    def sample_grid(self, seed, examples=None):
        """One row per digit, 8 columns: thin, medium and thick upright, then leaning left and right
        (medium), then three more noises of the medium upright caption (how varied one caption is)."""
        columns = [(0, 1), (1, 1), (2, 1), (1, 0), (1, 2), (1, 1), (1, 1), (1, 1)]  # (thickness, slant)
        text = tf.constant([caption_words.caption(d, t, s, 0, caption_words.TRAIN_TEMPLATES[0])
                            for d in range(10) for t, s in columns])
        z, e1, e2 = self.noise(80, seed)
        return (lambda: self.generate_from_text(text, z, e1, e2).numpy()), 10

    def exported_networks(self) -> dict:
        return {name: self.networks[name] for name in ("text_encoder", "g1", "g2") if name in self.networks}

    def initialize_from(self, other) -> None:
        """--init-from a Stage-I run (stage 2): its text encoder and Stage I, frozen here."""
        if not isinstance(other, StackGAN) or other.stage != 1:
            raise GameConfigError(f"--init-from: Stage II starts from a finished Stage-I StackGAN run (--stage 1); "
                                  f"got {type(other).__name__}{' of stage 2' if isinstance(other, StackGAN) else ''}")
        for name in ("text_encoder", "g1", "d1"):
            self.networks[name].set_weights(other.networks[name].get_weights())

    # -- the algorithm ---------------------------------------------------------------
    def train_step(self, data):
        """One D step and one G step of the trained stage (module docstring)."""
        real, text = data
        real = tf.cast(real, tf.float32)
        if self.stage == 1:
            real = tf.image.resize(real, [self.side, self.side], method="bilinear", antialias=True)
        phi = self.embed(text)
        wrong = self.mismatched(phi)
        n = tf.shape(real)[0]
        d_seed, g_seed = self.next_seed(2)
        fake, _, _ = self.make(*self._draw_noise(n, d_seed), phi, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator([real, phi], training=True)
            wrong_logits = self.discriminator([real, wrong], training=True)
            fake_logits = self.discriminator([fake, phi], training=True)
            d_loss = losses.matching_aware_discriminator_loss(real_logits, wrong_logits, fake_logits,
                                                              reduce=self.reduce)
            scaled = self.scaled(self.d_optimizer, d_loss)
        ok = self.descend("d_optimizer", tape, scaled)
        with tf.GradientTape() as tape:
            fake, mu, log_sigma = self.make(*self._draw_noise(n, g_seed), phi, training=True)
            g_loss = losses.non_saturating_generator_loss(self.discriminator([fake, phi], training=True),
                                                          reduce=self.reduce)
            kl = losses.conditioning_augmentation_kl(mu, log_sigma, reduce=self.reduce)
            scaled = self.scaled(self.g_optimizer, g_loss + self.kl_weight * kl)
        self.descend("g_optimizer", tape, scaled, ok)
        self.track("d_loss", d_loss)
        self.track("g_loss", g_loss)
        self.track("kl", kl)
        for name, logits in (("d_real", real_logits), ("d_wrong", wrong_logits), ("d_fake", fake_logits)):
            self.track(name, tf.reduce_mean(tf.sigmoid(tf.cast(logits, tf.float32))), global_loss=False)
        return self.results()

    @staticmethod
    def mismatched(phi):
        """This replica's rows of the global batch's embeddings rolled by one: each real image gets
        the caption of the image before it (the authors' PyTorch code), the same under R replicas
        as on one device (the embeddings are all-gathered first)."""
        ctx = tf.distribute.get_replica_context()
        if ctx is None or ctx.num_replicas_in_sync == 1:
            return tf.roll(phi, shift=1, axis=0)
        everything = ctx.all_gather(phi, axis=0)
        n = tf.shape(phi)[0]
        start = ctx.replica_id_in_sync_group * n
        return tf.roll(everything, shift=1, axis=0)[start:start + n]

    def _draw_noise(self, n, seed):
        """This replica's rows of the global batch's (z, eps1, eps2)."""
        drawn = self.draw(lambda m: tf.concat(self.noise(m, seed), axis=1), n)
        return tf.split(drawn, [self.latent_dim, self.c_dim, self.c_dim], axis=1)


def from_config(config, data_shape: tuple | None = None, num_classes: int = 0) -> StackGAN:
    """The StackGAN of `config`: the frozen text encoder (config.text_encoder, or the one trained for
    the dataset and cached: nets/text_encoder.py), the stage's networks and Adam optimizers."""
    from tfgan_app.config import ConfigError
    from tfgan_app.nets import text_encoder as encoders

    if data_shape is None or len(data_shape) != 3 or data_shape[0] != data_shape[1]:
        raise ConfigError("dataset", f"stackgan makes square images from captions; got data of shape {data_shape}")
    side, channels = int(data_shape[0]), int(data_shape[2])
    if tf.distribute.get_strategy().num_replicas_in_sync > 1:
        # Keras's fit under a multi-replica strategy fails on string inputs (an AddN of strings):
        # the captions would have to be tokenized in the input pipeline first.  Not done yet.
        raise ConfigError("strategy", "stackgan trains on one device for now (its captions are strings, which "
                          "Keras's fit cannot split over replicas): use --strategy default")
    try:
        text_model = encoders.text_encoder_for(config)
    except ValueError as e:  # its message names --text-encoder
        raise GameConfigError(str(e)) from None
    phi_dim = int(text_model.output.shape[-1])
    try:
        g1 = stackgan_nets.stage1_generator(config, side // 2, channels, phi_dim, config.c_dim)
        d1 = stackgan_nets.discriminator(config, side // 2, channels, phi_dim, config.c_dim, "d1")
        g2 = d2 = None
        if config.stage == 2:
            g2 = stackgan_nets.stage2_generator(config, side, channels, phi_dim, config.c_dim, config.res_blocks)
            d2 = stackgan_nets.discriminator(config, side, channels, phi_dim, config.c_dim, "d2")
    except ValueError as e:
        raise ConfigError("image_size", str(e)) from None
    game = StackGAN(text_model, g1, d1, g2, d2, stage=config.stage, latent_dim=config.latent_dim, c_dim=config.c_dim,
                    kl_weight=config.kl_weight, augment=config.augment, seed=config.seed)
    steps_per_decay = config.lr_decay_epochs * config.steps_per_epoch
    game.compile(optimizers.from_config(config, config.g_lr, steps_per_decay),
                 optimizers.from_config(config, config.d_lr, steps_per_decay),
                 jit_compile=config.jit_compile, steps_per_execution=config.steps_per_execution)
    return game
