"""The machine's convolution ceiling for W1, in float32 and bfloat16, in one run.

Times forward convolutions of W1's two wide layer shapes (docs/benchmarks.md, batch
256, 5x5 kernels, stride 1: 7x7x256 -> 128 and 14x14x128 -> 64) with TF's own Conv2D,
alternating the two dtypes call by call, and reports the best shape's GFLOP/s
(2 * N * H * W * 25 * C_in * C_out per call).  A W1 step is ~455 MFLOP per image, so
GFLOP/s / 0.455 is the img/s W1 would reach if every FLOP ran at that speed: the ceiling
`train_throughput.py`'s figures are to be read against (measure both in the same quiet
minutes: the machine drifts).

    python benchmarks/ceiling.py [--calls 15]

Last line: `ceiling: conv_f32_gflops=<x> conv_bf16_gflops=<x> w1_f32_img_s=<x>
w1_bf16_img_s=<x> bf16_over_f32=<r>`.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402

import numpy as np  # noqa: E402

W1_MFLOP_PER_IMAGE = 455.0
SHAPES = [(7, 256, 128), (14, 128, 64)]  # (spatial size, C_in, C_out), 5x5, stride 1, SAME


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--calls", type=int, default=15)
    args = p.parse_args(argv)
    for flag in ("batch", "calls"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag}: expected a positive integer, got {getattr(args, flag)}")
    import tensorflow as tf

    from conv_ops import paired  # benchmarks/conv_ops.py: alternating calls, paired medians

    conv = tf.function(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"))
    best = {"float32": 0.0, "bfloat16": 0.0}
    rng = np.random.default_rng(0)
    for size, c_in, c_out in SHAPES:
        flop = 2.0 * args.batch * size * size * 25 * c_in * c_out
        x = rng.standard_normal((args.batch, size, size, c_in))
        w = rng.standard_normal((5, 5, c_in, c_out)) * 0.05
        inputs = [(tf.cast(x, d), tf.cast(w, d)) for d in best]
        calls = [(lambda xw=xw: conv(*xw)) for xw in inputs]
        ms = paired(*calls, (), args.calls)[:2]
        for dtype, t in zip(best, ms):
            gflops = flop / t / 1e6
            best[dtype] = max(best[dtype], gflops)
            print(f"{dtype:8s} conv {size}x{size}x{c_in} -> {c_out}: {t:7.1f} ms  {gflops:6.0f} GFLOP/s", flush=True)
    f32, bf16 = best["float32"], best["bfloat16"]
    print(f"ceiling: conv_f32_gflops={f32:.0f} conv_bf16_gflops={bf16:.0f} "
          f"w1_f32_img_s={f32 / W1_MFLOP_PER_IMAGE * 1e3:.0f} w1_bf16_img_s={bf16 / W1_MFLOP_PER_IMAGE * 1e3:.0f} "
          f"bf16_over_f32={bf16 / f32:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
