"""MidiNet (Yang et al. 2017): melodies bar by bar, each bar from noise, the bar's chord and the bar
before it (nets/midinet.py), as the authors' code (`v1/model.py`) trains it.

One step, on a batch of (bar x, previous bar, chord y):
    1. D: z ~ N(0, I);  L_D = BCE(D(x, y), 0.9) + BCE(D(G(z, y, prev), y), 0)   (one-sided label smoothing)
    2. G, twice, on the same batch and the same z (the code's choice, "to make sure that d_loss
       does not go to zero" -- not the paper's):
           L_G = BCE(D(G(z), y), 1) + 0.1 x 1/2 ||mean f(x) - mean f(G(z))||^2 + 0.01 x 1/2 ||mean x - mean G(z)||^2
       f = D's first layer (feature matching), means over the batch.
Adam(beta_1 0.5) for both.  A melody of N bars is generated bar by bar: the first bar's previous
bar is silence, each later bar's the bar just made (decoded: the loudest pitch of each step when
its activation is above 1/2, else a rest), with noise and chord per bar.

A model trained with `--chords false` (melodies without chords) gets the zero chord vector
everywhere; its export takes no chords.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfgan_app.data import melody as melody_data
from tfgan_app.games import losses, optimizers
from tfgan_app.games.base import AdversarialGame, GameConfigError, replica_count
from tfgan_app.nets import midinet as midinet_nets
from tfgan_app.nets.precision import precision_policy

FEATURE_WEIGHT = 0.1    # the code's lambda on D's first-layer features
DATA_WEIGHT = 0.01      # ... and on the bars themselves
REAL_TARGET = 0.9       # one-sided label smoothing


def piano_roll(rows) -> tf.Tensor:
    """Rows (B, 16) int (pitch row 0..P-1, or -1 for a rest) -> one-hot (B, 16, P, 1) float32; a rest is all zero."""
    return tf.one_hot(tf.cast(rows, tf.int32), melody_data.PITCHES)[..., tf.newaxis]


def chord_vectors(chords) -> tf.Tensor:
    """Chord ids (B,) (NO_CHORD = -1) -> MidiNet's 13-d condition: one-hot root, then 1 for minor."""
    chords = tf.cast(chords, tf.int32)
    valid = tf.cast(chords >= 0, tf.float32)[:, tf.newaxis]
    root = tf.one_hot(tf.math.floormod(chords, 12), 12) * valid
    minor = tf.cast(chords >= 12, tf.float32)[:, tf.newaxis]
    return tf.concat([root, minor], axis=1)


def decode_rows(bars, threshold: float = 0.5) -> tf.Tensor:
    """Generated bars (B, 16, P, 1) -> rows (B, 16) int32: the strongest pitch of each step, or -1
    (rest) where no activation reaches `threshold`."""
    x = bars[..., 0]
    return tf.where(tf.reduce_max(x, -1) >= threshold, tf.argmax(x, -1, output_type=tf.int32), -1)


def global_mean(x) -> tf.Tensor:
    """The mean over the global batch of x (this replica's rows), float32."""
    x = tf.cast(x, tf.float32)
    total, count = tf.reduce_sum(x, 0), tf.cast(tf.shape(x)[0], tf.float32)
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        total, count = ctx.all_reduce(tf.distribute.ReduceOp.SUM, [total, count])
    return total / count


