"""What the equal-budget quality benchmarks share (quality_sn.py, quality_translation.py,
quality_superres.py): a wall-clock training budget, and the project's classifier ready to use."""

from __future__ import annotations

import time
from pathlib import Path


def wall_clock_budget(minutes: float):
    """A Keras callback that ends `fit` once `minutes` of training have passed (checked after every
    step; the epoch in progress then ends and is checkpointed)."""
    import keras

    class Budget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.time()

        def on_train_batch_end(self, batch, logs=None):
            if time.time() - self.start > minutes * 60:
                self.model.stop_training = True

    return Budget()


def classifier(path, mnist):
    """The project's MNIST classifier at `path` (trained on the MNIST IDX files in `mnist` first if missing)."""
    from tfgan_app.metrics import classifier as clf

    if not Path(path).is_file():
        clf.train_classifier(f"mnist-idx:{mnist}", path)
    return clf.load_classifier(path)
