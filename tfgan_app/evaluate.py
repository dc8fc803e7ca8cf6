"""Sample quality of a run or an exported generator: the evaluate command.

    python -m tfgan_app.evaluate RUN_DIR_or_EXPORT_DIR [--samples N] [--classifier PATH] [--dataset SPEC]
        [--inception-weights PATH] [--weights latest|best] [--seed S] [--problem P] [--out FILE]
        [--truncation T1,T2,... [--plots DIR]] [--swd]

Data flows one way:

    source                          a run (restore_run: the latest or the best checkpoint), or an
                                    export (only its serving signatures, as any client would call them)
      -> N samples                  fixed by --seed; conditional models get every class equally often
      -> toy figures                metrics.toy_quality (Q1, Q2)
         or text figures            n-gram JS divergences from the held-out lines, next to the floor,
                                    unigram and 4-gram Markov baselines' (metrics/ngrams.py)
         or melody figures          pitch-class and interval JS, scale consistency, empty bars, chord
                                    tones, next to held-out, shuffled-real and Markov baselines' (metrics/melody.py)
         or image figures           classifier features and probabilities (tfgan_app/metrics/classifier.py)
                                    against the dataset's reference statistics (cached):
                                    FCD, KID, classifier score, precision/recall, modes
      -> JSON report                printed; written to RUN_DIR/evaluation.json for runs

--swd adds the sliced Wasserstein distance x 1e3 per Laplacian band (metrics/swd.py, Karras et
al. 2018) between the samples and as many images of the dataset (a seeded choice), finest band
first: "swd" in the report's metrics.  It takes ~30 s per level for 10,000 images on 2 cores.

--truncation T1,T2,... adds BigGAN's truncation sweep (generators fed normal noise): the same
seeds drawn with z truncated to [-t, t] for each t (export.gan.truncated_noise_for_seeds, as
the export's generate_truncated), their figures in the report's "truncation" list, and two
pictures in --plots DIR (default: the run directory, or . for an export):
truncation_sweep.png (images: one row of the same 8 seeds per t) and truncation_tradeoff.png
(precision and recall against t for images; high quality and modes for the 2-D mixtures).

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

from tfgan_app.data import reference_spec  # noqa: E402
from tfgan_app.data import melody as melody_data  # noqa: E402
from tfgan_app.data import text as text_data  # noqa: E402
from tfgan_app.export import archive  # noqa: E402
from tfgan_app.metrics import classifier as clf  # noqa: E402
from tfgan_app.metrics import figures as metrics  # noqa: E402
from tfgan_app.metrics import melody as melody_metrics  # noqa: E402
from tfgan_app.metrics import ngrams  # noqa: E402
from tfgan_app.metrics.figures import PROBLEM_FIGURES, jsonable  # noqa: E402
from tfgan_app.metrics.reference import image_metrics, inception_metrics, reference_figures, reference_statistics  # noqa: E402
from tfgan_app.training import plotting, run_dir  # noqa: E402
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
      problem: toy problem name, "image", "text" or "music".
      sample_shape: shape of one sample.
      config: the run's config fields (an export's, when it recorded them), as a dict.
      epoch: epochs the weights were trained for (None: unknown).
      draw: draw(n, seed) -> samples (n, *sample_shape) float32.
      draw_truncated: draw(n, seed, t) -> samples at truncation t, or None (no truncation trick).
    """

    kind: str
    path: Path
    problem: str
    sample_shape: tuple
    config: dict
    epoch: int | None
    draw: Callable[[int, int], np.ndarray]
    draw_truncated: Callable[[int, int, float], np.ndarray] | None = None


