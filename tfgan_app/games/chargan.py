"""The character-level WGAN-GP language model (Gulrajani et al. 2017, section 5.5; `gan_language.py`).

The GAN game (games/gan.py: n_critic critic steps, then a generator step) played on text:
the critic compares real lines as one-hot characters (B, L, V) with the generator's softmax
(B, L, V), never a sampled or argmaxed fake -- so the game is differentiable, and the critic
could tell them apart by their one-hotness alone; the gradient penalty keeps it 1-Lipschitz
on the segments between the two (one alpha per line, the norm over positions and characters).

    for each step:
        for t = 1..n_critic (the paper's 10):
            x ~ lines, one-hot;  z ~ N(0, I);  x~ = G(z) (softmax);  x^ = a x + (1 - a) x~
            L_D = D(x~) - D(x) + lambda (||grad D(x^)||_2 - 1)^2          (lambda = 10)
        L_G = -D(G(z))
        Adam(1e-4, 0.5, 0.9) on both

The code skips the generator at its iteration 0 and then runs one G step and ten critic steps
an iteration: the same sequence of updates as this order, but for the first.  Text comes out by
the argmax of each position's distribution (`decode`; the export does it in the graph).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfgan_app.data import text as text_data
from tfgan_app.games import gan as gan_game
from tfgan_app.games.base import GameConfigError
from tfgan_app.nets import charconv
from tfgan_app.nets.precision import precision_policy


class CharGAN(gan_game.GAN):
    """GAN on one-hot characters; data batches are ids (B, L) int32 (data/text.py).

    Args:
      generator: z -> (B, L, V) softmax; discriminator: (B, L, V) -> scores (B, 1).
      vocabulary: code points of ids 2, 3, ... (id 0 PAD, 1 UNKNOWN), V = len + 2.
      **kwargs: GAN's (loss, penalty, n_critic, ...).
    """

    def __init__(self, generator, discriminator, *, vocabulary, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.vocabulary = tuple(int(c) for c in vocabulary)
        self.vocab_size = len(self.vocabulary) + text_data.SPECIAL
        self.seq_len = int(generator.output.shape[1])
        if tuple(generator.output.shape[1:]) != (self.seq_len, self.vocab_size):
            raise GameConfigError(f"the generator makes {generator.output.shape[1:]}; expected (length, "
                                  f"{self.vocab_size}) for a vocabulary of {self.vocab_size}")

    def train_step(self, data):
        """The GAN's step (n_critic critic steps, then the generator's) on one-hot real lines."""
        return super().train_step(tf.one_hot(tf.cast(data, tf.int32), self.vocab_size))

    # -- text out ------------------------------------------------------------------
    def generate_ids(self, z):
        """(B, L) int32: the most likely character at each position of G(z) (inference mode); a
        line ends at its first PAD (PAD after it), as every training line does."""
        ids = tf.argmax(self.generate(z), axis=-1, output_type=tf.int32)
        ended = tf.cumsum(tf.cast(tf.equal(ids, text_data.PAD), tf.int32), axis=-1) > 0
        return tf.where(ended, text_data.PAD, ids)

    def characters(self) -> tf.Tensor:
        """string (V,): what each id decodes to: PAD nothing, UNKNOWN U+FFFD, then the vocabulary."""
        return tf.constant(["", "\ufffd"] + [chr(c) for c in self.vocabulary])

    def generate_text(self, z):
        """string (B,): G(z) decoded in the graph (argmax, table lookup, join): what the export serves."""
        return tf.strings.reduce_join(tf.gather(self.characters(), self.generate_ids(z)), axis=-1)

    def decode(self, ids) -> list[str]:
        return text_data.decode(ids, self.vocabulary)

    # -- what training, evaluation and export ask (AdversarialGame) ---------------------
    def samples(self, n: int, seed, batch: int = 500) -> np.ndarray:
        """n lines as ids (n, L) int32 from noise drawn with stateless `seed`."""
        z = self.sample_noise(n, tf.constant(seed, tf.int64))
        return np.concatenate([self.generate_ids(z[i:i + batch]).numpy() for i in range(0, n, batch)])

    def sample_grid(self, seed, examples=None):
        raise GameConfigError("a text game shows samples as text (training/callbacks.TextSamples), not a grid")


def from_config(config, data_shape=None, num_classes: int = 0) -> CharGAN:
    """The language model of `config`: nets of --width channels and --res-blocks blocks for the
    data's line length and vocabulary ({"tokens": (L,), "vocabulary": code points})."""
    from tfgan_app.config import ConfigError

    if not isinstance(data_shape, dict) or "tokens" not in data_shape or "vocabulary" not in data_shape:
        raise ConfigError("dataset", f"chargan learns lines of text (--problem text, e.g. --dataset "
                          f"pydoc-topics); got data of shape {data_shape}")
    (seq_len,), vocabulary = data_shape["tokens"], data_shape["vocabulary"]
    vocab_size = len(vocabulary) + text_data.SPECIAL
    with precision_policy(config.precision):
        g = charconv.generator(int(seq_len), vocab_size, config.latent_dim, config.width, config.res_blocks)
        d = charconv.critic(int(seq_len), vocab_size, config.width, config.res_blocks)
    game = CharGAN(g, d, vocabulary=vocabulary, **gan_game.game_arguments(config))
    return gan_game.compiled(game, config)
