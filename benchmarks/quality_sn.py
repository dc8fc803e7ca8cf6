"""Q12 `sn-family` (docs/benchmarks.md): SN-GAN, SAGAN and BigGAN-lite at an equal CPU budget.

Every run trains its preset for the same wall-clock budget (`--minutes`, checked after every
step; the epoch in progress then ends and is checkpointed), then is evaluated on the same
number of samples:

- `sngan`, `sagan` against the plain `dcgan` preset on Stacked MNIST (built from MNIST's test
  split as in Q4, benchmarks/quality_stacked_mnist.py): modes of 1,000, reverse KL of the mode
  histogram, FCD;
- `biggan-lite` against `cgan-mnist` on MNIST: FCD, and the classifier's agreement with the
  requested class (samples drawn for labels 0..9 equally often; the fraction the project's
  classifier labels as asked);
- `biggan-lite`'s truncation trade-off: precision and recall at --truncation thresholds.

    python benchmarks/quality_sn.py --workdir W                     # 3 seeds x 30 min x 5 presets
    python benchmarks/quality_sn.py --workdir W --minutes 5 --width 16   # what docs/quality.md records (~1.7 h)
    python benchmarks/quality_sn.py --seeds 1 --minutes 1 --samples 1000 --width 8 --workdir W   # smoke test

The presets' nets are the papers' (width 64: SN-GAN's standard CNN has 512 channels at 4x4; a
`sngan` step takes 6.7 s on 2 cores, docs/speed.md); `--width` scales every preset of the run alike.

`--workdir W` keeps runs and reports: a run with its report is not trained again, so an
interrupted protocol continues.  Last line: `headline: sn-family <preset>=<figure>...`.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import budget  # noqa: E402  (benchmarks/budget.py)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
MNIST = REPO.parent / "shared" / "data" / "mnist"
STACKED = ("dcgan", "sngan", "sagan")       # on Stacked MNIST
CONDITIONAL = ("cgan-mnist", "biggan-lite")  # on MNIST, class-conditional
EPOCH_STEPS = 100


def parse(argv=None):
    from tfgan_app.metrics import classifier as clf

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", default=str(MNIST), help=f"MNIST IDX directory (default {MNIST})")
    p.add_argument("--classifier", default=str(clf.default_classifier_path()),
                   help="the project's MNIST classifier (trained here if missing)")
    p.add_argument("--presets", default=",".join(STACKED + CONDITIONAL),
                   help=f"which presets (default all: {', '.join(STACKED + CONDITIONAL)})")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    p.add_argument("--minutes", type=float, default=30.0, help="training budget per run (default 30)")
    p.add_argument("--samples", type=int, default=10_000, help="samples evaluated per run (default 10,000)")
    p.add_argument("--truncation", default="0.25,0.5,1,2,4", help="biggan-lite's thresholds")
    p.add_argument("--width", type=int, default=None, help="--width of every preset (default: each preset's)")
    p.add_argument("--workdir", required=True, help="runs and reports go here; an interrupted protocol continues")
    args = p.parse_args(argv)
    args.presets = args.presets.split(",")
    unknown = set(args.presets) - set(STACKED + CONDITIONAL)
    if unknown:
        p.error(f"--presets: {', '.join(sorted(unknown))} not among {', '.join(STACKED + CONDITIONAL)}")
    if not (Path(args.mnist).is_dir() and list(Path(args.mnist).glob("*-images-idx3-ubyte*"))):
        p.error(f"--mnist {args.mnist}: no MNIST IDX files; Q12 runs on the MNIST test split "
                f"(t10k-images-idx3-ubyte.gz and labels there)")
    return args


def spread(values) -> str:
    v = np.asarray(values, float)
    return f"{v.mean():.4g} +- {v.std():.2g} ({v.min():.4g}..{v.max():.4g})"


def class_agreement(workdir, featurizer, n: int) -> float:
    """The fraction of n samples (labels 0..K-1 equally often) the classifier labels as asked."""
    import tensorflow as tf

    from tfgan_app.training import run_dir

    _, game, _ = run_dir.restore_run(workdir)
    labels = np.arange(n) % game.num_classes
    z = game.sample_noise(n, tf.constant([12345, 0], tf.int64))
    x = np.concatenate([game.generate(z[i:i + 500], tf.constant(labels[i:i + 500], tf.int32)).numpy()
                        for i in range(0, n, 500)])
    _, probs = featurizer(x)  # (n, 1, K): one group of class probabilities per image channel
    return float(np.mean(np.argmax(probs.reshape(n, -1), -1) == labels))


def main(argv=None) -> int:
    args = parse(argv)
    import keras

    from tfgan_app import config as cfg
    from tfgan_app import evaluate
    from tfgan_app.data import stacked_mnist
    from tfgan_app.training import train as training

    root = Path(args.workdir)
    root.mkdir(parents=True, exist_ok=True)
    featurizer = budget.classifier(args.classifier, args.mnist)
    stacked = root / "stacked_mnist_50000.npz"
    if any(p in STACKED for p in args.presets) and not stacked.is_file():
        stacked_mnist.write_npz(args.mnist, stacked, 50_000, seed=0)
    results = {}
    for preset in args.presets:
        results[preset] = []
        for seed in range(args.seeds):
            workdir = root / f"{preset}-seed{seed}"
            report_path = workdir / "q12.json"
            if report_path.is_file():
                row = json.loads(report_path.read_text())
                if preset in CONDITIONAL and "class_agreement" not in row:  # a report without it: from the kept run
                    row["class_agreement"] = class_agreement(workdir, featurizer, args.samples)
                    report_path.write_text(json.dumps(row, indent=2) + "\n")
            else:
                keras.backend.clear_session()
                data = (dict(dataset=f"npz:{stacked}", channels=3) if preset in STACKED
                        else dict(dataset=f"mnist-idx:{args.mnist}"))
                width = dict(width=args.width) if args.width else {}
                config = cfg.preset(preset, **data, **width, seed=seed, steps_per_epoch=EPOCH_STEPS, epochs=10**6,
                                    plot_every=10**6, eval_classifier=str(args.classifier))
                start = time.time()
                result = training.train(config, workdir, fresh=True, verbose=0,
                                        extra_callbacks=[budget.wall_clock_budget(args.minutes)])
                trained = time.time() - start
                report = evaluate.evaluate(workdir, samples=args.samples, classifier=args.classifier, seed=seed,
                                           truncation=([float(t) for t in args.truncation.split(",")]
                                                       if preset == "biggan-lite" else ()))
                m = report["metrics"]
                row = {"steps": int(result.gan.g_optimizer.iterations) // config.g_steps,
                       "train_seconds": round(trained, 1), "fcd": m["fcd"], "kid": m["kid"],
                       "precision": m["precision"], "recall": m["recall"]}
                if preset in STACKED:
                    row.update(modes=m["modes"], mode_kl=m["mode_kl"])
                else:
                    row["class_agreement"] = class_agreement(workdir, featurizer, args.samples)
                if "truncation" in report:
                    row["truncation"] = [{"t": r["truncation"], "precision": r["metrics"]["precision"],
                                          "recall": r["metrics"]["recall"], "fcd": r["metrics"]["fcd"]}
                                         for r in report["truncation"]["rows"]]
                report_path.write_text(json.dumps(row, indent=2) + "\n")
            results[preset].append(row)
            print(f"{preset} seed {seed}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                      for k, v in row.items() if k != "truncation"), flush=True)
    headline = []
    for preset, rows in results.items():
        print(f"{preset} ({len(rows)} seeds, {args.minutes:g} min each):")
        for k in rows[0]:
            if k != "truncation":
                print(f"  {k}: {spread([r[k] for r in rows])}")
        for i, t in enumerate(rows[0].get("truncation", [])):
            print(f"  t={t['t']:g}: precision {spread([r['truncation'][i]['precision'] for r in rows])}, "
                  f"recall {spread([r['truncation'][i]['recall'] for r in rows])}")
        key = "mode_kl" if preset in STACKED else "fcd"
        headline.append(f"{preset}_{key}={np.mean([r[key] for r in rows]):.4g}")
    print("headline: sn-family " + " ".join(headline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
