"""Sample quality of a run or an exported generator, and the same figures during training.

    python -m tfgan_app.evaluate RUN_DIR_or_EXPORT_DIR [--samples N] [--classifier PATH] [--dataset SPEC]
        [--inception-weights PATH] [--weights latest|best] [--seed S] [--problem P] [--out FILE]

Data flows one way:

    source                          a run (restore_run: the latest or the best checkpoint), or an
                                    export (only its serving signatures, as any client would call them)
      -> N samples                  fixed by --seed; conditional models get every class equally often
      -> toy figures                metrics.toy_quality (Q1, Q2)
         or image figures           classifier features and probabilities (tfgan_app/classifier.py)
                                    against the dataset's reference statistics (cached):
                                    FCD, KID, classifier score, precision/recall, modes
      -> JSON report                printed; written to RUN_DIR/evaluation.json for runs

During training, `PeriodicEvaluation` (config `eval_every` > 0) computes the same
figures every `eval_every` epochs, adds them to the epoch logs as `eval_<figure>`
(so metrics.csv and TensorBoard get them), and keeps the generator that scored best
on `eval_metric` in WORKDIR/best/.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Callable

if __name__ == "__main__":  # keep TF's C++ start-up chatter out of the CLI's output
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfgan_app import classifier as clf  # noqa: E402
from tfgan_app import metrics  # noqa: E402
from tfgan_app.config import ConfigError  # noqa: E402

REFERENCE_EXAMPLES = 10_000   # real images behind the reference statistics (all of MNIST's test split)
IMAGE_SAMPLES = 10_000        # default generated images (Q4 asks for 26,000: --samples 26000)
TOY_SAMPLES = 2_500           # default toy samples when the source does not say (Q2's count)
PR_MAX = 10_000               # precision/recall: at most this many points per set (k-NN is quadratic)
PR_K = 3                      # Kynkaanniemi et al.'s k
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
REFERENCE_VERSION = 1         # bump when the reference file's content changes
BEST_DIR = "best"
BEST_INFO = "best.json"
DRAW_BATCH = 256              # an export's largest batch (serving/batching_parameters.txt)

# Figures each problem produces, and the default `eval_metric` ("auto").
PROBLEM_FIGURES = {
    "ring8": ("modes", "high_quality", "reverse_kl"),
    "grid25": ("modes", "high_quality", "reverse_kl"),
    "gaussian1d": ("mean_error", "ks", "w1"),
    "sine": ("rmse",),
    "image": ("fcd", "kid", "is", "precision", "recall", "modes", "mode_kl"),
}
AUTO_METRIC = {"ring8": "modes", "grid25": "modes", "gaussian1d": "ks", "sine": "rmse", "image": "fcd"}


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
      num_classes: classes of a conditional generator (0 if unconditional).
      config: the run's config fields (an export's, when it recorded them), as a dict.
      epoch: epochs the weights were trained for (None: unknown).
      draw: draw(n, seed) -> samples (n, *sample_shape) float32.
    """

    kind: str
    path: Path
    problem: str
    sample_shape: tuple
    num_classes: int
    config: dict
    epoch: int | None
    draw: Callable[[int, int], np.ndarray]


def balanced_labels(n: int, num_classes: int) -> np.ndarray:
    """0, 1, ..., K-1, 0, 1, ... (n,) int32: every class equally often."""
    return (np.arange(n) % num_classes).astype(np.int32)


def gan_sampler(gan, batch: int = 1000) -> Callable[[int, int], np.ndarray]:
    """draw(n, seed) of a GAN: z from its noise generator with stateless seed (seed, -5)."""
    import tensorflow as tf

    def draw(n, seed):
        z = gan.sample_noise(n, tf.constant([seed, -5], tf.int64))  # (n, latent); stratified spans all n
        labels = balanced_labels(n, gan.num_classes) if gan.conditional else None
        out = [gan.generate(z[i:i + batch], None if labels is None else tf.constant(labels[i:i + batch])).numpy()
               for i in range(0, n, batch)]
        return np.concatenate(out)

    return draw


def restore_best(workdir, gan) -> int:
    """Loads WORKDIR/best/ (the best generator so far) into gan.sampler; returns its epoch."""
    import tensorflow as tf

    best = Path(workdir) / BEST_DIR
    latest = tf.train.latest_checkpoint(str(best))
    if latest is None:
        raise EvaluationError(f"--weights best: {best} holds no checkpoint; train with --eval-every N "
                              f"to keep the best generator")
    tf.train.Checkpoint(generator=gan.sampler).restore(latest).assert_existing_objects_matched()
    return int(latest.rsplit("-", 1)[-1])


