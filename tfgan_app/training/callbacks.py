"""Callbacks that watch a run: metrics log, checkpoints, divergence guard, pictures."""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.training import plotting


class Diverged(RuntimeError):
    """A loss became NaN or Inf; the last good checkpoint is kept."""


def _lr(optimizer) -> float:
    lr = optimizer.learning_rate
    return float(lr.numpy() if hasattr(lr, "numpy") else lr)


class MetricsLog(keras.callbacks.Callback):
    """One CSV row per epoch: epoch, wall time, every metric, both learning rates.

    On resume, rows of epochs that were not checkpointed are dropped, so the log
    matches the restored state.
    """

    def __init__(self, path: Path, initial_epoch: int):
        super().__init__()
        self.path = Path(path)
        self._keep_rows_before(initial_epoch)

    def _keep_rows_before(self, epoch: int) -> None:
        if not self.path.exists():
            return
        with open(self.path) as f:
            rows = list(csv.DictReader(f))
        kept = [r for r in rows if int(r["epoch"]) <= epoch]
        self._write(kept, list(rows[0].keys()) if rows else [], mode="w")

    def _write(self, rows, fields, mode):
        if not fields:
            return
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        if mode == "w":
            with open(tmp, "w", newline="") as f:
                w = csv.DictWriter(f, fields)
                w.writeheader()
                w.writerows(rows)
            os.replace(tmp, self.path)
        else:
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, fields).writerows(rows)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "time": round(time.time(), 3)}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        if self.path.exists() and self.path.stat().st_size > 0:
            self._write([row], list(row), mode="a")
        else:
            self._write([row], list(row), mode="w")


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training when a logged loss is NaN or Inf (checked every `every` batches)."""

    def __init__(self, every: int = 1):
        super().__init__()
        self.every = every
        self.diverged: str | None = None

    def on_train_batch_end(self, batch, logs=None):
        if batch % self.every:
            return
        for name, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                self.diverged = f"{name} became {float(value)} at batch {batch + 1}"
                self.model.stop_training = True
                return

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            if self.diverged is None and not math.isfinite(float(value)):
                self.diverged = f"{name} became {float(value)} in epoch {epoch + 1}"
                self.model.stop_training = True


class Checkpointer(keras.callbacks.Callback):
    """Saves the full training state after every epoch, unless the run diverged."""

    def __init__(self, state, guard: DivergenceGuard):
        super().__init__()
        self.state, self.guard = state, guard

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.diverged is None:
            self.state.save(epoch + 1)


class ToyPlots(keras.callbacks.Callback):
    """Samples against the data every `every` epochs, and the loss curves.

    draw() returns the samples to plot (the same inputs every time: `game.samples` with a fixed seed).
    """

    def __init__(self, problem: str, workdir: Path, real: np.ndarray, draw: Callable[[], np.ndarray],
                 every: int, epochs: int, metrics_csv: Path):
        super().__init__()
        self.problem, self.workdir, self.real, self.draw = problem, Path(workdir), real, draw
        self.every, self.epochs, self.metrics_csv = every, epochs, metrics_csv

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.epochs:
            return
        fake = self.draw()
        plotting.toy_samples(self.problem, fake, self.real, self.workdir / "plots" / f"samples_{done:04d}.png",
                             title=f"{self.problem}, epoch {done}")
        plotting.toy_samples(self.problem, fake, self.real, self.workdir / "samples.png",
                             title=f"{self.problem}, epoch {done}")
        if self.metrics_csv.exists():
            plotting.loss_curves(self.metrics_csv, self.workdir / "losses.png")


class ImageGrids(keras.callbacks.Callback):
    """A grid of samples from fixed inputs every `every` epochs, and a GIF of all grids.

    draw() returns the grid's images (N, H, W, C) in [-1, 1] in `rows` rows (the game's
    `sample_grid`: a GAN shows 8x8 samples, a conditional one a row per class).  Grids go to
    WORKDIR/grids/, the latest to WORKDIR/samples.png, the animation to
    WORKDIR/progress.gif, and the pictures to TensorBoard when a writer is given.
    """

    def __init__(self, workdir: Path, draw: Callable[[], np.ndarray], rows: int, every: int, epochs: int,
                 writer=None):
        super().__init__()
        self.workdir, self.draw, self.rows = Path(workdir), draw, rows
        self.every, self.epochs, self.writer = every, epochs, writer

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.epochs:
            return
        images = self.draw()  # (N, H, W, C) in [-1, 1]
        grid = plotting.image_grid(images, self.rows)
        path = self.workdir / "grids" / f"epoch_{done:04d}.png"
        plotting.save_png(grid, path)
        plotting.save_png(grid, self.workdir / "samples.png")
        plotting.save_gif(sorted((self.workdir / "grids").glob("epoch_*.png")), self.workdir / "progress.gif")
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.image("samples", grid[np.newaxis], step=done)
            self.writer.flush()


class TextSamples(keras.callbacks.Callback):
    """Generated lines as text every `every` epochs: WORKDIR/samples/epoch_NNNN.txt (one line
    each), the latest also as WORKDIR/samples.txt and in TensorBoard (a text summary).

    draw() returns the lines (strings) from the same inputs every time.
    """

    def __init__(self, workdir: Path, draw: Callable[[], list], every: int, epochs: int, writer=None):
        super().__init__()
        self.workdir, self.draw, self.every, self.epochs, self.writer = Path(workdir), draw, every, epochs, writer

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.epochs:
            return
        text = "".join(line.replace("\n", " ") + "\n" for line in self.draw())
        path = self.workdir / "samples" / f"epoch_{done:04d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        for target in (path, self.workdir / "samples.txt"):
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.text("samples", "    " + text.replace("\n", "\n    "), step=done)  # verbatim
            self.writer.flush()


class MelodySamples(keras.callbacks.Callback):
    """Melodies from fixed inputs every `every` epochs: a Standard MIDI file each
    (WORKDIR/samples/epoch_NNNN_K.mid) and their piano rolls (epoch_NNNN.png, the latest also
    WORKDIR/samples.png).

    draw() returns (rows (B, T) pitch rows or -1, MIDI files (B,) bytes).
    """

    def __init__(self, workdir: Path, draw: Callable[[], tuple], pitches: int, every: int, epochs: int):
        super().__init__()
        self.workdir, self.draw, self.pitches, self.every, self.epochs = Path(workdir), draw, pitches, every, epochs

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.epochs:
            return
        rows, files = self.draw()
        folder = self.workdir / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        for k, data in enumerate(files):
            path = folder / f"epoch_{done:04d}_{k}.mid"
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        picture = plotting.piano_rolls(rows, self.pitches)
        plotting.save_png(picture, folder / f"epoch_{done:04d}.png")
        plotting.save_png(picture, self.workdir / "samples.png")


class LearningRates(keras.callbacks.Callback):
    """Adds every optimizer's learning rate to the epoch logs (so TensorBoard and the CSV show
    them): optimizer NAME_optimizer as lr_NAME (a GAN's g_optimizer -> lr_g, d_optimizer -> lr_d)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for name, optimizer in self.model.optimizers.items():
                logs[f"lr_{name.removesuffix('_optimizer')}"] = _lr(optimizer)
