"""LAPGAN's serving signatures: seeds in, the whole cascade's images (or every level's) out.

| signature         | inputs            | outputs                                                       |
|-------------------|-------------------|---------------------------------------------------------------|
| `serving_default` | `seeds` int64 [B] | `samples` float32 [B, S, S, C] in [-1, 1]                     |
| `generate`        | the same          | the same                                                      |
| `generate_levels` | the same          | `level_0` [B, S, S, C] (= samples), `level_1` [B, S/2, S/2, C], ... |
| `generate_png`    | the same          | `images_bytes` string [B] (PNG of `samples`)                  |

Level 0 is the finest (nets/pyramid.py's order); `generate_levels` returns each level's image
of the same cascade, so `level_0` equals `generate`'s `samples` for the same seeds.

Seeds.  Level k's noise for seed s is one stateless draw, uniform in [-1, 1], from the pair
(s, k): the coarsest level's z [latent], every finer level's noise plane [S_k, S_k, 1].  The same
seed gives the same images on every call, whatever else is in the batch.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.export.gan import _evaluation_seeds
from tfgan_app.export.signatures import ExportError, Signatures, endpoint, to_pixels


def level_noises(seeds, sides: list[int], latent_dim: int) -> list:
    """One noise tensor per level (finest first) for int64 seeds (B,): level k from the pair (s, k)."""
    seeds = tf.convert_to_tensor(seeds, tf.int64)
    coarsest = len(sides) - 1
    out = []
    for k, side in enumerate(sides):
        shape = [latent_dim] if k == coarsest else [side, side, 1]

        def one(seed, k=k, shape=shape):
            return tf.random.stateless_uniform(shape, tf.stack([seed, tf.constant(k, tf.int64)]), -1.0, 1.0)

        out.append(tf.map_fn(one, seeds, fn_output_signature=tf.float32))
    return out


class LAPGANSignatures(Signatures):
    """The signatures of a games.lapgan.LAPGAN: every level's generator, run as one cascade."""

    def contract(self) -> dict:
        game = self.game
        channels = int(game.g0.output.shape[-1])
        seeds = {"seeds": ("int64", [None])}
        samples = ("float32", [None, game.sides[0], game.sides[0], channels])
        levels = {f"level_{k}": ("float32", [None, side, side, channels]) for k, side in enumerate(game.sides)}
        return {"serving_default": {"inputs": seeds, "outputs": {"samples": samples}},
                "generate": {"inputs": seeds, "outputs": {"samples": samples}},
                "generate_levels": {"inputs": seeds, "outputs": levels},
                "generate_png": {"inputs": seeds, "outputs": {"images_bytes": ("string", [None])}}}

    def build(self):
        game = self.game
        sides, latent_dim = list(game.sides), game.latent_dim
        seeds_spec = tf.TensorSpec([None], tf.int64, name="seeds")

        def images(seeds):
            return game.cascade(level_noises(seeds, sides, latent_dim))

        def generate(seeds):
            return {"samples": images(seeds)[0]}

        def generate_levels(seeds):
            return {f"level_{k}": x for k, x in enumerate(images(seeds))}

        def generate_png(seeds):
            pixels = to_pixels(images(seeds)[0])
            return {"images_bytes": tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)}

        archive = keras.export.ExportArchive()
        for net in game.exported_networks().values():
            archive.track(net)
        archive.add_endpoint("serving_default", endpoint(generate, seeds_spec))
        archive.add_endpoint("generate", endpoint(generate, seeds_spec))
        archive.add_endpoint("generate_levels", endpoint(generate_levels, seeds_spec))
        archive.add_endpoint("generate_png", endpoint(generate_png, seeds_spec))
        return archive, self.contract()

    def example_inputs(self, contract, signature, batch, seed=0):
        seeds = (np.arange(batch, dtype=np.int64) * 7919 - 3 + seed).astype(np.int64)
        seeds[-1] = np.int64(2**62 + seed)
        return {"seeds": seeds}

    def reference(self, contract, signature, inputs):
        game = self.game
        images = [x.numpy() for x in game.cascade(level_noises(inputs["seeds"], game.sides, game.latent_dim))]
        if signature == "generate_levels":
            return {f"level_{k}": x for k, x in enumerate(images)}
        if signature == "generate_png":
            return {"images_bytes": to_pixels(images[0]).numpy()}
        return {"samples": images[0]}

    def info(self):
        game = self.game
        return {"levels": game.count, "sides": list(game.sides), "latent_dim": game.latent_dim,
                "noise": "level k of seed s: stateless_uniform(shape, (s, k), -1, 1); the coarsest level's "
                         "shape [latent_dim], the others' [S_k, S_k, 1]",
                "weights": "latest checkpoint's generators, every level"}

    @staticmethod
    def sampler(signatures, info, draw_batch):
        """Seeds n * 2^32 + (0..n-1) through `generate`, as a GAN export's."""
        if "generate" not in signatures:
            raise ExportError("has no generate signature; is it a LAPGAN export written by export.py?")

        def draw(n, seed):
            seeds = _evaluation_seeds(n, seed)
            return np.concatenate([signatures["generate"](seeds=tf.constant(seeds[i:i + draw_batch]))["samples"].numpy()
                                   for i in range(0, n, draw_batch)])

        return draw
