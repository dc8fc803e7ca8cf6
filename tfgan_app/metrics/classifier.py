"""The networks that look at generated images: the project's classifier, or Inception-V3.

    labelled images -> train_classifier -> CLASSIFIER.keras (+ CLASSIFIER.json: held-out accuracy)
    images in [-1, 1] -> Featurizer -> (features (N, D), class probabilities (N, G, K))

The image metrics (tfgan_app/metrics/figures.py) live in a classifier's feature space:
features are the activations of its penultimate layer (`FEATURE_LAYER`), class
probabilities its softmax.  For MNIST the project trains its own small CNN:

    python -m tfgan_app.metrics.classifier --dataset mnist-idx:DIR [--out PATH] [--epochs N]

Only MNIST's 10,000-image test split is available here, so `HELD_OUT` of its images
(a seeded permutation) are never trained on; the accuracy reported and saved beside
the model is measured on them.

A classifier of single-channel images also reads C-channel images channel by channel
(Stacked MNIST: three digits as R, G, B): the features of the channels are
concatenated and each channel gets its own class probabilities (G = C groups), so a
sample's mode is the triple of labels.

Inception-V3 (FID, Inception Score) needs ImageNet weights that nobody can download
on an offline machine: pass a local weights file (`inception_featurizer(path)`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from tfgan_app.cli import error_reason
from tfgan_app.data import splits
from tfgan_app.data.cache import cache_dir  # noqa: F401 (classifier.cache_dir(): where the classifier lives)
from tfgan_app.data.splits import HELD_OUT  # noqa: F401 (the CLI's default; data/splits.py says why)

FEATURE_LAYER = "features"   # penultimate layer: the metrics' feature space
DEFAULT_EPOCHS = 10          # measured: 98.4% held-out accuracy on MNIST (8,000 training images, 17 s)
DEFAULT_SEED = 0
INCEPTION_SIZE = 299         # Inception-V3's input side
KERAS_INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"


class ClassifierError(ValueError):
    """A classifier or weights file is missing or unusable; the message names the flag."""


def default_classifier_path() -> Path:
    return cache_dir() / "mnist_classifier.keras"


def train_command(path=None) -> str:
    """The command that trains the classifier at `path` (for error messages)."""
    out = f" --out {path}" if path and Path(path) != default_classifier_path() else ""
    return f"python -m tfgan_app.metrics.classifier --dataset mnist-idx:DIR{out}"


# --- the model -------------------------------------------------------------------------


def build_classifier(input_shape: tuple, num_classes: int):
    """A small CNN: [Conv3x3 -> ReLU -> MaxPool] x2 -> Dense(128) (features) -> Dense(K) logits.

    Args:
      input_shape: (H, W, C) of images in [-1, 1].
      num_classes: K.
    Returns:
      keras.Model mapping (B, H, W, C) to logits (B, K); its layer FEATURE_LAYER gives (B, 128).
    """
    import keras

    inputs = keras.Input(tuple(input_shape), name="images")
    x = keras.layers.Conv2D(32, 3, activation="relu", name="conv_1")(inputs)  # (B, H-2, W-2, 32)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(64, 3, activation="relu", name="conv_2")(x)
    x = keras.layers.MaxPooling2D(2)(x)  # (B, 5, 5, 64) for 28 px
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.25)(x)
    x = keras.layers.Dense(128, activation="relu", name=FEATURE_LAYER)(x)  # (B, 128)
    x = keras.layers.Dropout(0.25)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)  # (B, K)
    return keras.Model(inputs, logits, name="classifier")


def split_examples(n: int, held_out: int = HELD_OUT, seed: int = DEFAULT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices) of a seeded permutation of 0..n-1 (data/splits.py)."""
    try:
        return splits.split_examples(n, held_out, seed)
    except ValueError as e:
        raise ClassifierError(str(e)) from None


