"""Q10 `text-js` (docs/benchmarks.md): the character-level WGAN-GP on CPython's English text, offline.

One run of the `text-wgan-gp` preset for `--minutes` of training (a wall clock; the epoch in
progress ends and is checkpointed), then evaluate.py's text figures: the Jensen-Shannon
divergence of character n-grams (n = 1..4) between as many generated lines as are held out
and the held-out lines (~870 of pydoc_data.topics'), next to three baselines computed the same
way -- the floor (training lines against the held-out ones), a unigram sampler and a character
4-gram Markov sampler (metrics/ngrams.py).  The target: the GAN beats the unigram sampler on JS-4.

    python benchmarks/quality_text.py --workdir W                  # 30 min
    python benchmarks/quality_text.py --workdir W --minutes 1 --width 16   # smoke

`--workdir W` keeps the run (samples/epoch_*.txt, metrics.csv with eval_js1..4 per epoch) and
q10.json.  Last line: `headline: text-js ...`.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import budget  # noqa: E402  (benchmarks/budget.py)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    budget.run_arguments(p, "pydoc-topics")
    p.add_argument("--n-critic", type=int, default=None, help="--n-critic (default: the preset's, the paper's 10)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    report, game, epochs, trained = budget.train_and_evaluate("text-wgan-gp", args, n_critic=args.n_critic)
    workdir = Path(args.workdir)
    row = {"generator_steps": int(game.g_optimizer.iterations), "critic_steps": int(game.d_optimizer.iterations),
           "epochs": epochs, "train_seconds": round(trained, 1), "lines": report["samples"],
           "gan": report["metrics"], **report["baselines"],
           "samples": game.decode(game.samples(12, [args.seed, -3]))}
    (workdir / "q10.json").write_text(json.dumps(row, indent=2) + "\n")
    print(json.dumps(row, indent=2))
    figures = " ".join(f"{name}_js4={row[name]['js4']:.3f}" for name in ("gan", "floor", "unigram", "markov4"))
    print(f"headline: text-js steps={row['generator_steps']} {figures} "
          f"beats_unigram={row['gan']['js4'] < row['unigram']['js4']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
