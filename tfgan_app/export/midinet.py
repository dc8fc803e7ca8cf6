"""MidiNet's serving signatures: seeds (and chords) in, piano rolls or Standard MIDI files out.

| signature                    | inputs                                        | outputs                                   |
|------------------------------|-----------------------------------------------|-------------------------------------------|
| `serving_default`, `generate_melody` | `seeds` int64 [B], `chords` int32 [B, N] | `piano_roll` float32 [B, N, 16, 24], `pitches` int32 [B, N x 16] |
| `generate_midi`              | the same                                      | `midi_bytes` string [B]: a format-0 MIDI file each |

`chords` are MidiNet's 24: root + 12 x minor (C = 0, C# = 1, ..., B = 11; Cm = 12, ..., Bm = 23),
one per bar; N bars are generated one after another, each on the bar before (data/melody.py,
games/midinet.py).  A chord outside 0..23, or `chords` with another batch size than `seeds`,
fails with INVALID_ARGUMENT (HTTP 400).  A model trained without chords (`--chords false`) takes
`seeds` alone and makes `bars` bars (its config's, 8 by default).

`pitches` are MIDI note numbers (60 = C4), -1 for a rest; the MIDI file holds a note per run of
equal pitches (data/midi.py: 120 bpm, 4/4, four ticks a quarter), built with TF ops.  Seed s, bar
j: z = stateless_normal([latent], (s, j)).  The same seeds and chords give the same melody.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.data import melody as melody_data
from tfgan_app.data import midi
from tfgan_app.export.gan import _evaluation_seeds
from tfgan_app.export.signatures import ExportError, Signatures, endpoint


def noise_for_seeds(seeds, bars, latent_dim: int) -> tf.Tensor:
    """z (B, bars, latent) for int64 seeds (B,): bar j of seed s from the stateless seed pair (s, j)."""
    seeds = tf.convert_to_tensor(seeds, tf.int64)
    j = tf.range(tf.cast(bars, tf.int64), dtype=tf.int64)
    pairs = tf.stack(tf.meshgrid(seeds, j, indexing="ij"), -1)  # (B, N, 2)
    flat = tf.reshape(pairs, [-1, 2])
    z = tf.map_fn(lambda pair: tf.random.stateless_normal([latent_dim], pair), flat, fn_output_signature=tf.float32)
    return tf.reshape(z, [tf.shape(seeds)[0], -1, latent_dim])


def checked_chords(chords, seeds):
    checks = [tf.debugging.assert_non_negative(chords, message="chords must be chord ids 0..23 (root + 12 x minor); "
                                                               "got a negative one"),
              tf.debugging.assert_less(chords, tf.constant(melody_data.CHORDS, tf.int32),
                                       message="chords must be chord ids 0..23 (root + 12 x minor); got one >= 24"),
              tf.debugging.assert_equal(tf.shape(chords)[0], tf.shape(seeds)[0],
                                        message="chords must have one row per seed (same batch size)"),
              tf.debugging.assert_positive(tf.shape(chords)[1], message="chords must name at least one bar"),
              tf.debugging.assert_less_equal(tf.shape(chords)[1] * melody_data.STEPS, midi.MAX_STEPS,
                                             message=f"at most {midi.MAX_STEPS // melody_data.STEPS} bars")]
    with tf.control_dependencies(checks):
        return tf.identity(chords)


def pitches_of(rows) -> tf.Tensor:
    """Rows (B, N, 16) -> MIDI pitches (B, N x 16), -1 for rests."""
    flat = tf.reshape(rows, [tf.shape(rows)[0], -1])
    return tf.where(flat >= 0, flat + melody_data.LOW, midi.REST)


class MidiNetSignatures(Signatures):
    """The signatures of a games.midinet.MidiNet."""

    def contract(self) -> dict:
        inputs = {"seeds": ("int64", [None])}
        if self.game.chords:
            inputs["chords"] = ("int32", [None, None])
        bars = None if self.game.chords else self.game.bars
        melody = {"piano_roll": ("float32", [None, bars, melody_data.STEPS, melody_data.PITCHES]),
                  "pitches": ("int32", [None, None if bars is None else bars * melody_data.STEPS])}
        return {"serving_default": {"inputs": inputs, "outputs": melody},
                "generate_melody": {"inputs": inputs, "outputs": melody},
                "generate_midi": {"inputs": inputs, "outputs": {"midi_bytes": ("string", [None])}}}

    def _melody(self, seeds, chords=None):
        game = self.game
        if chords is None:  # a model of melodies alone: its bars, no chord
            chords = tf.zeros([tf.shape(seeds)[0], game.bars], tf.int32)
        else:
            chords = checked_chords(chords, seeds)
        bars, rows = game.melody(noise_for_seeds(seeds, tf.shape(chords)[1], game.latent_dim), chords)
        return bars, pitches_of(rows)

    def build(self):
        seeds_spec = tf.TensorSpec([None], tf.int64, name="seeds")
        chords_spec = tf.TensorSpec([None, None], tf.int32, name="chords")

        if self.game.chords:
            def generate_melody(seeds, chords):
                bars, pitches = self._melody(seeds, chords)
                return {"piano_roll": bars, "pitches": pitches}

            def generate_midi(seeds, chords):
                return {"midi_bytes": midi.midi_bytes(self._melody(seeds, chords)[1])}

            specs = (seeds_spec, chords_spec)
        else:
            def generate_melody(seeds):
                bars, pitches = self._melody(seeds)
                return {"piano_roll": bars, "pitches": pitches}

            def generate_midi(seeds):
                return {"midi_bytes": midi.midi_bytes(self._melody(seeds)[1])}

            specs = (seeds_spec,)
        archive = keras.export.ExportArchive()
        archive.track(self.game.generator)
        archive.add_endpoint("serving_default", endpoint(generate_melody, *specs))
        archive.add_endpoint("generate_melody", endpoint(generate_melody, *specs))
        archive.add_endpoint("generate_midi", endpoint(generate_midi, *specs))
        return archive, self.contract()

    def example_inputs(self, contract, signature, batch, seed=0):
        inputs = {"seeds": (np.arange(batch, dtype=np.int64) * 7919 - 3 + seed).astype(np.int64)}
        if self.game.chords:
            inputs["chords"] = melody_data.evaluation_chords(batch, 4).astype(np.int32)
        return inputs

    def reference(self, contract, signature, inputs):
        chords = inputs.get("chords")
        bars, pitches = self._melody(tf.constant(inputs["seeds"]), None if chords is None else tf.constant(chords))
        if signature == "generate_midi":
            return {"midi_bytes": midi.midi_bytes(pitches).numpy()}
        return {"piano_roll": bars.numpy(), "pitches": pitches.numpy()}

    def info(self):
        game = self.game
        return {"latent_dim": game.latent_dim, "chords": game.chords, "bars": None if game.chords else game.bars,
                "pitch_range": [melody_data.LOW, melody_data.LOW + melody_data.PITCHES - 1],
                "chord_ids": "root + 12 x minor: C=0 C#=1 D=2 Eb=3 E=4 F=5 F#=6 G=7 Ab=8 A=9 Bb=10 B=11; Cm=12 ... Bm=23",
                "noise": "seed s, bar j: z = stateless_normal([latent], (s, j))",
                "midi": "format 0, 120 bpm, 4/4, 4 ticks a quarter; a note per run of equal pitches",
                "weights": "latest checkpoint's generator"}

    @staticmethod
    def sampler(signatures, info, draw_batch):
        """draw(n, seed, chords=None) -> rows through generate_melody, seeds n * 2^32 + (0..n-1):
        with chords (M, N), M melodies of N bars (M, N, 16) (a model without chords makes its own
        number of bars); without, n one-bar melodies (n, 16) for the evaluation chords."""
        if "generate_melody" not in signatures:
            raise ExportError("has no generate_melody signature; is it a midinet export written by export.py?")

        def draw(n, seed, chords=None):
            one_bar = chords is None
            chords = melody_data.evaluation_chords(n, 1) if one_bar else np.asarray(chords, np.int32)
            seeds = _evaluation_seeds(len(chords), seed)
            out = []
            for i in range(0, len(chords), draw_batch):
                kw = {"seeds": tf.constant(seeds[i:i + draw_batch])}
                if info.get("chords", True):
                    kw["chords"] = tf.constant(chords[i:i + draw_batch])
                pitches = signatures["generate_melody"](**kw)["pitches"].numpy()
                out.append(np.where(pitches >= 0, pitches - melody_data.LOW, -1).reshape(len(pitches), -1,
                                                                                          melody_data.STEPS))
            rows = np.concatenate(out).astype(np.int32)
            return rows[:, 0] if one_bar else rows

        return draw
