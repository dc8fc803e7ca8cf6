"""tf.distribute: 2 replicas compute one device's step; 2 workers train, checkpoint and resume.

Every test trains in fresh Python processes: splitting the CPU into two logical devices must
happen before TensorFlow initialises its devices, and each worker of a multi-worker cluster
is a process of its own.  Every process is bounded by a timeout and killed if a test fails.

Why the comparisons can be tight: the GAN reduces every loss by the global batch, each
replica takes its rows of the noise drawn for the global batch (AdversarialGame.draw), and each global
batch is reordered so replica r's critic steps see the r-th part of one device's slices
(distribute.arrange_for_replicas).  So R replicas compute exactly one device's step up to the
order of float32 additions in the gradient sum (~1e-7 relative).  With SGD (lr 0.1) one
step moves weights by up to ~1e-1, so replica/device differences are ~1e-8; we allow 1e-6.
A wrong reduction (a per-replica mean doubles the update) or shared noise would differ by
about the update itself (> 1e-3), which every case checks is large.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from conftest import latest_epoch
from tfgan_app.data import prepare  # only writes a dataset here: the training runs in fresh processes

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
ENV.pop("TF_CONFIG", None)

# Runs in a fresh process with the CPU split into two logical devices; prints one JSON line.
TWO_REPLICAS = r'''
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import dataclasses
import keras, numpy as np
from tfgan_app import config as cfg
from tfgan_app import data, games
from tfgan_app.training import distribute
from tfgan_app.training import train as training

def nets(gan):  # every network of any game, in its registry order (a GAN's generator first)
    return list(gan.networks.values())

def weights(gan):
    average = gan.generator_ema.weights if getattr(gan, "generator_ema", None) is not None else []
    pools = [gan.pool_a.images, gan.pool_b.images] if hasattr(gan, "pool_a") else []
    return [w.numpy() for net in nets(gan) for w in net.weights] + [w.numpy() for w in average + pools]

def seed_states(gan):  # the layers' random state (dropout), not among get_weights()
    return [v for net in nets(gan) for v in net.non_trainable_variables if v.path.endswith("seed_generator_state")]

def one_step(config, strategy, shape, dataset, start):
    with strategy.scope():
        gan = games.build(config, shape, 10 if config.conditioning != "none" else 0)
    for net, values in zip(nets(gan), start[0]):  # the same start for both runs
        net.set_weights(values)
    for v, value in zip(seed_states(gan), start[1]):
        v.assign(value)
    if getattr(gan, "generator_ema", None) is not None:
        gan.generator_ema.set_weights(start[0][0])
    ds = distribute.arrange_for_replicas(dataset, config.n_critic, strategy.num_replicas_in_sync)
    gan.fit(ds, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    return weights(gan)

sgd = dict(optimizer="sgd", g_lr=0.1, d_lr=0.1)
toy = dict(g_hidden=(32, 32), d_hidden=(32, 32), batch_size=64, **sgd)
image = dict(dataset="npz:unused.npz", width=8, d_dropout=0.0, batch_size=16, **sgd)
cases = {
    "non-saturating": cfg.preset("ring8", **toy),
    "wgan-gp, 3 critic steps": cfg.preset("ring8-wgan-gp", n_critic=3, **toy),
    "non-saturating, R1 penalty": cfg.preset("ring8", r1_weight=1.0, **toy),
    "hinge, one-sided Lipschitz penalty, packed": cfg.preset("ring8", loss="hinge", penalty="lp", pack=2, **toy),
    "least-squares, finite-difference penalty": cfg.preset("ring8", loss="least-squares", penalty="fd", **toy),
    "non-saturating, DRAGAN penalty": cfg.preset("ring8", penalty="dragan", **toy),
    "BatchNorm in G, synchronized": cfg.preset("dcgan-mnist", sync_batchnorm=True, **image),
    "BatchNorm in G, synchronized, weight average": cfg.preset("dcgan-mnist", sync_batchnorm=True, g_ema=0.5,
                                                               **image),
    "BatchNorm in G, per replica": cfg.preset("dcgan-mnist", **image),
    # SN in G and D (u: only_first_replica), attention, conditional BN (synchronized), projection,
    # orthogonal regularization: every BigGAN-lite piece.  lr 0.01: SN divides the kernels by
    # sigma ~ 0.1 at N(0, 0.02) initialisation, so its gradients are ~10x larger than plain nets'.
    # ortho_weight 10 (not 1e-4): its share of G's step, ~1e-4, must dwarf the 1e-6 tolerance,
    # so a wrong replica scaling of the regulariser (summed over replicas) would show.
    "BigGAN-lite, synchronized": cfg.preset("biggan-lite", sync_batchnorm=True, ortho_weight=10.0,
                                            **dict(image, g_lr=0.01, d_lr=0.01)),
    # U-Net (instance norm, dropout masks drawn for the global batch) and PatchGAN, L1 + cGAN.
    "pix2pix, dropout": cfg.preset("pix2pix-edges2digits", **dict(image, width=4, g_lr=0.01, d_lr=0.01)),
    # Two generators, two critics, history pools of 3 (filled and swapped within the step's 16
    # images, from the global batch: all-gathered, so both replicas keep one device's pool).
    "CycleGAN, history pools": cfg.preset("cyclegan-digits2mnist", **dict(image, width=4, res_blocks=1, pool_size=3,
                                                                          g_lr=0.01, d_lr=0.01)),
    # Three levels, each a GAN on its band; dropout masks drawn for the global batch.
    "LAPGAN, every level": cfg.preset("lapgan-mnist", **dict(image, width=4, g_hidden=(16, 16), d_hidden=(16,),
                                                              latent_dim=8, g_lr=0.01, d_lr=0.01)),
    # One-hot text, the gradient penalty over positions and characters, 2 critic steps.
    "chargan, text": cfg.preset("text-wgan-gp", dataset="unused", seq_len=8, width=8, res_blocks=1, latent_dim=6,
                                batch_size=8, n_critic=2, **sgd),
    # Feature matching on global-batch means (all-reduced), 2 G steps, BatchNorm synchronized.
    "MidiNet, melodies": cfg.preset("midinet-chorales", dataset="unused", width=8, latent_dim=6, batch_size=8,
                                    sync_batchnorm=True, **sgd),
}
# One strategy per process: a second MirroredStrategy reuses the first one's collective keys.
mirrored = distribute.make_strategy(dataclasses.replace(cfg.Config(), strategy="mirrored"))
assert mirrored.num_replicas_in_sync == 2
out = {}
for name, config in cases.items():
    rng = np.random.default_rng(0)
    if config.is_text:  # lines of character ids
        shape = {"tokens": (8,), "vocabulary": tuple(range(97, 102))}
        ids = tf.constant(rng.integers(0, 7, (config.batch_size * config.n_critic, 8)), tf.int32)
        dataset = tf.data.Dataset.from_tensors(ids).repeat()
    elif config.is_music:  # (bar rows, previous bar rows, chord ids)
        shape = {"bar": (16, 24), "chord": (13,)}
        rows = [tf.constant(rng.integers(-1, 24, (config.batch_size, 16)), tf.int8) for _ in range(2)]
        dataset = tf.data.Dataset.from_tensors((*rows, tf.constant(rng.integers(0, 24, config.batch_size),
                                                                   tf.int32))).repeat()
    elif config.game in ("pix2pix", "cyclegan"):  # (inputs, targets) / (images of A, images of B)
        shape = ({"inputs": (28, 28, 1), "targets": (28, 28, 1)} if config.game == "pix2pix"
                 else {"a": (28, 28, 1), "b": (28, 28, 1)})
        x, y = (tf.constant(np.random.default_rng(i).uniform(-1, 1, (config.batch_size, 28, 28, 1)), tf.float32)
                for i in (0, 1))
        dataset = tf.data.Dataset.from_tensors((x, y)).repeat()
    elif config.is_image:
        shape = (28, 28, 1)
        n = config.batch_size * config.n_critic
        x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (n,) + shape), tf.float32)
        y = tf.range(n, dtype=tf.int32) % 10
        dataset = tf.data.Dataset.from_tensors((x, y) if config.conditioning != "none" else x).repeat()
    else:
        shape = (2,)
        dataset = data.data_stream(config)[0]
    keras.utils.set_random_seed(config.seed)
    start_gan = games.build(config, shape, 10 if config.conditioning != "none" else 0)
    start = [[net.get_weights() for net in nets(start_gan)], [v.numpy() for v in seed_states(start_gan)]]
    one = one_step(config, tf.distribute.get_strategy(), shape, dataset, start)
    two = one_step(config, mirrored, shape, dataset, start)
    flat = [w for values in start[0] for w in values]  # every network's weights, as weights() lists them
    before = flat + (start[0][0] if config.g_ema else [])
    all_weights = [w for net in nets(start_gan) for w in net.weights]
    trainable = [i for i, w in enumerate(all_weights) if w.trainable]
    if config.g_ema:  # the average moved too (by half the generator's step)
        trainable += [len(flat) + i for i, w in enumerate(start_gan.generator.weights) if w.trainable]
    out[name] = {"difference": max(float(np.abs(a - b).max()) for a, b in zip(one, two)),
                 "update": max(float(np.abs(one[i] - before[i]).max()) for i in trainable)}

# StackGAN is refused under two replicas, before anything is built (its string captions).
try:
    with mirrored.scope():
        games.build(cfg.preset("stackgan-captions2digits", dataset="captions:unused", text_encoder="unused.keras"),
                    (28, 28, 1))
    out["stackgan"] = "built"
except cfg.ConfigError as e:
    out["stackgan"] = str(e)

# Dropout masks differ between replicas (Keras's Dropout draws the same on each).
from tfgan_app.nets.layers import Dropout
with mirrored.scope():
    dropout = Dropout(0.5)
masks = mirrored.experimental_local_results(mirrored.run(lambda: dropout(tf.ones([64, 32]), training=True)))
out["dropout masks equal"] = bool(np.array_equal(masks[0].numpy(), masks[1].numpy()))

# And end to end: train() under --strategy mirrored resumes and matches --strategy default.
base = cfg.preset("ring8-wgan-gp", n_critic=2, steps_per_epoch=3, epochs=2, plot_every=100,
                  eval_samples=100, g_ema=0.9, **toy)
runs = {}
for strategy in ("mirrored", "default"):
    config = dataclasses.replace(base, strategy=strategy)
    if strategy == "mirrored":  # stop after epoch 1, then resume
        training.train(dataclasses.replace(config, epochs=1), sys.argv[1] + "/" + strategy, verbose=0)
    result = training.train(config, sys.argv[1] + "/" + strategy, verbose=0)
    runs[strategy] = (result.initial_epoch, weights(result.gan))
# A batch two replicas cannot split is refused before --fresh deletes the run that is there.
saved = sorted(str(p) for p in __import__("pathlib").Path(sys.argv[1], "default").rglob("*"))
try:
    training.train(dataclasses.replace(base, strategy="mirrored", batch_size=63), sys.argv[1] + "/default",
                   fresh=True, verbose=0)
    out["odd batch"] = "trained"
except cfg.ConfigError as e:
    out["odd batch"] = str(e)
out["run kept"] = saved == sorted(str(p) for p in __import__("pathlib").Path(sys.argv[1], "default").rglob("*"))
out["train"] = {"resumed_at": runs["mirrored"][0],
                "difference": max(float(np.abs(a - b).max()) for a, b in zip(runs["mirrored"][1], runs["default"][1]))}
print(json.dumps(out))
'''


def run_python(code: str, *args, timeout: float, env=None) -> str:
    """Runs `code` in a fresh interpreter; returns its last stdout line (fails with its stderr)."""
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env or ENV, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


def test_two_replicas_compute_one_devices_step(tmp_path):
    results = json.loads(run_python(TWO_REPLICAS, tmp_path, timeout=360))
    for name in ("non-saturating", "wgan-gp, 3 critic steps", "non-saturating, R1 penalty",
                 "hinge, one-sided Lipschitz penalty, packed", "least-squares, finite-difference penalty",
                 "non-saturating, DRAGAN penalty", "BatchNorm in G, synchronized", "BatchNorm in G, synchronized, weight average",
                 "BigGAN-lite, synchronized", "pix2pix, dropout", "CycleGAN, history pools", "LAPGAN, every level",
                 "chargan, text", "MidiNet, melodies"):
        r = results[name]
        assert r["update"] > 1e-3, (name, r)  # the step moved the weights, so the match means something
        assert r["difference"] < 1e-6, (name, r)
    # Per-replica BatchNorm normalises each half batch by its own statistics: a different step.
    assert results["BatchNorm in G, per replica"]["difference"] > 1e-4, results
    assert not results["dropout masks equal"]
    assert results["stackgan"].startswith("--strategy: stackgan trains on one device for now"), results
    # train() under MirroredStrategy: resumed from its checkpoint, ends where one device ends,
    # weight average included (6 steps: the 1e-7 rounding differences compound a little).
    assert results["train"]["resumed_at"] == 1, results
    assert results["train"]["difference"] < 1e-5, results
    assert results["odd batch"].startswith("--batch-size: 63 is not a multiple of 2 replicas x --pack 1"), results
    assert results["run kept"], results


# A worker of the cluster: trains through training.train and saves its final weights.
# SLOW seconds of sleep after each epoch leave time to kill the cluster mid-run.
WORKER = r'''
import json, os, sys, time
import keras, numpy as np
from tfgan_app import config as cfg
from tfgan_app.training import train as training
workdir, epochs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
config = cfg.preset("ring8-wgan-gp", g_hidden=(16,), d_hidden=(16,), batch_size=32, n_critic=2,
                    optimizer="sgd", g_lr=0.05, d_lr=0.05, steps_per_epoch=2, epochs=epochs,
                    strategy=os.environ.get("STRATEGY", "multiworker"), worker_timeout=60,
                    plot_every=1000, eval_samples=100)
slow = keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: time.sleep(float(os.environ.get("SLOW", 0))))
result = training.train(config, workdir, verbose=0, extra_callbacks=[slow])
weights = [w.numpy() for w in result.gan.generator.weights + result.gan.discriminator.weights]
np.savez(out, *weights)
print(json.dumps({"initial_epoch": result.initial_epoch}))
'''


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start_workers(ports, workdir, epochs, out_dir, slow=0.0, script=WORKER, *args):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(len(ports)):
        env = dict(ENV, SLOW=str(slow), TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}))
        procs.append(subprocess.Popen(
            [sys.executable, "-c", script, str(workdir), str(epochs), str(out_dir / f"worker{i}.npz"), *map(str, args)],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True))
    return procs


def kill(procs):
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)


def finish(procs, timeout):
    """[(returncode, last stdout line, stderr tail)] of every worker; kills them on timeout."""
    deadline = time.monotonic() + timeout
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            results.append((p.returncode, (out.strip().splitlines() or [""])[-1], err[-2000:]))
    finally:
        kill(procs)
    return results


def load(path):
    with np.load(path) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def test_two_workers_train_identically_and_resume_after_being_killed(tmp_path):
    workdir, epochs = tmp_path / "run", 12
    procs = start_workers(free_ports(2), workdir, epochs, tmp_path, slow=0.3)
    try:  # kill the whole cluster once the chief's checkpoint state names its second checkpoint
        deadline = time.monotonic() + 90
        while latest_epoch(workdir) < 2:
            assert time.monotonic() < deadline, "no second checkpoint within 90 s"
            assert all(p.poll() is None for p in procs), [p.communicate()[1][-2000:] for p in procs]
            time.sleep(0.05)
    finally:
        kill(procs)
    assert not (tmp_path / "worker0.npz").exists()  # killed before the end

    # The same command again (new ports: the old ones may linger): resumes from the last checkpoint.
    results = finish(start_workers(free_ports(2), workdir, epochs, tmp_path), timeout=120)
    for code, last, err in results:
        assert code == 0, err
    resumed = [json.loads(last)["initial_epoch"] for _, last, _ in results]
    assert resumed[0] == resumed[1] and 2 <= resumed[0] < epochs, resumed
    w0, w1 = load(tmp_path / "worker0.npz"), load(tmp_path / "worker1.npz")
    for a, b in zip(w0, w1):  # every worker applies the same all-reduced gradients
        np.testing.assert_array_equal(a, b)
    assert not list(workdir.glob(".workertemp_*"))  # the non-chief's copies are gone

    # ... and end where one uninterrupted device ends (24 SGD steps; see the module docstring;
    # two uninterrupted clusters agree bit for bit, and 200 steps compound the rounding to ~3e-4).
    reference = run_python(WORKER, tmp_path / "reference", epochs, tmp_path / "reference.npz", timeout=120,
                           env=dict(ENV, STRATEGY="default"))
    assert json.loads(reference)["initial_epoch"] == 0
    for a, b in zip(w0, load(tmp_path / "reference.npz")):
        np.testing.assert_allclose(a, b, atol=1e-6)


# A worker training a tiny DCGAN on prepared TFRecords, each worker reading only its own shards.
STREAM_WORKER = r'''
import json, sys
import numpy as np
from tfgan_app import config as cfg
from tfgan_app.training import train as training
workdir, epochs, out, records = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
modes = []
replica_input = training.replica_input
def spy(*args):  # which input the loop got: a function of each worker's InputContext, or global batches
    made = replica_input(*args)
    modes.append("file" if callable(made) else "data")
    return made
training.replica_input = spy
config = cfg.preset("dcgan", dataset="tfrecords:" + records, width=4, latent_dim=8, batch_size=4, steps_per_epoch=3,
                    epochs=epochs, shuffle_buffer=16, strategy="multiworker", data_sharding="auto", sync_batchnorm=True,
                    worker_timeout=60, plot_every=1000)
result = training.train(config, workdir, verbose=0)
nets = [result.gan.generator, result.gan.discriminator]
np.savez(out, *[w.numpy() for net in nets for w in net.weights])  # BatchNorm's statistics are each worker's
print(json.dumps({"initial_epoch": result.initial_epoch, "modes": modes,
                  "trainable": [i for i, w in enumerate(w for net in nets for w in net.weights) if w.trainable]}))
'''


def test_two_workers_read_their_own_shards_and_resume_to_an_uninterrupted_clusters_weights(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8))
    prepare.prepare(f"npz:{tmp_path / 'd.npz'}", tmp_path / "rec", shards=4)  # 4 shards: 2 a worker
    runs = {}
    for name, epochs in (("whole", [2]), ("cut", [1, 2])):  # the second stops after epoch 1, then resumes
        (tmp_path / f"out-{name}").mkdir()
        for n in epochs:
            results = finish(start_workers(free_ports(2), tmp_path / name, n, tmp_path / f"out-{name}", 0.0,
                                           STREAM_WORKER, tmp_path / "rec"), timeout=120)
            assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
            summaries = [json.loads(last) for _, last, _ in results]
            assert all(s["modes"] == ["file"] for s in summaries), summaries
        runs[name] = load(tmp_path / f"out-{name}" / "worker0.npz"), load(tmp_path / f"out-{name}" / "worker1.npz")
        assert summaries[0]["initial_epoch"] == len(epochs) - 1  # the cut run resumed at epoch 1
        trainable = summaries[0]["trainable"]
    for i in trainable:  # every worker applies the same all-reduced gradients
        np.testing.assert_array_equal(runs["whole"][0][i], runs["whole"][1][i])
    for worker in (0, 1):  # and the resumed cluster ends where the uninterrupted one did, statistics included
        for a, b in zip(runs["whole"][worker], runs["cut"][worker]):
            np.testing.assert_array_equal(a, b)


def test_a_missing_worker_ends_with_an_error_not_a_hang(tmp_path):
    # Worker 1 of a two-worker cluster whose chief never starts: fails after --worker-timeout.
    port0, port1 = free_ports(2)
    env = dict(ENV, TF_CONFIG=json.dumps({"cluster": {"worker": [f"127.0.0.1:{port0}", f"127.0.0.1:{port1}"]},
                                          "task": {"type": "worker", "index": 1}}))
    proc = subprocess.run([sys.executable, "train.py", "--preset", "ring8", "--strategy", "multiworker",
                           "--worker-timeout", "3", "--workdir", str(tmp_path / "run"), "--quiet"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "could not join the chief of TF_CONFIG within 3 s" in proc.stderr  # a hang: TimeoutExpired


def test_multi_worker_replicas_are_known_before_joining(monkeypatch):
    from tfgan_app.training import distribute

    cluster = {"chief": ["localhost:1"], "worker": ["localhost:2", "localhost:3"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    gpus = len(distribute.tf.config.list_physical_devices("GPU"))
    assert distribute.multi_worker_replicas() == 3 * max(1, gpus)  # 3 workers: their GPUs, or 1 CPU each


def test_the_check_before_joining_reports_the_shape_of_data_of_several_parts(tmp_path):
    # A worker checks its data in a child process before joining; the shape it reports must be the
    # one the game is built from, a name -> shape mapping for pairs (a list of names broke it).
    from PIL import Image

    from tfgan_app import config as cfg
    from tfgan_app.training import distribute

    (tmp_path / "ab").mkdir()
    for i in range(4):
        Image.fromarray(np.full((8, 16, 3), 40 * i, np.uint8)).save(tmp_path / "ab" / f"{i}.png")
    prepare.prepare(f"pairs:{tmp_path / 'ab'}", tmp_path / "rec", shards=2)
    config = cfg.preset("pix2pix-edges2digits", dataset=f"tfrecords:{tmp_path / 'rec'}", batch_size=2)
    shape, num_classes, files = distribute.check_before_joining(config)
    assert shape == {"inputs": (8, 8, 3), "targets": (8, 8, 3)} and num_classes == 0 and files == 0
