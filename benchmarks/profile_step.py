"""Where a training step's time goes, per op family: W1 `dcgan-mnist` (or W2) through `fit`,
under TensorFlow's profiler.

    python benchmarks/profile_step.py [--workload dcgan-mnist] [--precision float32] [--steps 8]
    TF_ENABLE_ONEDNN_OPTS=1 python benchmarks/profile_step.py      # oneDNN's kernels on an AVX2 CPU

Builds the preset through the project's path (`games.build` + `GAN.fit` on `data_stream`, as
`train_throughput.py`'s fit contender), runs a few untimed steps (tracing, oneDNN's primitives),
then `--steps` steps under `tf.profiler.experimental`, and reads the trace it writes (an XSpace
protobuf) directly: every TensorFlow op executed on the host, by its op type, summed over the
threads.  Op time can exceed the wall time (TensorFlow's inter-op threads run independent
ops side by side, each op's duration is its own wall time) or fall short of it (waiting,
Python); both are printed, and the shares are of op time.  The families:

    conv forward       Conv2D and its fused and oneDNN forms, and Conv2DBackpropInput (a
                       transposed convolution's forward pass, or an input gradient)
    conv weight grad   Conv2DBackpropFilter (and the fused bias gradient with it)
    matmul             MatMul and its fused forms (the dense layers)
    batch norm         FusedBatchNormV3 and its gradient
    activations        LeakyRelu, Tanh, Sigmoid, Relu and their gradients
    random             the dropout masks' and the noise's random bits
    optimizer          Adam's updates (ResourceApplyAdam, or Keras's elementwise update ops)
    casts, transposes  Cast; Transpose and DepthToSpace (layouts)
    other              everything else (elementwise arithmetic, reductions, the losses)

Last line: `step_ms=<wall ms per step> conv_share=<forward + weight-gradient convolutions' share of
op time>` and each family's share.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import collections  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

# op type -> family; the first pattern a type starts with (after a leading "_Mkl"/"_" is dropped) wins
FAMILIES = (
    ("conv weight grad", ("Conv2DBackpropFilter", "BiasAddGrad", "NativeConv2DBackpropFilter")),
    ("conv forward", ("Conv2D", "FusedConv2D", "NativeConv2D", "Conv2DBackpropInput", "DepthwiseConv")),
    ("matmul", ("MatMul", "FusedMatMul", "BatchMatMul")),
    ("batch norm", ("FusedBatchNorm",)),
    ("activations", ("LeakyRelu", "Relu", "Tanh", "Sigmoid", "Elu", "Selu")),
    ("random", ("Philox", "StatelessRandom", "RandomUniform", "RandomStandardNormal", "StatelessTruncated",
                "RngReadAndSkip", "RngBitGenerator", "StatefulUniform")),
    ("optimizer", ("ResourceApplyAdam", "ApplyAdam", "AssignSubVariableOp", "AssignAddVariableOp",
                   "AssignVariableOp", "Sqrt", "Rsqrt", "RealDiv", "ReadVariableOp")),
    ("casts", ("Cast",)),
    ("transposes", ("Transpose", "DepthToSpace", "SpaceToDepth", "Pad")),
)


# ops whose events enclose other ops' (a function call runs its body's ops inside it)
ENCLOSING = {"StatefulPartitionedCall", "PartitionedCall", "While", "If", "StatelessWhile", "StatelessIf",
             "IteratorGetNext", "MultiDeviceIteratorGetNextFromShard"}


def family(op_type: str) -> str:
    name = op_type
    for prefix in ("_MklNative", "_Mkl", "_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    for fam, starts in FAMILIES:
        if name.startswith(starts):
            return fam
    return "other"


def op_times(logdir: Path) -> collections.Counter:
    """{op type: total ps} of the TensorFlow ops in the profiler's XSpace files under logdir."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    totals = collections.Counter()
    files = list(logdir.rglob("*.xplane.pb"))
    if not files:
        raise SystemExit(f"profile_step.py: error: the profiler wrote no trace under {logdir}")
    for path in files:
        space = xplane_pb2.XSpace()
        space.ParseFromString(path.read_bytes())
        for plane in space.planes:
            if not plane.name.startswith("/host:CPU"):
                continue
            stat_names = {k: m.name for k, m in plane.stat_metadata.items()}
            for line in plane.lines:
                for event in line.events:
                    meta = plane.event_metadata[event.metadata_id]
                    op_type = None
                    for stat in list(event.stats) + list(meta.stats):
                        if stat_names.get(stat.metadata_id) == "tf_op":
                            value = stat.str_value or (plane.stat_metadata[stat.ref_value].name
                                                       if stat.ref_value else "")
                            op_type = value.rpartition(":")[2]
                            break
                    if op_type is None and ":" in meta.name and "::" not in meta.name:  # "name:Type" of the executor
                        op_type = meta.name.rpartition(":")[2]
                    if op_type and op_type not in ENCLOSING and (op_type[0].isupper() or op_type.startswith("_Mkl")
                                                                  or op_type.startswith("_Fused")):
                        totals[op_type] += event.duration_ps
    return totals


