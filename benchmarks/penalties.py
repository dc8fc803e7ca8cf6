"""The critic penalties on Q2 (ring8, grid25): does the finite-difference penalty train as well as
the gradient penalty, and is it faster?

For each penalty (gp, lp, fd, dragan) and problem, the WGAN preset (ring8-wgan-gp: lambda 1,
5 critic steps, MLP 128x3, Adam 1e-3; grid25-wgan-gp: lambda 1, 5 critic steps, G 256x4,
D 256x3, Adam 1e-3 halved every 3,000 steps) is trained from scratch with only --penalty
changed -- and for dragan the non-saturating loss, as the DRAGAN paper trains it -- then
evaluated on 2,500 samples (modes, % high quality, reverse KL; docs/benchmarks.md, Q2).
Critic-step time is the median of timed `discriminator_step` calls of the same preset's nets
(tf.function, batch 256), all penalties timed in one run, with the unpenalised step as the base.

    python benchmarks/penalties.py                                  # ring8 5 seeds x 10k, grid25 3 x 15k
    python benchmarks/penalties.py --problems ring8 --seeds 1 --steps 500 --penalties gp,fd
    python benchmarks/penalties.py --timing-only                    # critic-step times only (seconds)
    python benchmarks/penalties.py --workdir W    # interrupt at will: the same command continues in W

grid25's 12 runs take ~17 minutes each on a 2-core AVX2 EPYC (75k critic steps of ~11 ms), so
the whole protocol is ~4 hours there; --workdir spreads it over sittings.

Last line: `headline: ...` with each penalty's mean figures and its critic-step time ratio to gp.
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
sys.path.insert(0, str(REPO / "benchmarks"))

from quality_toys import SAMPLES, spread  # noqa: E402

PENALTIES = ("gp", "lp", "fd", "dragan")
PROTOCOL = {"ring8": (5, 10_000), "grid25": (3, 15_000)}  # seeds, generator steps
PRESET_OF = {"ring8": "ring8-wgan-gp", "grid25": "grid25-wgan-gp"}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problems", default="ring8,grid25", help="comma-separated (default ring8,grid25)")
    p.add_argument("--penalties", default=",".join(PENALTIES), help="comma-separated (default gp,lp,fd,dragan)")
    p.add_argument("--seeds", type=int, help="seeds 0..N-1 (default: ring8 5, grid25 3)")
    p.add_argument("--steps", type=int, help="generator steps (default: ring8 10,000, grid25 15,000)")
    p.add_argument("--timing-calls", type=int, default=200, help="timed critic steps per penalty (default 200)")
    p.add_argument("--timing-only", action="store_true", help="time the critic steps, train nothing")
    p.add_argument("--workdir", help="keep the runs here and continue those left there by an interrupted "
                                     "sitting (default: a temporary directory, every run from scratch)")
    p.add_argument("--json", help="write every figure here")
    args = p.parse_args(argv)
    args.problems = [x for x in args.problems.split(",") if x]
    args.penalties = [x for x in args.penalties.split(",") if x]
    for x in args.problems:
        if x not in PROTOCOL:
            p.error(f"--problems: {x!r} is not one of: {', '.join(PROTOCOL)}")
    for x in args.penalties:
        if x not in PENALTIES:
            p.error(f"--penalties: {x!r} is not one of: {', '.join(PENALTIES)}")
    return args


def penalty_config(problem: str, penalty: str, seed: int, steps: int):
    """The WGAN preset of `problem` for `steps` generator steps, with --penalty `penalty`."""
    from tfgan_app import config as cfg

    name = PRESET_OF[problem]
    base = cfg.PRESETS[name]
    per_epoch = min(int(base.get("steps_per_epoch", cfg.Config.steps_per_epoch)), steps)
    epochs = math.ceil(steps / per_epoch)
    changes = dict(penalty=penalty)
    if penalty == "dragan":
        changes["loss"] = "non-saturating"  # as the DRAGAN paper trains it
    return cfg.preset(name, seed=seed, epochs=epochs, steps_per_epoch=math.ceil(steps / epochs),
                      eval_samples=SAMPLES[problem], plot_every=10**6, **changes)


def critic_step_ms(problem: str, penalties, calls: int) -> dict:
    """Median ms of one critic step per penalty ("none" included), the preset's nets, batch 256."""
    import dataclasses

    import keras
    import tensorflow as tf

    from tfgan_app import games

    times = {}
    for penalty in ("none", *penalties):
        keras.backend.clear_session()
        config = dataclasses.replace(penalty_config(problem, penalty if penalty != "none" else "gp", 0, 1000),
                                     penalty=penalty, batch_size=256)
        gan = games.build(config, (2,))
        real = tf.random.stateless_normal([256, 2], [1, 2])
        step = tf.function(gan.discriminator_step)
        for _ in range(10):  # trace and warm up
            step(real)
        samples = []
        for _ in range(calls):
            start = time.perf_counter()
            step(real)
            samples.append(time.perf_counter() - start)
        times[penalty] = 1000 * float(np.median(samples))
    return times


