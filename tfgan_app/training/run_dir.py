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
import uuid
import shutil
from pathlib import Path

import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from tfgan_app import games
from tfgan_app.config import Config, ConfigError

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
# Fields a resumed run may change: how long to train and how often to draw, and where and
# how fast it runs (a killed cluster may come back on other hardware).
RESUMABLE_FIELDS = ("epochs", "plot_every", "keep_checkpoints", "strategy", "tpu", "jit_compile", "layer_impl",
                    "steps_per_execution", "worker_timeout", "eval_every", "eval_metric",
                    "eval_classifier", "data_service")


# Checkpoint parts that runs written before they existed lack: the layers' random state
# (Dropout masks; checkpointed since the games moved onto games.base).  Such a run resumes
# with fresh layer seeds.
OPTIONAL_SUFFIXES = ("_random",)


class RunDirError(ValueError):
    """The workdir cannot be used as asked (message names --workdir)."""


def has_run(workdir: Path) -> bool:
    """A directory train.py prepared (it holds config.json), with or without a checkpoint yet."""
    return (Path(workdir) / CONFIG_FILE).exists()


def has_checkpoint(workdir: Path) -> bool:
    """A run that finished an epoch: only such a run is resumed (and must match the command)."""
    return tf.train.latest_checkpoint(str(Path(workdir) / CHECKPOINT_DIR)) is not None


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


SERVICE_JOB_FILE = "data_service_job"  # this invocation's tf.data service job, shared by a cluster's workers


def new_service_job(workdir: Path) -> str:
    """A job name for this invocation's reads from the tf.data service, written for the other
    workers of a cluster (service.py: a job name must never be used twice on one service)."""
    name = f"tfgan-{uuid.uuid4().hex[:16]}"
    path = Path(workdir) / SERVICE_JOB_FILE
    tmp = path.with_name(f".{SERVICE_JOB_FILE}.tmp")
    tmp.write_text(name + "\n")
    os.replace(tmp, path)
    return name


def service_job(workdir: Path) -> str:
    """The job name the chief wrote (new_service_job).

    Raises:
      RunDirError: the chief's file is not there (a --workdir the workers do not share).
    """
    path = Path(workdir) / SERVICE_JOB_FILE
    if not path.is_file():
        raise RunDirError(f"--workdir {workdir}: no {SERVICE_JOB_FILE} from the chief; --data-service needs a "
                          f"--workdir every worker of the cluster sees")
    return path.read_text().strip()


def plan(workdir: Path, config: Config, *, fresh: bool = False,
         compare: tuple[str, ...] | None = None) -> tuple[Config, bool]:
    """The (config to use, resuming?) that `prepare` would give; writes and deletes nothing.

    A workdir that already holds a run with a checkpoint is resumed unless `fresh`; then the
    saved config is used, and each field named in `compare` (all fields when
    None) must match `config` -- except RESUMABLE_FIELDS, which are taken from
    `config` when named in `compare` (all, when None).  A conflict raises RunDirError naming the field.
    """
    workdir = Path(workdir)
    if workdir.exists() and not workdir.is_dir():
        raise RunDirError(f"--workdir {workdir}: is a file; expected a directory (new or holding a run)")
    if fresh or not has_checkpoint(workdir):  # a config with no checkpoint is no run: it is replaced
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
    # A resumable field changes when given (every field is given with a preset, compare None): a
    # bare `train.py --workdir X --epochs 9` keeps the run's own strategy, plot_every, ...
    given = RESUMABLE_FIELDS if compare is None else [n for n in RESUMABLE_FIELDS if n in compare]
    resumed = dataclasses.replace(saved, **{n: getattr(config, n) for n in given})
    try:
        resumed.validate()
    except ConfigError as e:
        raise RunDirError(f"--workdir {workdir}: {e}") from None
    return resumed, True


def prepare(workdir: Path, config: Config, *, fresh: bool = False,
            compare: tuple[str, ...] | None = None) -> tuple[Config, bool]:
    """Makes `workdir` ready and returns (config to use, resuming?), as `plan` decides them.

    `fresh` deletes the run in `workdir` (only ever a run: a directory with a config), and so
    does starting in a run directory that holds no checkpoint (a run killed or refused before
    its first epoch ended); the config used is written to `workdir`.  Check everything else a run needs before this.
    """
    workdir = Path(workdir)
    config, resuming = plan(workdir, config, fresh=fresh, compare=compare)
    if not resuming and has_run(workdir):  # only ever delete what a run wrote, never another directory
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    write_config(workdir, config)
    return config, resuming