def cpu_name() -> str:
    """The CPU's model name and which bfloat16 instructions it has (Linux's /proc/cpuinfo)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "CPU unknown"
    model = next((line.partition(":")[2].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = set(next((line.partition(":")[2].split() for line in info.splitlines() if line.startswith("flags")), []))
    kind = ("AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags
            else "AVX512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2")
    return f"{model} ({kind}, {os.cpu_count()} cores)"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=("dcgan-mnist", "wgan-gp-mnist"), default="dcgan-mnist")
    p.add_argument("--precision", choices=("float32", "mixed_bfloat16", "mixed_float16"), default="float32")
    p.add_argument("--steps", type=int, default=8, help="profiled generator steps (default 8)")
    p.add_argument("--warmup", type=int, default=4, help="untimed steps first (default 4)")
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "mnist"),
                   help="MNIST IDX directory (default ../shared/data/mnist)")
    p.add_argument("--top", type=int, default=12, help="op types listed (default 12)")
    args = p.parse_args(argv)
    if args.steps < 1 or args.warmup < 1:
        p.error("--steps and --warmup: expected at least 1")
    data = Path(args.data)
    if not (list(data.glob("*-images-idx3-ubyte")) + list(data.glob("*-images-idx3-ubyte.gz"))):
        print(f"profile_step.py: error: --data {data}: no MNIST IDX images (*-images-idx3-ubyte[.gz]); put "
              f"t10k-images-idx3-ubyte.gz there or pass --data DIR", file=sys.stderr)
        return 2
    import tensorflow as tf

    from tfgan_app import config as cfg
    from tfgan_app.data import images as image_data
    from train_throughput import FitContender

    config = cfg.preset(args.workload, dataset=f"mnist-idx:{data}", precision=args.precision)
    _, source = image_data.load_examples(config.dataset)
    fit = FitContender(config, source.image_shape)
    fit.run(args.warmup, record=False)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        fit.run(args.steps + 1)  # its first step's end starts the clock, as in train_throughput.py
        tf.profiler.experimental.stop()
        totals = op_times(Path(logdir))
    step_ms = float(np.median(fit.times) * 1e3)
    per_step = {k: v / 1e9 / (args.steps + 1) for k, v in totals.items()}  # ms of op time a step
    op_ms = sum(per_step.values())
    if op_ms <= 0:
        raise SystemExit("profile_step.py: error: the trace holds no TensorFlow op events")
    by_family = collections.Counter()
    for op_type, ms in per_step.items():
        by_family[family(op_type)] += ms
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "TF's default")
    print(f"{args.workload} {args.precision}, batch {config.batch_size} x {config.n_critic}, tensorflow "
          f"{tf.__version__}, TF_ENABLE_ONEDNN_OPTS={onednn}, {cpu_name()}")
    print(f"wall {step_ms:.1f} ms a step (median, profiled); op time {op_ms:.1f} ms a step, {op_ms / step_ms:.2f}x the "
          f"wall (TensorFlow's inter-op threads run independent ops side by side)")
    for fam, ms in by_family.most_common():
        print(f"  {fam:18s} {ms:8.1f} ms  {ms / op_ms:6.1%}")
    print("top op types:")
    for op_type, ms in sorted(per_step.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {op_type:34s} {ms:8.1f} ms  {ms / op_ms:6.1%}  ({family(op_type)})")
    conv = by_family["conv forward"] + by_family["conv weight grad"]
    print(f"step_ms={step_ms:.1f} op_ms={op_ms:.1f} conv_share={conv / op_ms:.3f} "
          + " ".join(f"{fam.replace(' ', '_')}={ms / op_ms:.3f}" for fam, ms in by_family.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