def open_run(path, weights: str = "latest") -> Source:
    from tfgan_app import training

    config, gan, epoch = training.restore_run(path)
    if weights == "best":
        epoch = restore_best(path, gan)
    spec = json.loads((Path(path) / training.MODEL_SPEC_FILE).read_text())
    return Source("run", Path(path), config.problem, tuple(spec["data_shape"]),
                  gan.num_classes if gan.conditional else 0, dataclasses.asdict(config), epoch,
                  gan_sampler(gan))


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
    import tensorflow as tf

    from tfgan_app import exporting

    version_dir = export_version_dir(path)
    info_path = version_dir / exporting.EXTRA_DIR / exporting.INFO_FILE
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    signatures = tf.saved_model.load(str(version_dir)).signatures
    missing = {"serving_default", "generate"} - set(signatures)
    if missing:
        raise EvaluationError(f"{version_dir}: has no {', '.join(sorted(missing))} signature; "
                              f"is it an export written by export.py?")
    sample_shape = tuple(int(d) for d in signatures["serving_default"].structured_outputs["samples"].shape[1:])
    config = dict(info.get("config") or {})
    problem = problem or config.get("problem") or _infer_problem(sample_shape, version_dir)
    conditional = "generate_conditional" in signatures
    num_classes = int(info.get("num_classes") or 0) if conditional else 0

    def draw(n, seed):
        seeds = np.arange(n, dtype=np.int64) + np.int64(seed) * (1 << 32)  # (n,) distinct per seed
        out = []
        for i in range(0, n, DRAW_BATCH):
            s = tf.constant(seeds[i:i + DRAW_BATCH])
            if conditional and num_classes:
                labels = tf.constant(balanced_labels(n, num_classes)[i:i + DRAW_BATCH])
                out.append(signatures["generate_conditional"](seeds=s, labels=labels)["samples"].numpy())
            else:  # conditional exports without a class count draw labels from the seeds
                out.append(signatures["generate"](seeds=s)["samples"].numpy())
        return np.concatenate(out)

    return Source("export", version_dir, problem, sample_shape, num_classes, config, info.get("epochs"), draw)


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


# --- reference statistics --------------------------------------------------------------


def _resolved_spec(spec: str) -> tuple[str, int]:
    """(spec with its path made absolute, the path's mtime in ns or 0): part of the cache key."""
    scheme, _, arg = spec.partition(":")
    if scheme in ("mnist-idx", "folder", "npz") and arg:
        path = Path(arg).expanduser().resolve()
        return f"{scheme}:{path}", path.stat().st_mtime_ns if path.exists() else 0
    return spec, 0


def reference_path(spec: str, featurizer, sample_shape: tuple, max_examples: int) -> Path:
    """The cache file of a dataset's reference statistics: keyed by dataset, shape, count, network."""
    resolved, mtime = _resolved_spec(spec)
    key = json.dumps({"v": REFERENCE_VERSION, "dataset": resolved, "mtime": mtime,
                      "shape": list(sample_shape), "examples": int(max_examples),
                      "featurizer": featurizer.fingerprint}, sort_keys=True)
    return clf.cache_dir() / "reference" / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"


def reference_statistics(spec: str, featurizer, sample_shape: tuple, data_dir: str | None = None,
                         max_examples: int = REFERENCE_EXAMPLES) -> dict:
    """Features, probabilities, mean and covariance of (up to max_examples) real images of `spec`.

    Computed once per (dataset, sample shape, count, network) and cached in
    $TFGAN_APP_CACHE/reference/KEY.npz (written atomically), so evaluations do not
    recompute them.

    Returns:
      dict of mu (D,), sigma (D, D), features (n, D), probs (n, G, K), examples n,
      path (the cache file) and cached (whether it was read from the cache).
    Raises:
      image_data.DataError: the dataset cannot be read.
    """
    import tensorflow as tf

    from tfgan_app import image_data

    path = reference_path(spec, featurizer, sample_shape, max_examples)
    if path.is_file():
        try:
            with np.load(path) as f:
                ref = {k: f[k] for k in ("mu", "sigma", "features", "probs")}
            return {**ref, "examples": len(ref["features"]), "path": str(path), "cached": True}
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache file: recompute and replace it
    h, w, c = sample_shape
    try:
        ds, source = image_data.load_examples(spec, image_size=h if h == w else None, channels=c,
                                              data_dir=data_dir or None)
    except image_data.DataError as e:
        raise image_data.DataError(f"{e} (the reference images; --dataset SPEC names others, "
                                   f"e.g. mnist-idx:DIR)") from None
    if source.image_shape != tuple(sample_shape):
        raise EvaluationError(f"--dataset {spec}: holds {source.image_shape} images but the generator "
                              f"makes {tuple(sample_shape)}")
    images = next(iter(ds.take(max_examples).batch(max_examples)))[0]  # (n, H, W, C) uint8, first n
    x = tf.cast(images, tf.float32).numpy() / 127.5 - 1.0
    features, probs = featurizer(x)
    mu, sigma = metrics.feature_statistics(features)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.npz")
    np.savez(tmp, mu=mu, sigma=sigma, features=features.astype(np.float32), probs=probs.astype(np.float32))
    os.replace(tmp, path)
    return {"mu": mu, "sigma": sigma, "features": features, "probs": probs, "examples": len(features),
            "path": str(path), "cached": False}


