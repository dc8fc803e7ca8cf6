"""Q5 `edges2digits` (pix2pix) and Q6 `digits2mnist` (CycleGAN) (docs/benchmarks.md), offline.

Each run trains its preset for a wall-clock budget (`--minutes`, checked after every step),
then is scored on images it never trained on:

- Q5: `pix2pix-edges2digits` and the paper's L1-only baseline (`--gan-weight 0`, the same
  budget) translate the edge maps of the 2,000 held-out MNIST digits (data/splits.py: the
  images the project's classifier never trained on either).  Figures against the true digit:
  L1 and PSNR; the share of outputs the classifier labels as the true digit (target >= 95%);
  sharpness (mean gradient magnitude, outputs over targets: 1 = as sharp as real digits) and
  FCD against the true digits -- the paper's point is that L1 + cGAN is sharper than L1 alone.
- Q6: `cyclegan-digits2mnist` translates the held-out third of scikit-learn's digits into
  MNIST's domain.  Figures: the classifier's accuracy on them translated, against the same
  digits merely upsampled (the translation must keep the label), and the cycle error
  L1(F(G(a)), a).

    python benchmarks/quality_translation.py --benchmark edges2digits --workdir W     # 30 min a run
    python benchmarks/quality_translation.py --benchmark digits2mnist --workdir W
    python benchmarks/quality_translation.py --benchmark edges2digits --minutes 0.5 --width 8 --workdir W  # smoke

`--workdir W` keeps runs and reports; a run with its report is not trained again.
Last line: `headline: <benchmark> <figure>=<value> ...`.
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
EPOCH_STEPS = 200
RUNS = {"edges2digits": {"pix2pix": ("pix2pix-edges2digits", {}),
                         "l1-only": ("pix2pix-edges2digits", {"gan_weight": 0.0})},
        "digits2mnist": {"cyclegan": ("cyclegan-digits2mnist", {})}}


def parse(argv=None):
    from tfgan_app.metrics import classifier as clf

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", choices=tuple(RUNS), required=True)
    p.add_argument("--mnist", default=str(MNIST), help=f"MNIST IDX directory (default {MNIST})")
    p.add_argument("--classifier", default=str(clf.default_classifier_path()),
                   help="the project's MNIST classifier (trained here if missing)")
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 (default 1)")
    p.add_argument("--minutes", type=float, default=30.0, help="training budget per run (default 30)")
    p.add_argument("--width", type=int, default=None, help="--width of every run (default: the preset's)")
    p.add_argument("--workdir", required=True, help="runs and reports; an interrupted protocol continues")
    args = p.parse_args(argv)
    if not (Path(args.mnist).is_dir() and list(Path(args.mnist).glob("*-images-idx3-ubyte*"))):
        p.error(f"--mnist {args.mnist}: no MNIST IDX files (t10k-images-idx3-ubyte.gz and its labels)")
    return args


def score_edges2digits(game, featurizer, spec: str) -> dict:
    from tfgan_app.data import paired
    from tfgan_app.metrics import figures

    edges, digits, labels = paired.edges2digits(spec, "held_out")
    x = edges.astype(np.float32) / 127.5 - 1.0
    y = digits.astype(np.float32) / 127.5 - 1.0
    out = game.translate(x)
    feats_out, probs = featurizer(out)
    feats_real, _ = featurizer(y)
    return {"l1": figures.l1_error(out, y), "psnr": figures.psnr(out, y),
            "class_agreement": float(np.mean(np.argmax(probs.reshape(len(out), -1), -1) == labels)),
            "sharpness_ratio": figures.sharpness(out) / figures.sharpness(y),
            "fcd": figures.frechet_distance(*figures.feature_statistics(feats_out),
                                            *figures.feature_statistics(feats_real))}


def score_digits2mnist(game, featurizer) -> dict:
    from tfgan_app.data import unpaired
    from tfgan_app.metrics import figures

    digits, labels = unpaired.sklearn_digits("held_out")
    a = digits.astype(np.float32) / 127.5 - 1.0
    to_b = game.a_to_b(a)
    _, probs_translated = featurizer(to_b)
    _, probs_plain = featurizer(a)
    accuracy = lambda p: float(np.mean(np.argmax(p.reshape(len(a), -1), -1) == labels))  # noqa: E731
    return {"accuracy_translated": accuracy(probs_translated), "accuracy_upsampled": accuracy(probs_plain),
            "cycle_l1": figures.l1_error(game.b_to_a(to_b), a)}


def main(argv=None) -> int:
    args = parse(argv)
    import keras

    from tfgan_app import config as cfg
    from tfgan_app.training import train as training

    root = Path(args.workdir)
    root.mkdir(parents=True, exist_ok=True)
    featurizer = budget.classifier(args.classifier, args.mnist)
    spec = f"mnist-idx:{args.mnist}"
    results = {}
    for name, (preset, overrides) in RUNS[args.benchmark].items():
        results[name] = []
        for seed in range(args.seeds):
            workdir = root / f"{name}-seed{seed}"
            report = workdir / "quality.json"
            if report.is_file():
                row = json.loads(report.read_text())
            else:
                keras.backend.clear_session()
                dataset = f"{'edges2digits' if args.benchmark == 'edges2digits' else 'digits2mnist'}:{spec}"
                width = dict(width=args.width) if args.width else {}
                config = cfg.preset(preset, dataset=dataset, seed=seed, steps_per_epoch=EPOCH_STEPS, epochs=10**6,
                                    linear_decay_epochs=0, plot_every=10**6, **overrides, **width)
                start = time.time()
                result = training.train(config, workdir, fresh=True, verbose=0,
                                        extra_callbacks=[budget.wall_clock_budget(args.minutes)])
                row = {"steps": int(result.gan.g_optimizer.iterations) if hasattr(result.gan, "g_optimizer")
                       else int(result.gan.g_ab_optimizer.iterations),
                       "train_seconds": round(time.time() - start, 1)}
                row.update(score_edges2digits(result.gan, featurizer, spec) if args.benchmark == "edges2digits"
                           else score_digits2mnist(result.gan, featurizer))
                report.write_text(json.dumps(row, indent=2) + "\n")
            results[name].append(row)
            print(f"{name} seed {seed}: " + ", ".join(f"{k}={v:.4g}" for k, v in row.items()), flush=True)
    headline = []
    for name, rows in results.items():
        print(f"{name} ({len(rows)} seed(s), {args.minutes:g} min each):")
        for k in rows[0]:
            v = np.array([r[k] for r in rows], float)
            print(f"  {k}: {v.mean():.4g} +- {v.std():.2g}")
        key = "class_agreement" if args.benchmark == "edges2digits" else "accuracy_translated"
        headline.append(f"{name}_{key}={np.mean([r[key] for r in rows]):.4g}")
    print(f"headline: {args.benchmark} " + " ".join(headline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