def main(argv=None) -> int:
    args = parse(argv)
    import keras

    from tfgan_app import evaluate
    from tfgan_app.training import train as training

    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="penalties-"))
    results, parts = {}, []
    for problem in args.problems:
        seeds, steps = PROTOCOL[problem]
        seeds, steps = args.seeds or seeds, args.steps or steps
        timing = critic_step_ms(problem, args.penalties, args.timing_calls)
        print(f"{problem} critic step (ms, median of {args.timing_calls}): "
              + ", ".join(f"{k} {v:.3f}" for k, v in timing.items()), flush=True)
        if args.timing_only:
            gp = timing.get("gp")
            parts.append(", ".join(f"{problem}/{k} {v:.3f} ms" + (f" ({v / gp:.2f}x gp)" if gp else "")
                                   for k, v in timing.items()))
            continue
        for penalty in args.penalties:
            rows = []
            for seed in range(seeds):
                keras.backend.clear_session()
                config = penalty_config(problem, penalty, seed, steps)
                run = root / f"{problem}-{penalty}-seed{seed}"
                start = time.time()
                # With --workdir a run left there is continued (resume is bit-identical), so the
                # protocol can be spread over several sittings; a finished run is only evaluated.
                result = training.train(config, run, fresh=not args.workdir, verbose=0)
                m = evaluate.evaluate(run, samples=SAMPLES[problem], seed=seed)["metrics"]
                m["seconds"] = round(time.time() - start, 1)  # this sitting's share
                m["resumed_at_epoch"] = result.initial_epoch
                rows.append(m)
                print(f"{problem} {penalty} seed {seed}: modes={m['modes']} high_quality={m['high_quality']:.4f} "
                      f"reverse_kl={m['reverse_kl']} seconds={m['seconds']} (from epoch {result.initial_epoch})",
                      flush=True)
            results.setdefault(problem, {})[penalty] = {"runs": rows, "critic_ms": timing[penalty],
                                                        "critic_ms_none": timing["none"],
                                                        "seeds": seeds, "steps": steps}
            kl = [float(r["reverse_kl"]) for r in rows]
            print(f"  {problem} {penalty} ({seeds} seeds, {steps} steps): modes {spread([r['modes'] for r in rows])}, "
                  f"high_quality {spread([r['high_quality'] for r in rows])}, reverse_kl {spread(kl)}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    for problem, by_penalty in results.items():
        gp_ms = by_penalty.get("gp", {}).get("critic_ms")
        for penalty, r in by_penalty.items():
            rows = r["runs"]
            ratio = f" step/gp={r['critic_ms'] / gp_ms:.2f}" if gp_ms else ""
            parts.append(f"{problem}/{penalty} modes={np.mean([x['modes'] for x in rows]):.2f} "
                         f"hq={100 * np.mean([x['high_quality'] for x in rows]):.1f}% "
                         f"kl={np.mean([float(x['reverse_kl']) for x in rows]):.3f}{ratio}")
    print("headline: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
