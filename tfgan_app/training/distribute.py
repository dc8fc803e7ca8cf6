"""Where training runs and in what precision: strategies, policies, and the multi-worker loop.

    make_strategy(config)       --strategy auto|default|mirrored|multiworker|tpu -> tf.distribute.Strategy
    arrange_for_replicas(...)   reorders global batches so R replicas compute one device's step
    fit_multiworker(...)        the training loop for MultiWorkerMirroredStrategy
    WorkerTrainingState         a non-chief worker's checkpoints (chief writes, others write temp)

Everything else trains through `GAN.fit` with the networks and optimizers built inside
`strategy.scope()` (training.train).  Multi-worker cannot: in Keras 3.15 `fit` under
MultiWorkerMirroredStrategy fails even for a Sequential model (keras-team/keras#20585,
#20329; tensorflow#72388: the symbolic build chokes on tuple batches, and reducing the
scalar logs fails with "Invalid reduction dimension 0").  So `fit_multiworker` drives
`GAN.train_step` itself -- `strategy.run` over `strategy.experimental_distribute_dataset`
inside a `tf.function`, tracker results reduced across all replicas -- and calls the same
Keras callbacks `fit` would (metrics log, checkpoints, divergence guard, pictures).
"""

from __future__ import annotations

import faulthandler
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

from tfgan_app.training import run_dir as checkpointing
from tfgan_app.config import Config


class StrategyError(ValueError):
    """The requested strategy cannot be set up here (the message names the flag)."""


class RefusedBeforeJoining(ValueError):
    """The run's data or evaluation refused it, checked in a child process (check_before_joining)."""


# Opens the data source (and the periodic evaluation's references) of a config given as JSON,
# and prints what the run directory's model spec needs, or the one-line refusal.
_CHECK_CHILD = """
import json, sys, tempfile
from tfgan_app.config import Config
from tfgan_app.data import open_data
from tfgan_app.training.evaluation import PeriodicEvaluation
config = Config.from_dict(json.loads(sys.argv[1]))
try:
    data = open_data(config)
    if config.eval_every:
        with tempfile.TemporaryDirectory() as scratch:
            PeriodicEvaluation(config, scratch, data.shape)
    shape = {k: list(v) for k, v in data.shape.items()} if isinstance(data.shape, dict) else list(data.shape)
    print(json.dumps({"shape": shape, "num_classes": data.num_classes, "files": data.files}))
except ValueError as e:
    print(json.dumps({"error": str(e)}))
"""


def check_before_joining(config: Config) -> tuple[tuple, int, int]:
    """Opens config's data source (its first batch decoded) and its evaluation in a child process.

    A multi-worker process must not run a TensorFlow op before it
    joins the cluster (its collectives are configured once, at the first op: "Collective ops
    must be configured at program startup"), yet a bad input must be refused before the run
    directory is touched and the cluster waits for this worker.

    Returns:
      (example shape -- or name -> shape, as DataStream.shape --, num_classes, the files a worker
      can shard by: DataStream.files).
    Raises:
      RefusedBeforeJoining: the child's one-line refusal, or the child did not answer in time.
    """
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}  # the child joins nothing
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    timeout = config.worker_timeout + 300  # a data service may take worker_timeout to answer; the rest: reading
    try:
        proc = subprocess.run([sys.executable, "-c", _CHECK_CHILD, config.to_json()], capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise RefusedBeforeJoining(f"--dataset {config.dataset}: opening the data took over {timeout:g} s "
                                   f"(--worker-timeout {config.worker_timeout:g} + 300) before joining the "
                                   f"cluster") from None
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RefusedBeforeJoining(f"--dataset {config.dataset}: checking the data before joining the cluster "
                                   f"failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
    answer = json.loads(lines[-1])
    if "error" in answer:
        raise RefusedBeforeJoining(answer["error"])
    shape = answer["shape"]  # an example's shape, or name -> shape for data of several parts (pairs, text, ...)
    shape = {k: tuple(v) for k, v in shape.items()} if isinstance(shape, dict) else tuple(shape)
    return shape, int(answer["num_classes"]), int(answer["files"])


# --- strategies --------------------------------------------------------------------


def resolve_strategy(config: Config) -> str:
    """The concrete strategy name for config.strategy ("auto" decided here)."""
    if config.strategy != "auto":
        return config.strategy
    if config.tpu or os.environ.get("TPU_NAME"):
        return "tpu"
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def make_strategy(config: Config) -> tf.distribute.Strategy:
    """The tf.distribute strategy config.strategy asks for.

    Call it before anything else touches TensorFlow's devices (multi-worker and TPU
    strategies configure the runtime).

    Raises:
      StrategyError: no TPU where --tpu points, no TF_CONFIG for multiworker, or not every
        worker joined within config.worker_timeout seconds.
    """
    name = resolve_strategy(config)
    if name == "default":
        return tf.distribute.get_strategy()
    key = (name, config.tpu)
    if key not in _STRATEGIES:  # one per process: see _STRATEGIES
        _STRATEGIES[key] = _make_strategy(name, config)
    return _STRATEGIES[key]


# Strategies made so far.  A process gets one of each: TF configures a multi-worker or TPU
# runtime once per process, and a second MirroredStrategy would reuse the first one's
# collective keys ("Shape mismatch in the collective instance").
_STRATEGIES: dict = {}


def _make_strategy(name: str, config: Config) -> tf.distribute.Strategy:
    if name == "mirrored":
        # Every GPU; on a machine without, every logical CPU (tests split one CPU into two).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "tpu":
        return _tpu_strategy(config.tpu)
    return _multi_worker_strategy(config.worker_timeout)


def _tpu_strategy(address: str) -> tf.distribute.TPUStrategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError, RuntimeError) as e:
        where = f"--tpu {address!r}" if address else "TPU_NAME" if os.environ.get("TPU_NAME") else "no --tpu"
        raise StrategyError(f"--strategy tpu: cannot reach a TPU ({where}): {str(e).splitlines()[0]}; "
                            f"pass --tpu NAME|grpc://HOST:PORT|local") from None
    return tf.distribute.TPUStrategy(resolver)


def task() -> tuple[str | None, int, int]:
    """(task type, task index, number of workers) of this process, from TF_CONFIG."""
    spec = json.loads(os.environ.get("TF_CONFIG") or "{}")
    cluster, me = spec.get("cluster", {}), spec.get("task", {})
    workers = sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))
    return me.get("type"), int(me.get("index", 0)), workers


