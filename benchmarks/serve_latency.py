"""W5 `serve-generator` (docs/benchmarks.md): the exported generator vs. the Keras one.

The W1 generator exported by export.py, loaded with `tf.saved_model.load` and called
through its `serving_default` signature, against a direct call of the Keras generator
(`generator(z, training=False)`) in the same process. Figures: p50 latency at batch 1
(ms) and throughput at batch 64 (images/s). The two are timed alternately, call by
call, so load on this shared machine hits both alike; medians throughout.

    python benchmarks/serve_latency.py                       # trains a tiny W1 run first
    python benchmarks/serve_latency.py --workdir runs/dcgan-mnist
    python benchmarks/serve_latency.py --export exports/generator/3   # its export_info.json
                                                                      # names the run

Last line: `ratio saved_model/keras: p50_batch1=<x> img_per_s_batch64=<y>` (latency
ratio < 1 and throughput ratio > 1 mean the export is faster).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--workdir", help="a trained W1 run (export it to a temp dir)")
    src.add_argument("--export", help="an existing export (its assets.extra/export_info.json "
                     "must name the run, for the Keras side)")
    p.add_argument("--dataset", default=f"mnist-idx:{REPO.parent / 'shared' / 'data' / 'mnist'}",
                   help="data of the tiny run trained when neither --workdir nor --export is "
                        "given (default: the shared MNIST test split)")
    p.add_argument("--calls", type=int, default=200, help="timed calls at batch 1 (each side)")
    p.add_argument("--batches", type=int, default=30, help="timed calls at batch 64 (each side)")
    return p.parse_args(argv)


def timed_alternately(fn_a, fn_b, arg, n: int, warmup: int = 5):
    """Per-call seconds of fn_a and fn_b, called alternately n times each."""
    for _ in range(warmup):
        fn_a(arg), fn_b(arg)
    a, b = [], []
    for i in range(n):
        for fn, out in ((fn_a, a), (fn_b, b)) if i % 2 == 0 else ((fn_b, b), (fn_a, a)):
            t = time.perf_counter()
            fn(arg)
            out.append(time.perf_counter() - t)
    return np.array(a), np.array(b)


def main(argv=None) -> int:
    args = parse(argv)
    import tensorflow as tf

    from tfgan_app import config as cfg
    from tfgan_app.training import run_dir
    from tfgan_app.export import archive as exporting
    from tfgan_app.training import train as training

    tmp = tempfile.TemporaryDirectory(prefix="serve_latency_")
    if args.export:
        export_dir = Path(args.export)
        info_path = export_dir / exporting.EXTRA_DIR / exporting.INFO_FILE
        try:
            workdir = json.loads(info_path.read_text())["workdir"]
        except (OSError, ValueError, KeyError) as e:
            print(f"serve_latency.py: error: --export {export_dir}: cannot read the run from "
                  f"{info_path}: {e}; pass --workdir instead", file=sys.stderr)
            return 2
    else:
        workdir = args.workdir
        if workdir is None:  # a tiny W1 run: the architecture matters, not the training
            workdir = Path(tmp.name) / "run"
            config = cfg.preset("dcgan-mnist", dataset=args.dataset, steps_per_epoch=2,
                                epochs=1)
            print(f"training a tiny W1 run ({args.dataset}, 2 steps) ...", flush=True)
            training.train(config, workdir, verbose=0)
        export_dir = exporting.export_run(workdir, Path(tmp.name) / "exports").export_dir
    _, gan, _ = run_dir.restore_run(workdir)
    if gan.conditional:
        print("serve_latency.py: error: W5 is the unconditional W1 generator", file=sys.stderr)
        return 2
    serving = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    generator = gan.generator
    print(f"export: {export_dir}  (tensorflow {tf.__version__}, run {workdir})")

    def exported(z):
        return serving(z=z)["samples"].numpy()

    def keras_call(z):
        return np.asarray(generator(z, training=False))

    rng = np.random.default_rng(0)
    z1 = tf.constant(rng.normal(size=(1, gan.latent_dim)).astype(np.float32))
    z64 = tf.constant(rng.normal(size=(64, gan.latent_dim)).astype(np.float32))
    if not np.allclose(exported(z64), keras_call(z64), atol=1e-4):
        print("note: the run's latest checkpoint is newer than the export (outputs differ); "
              "same architecture, so the timings still compare")

    a1, k1 = timed_alternately(exported, keras_call, z1, args.calls)
    a64, k64 = timed_alternately(exported, keras_call, z64, args.batches)
    lat_a, lat_k = np.median(a1) * 1e3, np.median(k1) * 1e3
    thr_a, thr_k = 64 / np.median(a64), 64 / np.median(k64)
    print(f"batch 1  p50 latency ms: saved_model={lat_a:.3f} keras={lat_k:.3f} "
          f"(p90 {np.percentile(a1, 90) * 1e3:.3f} / {np.percentile(k1, 90) * 1e3:.3f})")
    print(f"batch 64 img/s:          saved_model={thr_a:.0f} keras={thr_k:.0f}")
    print(f"ratio saved_model/keras: p50_batch1={lat_a / lat_k:.3f} "
          f"img_per_s_batch64={thr_a / thr_k:.3f}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
