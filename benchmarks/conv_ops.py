"""The kernels tfgan_app.nets.conv_ops chooses, against TF's own, on W1's layer shapes.

For each of W1's five convolution layers (docs/benchmarks.md, batch 256) and each
dtype, times the weight gradient (TF's Conv2DBackpropFilter against conv_ops' forward
convolution over the batch) and, for the one-channel layers, the transposed convolution
(TF's Conv2DBackpropInput against conv_ops' sub-pixel convolution).  The two contenders
of a row alternate call by call, and a row's ratio is the median of paired call ratios.
Inputs are function arguments, not constants (oneDNN would cache a constant filter).

    python benchmarks/conv_ops.py [--batch 256] [--calls 15]

Last line: `conv_ops: bf16_filter_grad_speedup=<r> thin_transpose_speedup_f32=<r>
thin_transpose_speedup_bf16=<r>`, each the summed TF time over the summed time of what
`method="auto"` uses, over W1's layers.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# W1's layers as (name, conv input size, C_in, C_out, stride) of the convolution whose weight
# gradient is taken: a Conv2DTranspose's is that of the conv it transposes (input = its output).
LAYERS = [("G ConvT 256->128, 7x7", 7, 128, 256, 1), ("G ConvT 128->64, 7->14", 14, 64, 128, 2),
          ("G ConvT 64->1, 14->28", 28, 1, 64, 2), ("D Conv 1->64, 28->14", 28, 1, 64, 2),
          ("D Conv 64->128, 14->7", 14, 64, 128, 2)]


def paired(a, b, args, calls):
    """(median ms of a, median ms of b, median of per-call ratios a/b), alternating calls."""
    for f in (a, b):
        f(*args).numpy()
        f(*args).numpy()
    ta, tb = [], []
    for _ in range(calls):
        for f, t in ((a, ta), (b, tb)):
            start = time.perf_counter()
            f(*args).numpy()
            t.append(time.perf_counter() - start)
    return 1e3 * np.median(ta), 1e3 * np.median(tb), float(np.median(np.array(ta) / np.array(tb)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--calls", type=int, default=15)
    args = p.parse_args(argv)
    import tensorflow as tf

    from tfgan_app.nets import conv_ops

    rng = np.random.default_rng(0)
    totals = {}
    for dtype in (tf.float32, tf.bfloat16):
        for name, h, c_in, c_out, s in LAYERS:
            ho = -(-h // s)
            x = tf.cast(rng.normal(size=(args.batch, h, h, c_in)), dtype)
            dy = tf.cast(rng.normal(size=(args.batch, ho, ho, c_out)), dtype)
            chosen = dtype == tf.bfloat16 and min(c_in, c_out) >= conv_ops.MIN_CHANNELS  # what "auto" picks
            ref = tf.function(lambda x, dy: conv_ops.filter_gradient(x, dy, (5, 5), s, "SAME", method="tf"))
            fwd = tf.function(lambda x, dy: conv_ops.filter_gradient(x, dy, (5, 5), s, "SAME", method="forward"))
            t_ref, t_fwd, ratio = paired(ref, fwd, (x, dy), args.calls)
            used = t_fwd if chosen else t_ref
            totals.setdefault(("filter", dtype.name), [0.0, 0.0])
            totals[("filter", dtype.name)][0] += t_ref
            totals[("filter", dtype.name)][1] += used
            print(f"{dtype.name:8s} weight gradient  {name:24s} TF {t_ref:6.1f} ms  forward conv {t_fwd:6.1f} ms  "
                  f"TF/forward {ratio:4.2f}  auto: {'forward' if chosen else 'TF'}", flush=True)
            if c_in == 1:  # the thin side: a transposed convolution into 1 channel (G's output, D's dx)
                w = tf.cast(rng.normal(size=(5, 5, 1, c_out)), dtype)
                tref = tf.function(lambda d, w: conv_ops.transpose_conv(d, w, s, "SAME", (h, h), method="tf"))
                tsub = tf.function(lambda d, w: conv_ops.transpose_conv(d, w, s, "SAME", (h, h), method="subpixel"))
                t_ref, t_sub, ratio = paired(tref, tsub, (dy, w), args.calls)
                totals.setdefault(("thin", dtype.name), [0.0, 0.0])
                totals[("thin", dtype.name)][0] += t_ref
                totals[("thin", dtype.name)][1] += t_sub
                print(f"{dtype.name:8s} transposed conv  {name:24s} TF {t_ref:6.1f} ms  sub-pixel    {t_sub:6.1f} ms  "
                      f"TF/sub-pixel {ratio:4.2f}", flush=True)
    f = totals[("filter", "bfloat16")]
    t = totals[("thin", "float32")]
    tb = totals[("thin", "bfloat16")]
    print(f"conv_ops: bf16_filter_grad_speedup={f[0] / f[1]:.2f} thin_transpose_speedup_f32={t[0] / t[1]:.2f} "
          f"thin_transpose_speedup_bf16={tb[0] / tb[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
