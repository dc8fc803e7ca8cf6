"""Q9 `captions2digits` (docs/benchmarks.md): StackGAN from text, offline, at an equal CPU budget.

Three runs on captions of the MNIST test split's training digits (data/captions.py), each
`--minutes` of training: Stage I; Stage II from it (`--stage 2 --init-from`); Stage I without
Conditioning Augmentation (`--augment false`).  The text encoder is trained first (cached).
Figures, from captions in the two held-out phrasings (words arranged as the encoder never read)
for every (digit, thickness, slant, width), `--per-caption` images each:

- class agreement: the share of images the project's classifier labels as the caption's digit
  (target >= 90%), Stage II and Stage I (upsampled to 28 px, bilinear);
- attribute control: Spearman's rank correlation of the measured thickness and slant
  (data/morphometry.py) with the requested word (thin < medium < thick; left < upright < right);
- FCD against the held-out real digits: Stage II against Stage I upsampled;
- diversity for one caption: the mean pairwise distance of classifier features among images
  of the same caption, Stage I with CA against Stage I without (the paper's claim: CA adds it).

    python benchmarks/quality_stackgan.py --workdir W                    # 3 runs x 30 min
    python benchmarks/quality_stackgan.py --workdir W --minutes 0.5 --per-caption 2 --width 8   # smoke

`--workdir W` keeps runs and reports.  Last line: `headline: captions2digits ...`.
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
EPOCH_STEPS = 100
RUNS = {"stage1": dict(stage=1), "stage2": dict(stage=2), "stage1-no-ca": dict(stage=1, augment=False)}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    budget.mnist_arguments(p, MNIST)
    p.add_argument("--per-caption", type=int, default=8, help="images per held-out caption (default 8)")
    p.add_argument("--width", type=int, default=None, help="--width of every run (default: the preset's)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    budget.check_mnist(p, args.mnist)
    return args


def held_out_requests(per_caption: int):
    """(captions (M,), digits, thickness word, slant word): every combination in both held-out
    phrasings, each repeated per_caption times."""
    from tfgan_app.data import captions

    rows = [(captions.caption(d, t, s, w, k), d, t, s) for k in captions.HELD_OUT_TEMPLATES
            for d in range(10) for t in range(3) for s in range(3) for w in range(2)]
    rows = [r for r in rows for _ in range(per_caption)]
    return (np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), np.array([r[2] for r in rows]),
            np.array([r[3] for r in rows]))


def generate(game, text, seed: int) -> np.ndarray:
    import tensorflow as tf

    z, e1, e2 = game.noise(len(text), (seed, 11))
    return np.concatenate([game.generate_from_text(tf.constant(text[i:i + 500]), z[i:i + 500], e1[i:i + 500],
                                                   e2[i:i + 500]).numpy() for i in range(0, len(text), 500)])


def to_28(images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    if images.shape[1] == 28:
        return images
    return tf.image.resize(images, [28, 28], method="bilinear").numpy()


def diversity(features: np.ndarray, per_caption: int) -> float:
    """Mean over captions of the mean pairwise Euclidean distance among that caption's images."""
    groups = features.reshape(-1, per_caption, features.shape[-1])
    d = np.linalg.norm(groups[:, :, None, :] - groups[:, None, :, :], axis=-1)
    pairs = per_caption * (per_caption - 1)
    return float(np.mean(d.sum(axis=(1, 2)) / pairs))


def main(argv=None) -> int:
    args = parse(argv)
    import keras
    from scipy import stats

    from tfgan_app import config as cfg
    from tfgan_app.data import captions, morphometry
    from tfgan_app.metrics import figures
    from tfgan_app.nets import text_encoder
    from tfgan_app.training import run_dir
    from tfgan_app.training import train as training

    root = Path(args.workdir)
    root.mkdir(parents=True, exist_ok=True)
    featurizer = budget.classifier(args.classifier, args.mnist)
    dataset = f"captions2digits:mnist-idx:{args.mnist}"
    encoder = text_encoder.default_path(dataset)
    if not encoder.is_file():
        report = text_encoder.train_text_encoder(f"mnist-idx:{args.mnist}", encoder, verbose=0)
        print("text encoder: " + json.dumps(report), flush=True)
    text, digits, thickness, slant = held_out_requests(args.per_caption)
    real = captions.captioned_digits(f"mnist-idx:{args.mnist}", "held_out").images.astype(np.float32) / 127.5 - 1
    real_stats = figures.feature_statistics(featurizer(real)[0])
    results = {}
    for name, overrides in RUNS.items():
        workdir = root / name
        report_path = workdir / "q9.json"
        if report_path.is_file():
            results[name] = json.loads(report_path.read_text())
            continue
        keras.backend.clear_session()
        init = dict(init_from=str(root / "stage1")) if overrides["stage"] == 2 else {}
        width = dict(width=args.width) if args.width else {}
        config = cfg.preset("stackgan-captions2digits", dataset=dataset, seed=args.seed, steps_per_epoch=EPOCH_STEPS,
                            epochs=10**6, plot_every=10**6, **overrides, **init, **width)
        start = time.time()
        training.train(config, workdir, fresh=True, verbose=0, extra_callbacks=[budget.wall_clock_budget(args.minutes)])
        trained = time.time() - start
        _, game, _ = run_dir.restore_run(workdir)
        images = to_28(generate(game, text, args.seed))
        features, probs = featurizer(images)
        measured = morphometry.measure_all(((images + 1) * 127.5).clip(0, 255).astype(np.uint8))
        row = {"steps": int(game.g_optimizer.iterations), "train_seconds": round(trained, 1),
               "class_agreement": float(np.mean(np.argmax(probs.reshape(len(images), -1), -1) == digits)),
               "thickness_spearman": float(stats.spearmanr(thickness, measured["thickness"])[0]),
               "slant_spearman": float(stats.spearmanr(slant, measured["slant"])[0]),
               "fcd": figures.frechet_distance(*figures.feature_statistics(features), *real_stats),
               "diversity": diversity(features, args.per_caption)}
        report_path.write_text(json.dumps(row, indent=2) + "\n")
        results[name] = row
    for name, row in results.items():
        print(f"{name}: " + ", ".join(f"{k}={v:.4g}" for k, v in row.items()), flush=True)
    s1, s2, no_ca = results["stage1"], results["stage2"], results["stage1-no-ca"]
    print(f"headline: captions2digits stage2_agreement={s2['class_agreement']:.3f} stage2_fcd={s2['fcd']:.3g} "
          f"stage1_fcd={s1['fcd']:.3g} thickness_rho={s2['thickness_spearman']:.2f} "
          f"slant_rho={s2['slant_spearman']:.2f} diversity_ca={s1['diversity']:.3g} "
          f"diversity_no_ca={no_ca['diversity']:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