def load_labelled(spec: str, data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images float32 (N, H, W, C) in [-1, 1], labels int32 (N,)) of a labelled dataset spec."""
    import tensorflow as tf

    from tfgan_app.data import images as image_data

    ds, source = image_data.load_examples(spec, data_dir=data_dir)
    if source.num_classes < 2:
        raise ClassifierError(f"--dataset {spec}: has no labels (or one class); a classifier needs "
                              f"labelled images, e.g. mnist-idx:DIR with its *-labels-idx1-ubyte file")
    images, labels = next(iter(ds.batch(source.num_examples)))  # (N, H, W, C) uint8, (N,)
    x = tf.cast(images, tf.float32).numpy() / 127.5 - 1.0
    return x, labels.numpy().astype(np.int32)


def train_classifier(spec: str, out, *, epochs: int = DEFAULT_EPOCHS, held_out: int = HELD_OUT,
                     train_examples: int | None = None, seed: int = DEFAULT_SEED, batch_size: int = 64,
                     data_dir: str | None = None, verbose: int = 0) -> dict:
    """Trains the classifier on `spec` minus a held-out part and saves it to `out` (.keras).

    Args:
      spec: labelled dataset spec (e.g. mnist-idx:DIR).
      out: path of the .keras file; `out` with suffix .json gets the record below.
      epochs, batch_size: Adam(1e-3) training.
      held_out: examples kept out of training (accuracy is measured on them).
      train_examples: use only this many of the remaining examples (None: all).
      seed: split, weights and shuffling.
    Returns:
      The record: held_out_accuracy, sizes, dataset, sha256 of the saved file, seconds.
    Raises:
      image_data.DataError, ClassifierError.
    """
    import keras

    start = time.time()
    out = Path(out)
    if out.suffix != ".keras":
        raise ClassifierError(f"--out {out}: expected a path ending in .keras")
    x, y = load_labelled(spec, data_dir)
    train_idx, test_idx = split_examples(len(x), held_out, seed)
    if train_examples is not None:
        train_idx = train_idx[:int(train_examples)]
    num_classes = int(y.max()) + 1
    keras.utils.set_random_seed(seed)
    model = build_classifier(x.shape[1:], num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x[train_idx], y[train_idx], batch_size=batch_size, epochs=epochs, verbose=verbose, shuffle=True)
    logits = model.predict(x[test_idx], batch_size=1000, verbose=0)
    accuracy = float(np.mean(logits.argmax(1) == y[test_idx]))

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}.keras")
    model.save(tmp)
    os.replace(tmp, out)  # readers never see a half-written model
    record = {"dataset": spec, "input_shape": list(x.shape[1:]), "num_classes": num_classes,
              "train_examples": int(len(train_idx)), "held_out": int(len(test_idx)),
              "held_out_accuracy": accuracy, "epochs": int(epochs), "seed": int(seed),
              "sha256": file_hash(out), "seconds": round(time.time() - start, 1)}
    _write_json(out.with_suffix(".json"), record)
    return record


def file_hash(path) -> str:
    """First 16 hex digits of the file's SHA-256: names the classifier in cache keys."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _write_json(path: Path, doc: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


# --- features --------------------------------------------------------------------------


class Featurizer:
    """Images in [-1, 1] (N, H, W, C) -> (features (N, D), probabilities (N, G, K)).

    Attributes:
      name: what it is, for reports ("classifier:PATH" or "inception-v3:PATH").
      fingerprint: hash of the weights file (cache keys of reference statistics).
      input_shape: (H, W, C) the network takes.
      num_classes: K.
      info: the record saved beside the classifier (held-out accuracy ...), if any.
    """

    def __init__(self, model, name: str, fingerprint: str, input_shape: tuple, num_classes: int,
                 info: dict | None = None, resize: int | None = None):
        import tensorflow as tf

        self.model, self.name, self.fingerprint = model, name, fingerprint
        # A graph function (traced once per batch shape) runs the convolutions fused.
        self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        self.input_shape, self.num_classes = tuple(input_shape), int(num_classes)
        self.info = info or {}
        self.resize = resize  # Inception: resize to this side, grey -> RGB

    def groups(self, sample_shape: tuple) -> int:
        """How many groups of class probabilities a sample of `sample_shape` gets (1 or C).

        Raises:
          ClassifierError: the network cannot read such images.
        """
        sample_shape = tuple(int(d) for d in sample_shape)
        if len(sample_shape) != 3:
            raise ClassifierError(f"{self.name}: reads images (H, W, C), not samples of shape {sample_shape}")
        if self.resize:
            return 1
        h, w, c = self.input_shape
        if sample_shape == (h, w, c):
            return 1
        if sample_shape[:2] == (h, w) and c == 1:
            return sample_shape[2]  # one digit per channel (Stacked MNIST)
        raise ClassifierError(
            f"--classifier {self.name}: takes {h}x{w}x{c} images but the samples are "
            f"{'x'.join(map(str, sample_shape))}; train a classifier on this dataset "
            f"(python -m tfgan_app.metrics.classifier --dataset SPEC --out PATH) or pass --inception-weights")

    def __call__(self, images, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        import tensorflow as tf

        images = np.asarray(images, np.float32)
        groups = self.groups(images.shape[1:])
        feats, probs = [], []
        for i in range(0, len(images), batch_size):
            x = tf.constant(images[i:i + batch_size])  # (b, H, W, C)
            if self.resize:
                if x.shape[-1] == 1:
                    x = tf.tile(x, [1, 1, 1, 3])  # grey -> RGB
                x = tf.image.resize(x, (self.resize, self.resize), method="bilinear")
            if groups > 1:  # (b, H, W, C) -> (b * C, H, W, 1), channel-major within each image
                x = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [-1, *x.shape[1:3], 1])
            f, p = self._call(x)
            f, p = f.numpy(), p.numpy()
            if groups > 1:
                f = f.reshape(-1, groups * f.shape[-1])  # (b, C * D)
            feats.append(f)
            probs.append(p.reshape(-1, groups, p.shape[-1]))  # (b, G, K)
        return np.concatenate(feats).astype(np.float64), np.concatenate(probs).astype(np.float64)