class MidiNet(AdversarialGame):
    """Generator (with its conditioner on the previous bar) and discriminator; data batches are
    (bar rows (B, 16) int8, previous rows (B, 16) int8, chords (B,) int32) (data/melody.py).

    Args:
      generator: [z, chord vector, previous bar] -> bar (B, 16, P, 1) in [0, 1].
      discriminator: [bar, chord vector] -> [logit (B, 1), first-layer features].
      latent_dim: size of z (the code's 100).
      chords: False: a model of melodies alone (the chord vector is always zero).
      g_steps: generator steps per discriminator step (the code's 2).
      bars: the bars a generated melody has by default (samples, the export's chord-free signature).
    """

    def __init__(self, generator, discriminator, *, latent_dim: int = 100, chords: bool = True, g_steps: int = 2,
                 bars: int = 8, seed: int = 0, **kwargs):
        super().__init__({"generator": generator, "discriminator": discriminator}, seed=seed,
                         trackers=("d_loss", "g_loss", "g_adversarial", "g_features", "g_bars", "d_real", "d_fake"),
                         **kwargs)
        if g_steps < 1 or bars < 1:
            raise GameConfigError(f"g_steps={g_steps}, bars={bars}: both must be >= 1")
        self.latent_dim, self.chords, self.g_steps, self.bars = int(latent_dim), bool(chords), int(g_steps), int(bars)

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile({"g_optimizer": (g_optimizer, "generator"), "d_optimizer": (d_optimizer, "discriminator")},
                        **kwargs)

    def condition(self, chords) -> tf.Tensor:
        vectors = chord_vectors(chords)
        return vectors if self.chords else tf.zeros_like(vectors)

    # -- the algorithm ---------------------------------------------------------------
    def train_step(self, data):
        bar_rows, prev_rows, chords = data
        real, prev, y = piano_roll(bar_rows), piano_roll(prev_rows), self.condition(chords)
        z = self.draw(lambda n: tf.random.stateless_normal([n, self.latent_dim], self.next_seed()),
                      tf.shape(real)[0])
        fake = tf.cast(self.generator([z, y, prev], training=True), tf.float32)
        with tf.GradientTape() as tape:
            real_logits, _ = self.discriminator([real, y], training=True)
            fake_logits, _ = self.discriminator([fake, y], training=True)
            d_loss = losses.smoothed_discriminator_loss(real_logits, fake_logits, REAL_TARGET, reduce=self.reduce)
            scaled = self.scaled(self.d_optimizer, d_loss)
        ok = self.descend("d_optimizer", tape, scaled)
        for _ in range(self.g_steps):  # the same batch and z each time (the authors' code)
            with tf.GradientTape() as tape:
                fake = tf.cast(self.generator([z, y, prev], training=True), tf.float32)
                fake_logits, fake_features = self.discriminator([fake, y], training=True)
                _, real_features = self.discriminator([real, y], training=True)
                adversarial = losses.non_saturating_generator_loss(fake_logits, reduce=self.reduce)
                feature = losses.feature_matching_loss(global_mean(real_features), global_mean(fake_features))
                bars = losses.feature_matching_loss(global_mean(real), global_mean(fake))
                g_loss = adversarial + (FEATURE_WEIGHT * feature + DATA_WEIGHT * bars) / replica_count()
                scaled = self.scaled(self.g_optimizer, g_loss)
            self.descend("g_optimizer", tape, scaled, ok)
        self.track("d_loss", d_loss)
        self.track("g_loss", g_loss)
        self.track("g_adversarial", adversarial)
        self.track("g_features", feature, global_loss=False)
        self.track("g_bars", bars, global_loss=False)
        self.track("d_real", tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))), global_loss=False)
        self.track("d_fake", tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))), global_loss=False)
        return self.results()

    # -- melodies ------------------------------------------------------------------
    def melody(self, z, chords):
        """Bar by bar: z (B, N, latent), chord ids (B, N) -> (bars (B, N, 16, P) in [0, 1], rows (B, N, 16))
        in inference mode; each bar's previous bar is the one decoded before it (silence first).
        N may be unknown until run time (a tf.scan over the bars)."""
        z = tf.convert_to_tensor(z, tf.float32)
        chords = tf.convert_to_tensor(chords, tf.int32)
        n = tf.shape(z)[0]
        steps, pitches = melody_data.STEPS, melody_data.PITCHES

        def step(state, inputs):
            prev_rows, _ = state
            z_i, chord_i = inputs
            bar = tf.cast(self.generator([z_i, self.condition(chord_i), piano_roll(prev_rows)], training=False),
                          tf.float32)
            return decode_rows(bar), bar[..., 0]

        start = (tf.fill([n, steps], -1), tf.zeros([n, steps, pitches]))
        rows, bars = tf.scan(step, (tf.transpose(z, [1, 0, 2]), tf.transpose(chords)), initializer=start)
        return tf.transpose(bars, [1, 0, 2, 3]), tf.transpose(rows, [1, 0, 2])

    def noise(self, n: int, bars: int, seed) -> tf.Tensor:
        """z (n, bars, latent) from a stateless seed pair."""
        return tf.random.stateless_normal([n, bars, self.latent_dim], tf.constant(seed, tf.int64)
                                          if not tf.is_tensor(seed) else seed)

    # -- what training, evaluation and export ask (AdversarialGame) ---------------------
    def samples(self, n: int, seed, batch: int = 500) -> np.ndarray:
        """n one-bar melodies as rows (n, 16) int32 (pitch row or -1), for the evaluation chords."""
        z = self.noise(n, 1, seed)
        chords = melody_data.evaluation_chords(n, 1)
        return np.concatenate([self.melody(z[i:i + batch], chords[i:i + batch])[1][:, 0].numpy()
                               for i in range(0, n, batch)])

    def sample_grid(self, seed, examples=None):
        raise GameConfigError("a melody game shows piano rolls and MIDI files (training/callbacks.MelodySamples)")

    def exported_networks(self) -> dict:
        return {"generator": self.generator}


def from_config(config, data_shape=None, num_classes: int = 0) -> MidiNet:
    from tfgan_app.config import ConfigError

    if not isinstance(data_shape, dict) or "bar" not in data_shape:
        raise ConfigError("dataset", f"midinet learns bars of melody (--problem music, e.g. --dataset chorales); "
                          f"got data of shape {data_shape}")
    steps, pitches = data_shape["bar"]
    with precision_policy(config.precision):
        g = midinet_nets.generator(int(steps), int(pitches), config.latent_dim, melody_data.CHORD_DIM, config.width,
                                   synchronized=config.sync_batchnorm)
        d = midinet_nets.discriminator(int(steps), int(pitches), melody_data.CHORD_DIM,
                                       synchronized=config.sync_batchnorm)
    game = MidiNet(g, d, latent_dim=config.latent_dim, chords=config.chords, g_steps=config.g_steps,
                   bars=config.bars, seed=config.seed)
    decay = config.lr_decay_epochs * config.steps_per_epoch
    game.compile(optimizers.from_config(config, config.g_lr, decay * config.g_steps, config.g_steps),
                 optimizers.from_config(config, config.d_lr, decay),
                 jit_compile=config.jit_compile, steps_per_execution=config.steps_per_execution)
    return game
