"""Shared test setup: quiet TF, CPU only, and where the shared MNIST lives."""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The MNIST test split CI provides beside the repository (a user's clone has none).
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


def stop_after(epochs: int):
    """A Keras callback that interrupts fit after `epochs` epochs (their checkpoint written): a run
    stopped as a kill between epochs stops it, in-process.  (Keras is imported here, not at the
    top: this file sets TensorFlow's environment before anything imports it.)"""
    import keras

    class StopAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 >= epochs:
                self.model.stop_training = True

    return StopAfter()
