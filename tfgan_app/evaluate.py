"""Sample quality of a run or an exported generator: the evaluate command.

    python -m tfgan_app.evaluate RUN_DIR_or_EXPORT_DIR [--samples N] [--classifier PATH] [--dataset SPEC]
        [--inception-weights PATH] [--weights latest|best] [--seed S] [--problem P] [--out FILE]

Data flows one way:

    source                          a run (restore_run: the latest or the best checkpoint), or an
                                    export (only its serving signatures, as any client would call them)
      -> N samples                  fixed by --seed; conditional models get every class equally often
      -> toy figures                metrics.toy_quality (Q1, Q2)
         or image figures           classifier features and probabilities (tfgan_app/metrics/classifier.py)
                                    against the dataset's reference statistics (cached):
                                    FCD, KID, classifier score, precision/recall, modes
      -> JSON report                printed; written to RUN_DIR/evaluation.json for runs

During training, tfgan_app.training.evaluation.PeriodicEvaluation computes the same
figures (config `eval_every` > 0) and keeps the best generator in WORKDIR/best/.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Callable

from tfgan_app.cli import ArgumentParser, import_tensorflow

if __name__ == "__main__":  # keep TF's C++ start-up chatter out of the CLI's output
    import_tensorflow("--tf-logs" in sys.argv)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfgan_app.export import archive  # noqa: E402
from tfgan_app.metrics import classifier as clf  # noqa: E402
from tfgan_app.metrics import figures as metrics  # noqa: E402
from tfgan_app.metrics.figures import PROBLEM_FIGURES, jsonable  # noqa: E402
from tfgan_app.metrics.reference import image_metrics, inception_metrics, reference_figures, reference_statistics  # noqa: E402
from tfgan_app.training import run_dir  # noqa: E402
from tfgan_app.training.evaluation import restore_best, write_json  # noqa: E402

IMAGE_SAMPLES = 10_000        # default generated images (Q4 asks for 26,000: --samples 26000)
TOY_SAMPLES = 2_500           # default toy samples when the source does not say (Q2's count)
DRAW_BATCH = 256              # an export's largest batch (serving/batching_parameters.txt)


class EvaluationError(ValueError):
    """The source cannot be evaluated as asked; the message names the flag or file."""


# --- sources: where samples come from ------------------------------------------------------


@dataclasses.dataclass
class Source:
    """A generator to evaluate.

    Attributes:
      kind: "run" or "export".
      path: the run directory or export version directory.
      problem: toy problem name or "image".
      sample_shape: shape of one sample.
      config: the run's config fields (an export's, when it recorded them), as a dict.
      epoch: epochs the weights were trained for (None: unknown).
      draw: draw(n, seed) -> samples (n, *sample_shape) float32.
    """

    kind: str
    path: Path
    problem: str
    sample_shape: tuple
    config: dict
    epoch: int | None
    draw: Callable[[int, int], np.ndarray]


def open_run(path, weights: str = "latest") -> Source:
    config, game, epoch = run_dir.restore_run(path)
    if weights == "best":
        epoch = restore_best(path, game)
    spec = json.loads((Path(path) / run_dir.MODEL_SPEC_FILE).read_text())
    return Source("run", Path(path), config.problem, tuple(spec["data_shape"]),
                  dataclasses.asdict(config), epoch,
                  lambda n, seed: game.samples(n, [seed, -5], batch=1000))


def export_version_dir(path) -> Path:
    """BASE/NAME/VERSION itself, or the highest version of BASE/NAME."""
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    versions = sorted((int(p.name) for p in path.iterdir()
                       if p.name.isdigit() and (p / "saved_model.pb").is_file()), reverse=True) \
        if path.is_dir() else []
    if not versions:
        raise EvaluationError(f"{path}: neither a run directory (config.json) nor an export "
                              f"(saved_model.pb, or version directories holding one)")
    return path / str(versions[0])


def _infer_problem(sample_shape: tuple, path) -> str:
    if len(sample_shape) == 3:
        return "image"
    by_dim = {(1,): "gaussian1d", (15,): "sine"}
    if sample_shape in by_dim:
        return by_dim[sample_shape]
    raise EvaluationError(f"--problem: {path} records no problem and its {sample_shape} samples fit "
                          f"several; pass --problem ring8 or --problem grid25")


def open_export(path, problem: str | None = None) -> Source:
    """An export, used only through its serving signatures (tf.saved_model.load(dir).signatures)."""
    version_dir = export_version_dir(path)
    info_path = version_dir / archive.EXTRA_DIR / archive.INFO_FILE
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    signatures = tf.saved_model.load(str(version_dir)).signatures
    config = dict(info.get("config") or {})
    game = config.get("game", "gan")  # exports written before games had names are GANs'
    if game not in archive.SIGNATURES:
        raise EvaluationError(f"{version_dir}: an export of game {game!r}, which this version cannot "
                              f"evaluate (known: {', '.join(archive.SIGNATURES)})")
    try:
        draw = archive.SIGNATURES[game].sampler(signatures, info, DRAW_BATCH)
    except archive.ExportError as e:
        raise EvaluationError(f"{version_dir}: {e}") from None
    try:
        sample_shape = tuple(draw(1, 0).shape[1:])
    except tf.errors.OpError as e:
        raise EvaluationError(f"{version_dir}: its signatures fail on one sample: {e.message.splitlines()[0]}") from None
    problem = problem or config.get("problem") or _infer_problem(sample_shape, version_dir)
    return Source("export", version_dir, problem, sample_shape, config, info.get("epochs"), draw)


def open_source(path, problem: str | None = None, weights: str = "latest") -> Source:
    """A run directory (config.json) or an export directory, ready to draw samples."""
    path = Path(path)
    if not path.exists():
        raise EvaluationError(f"{path}: does not exist; expected a run directory or an export directory")
    if (path / "config.json").is_file():
        return open_run(path, weights)
    if weights != "latest":
        raise EvaluationError("--weights best: only a run directory keeps its best generator; an export "
                              "holds one set of weights")
    return open_export(path, problem)


def evaluate(path, *, samples: int | None = None, classifier=None, dataset: str | None = None,
             inception_weights=None, seed: int = 0, problem: str | None = None, weights: str = "latest",
             write: bool = True) -> dict:
    """The JSON-ready report of a run directory or an export.

    Args:
      path: run directory, or export directory (BASE/NAME/VERSION, or BASE/NAME for its latest).
      samples: how many samples (default: the run's eval_samples for toys, IMAGE_SAMPLES for images).
      classifier: the project's classifier (.keras) for image figures (default: the run's
        eval_classifier, else classifier.default_classifier_path()).
      dataset: reference images (default: the run's dataset).
      inception_weights: a local Inception-V3 ImageNet weights file: adds FID and Inception Score.
      seed: which samples.
      problem: for exports that do not record theirs (ring8 and grid25 look alike).
      weights: "latest" checkpoint or the "best" one kept by PeriodicEvaluation (runs only).
      write: write RUN_DIR/evaluation.json (evaluation_best.json for weights="best").
    Raises:
      EvaluationError, classifier.ClassifierError, checkpointing.RunDirError, image_data.DataError.
    """
    start = time.time()
    if samples is not None and samples < 2:
        raise EvaluationError(f"--samples: expected an integer >= 2, got {samples}")
    source = open_source(path, problem, weights)
    report = {"source": str(source.path), "kind": source.kind, "problem": source.problem,
              "epoch": source.epoch, "weights": weights, "seed": seed}
    if source.problem != "image":
        n = samples or int(source.config.get("eval_samples") or TOY_SAMPLES)
        report["samples"] = n
        report["metrics"] = metrics.toy_quality(source.problem, source.draw(n, seed))
    else:
        spec = dataset or source.config.get("dataset")
        if not spec:
            raise EvaluationError(f"--dataset: {source.path} records no dataset; pass --dataset SPEC "
                                  f"(the real images, e.g. mnist-idx:DIR)")
        data_dir = source.config.get("data_dir") or None
        featurizers = []
        path_ = classifier or source.config.get("eval_classifier") or clf.default_classifier_path()
        try:
            featurizers.append(("classifier", clf.load_classifier(path_)))
        except clf.ClassifierError:
            if not inception_weights:
                raise
            report["note"] = f"no classifier at {path_}: classifier figures skipped"
        if inception_weights:
            featurizers.append(("inception", clf.inception_featurizer(inception_weights)))
        for _, featurizer in featurizers:
            featurizer.groups(source.sample_shape)  # fail before drawing samples
        n = samples or IMAGE_SAMPLES
        if n < 10:
            raise EvaluationError(f"--samples: image figures need at least 10 samples, got {n}")
        x = source.draw(n, seed)
        report.update({"samples": n, "dataset": spec, "metrics": {}})
        for kind, featurizer in featurizers:
            reference = reference_statistics(spec, featurizer, source.sample_shape, data_dir)
            if kind == "classifier":
                report["metrics"].update(image_metrics(x, featurizer, reference, seed))
                report["classifier"] = {"path": str(path_), "sha256": featurizer.fingerprint,
                                        **{k: featurizer.info[k] for k in ("held_out_accuracy", "held_out")
                                           if k in featurizer.info}}
                report["reference"] = reference_figures(reference)
            else:
                report["metrics"].update(inception_metrics(x, featurizer, reference))
                report["inception"] = {"path": str(inception_weights), "sha256": featurizer.fingerprint,
                                       "reference_examples": int(reference["examples"])}
    report["seconds"] = round(time.time() - start, 1)
    report = jsonable(report)
    if write and source.kind == "run":
        name = "evaluation.json" if weights == "latest" else f"evaluation_{weights}.json"
        write_json(source.path / name, report)
    return report


# --- command line ----------------------------------------------------------------------


def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m tfgan_app.evaluate", description=__doc__)
    p.add_argument("path", help="run directory (train.py) or export directory (BASE/NAME[/VERSION])")
    p.add_argument("--samples", type=int, help=f"samples to draw (default: the run's eval_samples for "
                   f"toys, {IMAGE_SAMPLES} for images)")
    p.add_argument("--classifier", help=f"the project's classifier (default: the run's eval_classifier, "
                   f"else {clf.default_classifier_path()}); train one with `{clf.train_command()}`")
    p.add_argument("--dataset", help="reference images (default: the run's --dataset)")
    p.add_argument("--inception-weights", help="local Inception-V3 ImageNet weights (.h5, with top): adds "
                   "FID and Inception Score (nothing is downloaded)")
    p.add_argument("--weights", choices=("latest", "best"), default="latest",
                   help="a run's latest checkpoint, or the best one kept by --eval-every (default latest)")
    p.add_argument("--seed", type=int, default=0, help="which samples (default 0)")
    p.add_argument("--problem", choices=tuple(PROBLEM_FIGURES), help="for exports that do not record theirs")
    p.add_argument("--out", help="also write the report here")
    p.add_argument("--no-write", action="store_true", help="do not write RUN_DIR/evaluation.json")
    p.add_argument("--tf-logs", action="store_true", help="show TensorFlow's start-up logs (hidden by default)")
    args = p.parse_args(argv)
    try:
        report = evaluate(args.path, samples=args.samples, classifier=args.classifier, dataset=args.dataset,
                          inception_weights=args.inception_weights, seed=args.seed, problem=args.problem,
                          weights=args.weights, write=not args.no_write)
    except ValueError as e:  # EvaluationError, ClassifierError, RunDirError, DataError, ConfigError
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2)
    if args.out:
        write_json(Path(args.out), report)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
