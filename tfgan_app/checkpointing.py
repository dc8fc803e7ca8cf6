"""The run directory and the full training state in it.

A run directory holds `config.json` (the resolved config), `checkpoints/`
(tf.train.CheckpointManager: both networks, both optimizers -- their step
counters and slots --, the noise generator's state and the epoch), and the logs
and pictures the callbacks write.  Rerunning the same command resumes from the
last checkpoint; with the same seed it reaches the same weights as an
uninterrupted run, because the data stream is a function of (seed, batch index)
and the noise state is restored too.

TF writes a checkpoint's data and index under temporary names and then updates
the small `checkpoint` state file atomically, so a write that is interrupted
leaves the previous checkpoint readable.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import tensorflow as tf

from tfgan_app.config import Config, ConfigError

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
# Fields a resumed run may change: how long to train and how often to draw, and where and
# how fast it runs (a killed cluster may come back on other hardware).
RESUMABLE_FIELDS = ("epochs", "plot_every", "keep_checkpoints", "strategy", "tpu", "jit_compile", "layer_impl",
                    "steps_per_execution", "worker_timeout", "eval_every", "eval_metric",
                    "eval_classifier")


class RunDirError(ValueError):
    """The workdir cannot be used as asked (message names --workdir)."""


def has_run(workdir: Path) -> bool:
    return (Path(workdir) / CONFIG_FILE).exists()


def load_config(workdir: Path) -> Config:
    path = Path(workdir) / CONFIG_FILE
    try:
        return Config.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError) as e:
        raise RunDirError(f"--workdir {workdir}: cannot read {path}: {e}") from None


def write_config(workdir: Path, config: Config) -> None:
    path = Path(workdir) / CONFIG_FILE
    tmp = path.with_name(f".{CONFIG_FILE}.tmp")
    tmp.write_text(config.to_json() + "\n")
    os.replace(tmp, path)


def plan(workdir: Path, config: Config, *, fresh: bool = False,
         compare: tuple[str, ...] | None = None) -> tuple[Config, bool]:
    """The (config to use, resuming?) that `prepare` would give; writes and deletes nothing.

    A workdir that already holds a run is resumed unless `fresh`; then the
    saved config is used, and each field named in `compare` (all fields when
    None) must match `config` -- except RESUMABLE_FIELDS, which are taken from
    `config`.  A conflict raises RunDirError naming the field.
    """
    workdir = Path(workdir)
    if workdir.exists() and not workdir.is_dir():
        raise RunDirError(f"--workdir {workdir}: is a file; expected a directory (new or holding a run)")
    if fresh or not has_run(workdir):
        if not has_run(workdir) and workdir.exists() and any(workdir.iterdir()):
            raise RunDirError(f"--workdir {workdir}: exists, is not empty and holds no run "
                              f"({CONFIG_FILE} missing); choose a new directory")
        return config, False
    saved = load_config(workdir)
    names = [f.name for f in dataclasses.fields(Config)] if compare is None else compare
    for name in names:
        if name in RESUMABLE_FIELDS:
            continue
        if getattr(saved, name) != getattr(config, name):
            raise RunDirError(
                f"--workdir {workdir}: holds a run with {name}={getattr(saved, name)!r} but "
                f"this command asks for {getattr(config, name)!r}; rerun without that change "
                f"to resume, pass --fresh to start over, or use another --workdir")
    resumed = dataclasses.replace(saved, **{n: getattr(config, n) for n in RESUMABLE_FIELDS})
    try:
        resumed.validate()
    except ConfigError as e:
        raise RunDirError(f"--workdir {workdir}: {e}") from None
    return resumed, True


def prepare(workdir: Path, config: Config, *, fresh: bool = False,
            compare: tuple[str, ...] | None = None) -> tuple[Config, bool]:
    """Makes `workdir` ready and returns (config to use, resuming?), as `plan` decides them.

    `fresh` deletes the run in `workdir` (only ever a run: a directory with a config); the
    config used is written to `workdir`.  Check everything else a run needs before this.
    """
    workdir = Path(workdir)
    config, resuming = plan(workdir, config, fresh=fresh, compare=compare)
    if fresh and has_run(workdir):  # only ever delete what a run wrote, never another directory
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    write_config(workdir, config)
    return config, resuming


class TrainingState:
    """Everything a resumed run needs, in one tf.train.Checkpoint."""

    def __init__(self, workdir: Path, gan, keep: int):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        parts = dict(generator=gan.generator, discriminator=gan.discriminator,
                     g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer,
                     noise_seed=gan.seed_generator.state.value, epoch=self.epoch)
        if gan.generator_ema is not None:  # --g-ema: the weight average
            parts["generator_ema"] = gan.generator_ema
        self.checkpoint = tf.train.Checkpoint(**parts)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(Path(workdir) / CHECKPOINT_DIR), max_to_keep=keep)

    def restore(self) -> int:
        """Restores the latest checkpoint if there is one; returns the epoch to start at."""
        latest = self.manager.latest_checkpoint
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.epoch.numpy())

    def save(self, epoch: int) -> str:
        """Saves the state after `epoch` epochs (1-based count of finished epochs)."""
        self.epoch.assign(epoch)
        return self.manager.save(checkpoint_number=epoch)