def open_run(path, weights: str = "latest") -> Source:
    config, game, epoch = run_dir.restore_run(path)
    if weights == "best":
        epoch = restore_best(path, game)
    spec = json.loads((Path(path) / run_dir.MODEL_SPEC_FILE).read_text())
    signatures = archive.SIGNATURES.get(config.game)
    shape = spec["data_shape"]
    if config.is_text:  # {"tokens": (L,), "vocabulary"}
        shape = tuple(shape["tokens"])
    elif config.is_music:  # {"bar": (16, P), "chord"}: samples are rows of 16 steps
        shape = (shape["bar"][0],)
    else:
        shape = tuple(shape)
    def draw(n, seed, chords=None):  # melodies: chords (M, N) -> rows (M, N, 16), bar by bar
        if chords is None:
            return game.samples(n, [seed, -5], batch=1000)
        return game.melody(game.noise(len(chords), chords.shape[1], [seed, -5]), chords)[1].numpy()

    return Source("run", Path(path), config.problem, shape,
                  dataclasses.asdict(config), epoch, draw,
                  signatures.game_truncated_sampler(game) if signatures else None)


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
    truncated = archive.SIGNATURES[game].truncated_sampler(signatures, info, DRAW_BATCH)
    return Source("export", version_dir, problem, sample_shape, config, info.get("epochs"), draw, truncated)


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
             write: bool = True, truncation=(), plots=None, swd: bool = False) -> dict:
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
      truncation: thresholds t > 0 of a truncation sweep (module docstring); () = none.
      plots: where the sweep's pictures go (default: the run directory, or . for an export).
      swd: add the per-band sliced Wasserstein distance to the image figures.
    Raises:
      EvaluationError, classifier.ClassifierError, checkpointing.RunDirError, image_data.DataError.
    """
    start = time.time()
    if samples is not None and samples < 2:
        raise EvaluationError(f"--samples: expected an integer >= 2, got {samples}")
    truncation = [float(t) for t in truncation]
    if any(not t > 0 for t in truncation):
        raise EvaluationError(f"--truncation: thresholds must be > 0, got {truncation}")
    source = open_source(path, problem, weights)
    if truncation and source.draw_truncated is None:
        raise EvaluationError(f"--truncation: {source.path} has no truncation trick (it needs a generator fed "
                              f"normal noise; an export needs its generate_truncated signature)")
    report = {"source": str(source.path), "kind": source.kind, "problem": source.problem,
              "epoch": source.epoch, "weights": weights, "seed": seed}
    if source.problem == "text":
        if truncation:
            raise EvaluationError("--truncation: a text model has no truncation sweep")
        report.update(_text_figures(source, dataset, seed))
    elif source.problem == "music":
        if truncation:
            raise EvaluationError("--truncation: a melody model has no truncation sweep")
        report.update(_melody_figures(source, dataset, seed))
    elif source.problem != "image":
        n = samples or int(source.config.get("eval_samples") or TOY_SAMPLES)
        report["samples"] = n
        report["metrics"] = metrics.toy_quality(source.problem, source.draw(n, seed))
        figures_of = lambda x: metrics.toy_quality(source.problem, x)
    else:
        spec = dataset or source.config.get("dataset")
        if spec and not dataset:
            spec = reference_spec(spec)  # captioned digits: their digits
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
        references = [(kind, featurizer, reference_statistics(spec, featurizer, source.sample_shape, data_dir))
                      for kind, featurizer in featurizers]  # read once, for the samples and any sweep
        figures_of = lambda x: _image_figures(x, references, seed)
        report.update({"samples": n, "dataset": spec, "metrics": figures_of(x)})
        if swd:
            report["metrics"]["swd"] = _swd(x, spec, data_dir, seed)
        for kind, featurizer, reference in references:
            if kind == "classifier":
                report["classifier"] = {"path": str(path_), "sha256": featurizer.fingerprint,
                                        **{k: featurizer.info[k] for k in ("held_out_accuracy", "held_out")
                                           if k in featurizer.info}}
                report["reference"] = reference_figures(reference)
            else:
                report["inception"] = {"path": str(inception_weights), "sha256": featurizer.fingerprint,
                                       "reference_examples": int(reference["examples"])}
    if truncation:
        report["truncation"] = _truncation_sweep(source, truncation, n, seed, figures_of,
                                                 Path(plots) if plots else (source.path if source.kind == "run"
                                                                            else Path(".")))
    report["seconds"] = round(time.time() - start, 1)
    report = jsonable(report)
    if write and source.kind == "run":
        name = "evaluation.json" if weights == "latest" else f"evaluation_{weights}.json"
        write_json(source.path / name, report)
    return report


def _text_figures(source: Source, dataset: str | None, seed: int) -> dict:
    """A text model's n-gram JS figures against the held-out lines of its dataset, and the
    baselines' (floor, unigram, 4-gram Markov), all from as many lines as are held out
    (metrics/ngrams.py)."""
    config = source.config
    spec = dataset or config.get("dataset")
    if not spec:
        raise EvaluationError(f"--dataset: {source.path} records no dataset; pass --dataset SPEC (its text)")
    data = text_data.load_text(spec, int(config.get("seq_len", 32)), int(config.get("vocab", 2048)),
                               config.get("data_dir") or None)
    m = len(data.held_out)
    report = ngrams.js_report(source.draw(m, seed), data.held_out, data.train, seed=seed)
    return {"samples": m, "dataset": spec, "metrics": report.pop("model"), "baselines": report}


def _melody_figures(source: Source, dataset: str | None, seed: int) -> dict:
    """A melody model's figures on melodies it writes for the held-out pieces' chord progressions
    (runs of melody_data.EVALUATION_BARS bars), against the held-out bars, next to the baselines'
    (metrics/melody.py).  A model trained without chords makes its own --bars bars: the first ones count."""
    config = source.config
    spec = dataset or config.get("dataset")
    if not spec:
        raise EvaluationError(f"--dataset: {source.path} records no dataset; pass --dataset SPEC (its music)")
    data = melody_data.load_melodies(spec, chords=bool(config.get("chords", True)))
    bars = melody_data.EVALUATION_BARS
    chords, true_rows = melody_data.held_out_progressions(data, bars)
    if not len(chords):
        raise EvaluationError(f"--dataset {spec}: the held-out pieces (every tenth tune) have no run of {bars} "
                              f"bars to write melodies for")
    rows = source.draw(len(chords), seed, chords=chords)[:, :bars]
    report = melody_metrics.melody_report(rows.reshape(-1, melody_data.STEPS), chords.reshape(-1),
                                          true_rows.reshape(-1, melody_data.STEPS),
                                          melody_data.held_out_rows(data)[0], melody_data.training_rows(data),
                                          seed=seed)
    return {"melodies": len(chords), "bars": bars, "dataset": spec, "held_out_bars": len(data.held_out.melody),
            "metrics": report.pop("model"), "baselines": report}


def _swd(x, spec: str, data_dir, seed: int) -> list[float]:
    """Per-band SWD x 1e3 of samples x against as many dataset images (a seeded choice; all of
    them, and as many samples, when the dataset is smaller)."""
    from tfgan_app.data import images as image_data
    from tfgan_app.metrics import swd as swd_lib

    h, w, c = x.shape[1:]
    examples, source = image_data.load_examples(spec, image_size=h if h == w else None, channels=c,
                                                data_dir=data_dir)
    real = next(iter(examples.map(lambda image, label: image).batch(source.num_examples))).numpy()
    if real.shape[1:] != x.shape[1:]:
        raise EvaluationError(f"--swd: the samples are {x.shape[1:]}, the dataset's images {real.shape[1:]}")
    n = min(len(real), len(x))
    pick = np.random.default_rng(seed).choice(len(real), n, replace=False)
    real = real[pick].astype(np.float32) / 127.5 - 1.0
    return swd_lib.band_swd(real, x[:n], levels=swd_lib.levels_for(int(h)), seed=seed)


def _image_figures(x, references, seed) -> dict:
    """The image figures of samples x against each (kind, featurizer, reference statistics)."""
    out = {}
    for kind, featurizer, reference in references:
        out.update(image_metrics(x, featurizer, reference, seed) if kind == "classifier"
                   else inception_metrics(x, featurizer, reference))
    return out


# The figures the trade-off picture shows, by problem kind (the first ones present).
TRADEOFF_FIGURES = {"image": ("precision", "recall"), "mixture": ("high_quality", "modes")}


def _truncation_sweep(source: Source, thresholds, n: int, seed: int, figures_of, plots: Path) -> dict:
    """Figures of n samples per threshold (the same seeds), and the two pictures in `plots`."""
    rows, grid = [], []
    for t in thresholds:
        x = source.draw_truncated(n, seed, t)
        rows.append({"truncation": t, "metrics": figures_of(x)})
        grid.append(x[:8])
    image = source.problem == "image"
    names = [k for k in TRADEOFF_FIGURES["image" if image else "mixture"] if k in rows[0]["metrics"]]
    if not names:  # gaussian1d, sine: every scalar figure
        names = [k for k, v in rows[0]["metrics"].items() if isinstance(v, (int, float))][:3]
    tradeoff = plots / "truncation_tradeoff.png"
    plotting.truncation_tradeoff(thresholds, {k: [r["metrics"][k] for r in rows] for k in names}, tradeoff,
                                 f"{source.path.name}: {n} samples per t")
    out = {"thresholds": thresholds, "samples_per_threshold": n, "rows": rows, "tradeoff_plot": str(tradeoff)}
    if image:
        sweep = plots / "truncation_sweep.png"
        plotting.save_png(plotting.image_grid(np.concatenate(grid), rows=len(thresholds)), sweep)
        out["sweep_plot"] = str(sweep)
    return out


# --- command line ----------------------------------------------------------------------


def _thresholds(text: str) -> tuple:
    import argparse
    try:
        values = tuple(float(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers like 0.5,1,2, got {text!r}") from None
    if not values or any(not t > 0 for t in values):
        raise argparse.ArgumentTypeError(f"thresholds must be > 0, got {text!r}")
    return values


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
    p.add_argument("--truncation", type=_thresholds, default=(),
                   help="comma-separated thresholds t > 0 (e.g. 0.25,0.5,1,2): BigGAN's truncation sweep, "
                        "figures per t and two pictures in --plots")
    p.add_argument("--plots", help="where the truncation pictures go (default: the run directory, or . "
                   "for an export)")
    p.add_argument("--swd", action="store_true", help="add the sliced Wasserstein distance per Laplacian band "
                   "(images; slow: ~30 s a level for 10,000 samples)")
    p.add_argument("--tf-logs", action="store_true", help="show TensorFlow's start-up logs (hidden by default)")
    args = p.parse_args(argv)
    try:
        report = evaluate(args.path, samples=args.samples, classifier=args.classifier, dataset=args.dataset,
                          inception_weights=args.inception_weights, seed=args.seed, problem=args.problem,
                          weights=args.weights, write=not args.no_write, truncation=args.truncation,
                          plots=args.plots, swd=args.swd)
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
