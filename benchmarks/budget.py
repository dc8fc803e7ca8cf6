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


def mnist_arguments(p, mnist) -> None:
    """The flags every MNIST quality benchmark takes: --mnist, --classifier, --minutes, --workdir."""
    from tfgan_app.metrics import classifier as clf

    p.add_argument("--mnist", default=str(mnist), help=f"MNIST IDX directory (default {mnist})")
    p.add_argument("--classifier", default=str(clf.default_classifier_path()),
                   help="the project's MNIST classifier (trained here if missing)")
    p.add_argument("--minutes", type=float, default=30.0, help="training budget per run (default 30)")
    p.add_argument("--workdir", required=True, help="runs and reports; an interrupted protocol continues")


def check_mnist(p, mnist: str) -> None:
    """p.error unless `mnist` holds MNIST's IDX files."""
    if not (Path(mnist).is_dir() and list(Path(mnist).glob("*-images-idx3-ubyte*"))):
        p.error(f"--mnist {mnist}: no MNIST IDX files (t10k-images-idx3-ubyte.gz and its labels); "
                f"see docs/benchmarks.md for where they come from")