def joint_probabilities(probs: np.ndarray) -> np.ndarray:
    """(N, G, K) per-group probabilities -> (N, K^G) of the label tuple (groups independent)."""
    joint = probs[:, 0]
    for g in range(1, probs.shape[1]):
        joint = (joint[:, :, None] * probs[:, g, None, :]).reshape(len(probs), -1)  # (N, K^(g+1))
    return joint


def mode_ids(probs: np.ndarray) -> np.ndarray:
    """(N, G, K) -> (N,) mode of each sample: its argmax labels read as a base-K number."""
    labels = probs.argmax(-1)  # (N, G)
    k = probs.shape[-1]
    return (labels * k ** np.arange(probs.shape[1] - 1, -1, -1)).sum(1)


def load_classifier(path, flag: str = "--classifier") -> Featurizer:
    """The classifier saved by `train_classifier`, as a Featurizer (`flag` names it in errors).

    Raises:
      ClassifierError: no such file (the message says how to train one), or not a classifier.
    """
    import keras

    path = Path(path).expanduser()
    if not path.is_file():
        raise ClassifierError(f"{flag} {path}: no such file; image metrics need the project's "
                              f"classifier: train it with `{train_command(path)}` (about a minute on 2 CPU cores)")
    try:
        model = keras.models.load_model(path, compile=False)
        features = model.get_layer(FEATURE_LAYER).output
    except Exception as e:  # keras raises ValueError, OSError, zipfile errors ...
        raise ClassifierError(f"{flag} {path}: not a classifier saved by tfgan_app.metrics.classifier: "
                              f"{error_reason(e)}") from None
    probs = keras.layers.Softmax(dtype="float32")(model.output)
    featurizer = keras.Model(model.inputs, [features, probs])
    info_path = path.with_suffix(".json")
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    return Featurizer(featurizer, f"classifier:{path}", file_hash(path), model.input_shape[1:],
                      model.output_shape[-1], info)


def inception_featurizer(weights_path) -> Featurizer:
    """Inception-V3 with ImageNet weights from a local file: pool features (2048) and softmax (1000).

    Images are resized to 299x299 (bilinear), greyscale tiled to RGB; [-1, 1] is already
    Inception's input range.  These are Keras' ImageNet weights, not the TF-1 graph of the
    original FID code, so absolute FID values differ slightly from published ones.

    Raises:
      ClassifierError: the file is missing (nothing can be downloaded offline) or unreadable.
    """
    path = Path(weights_path).expanduser()
    if not path.is_file():
        raise ClassifierError(
            f"--inception-weights {path}: no such file; Inception-V3 ImageNet weights cannot be "
            f"downloaded here (no network): copy Keras' {KERAS_INCEPTION_FILE} (with the classification "
            f"top; keras.applications.InceptionV3() saves it to ~/.keras/models/ on a machine with "
            f"internet) and pass its path")
    import keras

    try:
        net = keras.applications.InceptionV3(weights=str(path), include_top=True)
    except Exception as e:
        raise ClassifierError(f"--inception-weights {path}: cannot load Inception-V3 ImageNet weights "
                              f"(with top) from it: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    model = keras.Model(net.inputs, [net.get_layer("avg_pool").output, net.output])
    return Featurizer(model, f"inception-v3:{path}", file_hash(path), (INCEPTION_SIZE, INCEPTION_SIZE, 3),
                      1000, resize=INCEPTION_SIZE)


# --- command line ------------------------------------------------------------------------


def main(argv=None) -> int:

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from tfgan_app.cli import ArgumentParser

    p = ArgumentParser(prog="python -m tfgan_app.metrics.classifier", description=__doc__)
    p.add_argument("--dataset", required=True, help="labelled images, e.g. mnist-idx:DIR (MNIST's test split)")
    p.add_argument("--out", default=str(default_classifier_path()),
                   help=f"where to save the .keras model (default {default_classifier_path()})")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"default {DEFAULT_EPOCHS}")
    p.add_argument("--held-out", type=int, default=HELD_OUT, help=f"examples never trained on (default {HELD_OUT})")
    p.add_argument("--train-examples", type=int, help="train on only this many examples (default: all the rest)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--data-dir", help="tensorflow-datasets data directory (tfds: specs)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.epochs <= 0:
        p.error(f"--epochs: expected a positive integer, got {args.epochs}")
    try:
        record = train_classifier(args.dataset, args.out, epochs=args.epochs, held_out=args.held_out,
                                  train_examples=args.train_examples, seed=args.seed,
                                  data_dir=args.data_dir, verbose=0 if args.quiet else 2)
    except ValueError as e:  # DataError, ClassifierError
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(record, indent=2))
    print(f"held-out accuracy {record['held_out_accuracy']:.4f} on {record['held_out']} examples "
          f"(trained on {record['train_examples']}, {record['epochs']} epochs, {record['seconds']:.0f} s) "
          f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