def _saved_parts(checkpoint_path: str) -> set:
    """The names of the root's children in a checkpoint's object graph (generator, epoch, ...)."""
    reader = tf.train.load_checkpoint(checkpoint_path)
    graph = trackable_object_graph_pb2.TrackableObjectGraph.FromString(
        reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    return {child.local_name for child in graph.nodes[0].children}


class TrainingState:
    """Everything a resumed run needs, in one tf.train.Checkpoint: the game's
    `checkpoint_items()` (networks, optimizers, noise state, weight averages) and the epoch."""

    def __init__(self, workdir: Path, gan, keep: int):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.parts = parts = dict(gan.checkpoint_items(), epoch=self.epoch)
        self.checkpoint = tf.train.Checkpoint(**parts)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(Path(workdir) / CHECKPOINT_DIR), max_to_keep=keep)

    def restore(self) -> int:
        """Restores the latest checkpoint if there is one; returns the epoch to start at."""
        latest = self.manager.latest_checkpoint
        if latest:
            missing = [k for k in self.parts if k not in _saved_parts(latest)]
            checkpoint = self.checkpoint
            if missing and all(k.endswith(OPTIONAL_SUFFIXES) for k in missing):
                # written before these parts were checkpointed: restore the rest
                checkpoint = tf.train.Checkpoint(**{k: v for k, v in self.parts.items() if k not in missing})
            checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.epoch.numpy())

    def save(self, epoch: int) -> str:
        """Saves the state after `epoch` epochs (1-based count of finished epochs)."""
        self.epoch.assign(epoch)
        return self.manager.save(checkpoint_number=epoch)


MODEL_SPEC_FILE = "model.json"


def write_model_spec(workdir: Path, data_shape, num_classes: int) -> None:
    """What the data told us (sample shape, or name -> shape for data of several parts such as
    paired images; classes): enough to rebuild the nets without the data."""
    shape = ({k: [int(d) for d in v] for k, v in data_shape.items()} if isinstance(data_shape, dict)
             else [int(d) for d in data_shape])
    spec = {"data_shape": shape, "num_classes": int(num_classes)}
    tmp = Path(workdir) / f".{MODEL_SPEC_FILE}.tmp"
    tmp.write_text(json.dumps(spec) + "\n")
    os.replace(tmp, Path(workdir) / MODEL_SPEC_FILE)


def restore_run(workdir) -> tuple[Config, games.AdversarialGame, int]:
    """(config, GAN with the latest checkpoint's weights, epochs trained) of a run directory.

    Raises RunDirError when `workdir` holds no (finished epoch of a) run.
    """
    workdir = Path(workdir)
    if not has_run(workdir):
        raise RunDirError(f"--workdir {workdir}: holds no run (no {CONFIG_FILE}); "
                                        f"train one with `python train.py --workdir {workdir}`")
    config = load_config(workdir)
    try:
        spec = json.loads((workdir / MODEL_SPEC_FILE).read_text())
    except (OSError, ValueError) as e:
        raise RunDirError(f"--workdir {workdir}: cannot read {MODEL_SPEC_FILE}: {e}") from None
    shape = spec["data_shape"]
    shape = {k: tuple(v) for k, v in shape.items()} if isinstance(shape, dict) else tuple(shape)
    gan = games.build(config, shape, spec["num_classes"])
    state = TrainingState(workdir, gan, keep=config.keep_checkpoints)
    if not state.manager.latest_checkpoint:
        raise RunDirError(f"--workdir {workdir}: has no checkpoint yet (no finished epoch)")
    try:
        epoch = state.restore()
    except (tf.errors.OpError, AssertionError, ValueError) as e:
        raise RunDirError(f"--workdir {workdir}: cannot restore {state.manager.latest_checkpoint}: "
                                        f"{str(e).splitlines()[0]}") from None
    return config, gan, epoch