# --- figures -------------------------------------------------------------------------------


def image_metrics(samples, featurizer, reference: dict, seed: int = 0, kid_subsets: int = KID_SUBSETS) -> dict:
    """Image figures of `samples` (N, H, W, C) in [-1, 1] against `reference` (same featurizer).

    Returns:
      fcd: Frechet distance of the feature Gaussians (FID-style; FID on Inception features);
      kid, kid_std: unbiased polynomial-kernel MMD^2, mean and std over subsets of 1,000;
      is, is_std: Inception-Score formula on the network's class probabilities (the joint
        probabilities of the per-channel labels for Stacked MNIST), over 10 splits;
      precision, recall: k-NN manifolds, k = 3, on at most PR_MAX points per set;
      modes, num_modes, mode_kl: label (tuples) hit, of K^G, and KL(histogram || uniform).
    """
    features, probs = featurizer(samples)
    mu, sigma = metrics.feature_statistics(features)
    real = np.asarray(reference["features"], np.float64)
    kid, kid_std = metrics.kernel_distance(real, features, kid_subsets, KID_SUBSET_SIZE, seed)
    score, score_std = metrics.classifier_score(clf.joint_probabilities(probs))
    m = min(len(real), len(features), PR_MAX)
    rng = np.random.default_rng(seed)
    pr = metrics.precision_recall(real[rng.choice(len(real), m, replace=False)],
                                  features[rng.choice(len(features), m, replace=False)], PR_K)
    modes = metrics.mode_coverage(clf.mode_ids(probs), probs.shape[-1] ** probs.shape[1])
    return {"fcd": metrics.frechet_distance(mu, sigma, reference["mu"], reference["sigma"]),
            "kid": kid, "kid_std": kid_std, "is": score, "is_std": score_std, **pr,
            "modes": modes["modes"], "num_modes": modes["num_modes"], "mode_kl": modes["kl"]}


def reference_figures(reference: dict) -> dict:
    """What the network says about the real images themselves: the ceiling for is / modes."""
    probs = np.asarray(reference["probs"], np.float64)
    score, _ = metrics.classifier_score(clf.joint_probabilities(probs))
    modes = metrics.mode_coverage(clf.mode_ids(probs), probs.shape[-1] ** probs.shape[1])
    return {"examples": int(reference["examples"]), "is": score, "modes": modes["modes"],
            "num_modes": modes["num_modes"], "mode_kl": modes["kl"], "cache": reference["path"]}


def inception_metrics(samples, featurizer, reference: dict) -> dict:
    """FID and Inception Score on Inception-V3 (fid, inception_score, inception_score_std)."""
    features, probs = featurizer(samples)
    mu, sigma = metrics.feature_statistics(features)
    score, score_std = metrics.classifier_score(probs[:, 0])
    return {"fid": metrics.frechet_distance(mu, sigma, reference["mu"], reference["sigma"]),
            "inception_score": score, "inception_score_std": score_std}


def _jsonable(value):
    """JSON without NaN/Infinity (not JSON): non-finite floats become the strings 'inf', 'nan'."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else str(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


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
    report = _jsonable(report)
    if write and source.kind == "run":
        name = "evaluation.json" if weights == "latest" else f"evaluation_{weights}.json"
        _write_json(source.path / name, report)
    return report


def _write_json(path: Path, doc: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


# --- during training -----------------------------------------------------------------------


def resolve_metric(problem: str, name: str) -> str:
    """`eval_metric` for `problem` ("auto": AUTO_METRIC); ConfigError if the problem has no such figure."""
    metric = AUTO_METRIC[problem] if name == "auto" else name
    if metric not in PROBLEM_FIGURES[problem]:
        raise ConfigError("eval_metric", f"{name!r} is not a figure of --problem {problem}; "
                                         f"it has: {', '.join(PROBLEM_FIGURES[problem])}")
    return metric


def score(figures: dict, metric: str) -> tuple:
    """Sort key, bigger is better: the metric (negated if lower is better), then for
    'modes' the histogram's KL (lower is better) to break ties.  NaN counts as worst."""
    def better_up(name):
        v = float(figures.get(name, math.nan))
        if math.isnan(v):
            return -math.inf
        return v if name in metrics.HIGHER_IS_BETTER else -v

    key = (better_up(metric),)
    if metric == "modes":
        key += (better_up("reverse_kl" if "reverse_kl" in figures else "mode_kl"),)
    return key


