"""W1 `dcgan-mnist` and W2 `wgan-gp-mnist` (docs/benchmarks.md): training throughput; and what
spectral normalization and self-attention cost on the `sngan` preset's nets.

Trains the workload's preset through the project's own path -- `games.build` and
`GAN.fit` on `tfgan_app.data.data_stream`, the preset's config with `--dataset mnist-idx:DIR` --
and, in the same process, the same architecture written as the public examples write it
(benchmarks/hand_written.py: the TF DCGAN tutorial's models and `@tf.function train_step`
for W1; for W2 its models without dropout and the keras.io WGAN-GP example's train_step).  The contenders run in alternating blocks of
`--block` steps (the first step of each block is not timed), so load on this shared
machine hits all of them alike.  Figures are medians of per-step times; ratios are the
median over rounds of the ratio of two contenders' block medians (paired in time).

    python benchmarks/train_throughput.py --workload dcgan-mnist [--steps N] [--precision P]
    python benchmarks/train_throughput.py --workload wgan-gp-mnist
    python benchmarks/train_throughput.py --workload dcgan-mnist --precision mixed_bfloat16,float32
    python benchmarks/train_throughput.py --workload dcgan-mnist --g-ema 0,0.999 --no-hand
    python benchmarks/train_throughput.py --workload dcgan-mnist --r1-weight 0,1 --no-hand
    python benchmarks/train_throughput.py --workload sngan --spectral-norm none,d,gd --attention 0,14
    python benchmarks/train_throughput.py --workload dcgan-mnist --torch --torch-step tutorial,simultaneous

The `sngan` workload has no hand-written counterpart (fit contenders only): its figures are
ratios between its variants, e.g. `vs_sn-none` = speed with SN in D over speed without.

`--precision` may list several policies: each gets its own fit and hand-loop contender, and
the figures of the first are compared with the others.  Last line:
`img/s=<fit> hand_img/s=<hand> ratio=<fit/hand>` (W2: `critic_img/s=...`), for the first
precision, followed by `vs_<contender>=<ratio>` for the other fit contenders (precisions,
--layer-impl, --g-ema, --r1-weight, --spectral-norm, --attention values) and, with --torch,
`vs_torch_<precision>_<step>=<ratio>`: our fit in that precision over PyTorch's step
(benchmarks/torch_peer.py, run from the peers' virtualenv; skipped, saying so, without torch).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

WORKLOADS = {"dcgan-mnist": "img/s", "wgan-gp-mnist": "critic_img/s", "sngan": "critic_img/s"}
PEERS_PYTHON = REPO / "benchmarks" / ".venv-peers" / "bin" / "python"
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=sorted(WORKLOADS), default="dcgan-mnist")
    p.add_argument("--steps", type=int, default=30, help="timed generator steps per contender (default 30)")
    p.add_argument("--precision", default="float32",
                   help=f"one or more of {', '.join(PRECISIONS)}, comma separated (default float32)")
    p.add_argument("--layer-impl", default="auto",
                   help="fit path: one or more of auto, tfgan, keras (--layer-impl of train.py), comma separated")
    p.add_argument("--g-ema", default="0",
                   help="fit path: one or more generator weight-average decays (--g-ema of train.py), comma "
                        "separated; e.g. 0,0.999 prices the average (default 0)")
    p.add_argument("--r1-weight", default="0",
                   help="fit path: one or more R1 penalty weights (--r1-weight of train.py), comma separated; "
                        "e.g. 0,1 prices the penalty (default 0)")
    p.add_argument("--spectral-norm", default=None,
                   help="sngan workload: one or more of none, d, gd, comma separated (default: the preset's)")
    p.add_argument("--attention", default=None,
                   help="sngan workload: one or more attention sides (0 = none), comma separated")
    p.add_argument("--jit-compile", action="store_true", help="compile the fit path's train step with XLA")
    p.add_argument("--steps-per-execution", type=int, default=1, help="fit path: steps per tf.function call")
    p.add_argument("--block", type=int, default=6, help="steps per contender before switching (default 6)")
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "mnist"),
                   help="directory of the MNIST IDX files (default ../shared/data/mnist)")
    p.add_argument("--no-hand", action="store_true", help="time only the fit path")
    p.add_argument("--torch", nargs="?", const=str(PEERS_PYTHON), default=None, metavar="PYTHON",
                   help="W1: add PyTorch contenders (benchmarks/torch_peer.py) run by PYTHON, the peers' "
                        f"virtualenv (default {PEERS_PYTHON.relative_to(REPO)}: python3 -m venv "
                        "benchmarks/.venv-peers && benchmarks/.venv-peers/bin/pip install -r "
                        "benchmarks/requirements-peers.txt)")
    p.add_argument("--torch-step", default="tutorial",
                   help="with --torch: tutorial (the PyTorch DCGAN tutorial's step), simultaneous (W1's), or both, "
                        "comma separated (default tutorial)")
    args = p.parse_args(argv)
    args.precision = args.precision.split(",")
    for prec in args.precision:
        if prec not in PRECISIONS:
            p.error(f"--precision: {prec!r} is not one of: {', '.join(PRECISIONS)}")
    args.layer_impl = args.layer_impl.split(",")
    for impl in args.layer_impl:
        if impl not in ("auto", "tfgan", "keras"):
            p.error(f"--layer-impl: {impl!r} is not one of: auto, tfgan, keras")
    args.g_ema = _numbers(p, "--g-ema", args.g_ema, lambda e: 0 <= e < 1, "in [0, 1)")
    args.r1_weight = _numbers(p, "--r1-weight", args.r1_weight, lambda e: e >= 0, ">= 0")
    sngan = args.workload == "sngan"
    if (args.spectral_norm or args.attention) and not sngan:
        p.error("--spectral-norm and --attention vary the sngan workload's nets: use --workload sngan")
    args.spectral_norm = (args.spectral_norm or "").split(",") if args.spectral_norm else [None]
    for sn in args.spectral_norm:
        if sn not in (None, "none", "d", "gd"):
            p.error(f"--spectral-norm: {sn!r} is not one of: none, d, gd")
    args.attention = [int(a) for a in _numbers(p, "--attention", args.attention, lambda a: a >= 0 and a == int(a),
                                               "whole numbers >= 0")] if args.attention else [None]
    if sngan:
        args.no_hand = True  # no hand-written SN-GAN to compare with: ratios between variants
    if args.steps <= 0 or args.block < 2 or args.steps_per_execution <= 0:
        p.error("--steps and --steps-per-execution must be positive, --block at least 2")
    if args.block % args.steps_per_execution:
        p.error("--block must be a multiple of --steps-per-execution")
    args.torch_step = args.torch_step.split(",")
    if not set(args.torch_step) <= {"tutorial", "simultaneous"}:
        p.error(f"--torch-step: expected tutorial, simultaneous or both, got {','.join(args.torch_step)}")
    if args.torch and args.workload != "dcgan-mnist":
        p.error("--torch: the PyTorch peer is W1's model (--workload dcgan-mnist)")
    return args


def _numbers(p, flag: str, text: str, ok, expected: str) -> list[float]:
    """Comma-separated numbers of `flag`, each passing `ok`; else p.error naming the flag."""
    try:
        values = [float(e) for e in text.split(",")]
    except ValueError:
        p.error(f"{flag}: expected comma-separated numbers {expected}, got {text!r}")
    if not all(ok(e) for e in values):
        p.error(f"{flag}: expected numbers {expected}, got {values}")
    return values


def machine_load() -> str:
    """The 1-minute load average and other TF/pytest processes: figures mean little under load."""
    load = os.getloadavg()[0]
    try:
        ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, timeout=5).stdout
        others = [line for line in ps.splitlines()
                  if ("pytest" in line or "python" in line and "train" in line) and str(os.getpid()) not in line
                  and "train_throughput" not in line]
    except (OSError, subprocess.SubprocessError):
        others = []
    return f"load average {load:.2f}, {len(others)} other python training/pytest processes"


class FitContender:
    """The project's path: build_gan + GAN.fit on data_stream, timed by a callback."""

    def __init__(self, config, shape):
        import keras
        import tensorflow as tf

        from tfgan_app import data, games

        self.config = config
        keras.utils.set_random_seed(config.seed)
        self.gan = games.build(config, shape)
        self.dataset = data.data_stream(config)[0]
        contender = self

        class Timer(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                contender.ends.append(time.perf_counter())

        self.timer, self.ends, self.times, self.blocks = Timer(), [], [], []
        self.tf = tf

    def run(self, steps: int, record: bool = True):
        self.ends = []
        self.gan.fit(self.dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False,
                     callbacks=[self.timer])
        per_call = np.diff(self.ends) / self.config.steps_per_execution  # the first call is not timed
        if record:
            self.times += list(per_call)
            self.blocks.append(float(np.median(per_call)))


class HandContender:
    """The public example's loop and models (benchmarks/hand_written.py), under the same policy."""

    def __init__(self, config, shape, images):
        import keras

        import hand_written
        from tfgan_app.nets.precision import precision_policy

        keras.utils.set_random_seed(config.seed)
        with precision_policy(config.precision):
            generator = hand_written.make_generator_model(config.latent_dim)
            discriminator = hand_written.make_discriminator_model(config.d_dropout)
        game = (config.loss, config.penalty)  # "wgan-gp" is resolved into ("wasserstein", "gp")
        if game == ("wasserstein", "gp"):  # W2
            self.step = hand_written.wgan_gp_example_step(generator, discriminator, config.latent_dim,
                                                          config.n_critic, config.penalty_weight)
        elif game == ("non-saturating", "none"):  # W1
            self.step = hand_written.dcgan_tutorial_step(generator, discriminator, config.batch_size,
                                                         config.latent_dim)
        else:
            raise SystemExit(f"train_throughput.py: error: no hand-written loop for --loss {config.loss} "
                             f"--penalty {config.penalty} (W1: non-saturating; W2: wasserstein + gp)")
        self.iterator = iter(hand_written.tutorial_dataset(images, config.batch_size))
        self.times, self.blocks = [], []

    def run(self, steps: int, record: bool = True):
        ends = [time.perf_counter()]
        for _ in range(steps):
            self.step(next(self.iterator))
            ends.append(time.perf_counter())
        if record:
            self.times += list(np.diff(ends)[1:])  # like the fit contender: the first step is not timed
            self.blocks.append(float(np.median(np.diff(ends)[1:])))


class TorchContender:
    """W1 in PyTorch (benchmarks/torch_peer.py), a child process of the peers' virtualenv driven
    block by block over stdin/stdout, so its steps alternate in time with the others'."""

    def __init__(self, python: str, data: Path, config, step: str):
        job = {"data": str(data), "batch_size": config.batch_size, "noise_dim": config.latent_dim,
               "precision": config.precision, "step": step}
        self.proc = subprocess.Popen([python, str(REPO / "benchmarks" / "torch_peer.py"), json.dumps(job)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.info = json.loads(self.proc.stdout.readline() or "{}")
        if not self.info:
            raise SystemExit(f"train_throughput.py: error: --torch {python}: torch_peer.py did not start")
        self.times, self.blocks = [], []

    def run(self, steps: int, record: bool = True):
        self.proc.stdin.write(f"{steps}\n")
        self.proc.stdin.flush()
        times = json.loads(self.proc.stdout.readline())[1:]  # like the others: the first step is not timed
        if record:
            self.times += times
            self.blocks.append(float(np.median(times)))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def torch_contenders(args, data: Path, base) -> dict:
    """{name: TorchContender} for --torch, or {} with a message when the peers' torch is missing."""
    if not args.torch:
        return {}
    python = Path(args.torch)
    check = subprocess.run([str(python), "-c", "import torch, numpy"], capture_output=True) if python.exists() else None
    if check is None or check.returncode:
        print(f"--torch: skipped: no torch at {python} (python3 -m venv benchmarks/.venv-peers && "
              f"benchmarks/.venv-peers/bin/pip install -r benchmarks/requirements-peers.txt)", flush=True)
        return {}
    found = {}
    for prec in args.precision:
        if prec == "mixed_float16":  # a GPU policy: no CPU autocast counterpart measured here
            continue
        for step in args.torch_step:
            found[f"torch {prec} {step}"] = TorchContender(str(python), data, dataclasses.replace(base, precision=prec),
                                                           step)
    if found:
        print(f"torch {next(iter(found.values())).info}", flush=True)
    return found


def main(argv=None) -> int:
    args = parse(argv)
    data = Path(args.data)
    if not (list(data.glob("*-images-idx3-ubyte")) + list(data.glob("*-images-idx3-ubyte.gz"))):
        print(f"train_throughput.py: error: --data {data}: no MNIST IDX images (*-images-idx3-ubyte[.gz]); "
              f"W1/W2 run on the MNIST test split: put t10k-images-idx3-ubyte.gz there or pass --data DIR",
              file=sys.stderr)
        return 2
    import tensorflow as tf

    from tfgan_app import config as cfg
    from tfgan_app.data import images as image_data

    unit = WORKLOADS[args.workload]
    base = cfg.preset(args.workload, dataset=f"mnist-idx:{data}", jit_compile=args.jit_compile,
                      steps_per_execution=args.steps_per_execution)
    examples, source = image_data.load_examples(base.dataset)
    images = np.stack([x.numpy() for x, _ in examples]).astype(np.float32) / 127.5 - 1.0  # (N, 28, 28, 1)
    per_step = base.batch_size * base.n_critic  # images a generator step consumes
    print(f"{args.workload}: {source.name}, {per_step} images per generator step "
          f"(batch {base.batch_size} x {base.n_critic} critic steps), update={base.update}, "
          f"tensorflow {tf.__version__}, {machine_load()}", flush=True)

    contenders, fits = {}, []
    for prec in args.precision:
        for impl in args.layer_impl:
            for ema, r1, sn, att in itertools.product(args.g_ema, args.r1_weight, args.spectral_norm,
                                                      args.attention):
                config = dataclasses.replace(base, precision=prec, layer_impl=impl, g_ema=ema, r1_weight=r1)
                if sn is not None:
                    config = dataclasses.replace(config, spectral_norm=sn)
                if att is not None:
                    config = dataclasses.replace(config, attention=att)
                name = (f"fit {prec}" + (f" {impl}" if len(args.layer_impl) > 1 else "")
                        + (f" g-ema-{ema:g}" if len(args.g_ema) > 1 else "")
                        + (f" r1-{r1:g}" if len(args.r1_weight) > 1 else "")
                        + (f" sn-{sn}" if len(args.spectral_norm) > 1 else "")
                        + (f" attention-{att}" if len(args.attention) > 1 else ""))
                contenders[name] = FitContender(config, source.image_shape)
                fits.append(name)
        config = dataclasses.replace(base, precision=prec)
        if not args.no_hand:
            contenders[f"hand {prec}"] = HandContender(config, source.image_shape, images)
    peers = torch_contenders(args, data, base)
    contenders.update(peers)
    for c in contenders.values():  # trace, build oneDNN primitives, fill the pipelines
        c.run(args.block, record=False)
    start = time.time()
    while min(len(c.times) for c in contenders.values()) < args.steps:
        for c in contenders.values():
            c.run(args.block)
    print(f"timed {args.steps}+ steps per contender in blocks of {args.block} ({time.time() - start:.0f} s); "
          f"{machine_load()}")

    def rate(name):
        return per_step / np.median(contenders[name].times)

    def ratio(a, b):  # speed of a over b: the median over rounds of the two blocks' medians
        return float(np.median(np.array(contenders[b].blocks) / np.array(contenders[a].blocks)))

    for name, c in contenders.items():
        t = np.array(c.times)
        print(f"  {name:24s} {unit}={per_step / np.median(t):8.1f}   step ms: median {np.median(t) * 1e3:.1f}, "
              f"p10 {np.percentile(t, 10) * 1e3:.1f}, p90 {np.percentile(t, 90) * 1e3:.1f}")
    first = args.precision[0]
    line = f"{unit}={rate(fits[0]):.1f}"
    if not args.no_hand:
        line += f" hand_{unit}={rate(f'hand {first}'):.1f} ratio={ratio(fits[0], f'hand {first}'):.3f}"
    for name in fits[1:]:
        line += f" vs_{name[4:].replace(' ', '_')}={ratio(fits[0], name):.3f}"
    for name in peers:  # fit in each precision over the same precision's PyTorch step
        prec = name.split()[1]
        mine = next(f for f in fits if f.split()[1] == prec)
        line += f" vs_{name.replace(' ', '_')}={ratio(mine, name):.3f}"
        contenders[name].close()
    print(f"{fits[0][4:]}" + (" jit" if args.jit_compile else "") + f": {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
