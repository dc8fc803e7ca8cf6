"""train(config, workdir): build the GAN, fit it, keep the run."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import games
from tfgan_app.config import TOY_PROBLEMS, Config, ConfigError
from tfgan_app.data import DataError, DataStream, melody, midi, open_data, toy
from tfgan_app.metrics import figures
from tfgan_app.training import callbacks as cb
from tfgan_app.training import distribute, run_dir
from tfgan_app.training.evaluation import PeriodicEvaluation


@dataclasses.dataclass
class TrainResult:
    gan: games.AdversarialGame
    config: Config
    workdir: Path
    initial_epoch: int       # epoch the run started from (0 unless resumed)
    history: dict            # per-epoch metrics of this invocation
    quality: dict            # toy quality figures at the end (empty for images and text)
    seconds: float


def image_grids(config: Config, game, workdir: Path, data: DataStream) -> cb.ImageGrids:
    """The fixed-input grid monitor: whatever the game's `sample_grid` shows (of noise drawn
    from the seed, or of the data's first examples)."""
    def examples():  # read only by a game that shows real data: the first 24 examples
        first = next(iter(data.batches(0).unbatch().batch(24)))
        return tf.nest.map_structure(lambda t: t.numpy(), first)

    draw, rows = game.sample_grid([config.seed, -3], examples)
    writer = tf.summary.create_file_writer(str(workdir / "tensorboard" / "samples"))
    return cb.ImageGrids(workdir, draw, rows, config.plot_every, config.epochs, writer)


def text_samples(config: Config, game, workdir: Path) -> cb.TextSamples:
    """The text monitor: 64 lines from fixed noise, decoded."""
    writer = tf.summary.create_file_writer(str(workdir / "tensorboard" / "samples"))
    return cb.TextSamples(workdir, lambda: game.decode(game.samples(64, [config.seed, -3])), config.plot_every,
                          config.epochs, writer)


def melody_samples(config: Config, game, workdir: Path) -> cb.MelodySamples:
    """The melody monitor: 4 melodies of --bars bars over C G Am F (repeated), from fixed noise."""
    progression = [melody.parse_chord(c) for c in ("C", "G", "Am", "F")]
    chords = np.tile(np.resize(progression, config.bars), (4, 1))
    z = game.noise(4, config.bars, [config.seed, -3])

    def draw():
        rows = game.melody(z, chords)[1].numpy().reshape(4, -1)  # (4, bars * 16)
        pitches = np.where(rows >= 0, rows + melody.LOW, midi.REST)
        return rows, [bytes(b) for b in midi.midi_bytes(pitches).numpy()]

    return cb.MelodySamples(workdir, draw, melody.PITCHES, config.plot_every, config.epochs)


@contextlib.contextmanager
def corrupt_data_named(config: Config, data: DataStream):
    """TensorFlow's DataLossError ("corrupted record at 12345", no file named) as a DataError that
    names the bad file: the stream's files are checked (DataStream.verify) when it happens."""
    try:
        yield
    except tf.errors.DataLossError as e:
        data.verify()  # raises DataError naming the file, when the files tell
        raise DataError(f"--dataset {config.dataset}: corrupt data while training "
                        f"({str(e).splitlines()[0]})") from None


def data_sharding(config: Config, data: DataStream, strategy) -> str:
    """'file' when each worker of a multi-worker cluster reads only its own files (--data-sharding
    file, or auto with the files dividing evenly among the workers), else 'data'.  (Too few files
    for `file` is refused before the cluster is joined: train.)"""
    workers = distribute.task()[2] if distribute.is_multi_worker(strategy) else 1  # TF_CONFIG's workers
    if workers == 1 or data.worker_batches is None or config.data_sharding == "data":
        return "data"
    if config.data_sharding == "auto" and data.files % workers:
        return "data"
    return "file"


