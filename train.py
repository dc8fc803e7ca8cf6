"""Train a GAN: `python train.py [--preset NAME] [--FIELD VALUE ...]`.

Every field of tfgan_app.config.Config is a flag (`--g-lr 1e-4`, `--g-hidden 64,64`).
Thin CLI over tfgan_app.training.train.train.
"""

from __future__ import annotations

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from tfgan_app.cli import ArgumentParser, import_tensorflow  # noqa: E402

from tfgan_app import config as cfg  # noqa: E402


def _widths(text: str) -> tuple:
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 128,128, got {text!r}")
    return widths


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="train.py", description=__doc__)
    p.add_argument("--preset", help=f"one of: {', '.join(cfg.PRESETS)} (default {cfg.DEFAULT_PRESET})")
    p.add_argument("--workdir", help="run directory (default runs/PRESET); resumed if it holds a run")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true",
                        help="continue the run in --workdir (the default when it holds one)")
    resume.add_argument("--fresh", action="store_true", help="start over even if --workdir holds a run")
    p.add_argument("--steps", type=int, help="total train steps, each n_critic critic steps and g_steps "
                   "generator steps (sets --epochs, and --steps-per-epoch when smaller)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--tf-logs", action="store_true",
                   help="show TensorFlow's start-up logs (hidden by default; so does setting TF_CPP_MIN_LOG_LEVEL)")
    for f in dataclasses.fields(cfg.Config):
        kind = {int: int, float: float, bool: _bool, tuple: _widths}.get(type(f.default), str)
        switch = dict(nargs="?", const=True) if kind is _bool else {}  # `--jit-compile` = `--jit-compile true`
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind,
                       default=argparse.SUPPRESS, help=f"default: {f.default}", **switch)
    for old, new in cfg.RENAMED_FIELDS.items():  # old flags keep working
        p.add_argument("--" + old.replace("_", "-"), dest=new, type=float, default=argparse.SUPPRESS,
                       help=f"old name of --{new.replace('_', '-')}")
    return p


def parse(argv=None):
    """(config, workdir, fresh, fields given on the command line or None for all, quiet)."""
    args = vars(build_parser().parse_args(argv))
    preset = args.pop("preset", None)
    workdir = args.pop("workdir", None)
    fresh, quiet, steps = args.pop("fresh"), args.pop("quiet"), args.pop("steps", None)
    args.pop("tf_logs")
    args.pop("resume")  # resuming is what happens anyway; the flag states it
    overrides = dict(args)  # only the fields given (SUPPRESS drops the rest)
    if preset is not None and preset not in cfg.PRESETS:
        raise cfg.ConfigError("preset", f"{preset!r} is not one of: {', '.join(sorted(cfg.PRESETS))}")
    if steps is not None:
        if steps <= 0:
            raise cfg.ConfigError("steps", f"expected a positive integer, got {steps}")
        per_epoch = overrides.get("steps_per_epoch") or cfg.PRESETS[preset or cfg.DEFAULT_PRESET].get(
            "steps_per_epoch", cfg.Config.steps_per_epoch)
        epochs = math.ceil(steps / per_epoch)
        preset_values = cfg.PRESETS[preset or cfg.DEFAULT_PRESET]
        decay = preset_values.get("linear_decay_epochs", 0)
        if decay and "linear_decay_epochs" not in overrides:  # the same share of the run decays
            overrides["linear_decay_epochs"] = min(epochs, math.ceil(decay * epochs / preset_values["epochs"]))
        overrides["epochs"] = epochs
        overrides["steps_per_epoch"] = math.ceil(steps / epochs)  # epochs * this ~= steps
    config = cfg.preset(preset or cfg.DEFAULT_PRESET, **overrides)
    # Resuming compares every field when a preset is named, else only the flags given.
    compare = None if preset else tuple(overrides)
    return config, Path(workdir or f"runs/{preset or cfg.DEFAULT_PRESET}"), fresh, compare, quiet


def main(argv=None) -> int:
    try:
        config, workdir, fresh, compare, quiet = parse(argv)
    except ValueError as e:  # ConfigError
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2
    import_tensorflow("--tf-logs" in (sys.argv[1:] if argv is None else argv))  # after the cheap checks
    from tfgan_app.training import train as training
    from tfgan_app.training.callbacks import Diverged

    try:
        result = training.train(config, workdir, fresh=fresh, compare=compare, verbose=0 if quiet else 1)
    except ValueError as e:  # ConfigError, RunDirError, DataError, GANConfigError
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2
    except Diverged as e:
        print(f"train.py: {e}", file=sys.stderr)
        return 1
    print(f"run directory: {result.workdir}  ({result.seconds:.0f} s, resumed at epoch {result.initial_epoch})")
    for name, value in result.quality.items():
        print(f"  {name}: {value:.4g}" if isinstance(value, float) else f"  {name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
