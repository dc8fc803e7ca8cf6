"""Q1 `gaussian1d` and Q2 `ring8` / `grid25` (docs/benchmarks.md): sample quality over seeds.

Each (problem, seed) is trained from scratch with training.train, then evaluated by
tfgan_app.evaluate on the benchmark's sample count (Q2: 2,500; Q1: 10,000).  Figures
are reported per seed, then as mean +- std (min..max) over the seeds.

Setups:
  preset          the project's tuned presets, each for its own length: ring8 (non-saturating,
                  MLP 128x3, Adam 1e-3 halved every 2,000 steps, 15k steps), grid25-wgan-gp
                  (WGAN-GP, lambda 1, 5 critic steps, G 256x4, D 256x3, Adam 1e-3 halved every 3,000
                  steps, 15k steps) and, for Q1, gaussian1d-adam.
  non-saturating  the ring8 and grid25 presets (grid25: the non-saturating game, constant rate).
  pacgan          PacGAN/VEEGAN's toy network sizes (Lin et al. 2018, Srivastava et al. 2017):
                  G 4 x 400 ReLU, D 3 x 200, z ~ N(0, I_2), batch 100, Adam(1e-4, 0.5, 0.999),
                  with plain (leaky ReLU) units, no batch norm or maxout; `--pack 4` is PacGAN4.

    python benchmarks/quality_toys.py                          # ring8 and grid25, 5 seeds, preset lengths
    python benchmarks/quality_toys.py --problem grid25 --seeds 5 --steps 20000 --setup pacgan --pack 4
    python benchmarks/quality_toys.py --problem gaussian1d --steps 3000

Targets (issue #6): grid25 25/25 modes with >= 95% high quality, ring8 8/8 with >= 98%, on
average over 5 seeds.  Published (PacGAN Table 1, modes / %HQ / reverse KL): GAN ring
6.3 / 98.2 / 0.45, grid 17.3 / 94.8 / 0.70; PacGAN4 ring 7.8 / 95.9 / 0.07, grid
24.8 / 93.6 / 0.04.

Last line: `headline: ...` with the mean figures of every problem run.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLES = {"ring8": 2500, "grid25": 2500, "gaussian1d": 10_000}
TARGETS = {"ring8": (8, 0.98), "grid25": (25, 0.95)}  # (modes, high-quality fraction), mean over seeds
SETUPS = {
    "preset": {"ring8": ("ring8", {}), "grid25": ("grid25-wgan-gp", {}), "gaussian1d": ("gaussian1d-adam", {})},
    "non-saturating": {"ring8": ("ring8", {}), "grid25": ("grid25", {})},
    "pacgan": {p: (p, dict(g_hidden=(400, 400, 400, 400), d_hidden=(200, 200, 200), g_activation="relu",
                           d_activation="leaky_relu", latent_dim=2, noise="normal", batch_size=100,
                           optimizer="adam", g_lr=1e-4, d_lr=1e-4, beta_1=0.5, beta_2=0.999,
                           loss="non-saturating"))
               for p in ("ring8", "grid25")},
}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problem", choices=("ring8", "grid25", "gaussian1d", "mixtures", "all"), default="mixtures",
                   help="mixtures = ring8 and grid25 (default)")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    p.add_argument("--steps", type=int, help="generator steps per run (default: the preset's)")
    p.add_argument("--pack", type=int, default=1, help="PacGAN packing of the discriminator (default 1)")
    p.add_argument("--setup", choices=tuple(SETUPS), default="preset")
    p.add_argument("--workdir", help="keep the runs here (default: a temporary directory)")
    p.add_argument("--json", help="write every figure here")
    return p.parse_args(argv)


def config_for(problem: str, setup: str, seed: int, steps: int | None, pack: int = 1):
    from tfgan_app import config as cfg

    name, fields = SETUPS[setup][problem]
    fields = {**fields, "pack": pack}
    base = {**cfg.PRESETS[name], **fields}
    per_epoch = int(base.get("steps_per_epoch", cfg.Config.steps_per_epoch))
    steps = steps or per_epoch * int(base.get("epochs", cfg.Config.epochs))
    per_epoch = min(per_epoch, steps)
    epochs = math.ceil(steps / per_epoch)
    return cfg.preset(name, **fields, seed=seed, epochs=epochs, steps_per_epoch=math.ceil(steps / epochs),
                      eval_samples=SAMPLES[problem], plot_every=10**6)


def spread(values) -> str:
    v = np.asarray(values, float)
    return f"{v.mean():.4g} +- {v.std():.2g} ({v.min():.4g}..{v.max():.4g})"


def main(argv=None) -> int:
    args = parse(argv)
    import keras

    from tfgan_app import evaluate
    from tfgan_app.training import train as training

    problems = {"mixtures": ["ring8", "grid25"], "all": ["gaussian1d", "ring8", "grid25"]}.get(
        args.problem, [args.problem])
    if args.setup == "pacgan" and "gaussian1d" in problems:
        print("--setup pacgan: only for ring8 and grid25; gaussian1d uses its preset", file=sys.stderr)
    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="quality_toys-"))
    results = {}
    for problem in problems:
        setup = args.setup if problem in SETUPS[args.setup] else "preset"
        rows = []
        for seed in range(args.seeds):
            keras.backend.clear_session()
            config = config_for(problem, setup, seed, args.steps, args.pack)
            start = time.time()
            training.train(config, root / f"{problem}-{setup}-seed{seed}", fresh=True, verbose=0)
            report = evaluate.evaluate(root / f"{problem}-{setup}-seed{seed}", samples=SAMPLES[problem], seed=seed)
            m = report["metrics"]
            m["seconds"] = round(time.time() - start, 1)
            rows.append(m)
            print(f"{problem} seed {seed}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                          for k, v in m.items()), flush=True)
        results[problem] = rows
        keys = [k for k in rows[0] if k not in ("num_modes",) and isinstance(rows[0][k], (int, float))]
        print(f"{problem} ({setup}, {args.seeds} seeds, {config.epochs * config.steps_per_epoch} steps, "
              f"{SAMPLES[problem]} samples):")
        for k in keys:
            values = [float(r[k]) if not isinstance(r[k], str) else math.inf for r in rows]
            print(f"  {k}: {spread(values)}")
        if problem in TARGETS:
            modes, hq = TARGETS[problem]
            mean_modes = np.mean([r["modes"] for r in rows])
            mean_hq = np.mean([r["high_quality"] for r in rows])
            met = mean_modes >= modes and mean_hq >= hq
            print(f"  target {modes}/{modes} modes and >= {hq:.0%} high quality on average: "
                  f"{'met' if met else 'NOT met'} ({mean_modes:.2f} modes, {mean_hq:.1%})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    parts = []
    for problem, rows in results.items():
        if problem == "gaussian1d":
            parts.append(f"gaussian1d mean_error={np.mean([r['mean_error'] for r in rows]):.3f} "
                         f"std_ratio={np.mean([r['std_ratio'] for r in rows]):.3f} "
                         f"ks={np.mean([r['ks'] for r in rows]):.3f}")
        else:
            kl = [float(r["reverse_kl"]) if not isinstance(r["reverse_kl"], str) else math.inf for r in rows]
            parts.append(f"{problem} modes={np.mean([r['modes'] for r in rows]):.2f}/{rows[0]['num_modes']} "
                         f"hq={100 * np.mean([r['high_quality'] for r in rows]):.1f}% "
                         f"kl={np.mean(kl):.3f}")
    steps = args.steps or "preset's"
    print(f"headline: {'; '.join(parts)} (setup {args.setup}, pack {args.pack}, {args.seeds} seeds, {steps} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
