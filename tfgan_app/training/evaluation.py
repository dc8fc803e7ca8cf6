"""PeriodicEvaluation: sample quality during training, and the best generator kept.

`PeriodicEvaluation` (config `eval_every` > 0) computes the figures of `python -m
tfgan_app.evaluate` every `eval_every` epochs, adds them to the epoch logs as
`eval_<figure>` (so metrics.csv and TensorBoard get them), and keeps the generator that
scored best on `eval_metric` in WORKDIR/best/ (`restore_best` loads it back).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.config import ConfigError
from tfgan_app.data import melody as melody_data
from tfgan_app.data import text as text_data
from tfgan_app.metrics import classifier as clf
from tfgan_app.metrics import melody as melody_metrics
from tfgan_app.metrics import ngrams
from tfgan_app.metrics import figures as metrics
from tfgan_app.metrics.figures import jsonable, resolve_metric, score
from tfgan_app.metrics.reference import image_metrics, reference_statistics

BEST_DIR = "best"
BEST_INFO = "best.json"


class BestError(ValueError):
    """WORKDIR/best/ holds no generator (the message names --weights)."""


def write_json(path: Path, doc: dict) -> None:
    """`doc` as JSON at `path`, replaced atomically."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


def restore_best(workdir, game) -> int:
    """Loads WORKDIR/best/ (the best generator so far) into the game's exported networks; returns its epoch."""
    best = Path(workdir) / BEST_DIR
    latest = tf.train.latest_checkpoint(str(best))
    if latest is None:
        raise BestError(f"--weights best: {best} holds no checkpoint; train with --eval-every N "
                              f"to keep the best generator")
    tf.train.Checkpoint(**game.exported_networks()).restore(latest).assert_existing_objects_matched()
    return int(latest.rsplit("-", 1)[-1])


class PeriodicEvaluation(keras.callbacks.Callback):
    """Evaluates the generator during training and keeps the best one.

    At the first epoch of every invocation of fit, every `eval_every` epochs and at the
    last epoch, draws `eval_samples` samples from fixed noise and computes the problem's
    figures (toys: metrics.toy_quality; images: image_metrics against the cached
    reference statistics of the run's dataset, with the `eval_classifier`; text: n-gram JS
    divergences from the held-out lines, as many lines on each side).  Every
    epoch's logs get `eval_<figure>` -- the latest measurement -- and `eval_epoch`, the
    epoch it was measured at, so metrics.csv keeps one column per figure and TensorBoard
    plots them.  Place it before MetricsLog and TensorBoard.

    When a measurement beats the best so far on `eval_metric`, the generator's weights
    (BatchNorm statistics included) are saved in WORKDIR/best/ -- a tf.train.Checkpoint
    of the generator only, through a CheckpointManager keeping one, whose index file is
    replaced atomically -- and WORKDIR/best/best.json (also replaced atomically) records
    the epoch and figures.  A resumed run starts from the best value in best.json.

    Args:
      config: the run's Config (eval_every, eval_metric, eval_samples, eval_classifier,
        problem, dataset, seed, epochs).
      workdir: the run directory.
      sample_shape: shape of one sample.
    Raises:
      ConfigError (eval_metric), classifier.ClassifierError (no classifier), image_data.DataError.
    """

    def __init__(self, config, workdir, sample_shape: tuple):
        super().__init__()
        self.config, self.workdir = config, Path(workdir)
        self.problem = config.problem
        self.metric = resolve_metric(self.problem, config.eval_metric)
        self.every, self.epochs, self.n = int(config.eval_every), int(config.epochs), int(config.eval_samples)
        self.sample_shape = tuple(sample_shape)
        self.featurizer = self.reference = None
        if self.problem == "text":  # the held-out lines (every tenth) as ids
            self.reference = text_data.held_out_ids(config.dataset, config.seq_len, config.vocab,
                                                    config.data_dir or None)
        if self.problem == "music":  # the held-out bars, and their progressions the model writes melodies for
            data = melody_data.load_melodies(config.dataset, config.chords)
            self.reference = melody_data.held_out_rows(data)[0]
            self.progressions = melody_data.held_out_progressions(data, melody_data.EVALUATION_BARS)[0]
            if not len(self.progressions):
                raise ConfigError("dataset", f"the held-out pieces of {config.dataset} have no run of "
                                  f"{melody_data.EVALUATION_BARS} bars to write melodies for")
        if self.problem == "image":
            path = config.eval_classifier or clf.default_classifier_path()
            self.featurizer = clf.load_classifier(path, flag="--eval-classifier")
            self.featurizer.groups(self.sample_shape)
            self.reference = reference_statistics(config.dataset, self.featurizer, self.sample_shape,
                                                  config.data_dir or None)
        self.best_dir = self.workdir / BEST_DIR
        self.best = None  # figures of the best measurement so far
        info = self.best_dir / BEST_INFO
        if info.is_file():
            try:
                self.best = json.loads(info.read_text())["figures"]
            except (OSError, ValueError, KeyError):
                self.best = None
        self.latest: dict = {}
        self._manager = None

    def _sample(self) -> np.ndarray:
        return self.model.samples(self.n, [self.config.seed, -4])  # fixed inputs

    def figures(self) -> dict | None:
        """This epoch's figures (None when the samples are not finite: the run diverged)."""
        x = self._sample() if self.problem != "music" else np.zeros(1)  # melodies: drawn for their progressions
        if not np.all(np.isfinite(x)):
            return None
        if self.problem == "text":  # JS of n-grams, from as many lines on each side (metrics/ngrams.py)
            k = min(len(x), len(self.reference))
            q = ngrams.js_figures(x[:k], self.reference[:k])
        elif self.problem == "music":  # melodies for the held-out progressions (metrics/melody.py)
            z = self.model.noise(len(self.progressions), melody_data.EVALUATION_BARS, [self.config.seed, -4])
            rows = self.model.melody(z, self.progressions)[1].numpy()
            q = melody_metrics.melody_figures(rows.reshape(-1, rows.shape[-1]), self.progressions.reshape(-1),
                                              self.reference)
        elif self.problem != "image":
            q = metrics.toy_quality(self.problem, x)
        else:
            q = image_metrics(x, self.featurizer, self.reference, self.config.seed, kid_subsets=20)
        return {k: v for k, v in q.items() if k in metrics.PROBLEM_FIGURES[self.problem]}  # modes stay int

    def _save_best(self, epoch: int, figures: dict) -> None:
        if self._manager is None:
            checkpoint = tf.train.Checkpoint(**self.model.exported_networks())  # GAN: the average under --g-ema
            self._manager = tf.train.CheckpointManager(checkpoint, str(self.best_dir), max_to_keep=1,
                                                       checkpoint_name="generator")
        saved = self._manager.save(checkpoint_number=epoch)  # data first, then the index file, atomically
        write_json(self.best_dir / BEST_INFO,
                    jsonable({"epoch": epoch, "metric": self.metric, "value": figures[self.metric],
                               "figures": figures, "checkpoint": Path(saved).name}))

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if not self.latest or done % self.every == 0 or done == self.epochs:
            figures = self.figures()
            if figures is not None:
                self.latest = {**{f"eval_{k}": v for k, v in figures.items()}, "eval_epoch": float(done)}
                if self.best is None or score(figures, self.metric) > score(self.best, self.metric):
                    self.best = figures
                    self._save_best(done, figures)
        if logs is not None:
            logs.update(self.latest)
