"""What one game's export is: its serving signatures, and how the exporter checks them.

export/archive.py writes, checks and publishes any game's export through an object of this
interface; each game's own signatures live in export/NAME.py (export/gan.py for "gan") and are
named in archive.SIGNATURES.  Every endpoint is TF ops only (no tf.py_function: TF Serving
cannot load it), takes and returns batch-major tensors, and is stated in the contract
(export/contract.py) that the export carries as assets.extra/signature_contract.json.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf


class ExportError(ValueError):
    """The export cannot be written as asked; the message names the flag or check."""


def to_pixels(samples) -> tf.Tensor:
    """Images in [-1, 1] -> uint8 round((x + 1) * 127.5), clipped to [0, 255]."""
    x = tf.round((tf.cast(samples, tf.float32) + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(x, 0.0, 255.0), tf.uint8)


def endpoint(fn, *specs):
    """A serving endpoint: `fn` traced once for `specs`, without autograph (plain TF ops)."""
    return tf.function(fn, input_signature=list(specs), autograph=False)


class Signatures:
    """One game's serving signatures (subclass per game; see export/gan.py).

    Args:
      game: the trained game whose `exported_networks()` the export serves.
    """

    def __init__(self, game):
        self.game = game

    def build(self) -> tuple[keras.export.ExportArchive, dict]:
        """(archive with every endpoint added, contract {signature: {"inputs", "outputs"}})."""
        raise NotImplementedError

    def example_inputs(self, contract: dict, signature: str, batch: int, seed: int = 0) -> dict:
        """Valid numpy inputs of `signature` for `batch` rows: the warmup requests and the check use them."""
        raise NotImplementedError

    def reference(self, contract: dict, signature: str, inputs: dict) -> dict:
        """What `signature` must return for `inputs`, computed with the Keras networks.
        Outputs are compared as numbers, except `images_bytes` (decoded PNGs, to within 1 level)."""
        raise NotImplementedError

    def info(self) -> dict:
        """Fields of assets.extra/export_info.json that describe this game's export."""
        return {}

    @staticmethod
    def sampler(signatures, info: dict, draw_batch: int) -> Callable[[int, int], np.ndarray]:
        """draw(n, seed) -> n samples through a loaded export's `signatures` (evaluate.py)."""
        raise NotImplementedError

    @staticmethod
    def truncated_sampler(signatures, info: dict, draw_batch: int):
        """draw(n, seed, t) -> n samples at truncation t through a loaded export (evaluate.py
        --truncation), or None when the game has no truncation trick."""
        return None

    @staticmethod
    def game_truncated_sampler(game):
        """The same draw(n, seed, t) computed with a trained game's networks (a run), or None."""
        return None