def multi_worker_replicas() -> int:
    """The replicas MultiWorkerMirroredStrategy will have, known before joining the cluster:
    each TF_CONFIG worker contributes its GPUs, or its CPU when it has none.
    """
    return max(1, task()[2]) * max(1, len(tf.config.list_physical_devices("GPU")))


def is_chief() -> bool:
    """True unless TF_CONFIG names this process a worker other than the chief.

    The chief is the "chief" task, or worker 0 when the cluster has no "chief".
    """
    kind, index, _ = task()
    spec = json.loads(os.environ.get("TF_CONFIG") or "{}")
    if kind is None or kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in spec.get("cluster", {})


def _multi_worker_strategy(timeout: float) -> tf.distribute.MultiWorkerMirroredStrategy:
    """MultiWorkerMirroredStrategy from TF_CONFIG, giving up after about `timeout` seconds.

    The constructor waits for every worker of the cluster and, if one never comes, waits
    forever (holding the GIL, so a watchdog thread cannot help).  So: the other workers
    register with the coordination service with a deadline of `timeout` (they fail with
    DeadlineExceeded); the chief, which hosts the service and has no such deadline, first
    waits for every other worker's port to accept connections, up to `timeout`.  As a last
    resort (a worker dying after that check) faulthandler ends the process after
    2 x timeout + 30 s with every thread's traceback.
    """
    kind, index, workers = task()
    if kind is None or workers == 0:
        raise StrategyError("--strategy multiworker: TF_CONFIG is not set (or names no cluster); set it on "
                            "every worker, e.g. TF_CONFIG='{\"cluster\": {\"worker\": [\"host1:port\", "
                            "\"host2:port\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}'")
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2  # what the strategy itself uses
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    cluster = resolver.cluster_spec()
    jobs = [j for j in ("chief", "worker") if j in cluster.jobs]
    if is_chief():
        others = [cluster.task_address(j, i) for j in jobs for i in range(cluster.num_tasks(j))
                  if (j, i) != (kind, index)]
        missing = _wait_for_ports(others, timeout)
        if missing:
            raise StrategyError(f"--strategy multiworker: worker(s) {', '.join(missing)} of TF_CONFIG did not "
                                f"start within {timeout:g} s (this is the chief, {kind} {index}); start every "
                                f"worker, check the addresses, or raise --worker-timeout")
    # The strategy configures this itself unless it is already configured: the same, plus a deadline.
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=multi_worker_util.coordination_leader(cluster),
        coordinated_jobs=[coordination_config_pb2.CoordinatedJob(name=j, num_tasks=cluster.num_tasks(j))
                          for j in jobs],
        cluster_register_timeout_in_ms=int(timeout * 1000))
    faulthandler.dump_traceback_later(2 * timeout + 30, exit=True)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError) as e:
        raise StrategyError(f"--strategy multiworker: could not join the chief of TF_CONFIG within {timeout:g} s "
                            f"(this is {kind} {index}; {type(e).__name__}); start the chief, check the "
                            f"addresses, or raise --worker-timeout") from None
    finally:
        faulthandler.cancel_dump_traceback_later()


