"""The character language model's serving signatures: seeds in, sentences out.

| signature         | inputs             | outputs              |
|-------------------|--------------------|----------------------|
| `serving_default` | `seeds` int64 [B]  | `text` string [B]    |
| `generate_text`   | the same           | the same             |

Seed s draws z = stateless_normal([latent], (s, 0)) (export/gan.py's rule); the text is the
most likely character at each position of G(z) up to the first PAD (a line's end), decoded in
the graph: an argmax, a gather
from the vocabulary's table of characters (PAD is nothing, UNKNOWN U+FFFD) and
`tf.strings.reduce_join`, so TF Serving returns UTF-8 strings and a client needs nothing of
the vocabulary.  The same seed gives the same line.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.export.gan import _evaluation_seeds, noise_for_seeds
from tfgan_app.export.signatures import ExportError, Signatures, endpoint


class CharGANSignatures(Signatures):
    """The signatures of a games.chargan.CharGAN."""

    def contract(self) -> dict:
        io = {"inputs": {"seeds": ("int64", [None])}, "outputs": {"text": ("string", [None])}}
        return {"serving_default": io, "generate_text": io}

    def build(self):
        game = self.game
        latent_dim, noise, noise_range = game.latent_dim, game.noise, game.noise_range

        def generate_text(seeds):
            return {"text": game.generate_text(noise_for_seeds(seeds, latent_dim, noise, noise_range))}

        spec = tf.TensorSpec([None], tf.int64, name="seeds")
        archive = keras.export.ExportArchive()
        archive.track(game.sampler)
        archive.add_endpoint("serving_default", endpoint(generate_text, spec))
        archive.add_endpoint("generate_text", endpoint(generate_text, spec))
        return archive, self.contract()

    def example_inputs(self, contract, signature, batch, seed=0):
        return {"seeds": (np.arange(batch, dtype=np.int64) * 7919 - 3 + seed).astype(np.int64)}

    def reference(self, contract, signature, inputs):
        game = self.game
        z = noise_for_seeds(inputs["seeds"], game.latent_dim, game.noise, game.noise_range)
        return {"text": game.generate_text(z).numpy()}

    def info(self):
        game = self.game
        return {"seq_len": game.seq_len, "latent_dim": game.latent_dim,
                "vocabulary": "".join(chr(c) for c in game.vocabulary),
                "decoding": "argmax per position, up to the first id 0 (PAD: the line's end); id 1 (UNKNOWN) -> "
                            "U+FFFD, id i + 2 -> vocabulary[i]",
                "noise": "seed s: z = stateless_normal([latent], (s, 0))",
                "weights": "latest checkpoint's generator"}

    @staticmethod
    def sampler(signatures, info, draw_batch):
        """draw(n, seed) -> (n, seq_len) ids of the lines generate_text returns (re-encoded with the
        export's vocabulary), seeds n * 2^32 + (0..n-1)."""
        from tfgan_app.data import text as text_data

        if "generate_text" not in signatures:
            raise ExportError("has no generate_text signature; is it a chargan export written by export.py?")
        vocabulary = tuple(ord(c) for c in info["vocabulary"])

        def draw(n, seed):
            seeds = _evaluation_seeds(n, seed)
            lines = [t.decode("utf-8") for i in range(0, n, draw_batch)
                     for t in signatures["generate_text"](seeds=tf.constant(seeds[i:i + draw_batch]))["text"].numpy()]
            return text_data.encode(lines, vocabulary, int(info["seq_len"]))

        return draw
