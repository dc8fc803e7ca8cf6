"""What the equal-budget quality benchmarks share (quality_sn.py, quality_translation.py,
quality_superres.py, quality_text.py, quality_melody.py, ...): a wall-clock training budget, the
project's classifier ready to use, and one preset's run for minutes, then evaluated."""

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


def run_arguments(p, dataset: str) -> None:
    """The flags of a benchmark of one preset's run: --workdir, --minutes, --dataset, --width, --seed."""
    p.add_argument("--workdir", required=True, help="the run and its report; an interrupted run continues")
    p.add_argument("--minutes", type=float, default=30.0, help="training budget (default 30)")
    p.add_argument("--dataset", default=dataset, help=f"data source (default {dataset})")
    p.add_argument("--width", type=int, default=None, help="--width (default: the preset's)")
    p.add_argument("--seed", type=int, default=0)


def train_and_evaluate(preset: str, args, **overrides):
    """Trains `preset` on args.dataset in args.workdir for args.minutes (the fields in `overrides`
    that are not None changed), then evaluate.py's report of the run.  (report, game, epochs, seconds
    of training)."""
    from tfgan_app import config as cfg
    from tfgan_app import evaluate
    from tfgan_app.training import run_dir
    from tfgan_app.training import train as training

    changed = {k: v for k, v in dict(overrides, width=args.width).items() if v is not None}
    config = cfg.preset(preset, dataset=args.dataset, seed=args.seed, epochs=10**6, **changed)
    start = time.time()
    training.train(config, Path(args.workdir), verbose=0, extra_callbacks=[wall_clock_budget(args.minutes)])
    seconds = time.time() - start
    report = evaluate.evaluate(Path(args.workdir), seed=args.seed)
    _, game, epochs = run_dir.restore_run(Path(args.workdir))
    return report, game, epochs, seconds
