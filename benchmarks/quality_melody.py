"""Q11 `melody` (docs/benchmarks.md): MidiNet on the Bach chorales music21 ships, offline.

One run of the `midinet-chorales` preset for `--minutes` of training (a wall clock; the epoch in
progress ends and is checkpointed), then evaluate.py's melody figures: the model writes a
melody, bar by bar, for each run of two bars with chords in the held-out chorales (every tenth
tune), scored against all held-out bars: JS divergence of pitch-class and interval histograms,
scale consistency, empty-bar rate and the share of notes on the bar's chord tones, next to the
real melodies of those runs and two baselines (real training bars shuffled against the chords;
a first-order Markov melody) -- metrics/melody.py.  Parsing the corpus the first time takes minutes (cached).

    python benchmarks/quality_melody.py --workdir W                 # 30 min
    python benchmarks/quality_melody.py --workdir W --minutes 1 --width 16   # smoke

`--workdir W` keeps the run (samples/epoch_*.mid and .png) and q11.json.  Last line:
`headline: melody ...`.
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


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    budget.run_arguments(p, "chorales")
    p.add_argument("--lr", type=float, default=None, help="--g-lr and --d-lr (default: the preset's, the code's 5e-5)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    from tfgan_app.data import melody

    start = time.time()
    data = melody.load_melodies(args.dataset)
    prepared = time.time() - start
    report, game, epochs, trained = budget.train_and_evaluate("midinet-chorales", args, g_lr=args.lr, d_lr=args.lr)
    workdir = Path(args.workdir)
    row = {"d_steps": int(game.d_optimizer.iterations), "g_steps": int(game.g_optimizer.iterations), "epochs": epochs,
           "train_seconds": round(trained, 1), "corpus_seconds": round(prepared, 1),
           "training_pieces": int(len(np.unique(data.train.piece))), "training_bars_12_keys": len(data.bar),
           "held_out_bars": report["held_out_bars"], "melodies": report["melodies"], "midinet": report["metrics"], **report["baselines"]}
    (workdir / "q11.json").write_text(json.dumps(row, indent=2) + "\n")
    print(json.dumps(row, indent=2))

    def number(v):  # figures of no note at all are "nan" in the JSON report
        return f"{v:.3f}" if isinstance(v, (int, float)) else str(v)

    figures = " ".join(f"{name}:pitch_js={number(row[name]['pitch_js'])},chord_tones={number(row[name]['chord_tones'])},"
                       f"empty={number(row[name]['empty'])}" for name in ("midinet", "held_out", "shuffled_real", "markov"))
    print(f"headline: melody g_steps={row['g_steps']} {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
