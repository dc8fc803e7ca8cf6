"""train(config, workdir): build the GAN, fit it, keep the run."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import keras
import tensorflow as tf

from tfgan_app import callbacks as cb
from tfgan_app import checkpointing, distribute, metrics, models, toy_data
from tfgan_app.config import Config, ConfigError
from tfgan_app.gan import GAN


@dataclasses.dataclass
class TrainResult:
    gan: GAN
    config: Config
    workdir: Path
    initial_epoch: int       # epoch the run started from (0 unless resumed)
    history: dict            # per-epoch metrics of this invocation
    quality: dict            # toy quality figures at the end (empty for images)
    seconds: float


def make_optimizer(config: Config, lr: float, steps_per_decay: int):
    """The configured optimizer; lr decays by config.lr_decay every steps_per_decay steps."""
    if config.lr_decay != 1.0:
        lr = keras.optimizers.schedules.ExponentialDecay(
            lr, decay_steps=steps_per_decay, decay_rate=config.lr_decay, staircase=True)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=config.momentum, nesterov=config.nesterov)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    return keras.optimizers.Adam(lr, beta_1=config.beta_1, beta_2=config.beta_2)


def build_gan(config: Config, data_shape: tuple | None = None, num_classes: int = 0) -> GAN:
    """Networks, GAN and both optimizers (call inside strategy.scope() when distributing).

    The networks are built under config.precision's dtype policy; under mixed_float16 both
    optimizers are LossScaleOptimizers (compile would wrap at most one: we wrap both).
    """
    with distribute.precision_policy(config.precision):
        generator, discriminator = models.build(config, data_shape, num_classes or config.num_classes)
    gan = GAN(generator, discriminator, latent_dim=config.latent_dim, loss=config.loss,
              n_critic=config.n_critic, gp_weight=config.gp_weight, clip_value=config.clip_value,
              noise=config.noise, noise_range=config.noise_range, conditioning=config.conditioning,
              num_classes=num_classes or config.num_classes, aux_weight=config.aux_weight,
              seed=config.seed, update=config.update, pack=config.pack, g_steps=config.g_steps,
              ema_decay=config.g_ema, r1_weight=config.r1_weight)
    decay_epochs = config.lr_decay_epochs * config.steps_per_epoch
    g_opt = make_optimizer(config, config.g_lr, decay_epochs * config.g_steps)
    d_opt = make_optimizer(config, config.d_lr, decay_epochs * config.n_critic)
    if config.precision == "mixed_float16":
        g_opt = keras.optimizers.LossScaleOptimizer(g_opt)
        d_opt = keras.optimizers.LossScaleOptimizer(d_opt)
    gan.compile(g_optimizer=g_opt, d_optimizer=d_opt, jit_compile=config.jit_compile,
                steps_per_execution=config.steps_per_execution)
    # Build the optimizers now so a checkpoint restores their slots immediately.
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)
    return gan


def data_stream(config: Config, start_batch: int = 0):
    """(dataset of batches of n_critic * batch_size examples, data shape, num_classes)."""
    per_step = config.batch_size * config.n_critic
    if not config.is_image:
        ds = toy_data.toy_batches(config.problem, batch_size=per_step, seed=config.seed,
                                  start_batch=start_batch)
        return ds, (toy_data.data_dim(config.problem),), 0
    from tfgan_app import image_data
    ds, source = image_data.image_batches(
        config.dataset, batch_size=per_step, seed=config.seed,
        image_size=config.image_size or None, channels=config.channels or None,
        data_dir=config.data_dir or None, start_batch=start_batch)
    if config.conditioning == "none":
        ds = ds.map(lambda x, y: x)  # unconditional models ignore labels
    return ds, source.image_shape, source.num_classes


MODEL_SPEC_FILE = "model.json"


def write_model_spec(workdir: Path, data_shape: tuple, num_classes: int) -> None:
    """What the data told us (sample shape, classes): enough to rebuild the nets without the data."""
    spec = {"data_shape": [int(d) for d in data_shape], "num_classes": int(num_classes)}
    tmp = Path(workdir) / f".{MODEL_SPEC_FILE}.tmp"
    tmp.write_text(json.dumps(spec) + "\n")
    os.replace(tmp, Path(workdir) / MODEL_SPEC_FILE)


def restore_run(workdir) -> tuple[Config, GAN, int]:
    """(config, GAN with the latest checkpoint's weights, epochs trained) of a run directory.

    Raises checkpointing.RunDirError when `workdir` holds no (finished epoch of a) run.
    """
    workdir = Path(workdir)
    if not checkpointing.has_run(workdir):
        raise checkpointing.RunDirError(f"--workdir {workdir}: holds no run (no {checkpointing.CONFIG_FILE}); "
                                        f"train one with `python train.py --workdir {workdir}`")
    config = checkpointing.load_config(workdir)
    try:
        spec = json.loads((workdir / MODEL_SPEC_FILE).read_text())
    except (OSError, ValueError) as e:
        raise checkpointing.RunDirError(f"--workdir {workdir}: cannot read {MODEL_SPEC_FILE}: {e}") from None
    gan = build_gan(config, tuple(spec["data_shape"]), spec["num_classes"])
    state = checkpointing.TrainingState(workdir, gan, keep=config.keep_checkpoints)
    if not state.manager.latest_checkpoint:
        raise checkpointing.RunDirError(f"--workdir {workdir}: has no checkpoint yet (no finished epoch)")
    try:
        epoch = state.restore()
    except (tf.errors.OpError, AssertionError, ValueError) as e:
        raise checkpointing.RunDirError(f"--workdir {workdir}: cannot restore {state.manager.latest_checkpoint}: "
                                        f"{str(e).splitlines()[0]}") from None
    return config, gan, epoch


def image_grids(config: Config, gan: GAN, workdir: Path) -> cb.ImageGrids:
    """The fixed-noise grid monitor: 8x8 samples, or one row of 8 per class if conditional."""
    seed = tf.constant([config.seed, -3], tf.int64)
    if gan.conditional:
        rows, cols = gan.num_classes, 8
        z = tf.tile(gan.sample_noise(cols, seed), [rows, 1])  # same noise in each column
        labels = tf.repeat(tf.range(rows, dtype=tf.int32), cols)  # (rows * cols,)
    else:
        rows, z, labels = 8, gan.sample_noise(64, seed), None
    writer = tf.summary.create_file_writer(str(workdir / "tensorboard" / "samples"))
    return cb.ImageGrids(workdir, z, labels, rows, config.plot_every, config.epochs, writer)


def _check_packs(config: Config, replicas: int) -> None:
    if config.batch_size % (replicas * config.pack):
        raise ConfigError("batch_size", f"{config.batch_size} is not a multiple of {replicas} replicas x "
                          f"--pack {config.pack}: every replica's discriminator takes whole packs")


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
      checkpointing.RunDirError, ConfigError, image_data.DataError, callbacks.Diverged.
    """
    start = time.time()
    workdir = Path(workdir)
    config = config.validate()
    # Everything that can refuse the run is checked before the run directory is touched
    # (--fresh deletes the run there).  Multi-worker: the chief prepares the run directory
    # before it joins the cluster; the other workers read its resolved config once they
    # have joined, and write nothing there.
    multiworker = config.strategy == "multiworker"
    chief = not multiworker or distribute.is_chief()
    if chief:
        config, _ = checkpointing.plan(workdir, config, fresh=fresh, compare=compare)
    if multiworker:
        _check_packs(config, distribute.multi_worker_replicas())
    else:
        strategy = distribute.make_strategy(config)  # before anything else touches the devices
        _check_packs(config, strategy.num_replicas_in_sync)
    if chief:
        config, _ = checkpointing.prepare(workdir, config, fresh=fresh, compare=compare)
    if multiworker:
        strategy = distribute.make_strategy(config)  # joins the cluster
        _check_packs(config, strategy.num_replicas_in_sync)
    if not chief:
        config = checkpointing.load_config(workdir)
    keras.utils.set_random_seed(config.seed)  # weight initialisers

    _, data_shape, num_classes = data_stream(config)
    if chief:
        write_model_spec(workdir, data_shape, num_classes or config.num_classes)
    with strategy.scope():  # every variable: nets, optimizers, trackers, the checkpoint's
        gan = build_gan(config, data_shape, num_classes)
        if chief:
            state = checkpointing.TrainingState(workdir, gan, keep=config.keep_checkpoints)
        else:
            state = distribute.WorkerTrainingState(workdir, gan, config.keep_checkpoints, distribute.task()[1])
    initial_epoch = state.restore()
    dataset, _, _ = data_stream(config, start_batch=initial_epoch * config.steps_per_epoch)
    dataset = distribute.arrange_for_replicas(dataset, config.n_critic, strategy.num_replicas_in_sync)
    if not chief:  # train and checkpoint (to a temporary copy); logs and pictures are the chief's
        guard = cb.DivergenceGuard()
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
    evaluation = []  # eval_* figures and WORKDIR/best/; before MetricsLog and TensorBoard read the logs
    if config.eval_every:
        from tfgan_app import evaluate
        evaluation.append(evaluate.PeriodicEvaluation(config, workdir, data_shape,
                                                      num_classes or config.num_classes))
    # The log row is written before the checkpoint: a kill between the two leaves a row past
    # the checkpoint, which MetricsLog drops on resume (the other order would lose the row).
    callbacks = [guard, cb.LearningRates(), *evaluation, cb.MetricsLog(metrics_csv, initial_epoch),
                 cb.Checkpointer(state, guard),
                 keras.callbacks.TensorBoard(str(workdir / "tensorboard"), write_graph=False)]
    if config.is_image:
        callbacks.append(image_grids(config, gan, workdir))
    else:
        real = toy_data.sample(config.problem, config.eval_samples, [config.seed, -1]).numpy()
        z = gan.sample_noise(config.eval_samples, tf.constant([config.seed, -2], tf.int64))
        callbacks.append(cb.ToyPlots(config.problem, workdir, real, z, config.plot_every,
                                     config.epochs, metrics_csv))
    callbacks += list(extra_callbacks)

    history = {}
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
                          f"in {workdir / checkpointing.CHECKPOINT_DIR} (try a lower --g-lr/--d-lr)")
    quality = {}
    if not config.is_image:
        z = gan.sample_noise(config.eval_samples, tf.constant([config.seed, -2], tf.int64))
        quality = metrics.toy_quality(config.problem, gan.generate(z).numpy())
        (workdir / "quality.json").write_text(json.dumps(quality, indent=2) + "\n")
    return TrainResult(gan, config, workdir, initial_epoch, history, quality, time.time() - start)