class PeriodicEvaluation(keras.callbacks.Callback):
    """Evaluates the generator during training and keeps the best one.

    At the first epoch of every invocation of fit, every `eval_every` epochs and at the
    last epoch, draws `eval_samples` samples from fixed noise and computes the problem's
    figures (toys: metrics.toy_quality; images: image_metrics against the cached
    reference statistics of the run's dataset, with the `eval_classifier`).  Every
    epoch's logs get `eval_<figure>` -- the latest measurement -- and `eval_epoch`, the
    epoch it was measured at, so metrics.csv keeps one column per figure and TensorBoard
    plots them.  Place it before MetricsLog and TensorBoard.

    When a measurement beats the best so far on `eval_metric`, the generator's weights
    (BatchNorm statistics included) are saved in WORKDIR/best/ -- a tf.train.Checkpoint
    of the generator only, through a CheckpointManager keeping one, whose index file is
    replaced atomically -- and WORKDIR/best/best.json (also replaced atomically) records
    the epoch and figures.  A resumed run starts from the best value in best.json.

    Args:
      config: the run's Config (eval_every, eval_metric, eval_samples, eval_classifier,
        problem, dataset, seed, epochs).
      workdir: the run directory.
      sample_shape: shape of one sample.
      num_classes: classes of a conditional model (0: unconditional).
    Raises:
      ConfigError (eval_metric), classifier.ClassifierError (no classifier), image_data.DataError.
    """

    def __init__(self, config, workdir, sample_shape: tuple, num_classes: int = 0):
        super().__init__()
        self.config, self.workdir = config, Path(workdir)
        self.problem = config.problem
        self.metric = resolve_metric(self.problem, config.eval_metric)
        self.every, self.epochs, self.n = int(config.eval_every), int(config.epochs), int(config.eval_samples)
        self.sample_shape, self.num_classes = tuple(sample_shape), int(num_classes)
        self.featurizer = self.reference = None
        if self.problem == "image":
            path = config.eval_classifier or clf.default_classifier_path()
            self.featurizer = clf.load_classifier(path, flag="--eval-classifier")
            self.featurizer.groups(self.sample_shape)
            self.reference = reference_statistics(config.dataset, self.featurizer, self.sample_shape,
                                                  config.data_dir or None)
        self.best_dir = self.workdir / BEST_DIR
        self.best = None  # figures of the best measurement so far
        info = self.best_dir / BEST_INFO
        if info.is_file():
            try:
                self.best = json.loads(info.read_text())["figures"]
            except (OSError, ValueError, KeyError):
                self.best = None
        self.latest: dict = {}
        self._manager = None

    def _sample(self) -> np.ndarray:
        import tensorflow as tf

        gan = self.model
        z = gan.sample_noise(self.n, tf.constant([self.config.seed, -4], tf.int64))  # fixed noise
        labels = balanced_labels(self.n, gan.num_classes) if gan.conditional else None
        out = [gan.generate(z[i:i + 500], None if labels is None else tf.constant(labels[i:i + 500])).numpy()
               for i in range(0, self.n, 500)]
        return np.concatenate(out)

    def figures(self) -> dict | None:
        """This epoch's figures (None when the samples are not finite: the run diverged)."""
        x = self._sample()
        if not np.all(np.isfinite(x)):
            return None
        if self.problem != "image":
            q = metrics.toy_quality(self.problem, x)
        else:
            q = image_metrics(x, self.featurizer, self.reference, self.config.seed, kid_subsets=20)
        return {k: v for k, v in q.items() if k in PROBLEM_FIGURES[self.problem]}  # modes stay int

    def _save_best(self, epoch: int, figures: dict) -> None:
        import tensorflow as tf

        if self._manager is None:
            checkpoint = tf.train.Checkpoint(generator=self.model.sampler)  # the average under --g-ema
            self._manager = tf.train.CheckpointManager(checkpoint, str(self.best_dir), max_to_keep=1,
                                                       checkpoint_name="generator")
        saved = self._manager.save(checkpoint_number=epoch)  # data first, then the index file, atomically
        _write_json(self.best_dir / BEST_INFO,
                    _jsonable({"epoch": epoch, "metric": self.metric, "value": figures[self.metric],
                               "figures": figures, "checkpoint": Path(saved).name}))

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if not self.latest or done % self.every == 0 or done == self.epochs:
            figures = self.figures()
            if figures is not None:
                self.latest = {**{f"eval_{k}": v for k, v in figures.items()}, "eval_epoch": float(done)}
                if self.best is None or score(figures, self.metric) > score(self.best, self.metric):
                    self.best = figures
                    self._save_best(done, figures)
        if logs is not None:
            logs.update(self.latest)


# --- command line ----------------------------------------------------------------------


def main(argv=None) -> int:

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from tfgan_app.cli import ArgumentParser

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
        _write_json(Path(args.out), report)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
