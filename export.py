"""Export a run's generator for TF Serving: `python export.py --workdir RUN_DIR`.

Writes EXPORT_BASE/NAME/<version>/ (default exports/generator/<next version>), a
SavedModel with the signatures of serving/README.md, checked before it is published.
The export holds the generator of the run's latest checkpoint.
Thin CLI over tfgan_app.export.archive.export_run.
"""

from __future__ import annotations

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from tfgan_app.cli import ArgumentParser, import_tensorflow  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="export.py", description=__doc__)
    p.add_argument("--workdir", required=True, help="run directory written by train.py")
    p.add_argument("--export-base", default="exports",
                   help="directory with one directory per model, as TF Serving's base path "
                        "(default: exports)")
    p.add_argument("--name", default="generator", help="model name (default: generator)")
    p.add_argument("--version", type=int,
                   help="integer version (default: the next one: max existing + 1, from 1); "
                        "an existing version is refused, never overwritten")
    p.add_argument("--tf-logs", action="store_true",
                   help="show TensorFlow's start-up logs (hidden by default; so does setting TF_CPP_MIN_LOG_LEVEL)")
    return p


def preflight(args) -> None:
    """The checks that need no TensorFlow (importing it takes seconds and prints C++ logs).

    tfgan_app.export.archive repeats them for library callers; these only fail faster.
    """
    workdir = Path(args.workdir)
    if not workdir.exists():
        raise ValueError(f"--workdir {workdir}: does not exist; expected a run directory "
                         "written by train.py")
    if not workdir.is_dir():
        raise ValueError(f"--workdir {workdir}: is a file; expected a run directory written "
                         "by train.py")
    if not (workdir / "config.json").is_file():
        raise ValueError(f"--workdir {workdir}: holds no run (no config.json); train one with "
                         f"`python train.py --workdir {workdir}`")
    if args.version is not None:
        if args.version < 1:
            raise ValueError(f"--version: expected a positive integer, got {args.version}")
        target = Path(args.export_base) / args.name
        if target.is_dir() and any(p.name.isascii() and p.name.isdigit() and
                                   int(p.name) == args.version and p.is_dir()
                                   for p in target.iterdir()):
            raise ValueError(f"--version {args.version}: {target / str(args.version)} already "
                             "exists; exports are never overwritten (omit --version to write "
                             "the next one)")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        preflight(args)
        import_tensorflow(args.tf_logs)  # after the cheap checks
        from tfgan_app.export import archive as exporting

        result = exporting.export_run(args.workdir, args.export_base, args.name, args.version)
    except ValueError as e:  # RunDirError, ExportError, ConfigError
        print(f"export.py: error: {e}", file=sys.stderr)
        return 2
    epochs = "" if result.epochs is None else f", epoch {result.epochs}"
    print(f"exported {args.workdir}{epochs} -> {result.export_dir}")
    for name, sig in result.signatures.items():
        ins = ", ".join(f"{k}: {d}{_shape(s)}" for k, (d, s) in sig["inputs"].items())
        outs = ", ".join(f"{k}: {d}{_shape(s)}" for k, (d, s) in sig["outputs"].items())
        print(f"  {name}({ins}) -> {outs}")
    return 0


def _shape(shape) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


if __name__ == "__main__":
    sys.exit(main())
