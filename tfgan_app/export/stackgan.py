"""StackGAN's serving signatures: sentences and seeds in, images (or PNGs) out.

| signature                | inputs                                | outputs                          |
|--------------------------|---------------------------------------|----------------------------------|
| `serving_default`        | `text` string [B], `seeds` int64 [B]  | `images` float32 [B, S, S, C]    |
| `generate_from_text`     | the same                              | the same                         |
| `generate_from_text_png` | the same                              | `images_bytes` string [B] (PNG)  |

S is the trained stage's side (Stage I: half the data's).  The text goes through the export's
own tokenizer and frozen text encoder (TF ops: nets/text.py), so a client sends sentences.  A
word the encoder never saw is read as "unknown", not an error; a text with no word at all (empty,
or only punctuation) fails with INVALID_ARGUMENT (HTTP 400), as does a `seeds` batch of another
size than `text`'s.

Seeds.  For seed s: z = stateless_normal([latent], (s, 0)), and the Conditioning Augmentation's
eps of Stage I and Stage II = stateless_normal([c_dim], (s, 1)) and (s, 2) (zeros in a model
trained without CA).  The same text and seed give the same image, whatever else is in the batch.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.export.signatures import ExportError, Signatures, endpoint, to_pixels
from tfgan_app.nets import text as text_nets


def noise_for_seeds(seeds, latent_dim: int, c_dim: int, augment: bool):
    """(z, eps1, eps2) for int64 seeds (B,): one stateless draw each from (s, 0), (s, 1), (s, 2)."""
    seeds = tf.convert_to_tensor(seeds, tf.int64)

    def draw(k, size):
        if k and not augment:
            return tf.zeros([tf.shape(seeds)[0], size])
        return tf.map_fn(lambda s: tf.random.stateless_normal([size], tf.stack([s, tf.constant(k, tf.int64)])),
                         seeds, fn_output_signature=tf.float32)

    return draw(0, latent_dim), draw(1, c_dim), draw(2, c_dim)


def checked_text(text, seeds):
    """text (B,), after in-graph checks: every text has a word, and seeds has one entry per text."""
    checks = [
        tf.debugging.assert_greater(tf.strings.length(text_nets.normalised(text)), 0,
                                    message="text must contain at least one word (got an empty or punctuation-only "
                                            "text)"),
        tf.debugging.assert_equal(tf.shape(seeds)[0], tf.shape(text)[0],
                                  message="seeds must have one entry per text (same batch size)"),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(text)


class StackGANSignatures(Signatures):
    """The signatures of a games.stackgan.StackGAN (its trained stage)."""

    def contract(self) -> dict:
        game = self.game
        channels = int(game.generator.output[0].shape[-1])
        inputs = {"text": ("string", [None]), "seeds": ("int64", [None])}
        images = {"images": ("float32", [None, game.side, game.side, channels])}
        return {"serving_default": {"inputs": inputs, "outputs": images},
                "generate_from_text": {"inputs": inputs, "outputs": images},
                "generate_from_text_png": {"inputs": inputs, "outputs": {"images_bytes": ("string", [None])}}}

    def build(self):
        game = self.game
        latent_dim, c_dim, augment = game.latent_dim, game.c_dim, game.augment
        text_spec = tf.TensorSpec([None], tf.string, name="text")
        seeds_spec = tf.TensorSpec([None], tf.int64, name="seeds")

        def images(text, seeds):
            return game.generate_from_text(checked_text(text, seeds), *noise_for_seeds(seeds, latent_dim, c_dim,
                                                                                       augment))

        def generate_from_text(text, seeds):
            return {"images": images(text, seeds)}

        def generate_from_text_png(text, seeds):
            pixels = to_pixels(images(text, seeds))
            return {"images_bytes": tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)}

        archive = keras.export.ExportArchive()
        for net in game.exported_networks().values():
            archive.track(net)
        archive.add_endpoint("serving_default", endpoint(generate_from_text, text_spec, seeds_spec))
        archive.add_endpoint("generate_from_text", endpoint(generate_from_text, text_spec, seeds_spec))
        archive.add_endpoint("generate_from_text_png", endpoint(generate_from_text_png, text_spec, seeds_spec))
        return archive, self.contract()

    def example_inputs(self, contract, signature, batch, seed=0):
        captions = self.game.evaluation_captions(batch + seed)[seed:]
        captions[-1] = captions[-1] + " with a zebra"  # an unknown word is read, not refused
        seeds = (np.arange(batch, dtype=np.int64) * 7919 - 3 + seed).astype(np.int64)
        return {"text": np.array([c.encode() for c in captions], dtype=object), "seeds": seeds}

    def reference(self, contract, signature, inputs):
        game = self.game
        text = tf.constant([t.decode() if isinstance(t, bytes) else t for t in inputs["text"]])
        out = game.generate_from_text(text, *noise_for_seeds(inputs["seeds"], game.latent_dim, game.c_dim,
                                                             game.augment)).numpy()
        if signature == "generate_from_text_png":
            return {"images_bytes": to_pixels(out).numpy()}
        return {"images": out}

    def info(self):
        game = self.game
        return {"stage": game.stage, "image_size": game.side, "latent_dim": game.latent_dim, "c_dim": game.c_dim,
                "conditioning_augmentation": game.augment,
                "noise": "seed s: z = stateless_normal([latent], (s, 0)); CA eps of Stage I / II = "
                         "stateless_normal([c_dim], (s, 1)) / (s, 2) (zeros without CA)",
                "weights": "latest checkpoint's text encoder and generators"}

    @staticmethod
    def sampler(signatures, info, draw_batch):
        """Seeds n * 2^32 + (0..n-1) with the evaluation captions (games.stackgan), through generate_from_text."""
        from tfgan_app.export.gan import _evaluation_seeds
        from tfgan_app.games.stackgan import StackGAN

        if "generate_from_text" not in signatures:
            raise ExportError("has no generate_from_text signature; is it a StackGAN export written by export.py?")

        def draw(n, seed):
            seeds, text = _evaluation_seeds(n, seed), StackGAN.evaluation_captions(n)
            return np.concatenate([signatures["generate_from_text"](
                text=tf.constant(text[i:i + draw_batch]), seeds=tf.constant(seeds[i:i + draw_batch]))["images"].numpy()
                for i in range(0, n, draw_batch)])

        return draw