def _wait_for_ports(addresses: list[str], timeout: float) -> list[str]:
    """Waits until every HOST:PORT accepts a TCP connection; returns those that did not in time."""
    deadline = time.monotonic() + timeout
    waiting = list(addresses)
    while waiting and time.monotonic() < deadline:
        for address in list(waiting):
            host, _, port = address.rpartition(":")
            try:
                socket.create_connection((host.strip("[]"), int(port)), timeout=1).close()
                waiting.remove(address)
            except OSError:
                pass
        if waiting:
            time.sleep(0.2)
    return waiting


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def arrange_for_replicas(dataset: tf.data.Dataset, n_critic: int, replicas: int) -> tf.data.Dataset:
    """Reorders each global batch so R replicas' critic steps see what one device's see.

    A batch holds n_critic slices of B examples, critic step i taking slice i.  Under a
    strategy each replica gets a contiguous block of the batch and takes its slices from
    that block, so without reordering replica r's step i would train on examples one
    device gives to another step.  Reordering the rows (k, R, b) -> (R, k, b), b = B / R,
    hands replica r the r-th part of every slice: with the noise drawn the same way
    (GAN._draw), R replicas compute one device's step.  Nothing to do for k = 1 or R = 1.
    """
    if n_critic == 1 or replicas == 1:
        return dataset

    def arrange(x):  # (k*R*b, ...) -> (k, R, b, ...) -> (R, k, b, ...) -> (k*R*b, ...)
        shape = tf.shape(x)
        blocks = tf.reshape(x, tf.concat([[n_critic, replicas, -1], shape[1:]], 0))
        perm = [1, 0] + list(range(2, x.shape.rank + 2))
        return tf.ensure_shape(tf.reshape(tf.transpose(blocks, perm), shape), x.shape)

    return dataset.map(lambda *batch: tf.nest.map_structure(arrange, batch if len(batch) > 1 else batch[0]))


# --- multi-worker checkpoints ----------------------------------------------------------


class WorkerTrainingState(checkpointing.TrainingState):
    """A non-chief worker's training state: the chief's checkpoints in, a temporary copy out.

    Every worker saves (a save may read variables collectively), but only the chief's
    files are kept: the others write to WORKDIR/.workertemp_N and delete it at once (the
    pattern of TF's multi-worker custom-loop tutorial; a BackupAndRestore directory shared
    by all workers crashes on an HDF5 lock).  Restoring reads the chief's latest checkpoint,
    so WORKDIR must be on storage every worker sees.
    """

    def __init__(self, workdir: Path, gan, keep: int, task_index: int):
        self.chief_dir = Path(workdir) / checkpointing.CHECKPOINT_DIR
        self.temp_dir = Path(workdir) / f".workertemp_{task_index}"
        super().__init__(self.temp_dir, gan, keep)

    def restore(self) -> int:
        latest = tf.train.latest_checkpoint(str(self.chief_dir))
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.epoch.numpy())

    def save(self, epoch: int) -> str:
        path = super().save(epoch)
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        return path


# --- the multi-worker training loop ------------------------------------------------------


def fit_multiworker(gan, dataset: tf.data.Dataset, strategy: tf.distribute.Strategy, *, epochs: int,
                    initial_epoch: int, steps_per_epoch: int, callbacks=(), steps_per_execution: int = 1,
                    verbose: int = 1) -> dict:
    """Trains like `gan.fit(dataset, epochs=..., initial_epoch=..., steps_per_epoch=...)`.

    `dataset` yields global batches; each worker keeps its share of every batch (DATA
    sharding: the batch is split, not the files), and each replica its share of that.  Or
    `dataset` is a function of a worker's tf.distribute.InputContext returning its replicas'
    batches (FILE sharding: each worker reads its own files; train.replica_input).
    Every `steps_per_execution` steps the tracker results are averaged over all replicas
    -- the same numbers on every worker, so every worker takes the same decisions (the
    divergence guard stops all of them or none).

    Returns:
      {metric: [value per epoch]}, like History.history.
    """
    if callable(dataset):  # each worker's own input pipeline: InputContext -> per-replica batches
        iterator = iter(strategy.distribute_datasets_from_function(dataset))
    else:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        iterator = iter(strategy.experimental_distribute_dataset(dataset.with_options(options)))
    train_step = tf.autograph.experimental.do_not_convert(gan.train_step)

    def tracker_results():
        return {name: t.result() for name, t in gan.trackers.items()}

    @tf.function
    def run_steps(iterator, steps):
        for _ in tf.range(steps):
            strategy.run(train_step, args=(next(iterator),))
        per_replica = strategy.run(tracker_results)
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}

    callback_list = keras.callbacks.CallbackList(list(callbacks), model=gan)
    gan.stop_training = False
    history: dict = {}
    logs: dict = {}
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        for tracker in gan.metrics:
            tracker.reset_state()
        callback_list.on_epoch_begin(epoch)
        start, step = time.time(), 0
        while step < steps_per_epoch and not gan.stop_training:
            steps = min(steps_per_execution, steps_per_epoch - step)
            callback_list.on_train_batch_begin(step)
            logs = {k: float(v) for k, v in run_steps(iterator, tf.constant(steps)).items()}
            step += steps
            callback_list.on_train_batch_end(step - 1, logs)
        callback_list.on_epoch_end(epoch, logs)
        for k, v in logs.items():
            history.setdefault(k, []).append(v)
        if verbose:
            shown = "  ".join(f"{k}={v:.4g}" for k, v in logs.items())
            print(f"epoch {epoch + 1}/{epochs}  {time.time() - start:.1f}s  {shown}", flush=True)
        if gan.stop_training:
            break
    callback_list.on_train_end(logs)
    return history
