"""Q8 `lapgan-mnist` (docs/benchmarks.md): LAPGAN against the single-scale `dcgan` at an equal CPU budget.

Both presets train on the MNIST test split (the IDX files in `--mnist`) for the same wall-clock
budget (`--minutes`, checked after every step), then `--samples` samples of each are scored
against the data:

- FCD and KID in the project's classifier's feature space (evaluate.py);
- the sliced Wasserstein distance (x 1e3) per level of the Laplacian pyramid, 28-px band,
  14-px band, 7-px low-pass (metrics/swd.py, Karras et al. 2018);
- LAPGAN's own claim, per finer level k: SWD at level k's band between the data's level-k images
  and (a) the blurry upsample u(I~_{k+1}) alone, (b) the cascade's I~_k = u(I~_{k+1}) + G_k(...):
  the generated band must bring the image closer to the data than the upsample does.

    python benchmarks/quality_lapgan.py --workdir W                   # 2 presets x 30 min
    python benchmarks/quality_lapgan.py --workdir W --minutes 0.5 --samples 500 --width 8   # smoke

`--workdir W` keeps runs and reports (a run with its report is not trained again).
Last line: `headline: lapgan-mnist lapgan_fcd=... dcgan_fcd=... ...`.
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
MNIST = REPO.parent / "shared" / "data" / "mnist"
PRESETS = ("lapgan-mnist", "dcgan")
EPOCH_STEPS = 100


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    budget.mnist_arguments(p, MNIST)
    p.add_argument("--samples", type=int, default=4096, help="samples scored per run (default 4096)")
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 (default 1)")
    p.add_argument("--width", type=int, default=None, help="--width of both presets (default: theirs, 64)")
    args = p.parse_args(argv)
    budget.check_mnist(p, args.mnist)
    return args


def real_images(mnist: str, n: int) -> np.ndarray:
    """n MNIST images (the first n of the split) in [-1, 1], NHWC."""
    from tfgan_app.metrics import classifier as clf

    x, _ = clf.load_labelled(f"mnist-idx:{mnist}")
    return x[:n]


def level_claim(game, real: np.ndarray, seed: int) -> list[dict]:
    """Per finer level k: band-k SWD of the upsample alone and of the cascade image, against the data."""
    import tensorflow as tf

    from tfgan_app.metrics import swd
    from tfgan_app.nets import pyramid

    n = len(real)
    noises = game.noises(n, (seed, 9))
    images = [np.concatenate([x.numpy() for x in part]) for part in
              zip(*[game.cascade([z[i:i + 500] for z in noises]) for i in range(0, n, 500)])]
    gauss = [g.numpy() for g in pyramid.gaussian_pyramid(tf.constant(real), game.count)]
    rows = []
    for k in range(game.count - 1):
        upsampled = pyramid.upsample(tf.constant(images[k + 1])).numpy()
        levels = game.count - k
        alone = swd.band_swd(gauss[k], upsampled, levels, seed=seed)[0]
        cascade = swd.band_swd(gauss[k], images[k], levels, seed=seed)[0]
        rows.append({"level": k, "side": game.sides[k], "swd_upsample_alone": alone, "swd_with_band": cascade})
    return rows


def main(argv=None) -> int:
    args = parse(argv)
    import keras

    from tfgan_app import config as cfg
    from tfgan_app import evaluate
    from tfgan_app.metrics import swd
    from tfgan_app.training import run_dir
    from tfgan_app.training import train as training

    root = Path(args.workdir)
    root.mkdir(parents=True, exist_ok=True)
    budget.classifier(args.classifier, args.mnist)
    real = real_images(args.mnist, args.samples)
    results = {}
    for preset in PRESETS:
        results[preset] = []
        for seed in range(args.seeds):
            workdir = root / f"{preset}-seed{seed}"
            report_path = workdir / "q8.json"
            if report_path.is_file():
                row = json.loads(report_path.read_text())
            else:
                keras.backend.clear_session()
                width = dict(width=args.width) if args.width else {}
                config = cfg.preset(preset, dataset=f"mnist-idx:{args.mnist}", seed=seed, steps_per_epoch=EPOCH_STEPS,
                                    epochs=10**6, plot_every=10**6, eval_classifier=str(args.classifier), **width)
                start = time.time()
                training.train(config, workdir, fresh=True, verbose=0,
                               extra_callbacks=[budget.wall_clock_budget(args.minutes)])
                trained = time.time() - start
                report = evaluate.evaluate(workdir, samples=args.samples, classifier=args.classifier, seed=seed)
                m = report["metrics"]
                _, game, _ = run_dir.restore_run(workdir)
                first = next(iter(game.optimizers.values()))
                fake = game.samples(args.samples, (seed, 7))
                row = {"steps": int(first.iterations), "train_seconds": round(trained, 1), "fcd": m["fcd"],
                       "kid": m["kid"], "swd": swd.band_swd(real, fake, levels=3, seed=seed)}
                if preset.startswith("lapgan"):
                    row["levels"] = level_claim(game, real, seed)
                report_path.write_text(json.dumps(row, indent=2) + "\n")
            results[preset].append(row)
            print(f"{preset} seed {seed}: " + json.dumps(row), flush=True)
    headline = []
    for preset, rows in results.items():
        name = preset.split("-")[0]
        for key in ("fcd", "kid"):
            headline.append(f"{name}_{key}={np.mean([r[key] for r in rows]):.4g}")
        bands = np.mean([r["swd"] for r in rows], axis=0)
        headline.append(f"{name}_swd28/14/7={'/'.join(f'{b:.1f}' for b in bands)}")
    print("headline: lapgan-mnist " + " ".join(headline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