def replica_input(config: Config, data: DataStream, strategy, start_batch: int, service_job: str = ""):
    """What the training loop reads from batch `start_batch` on: the global batches arranged so R
    replicas compute one device's steps, or a function of each worker's InputContext giving
    its replicas' batches (file sharding: from its own files; --data-service: from the
    service's job `service_job`, shared by the cluster's workers).

    Returns:
      a tf.data.Dataset of global batches, or a function InputContext -> per-replica batches
      (for strategy.distribute_datasets_from_function).
    """
    per_step, replicas = config.batch_size * config.n_critic, strategy.num_replicas_in_sync
    if config.data_service and distribute.is_multi_worker(strategy):
        return lambda context: data.service_batches(start_batch, service_job, per_step // replicas)
    if config.data_service:
        batches = data.service_batches(start_batch, service_job, per_step)
    elif data_sharding(config, data, strategy) == "file":
        return lambda context: data.worker_batches(start_batch, context)
    else:
        batches = data.batches(start_batch)
    return distribute.arrange_for_replicas(batches, config.n_critic, replicas)


def _check_packs(config: Config, replicas: int) -> None:
    if config.batch_size % (replicas * config.pack):
        raise ConfigError("batch_size", f"{config.batch_size} is not a multiple of {replicas} replicas x "
                          f"--pack {config.pack}: every replica's discriminator takes whole packs")


def _build(config: Config, data: DataStream, strategy):
    """The game, built inside the strategy's scope with the weight initialisers seeded."""
    keras.utils.set_random_seed(config.seed)  # weight initialisers
    with strategy.scope():  # every variable: nets, optimizers, trackers
        return games.build(config, data.shape, data.num_classes)


def _initialize_from(config: Config, game) -> None:
    """--init-from: the starting weights from a finished run's game (after the strategy exists)."""
    if config.init_from:
        try:
            _, source, _ = run_dir.restore_run(config.init_from)
        except run_dir.RunDirError as e:
            raise run_dir.RunDirError(f"--init-from {config.init_from}: {str(e).partition(': ')[2]}") from None
        game.initialize_from(source)


def train(config: Config, workdir, *, fresh: bool = False, compare=None, verbose: int = 1,
          extra_callbacks=()) -> TrainResult:
    """Trains `config` in `workdir`, resuming a run that is already there.

    Args:
      config: the run's config (validated).
      workdir: run directory (created; resumed when it holds a run).
      fresh: start over even if workdir holds a run.
      compare: fields that must match a run being resumed (None: all).
      verbose: fit's verbosity (1 = progress bar).
    Returns:
      TrainResult.
    Raises:
      run_dir.RunDirError, ConfigError, data.DataError, callbacks.Diverged.
    """
    start = time.time()
    workdir = Path(workdir)
    config = config.validate()
    # Everything that can refuse the run -- flags, the run directory, the data source (opened,
    # its first batch decoded), the evaluation's classifier, the strategy, packs against
    # replicas, the game's networks -- is checked before the run directory is touched
    # (--fresh deletes the run there).  Multi-worker: the chief prepares the run directory
    # before it joins the cluster; the other workers read its resolved config once they
    # have joined, and write nothing there.
    multiworker = config.strategy == "multiworker"
    chief = not multiworker or distribute.is_chief()
    if chief:
        config, _ = run_dir.plan(workdir, config, fresh=fresh, compare=compare)
        if config.strategy == "multiworker" and not multiworker:  # a bare resume of a cluster's run
            raise run_dir.RunDirError(f"--workdir {workdir}: holds a multi-worker run; resume it with "
                                      f"--strategy multiworker on every worker (TF_CONFIG set)")
    evaluation = []  # eval_* figures and WORKDIR/best/; before MetricsLog and TensorBoard read the logs
    if multiworker:  # no TF op before joining: the data and evaluation are checked in a child
        shape, num_classes, files = distribute.check_before_joining(config) if chief else (None, 0, 0)
        workers = distribute.task()[2]
        if chief and config.data_sharding == "file" and files < workers:
            raise DataError(f"--data-sharding file: {workers} workers but {files} shards in {config.dataset}; "
                            f"prepare at least one shard per worker, or use --data-sharding data")
    else:
        data = open_data(config)  # the source opened once, its first batch decoded
        shape, num_classes = data.shape, data.num_classes
        if config.eval_every:
            evaluation.append(PeriodicEvaluation(config, workdir, data.shape))
    if config.init_from and not run_dir.has_run(Path(config.init_from)):
        raise run_dir.RunDirError(f"--init-from {config.init_from}: holds no run; expected a run directory "
                                  f"written by train.py")
    if multiworker:
        _check_packs(config, distribute.multi_worker_replicas())
    else:
        strategy = distribute.make_strategy(config)  # before anything else touches the devices
        _check_packs(config, strategy.num_replicas_in_sync)
        gan = _build(config, data, strategy)
        _initialize_from(config, gan)  # refuses a run of another game now; a resumed run's checkpoint wins later
    if chief:
        config, _ = run_dir.prepare(workdir, config, fresh=fresh, compare=compare)
        run_dir.write_model_spec(workdir, shape, num_classes or config.num_classes)
        job = run_dir.new_service_job(workdir) if config.data_service else ""
    if multiworker:  # a failed join leaves the config and model spec: a retry accepts them
        strategy = distribute.make_strategy(config)  # joins the cluster
        _check_packs(config, strategy.num_replicas_in_sync)
        if not chief:  # the chief's resolved config; its data source may differ from this command's
            config = run_dir.load_config(workdir)
            job = run_dir.service_job(workdir) if config.data_service else ""
        data = open_data(config)
        if chief and config.eval_every:
            evaluation.append(PeriodicEvaluation(config, workdir, data.shape))
        gan = _build(config, data, strategy)
        _initialize_from(config, gan)
    with strategy.scope():  # the checkpoint's variables
        if chief:
            state = run_dir.TrainingState(workdir, gan, keep=config.keep_checkpoints)
        else:
            state = distribute.WorkerTrainingState(workdir, gan, config.keep_checkpoints, distribute.task()[1])
    initial_epoch = state.restore()
    dataset = replica_input(config, data, strategy, initial_epoch * config.steps_per_epoch, job)
    if not chief:  # train and checkpoint (to a temporary copy); logs and pictures are the chief's
        guard = cb.DivergenceGuard()
        with corrupt_data_named(config, data):
            history = distribute.fit_multiworker(
                gan, dataset, strategy, epochs=config.epochs, initial_epoch=initial_epoch,
                steps_per_epoch=config.steps_per_epoch, callbacks=[guard, cb.Checkpointer(state, guard),
                                                                   *extra_callbacks],
                steps_per_execution=config.steps_per_execution, verbose=0)
        if guard.diverged:
            raise cb.Diverged(f"training diverged: {guard.diverged} (the chief keeps the last good checkpoint)")
        return TrainResult(gan, config, workdir, initial_epoch, history, {}, time.time() - start)

    guard = cb.DivergenceGuard()
    metrics_csv = workdir / "metrics.csv"

    def toy_samples():  # what the toy plots and quality.json show: fixed noise, the sampling networks
        return gan.samples(config.eval_samples, [config.seed, -2], config.eval_samples)

    # The log row is written before the checkpoint: a kill between the two leaves a row past
    # the checkpoint, which MetricsLog drops on resume (the other order would lose the row).
    callbacks = [guard, cb.LearningRates(), *evaluation, cb.MetricsLog(metrics_csv, initial_epoch),
                 cb.Checkpointer(state, guard),
                 keras.callbacks.TensorBoard(str(workdir / "tensorboard"), write_graph=False)]
    if config.is_image:
        callbacks.append(image_grids(config, gan, workdir, data))
    elif config.is_text:
        callbacks.append(text_samples(config, gan, workdir))
    elif config.is_music:
        callbacks.append(melody_samples(config, gan, workdir))
    else:
        real = toy.sample(config.problem, config.eval_samples, [config.seed, -1]).numpy()
        callbacks.append(cb.ToyPlots(config.problem, workdir, real, toy_samples, config.plot_every,
                                     config.epochs, metrics_csv))
    callbacks += list(extra_callbacks)

    history = {}
    with corrupt_data_named(config, data):
        if initial_epoch < config.epochs and distribute.is_multi_worker(strategy):  # Keras 3.15 fit fails there
            history = distribute.fit_multiworker(
                gan, dataset, strategy, epochs=config.epochs, initial_epoch=initial_epoch,
                steps_per_epoch=config.steps_per_epoch, callbacks=callbacks,
                steps_per_execution=config.steps_per_execution, verbose=verbose)
        elif initial_epoch < config.epochs:
            h = gan.fit(dataset, epochs=config.epochs, initial_epoch=initial_epoch,
                        steps_per_epoch=config.steps_per_epoch, callbacks=callbacks, verbose=verbose,
                        shuffle=False)
            history = h.history
    if guard.diverged:
        raise cb.Diverged(f"training diverged: {guard.diverged}; the last good checkpoint is kept "
                          f"in {workdir / run_dir.CHECKPOINT_DIR} (try a lower --g-lr/--d-lr)")
    quality = {}
    if config.problem in TOY_PROBLEMS:
        quality = figures.toy_quality(config.problem, toy_samples())
        (workdir / "quality.json").write_text(json.dumps(quality, indent=2) + "\n")
    return TrainResult(gan, config, workdir, initial_epoch, history, quality, time.time() - start)
