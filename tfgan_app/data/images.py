"""Image data sources as tf.data pipelines.

A dataset spec names where the images come from:

    tfds:NAME[:SPLIT]   a prepared tensorflow-datasets dataset (split defaults to 'train')
    mnist-idx:DIR       raw MNIST IDX files (*-images-idx3-ubyte[.gz], optional *-labels-idx1-ubyte[.gz])
    folder:DIR          image files; one subfolder per class, or a flat folder of unlabeled images
    npz:FILE            a NumPy archive with `x` (images) and optional `y` (integer labels)
    tfrecords:DIR       sharded TFRecords written by `python -m tfgan_app.data.prepare` (records.py);
                        training streams them (streaming.py), never holding them whole

Data flows one way:

    load_examples:  source -> (image uint8 (H, W, C), label int32)  finite, fixed order
    image_batches:  examples -> in memory -> per-epoch permutation -> (images float32 in [-1, 1], labels)
    folder_batches: a folder's paths -> the same permutation -> files decoded as batches need them

`image_batches` draws each epoch's order from a stateless permutation of
(seed, epoch), so batch i is a pure function of (seed, i): a run resumed at batch
k (start_batch=k) sees exactly the batches an uninterrupted run would, whatever
else the process did with TF's random state (tf.random.set_seed included).
"""

from __future__ import annotations

import dataclasses
import difflib
import gzip
import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_app.cli import error_reason
from tfgan_app.data import records
from tfgan_app.data.errors import DataError

SPEC_FORMS = "tfds:NAME[:SPLIT], mnist-idx:DIR, folder:DIR, npz:FILE, tfrecords:DIR"
SCHEMES = ("tfds", "mnist-idx", "folder", "npz", "tfrecords")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp")  # what tf.io.decode_image reads
IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (N, H, W)
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (N,)
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as PIL's convert("L"); sums to 1 so grey stays grey
SHUFFLE_SALT = 0x1D47A  # third word of the index_shuffle seed: keeps data order apart from other uses of `seed`

_IDX_IMAGES = re.compile(r"^(?P<prefix>.+)-images[-.]idx3-ubyte(?P<gz>\.gz)?$")
KEEP_ORDER = ("tfds", "tfrecords")  # schemes load_examples reads in their own order, whatever order_seed says
_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_PIL_FORMATS = {"PNG", "JPEG", "GIF", "BMP"}


@dataclasses.dataclass(frozen=True)
class ImageSource:
    """What a dataset spec resolved to.

    Attributes:
      name: human-readable description, e.g. 'tfds:mnist:train' or
        'mnist-idx:/data/mnist (train-images-idx3-ubyte.gz)'.
      num_examples: number of examples in one pass.
      num_classes: number of label values (labels are 0..num_classes-1); 0 when unlabeled.
      image_shape: (H, W, C) of every image after resizing and channel conversion.
    """

    name: str
    num_examples: int
    num_classes: int
    image_shape: tuple


def parse_spec(spec: str) -> tuple[str, str]:
    """Splits a dataset spec at its first colon: 'tfds:mnist:train' -> ('tfds', 'mnist:train').

    Raises:
      DataError: the scheme is not one of tfds, mnist-idx, folder, npz, or nothing follows it.
    """
    scheme, colon, arg = str(spec).partition(":")
    if scheme not in SCHEMES:
        hint = f"; did you mean tfds:{spec}?" if not colon and spec else ""
        raise DataError(f"--dataset {spec!r}: unknown dataset spec; expected one of {SPEC_FORMS}{hint}")
    if not arg:
        raise DataError(f"--dataset {spec!r}: nothing after '{scheme}:'; expected one of {SPEC_FORMS}")
    return scheme, arg


def load_examples(spec: str, *, image_size: int | None = None, channels: int | None = None,
                  data_dir: str | None = None, order_seed=None) -> tuple[tf.data.Dataset, ImageSource]:
    """The examples of `spec` as a finite dataset in a fixed order.

    Images keep their size unless `image_size` is given; then they are center-cropped
    to a square and resized (bilinear, antialiased, rounded back to uint8) to
    image_size x image_size. An image already that size is passed through unchanged.
    `channels` converts 1 -> 3 (replicate) or 3 -> 1 (ITU-R 601-2 luma, rounded); an
    alpha channel is dropped.

    Args:
      spec: tfds:NAME[:SPLIT], mnist-idx:DIR, folder:DIR or npz:FILE.
      image_size: output side length; required for folder:, and for tfds datasets
        whose images vary in size.
      channels: 1 or 3; None keeps the source's (folder: 1 if every file is greyscale, else 3).
      data_dir: tensorflow-datasets data directory (tfds: only; None: tfds' default).
      order_seed: None keeps the source's order; an integer (or a tuple of them) visits the examples
        of mnist-idx:, folder: and npz: (which allow random access) in a random permutation of that
        seed (data.prepare writes them so); tfds: keeps its order.
    Returns:
      (dataset of (image uint8 (H, W, C), label int32 scalar, -1 when unlabeled), ImageSource).
    Raises:
      DataError: unknown spec, missing or unreadable files, unprepared tfds data, bad arguments.
    """
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer))
                                   or image_size <= 0):
        raise DataError(f"--image-size {image_size!r}: expected a positive integer")
    if channels is not None and channels not in (1, 3):
        raise DataError(f"--channels {channels!r}: expected 1 (greyscale) or 3 (RGB)")
    scheme, arg = parse_spec(spec)
    if scheme == "tfds":
        ds, name, n, num_classes, shape = _tfds_examples(spec, arg, data_dir)
    elif scheme == "mnist-idx":
        ds, name, n, num_classes, shape = _idx_examples(spec, arg, order_seed)
    elif scheme == "folder":
        ds, name, n, num_classes, shape = _folder_examples(spec, arg, image_size, order_seed)
        channels = channels or shape[2]  # inferred from the files; decoded as RGB
        shape = (None, None, 3)
    elif scheme == "tfrecords":
        ds, name, n, num_classes, shape = _records_examples(arg)
    else:
        ds, name, n, num_classes, shape = _npz_examples(spec, arg, order_seed)
    if n == 0:
        raise DataError(f"--dataset {spec}: no examples")

    h, w, c = shape
    if image_size is None and (h is None or w is None):
        raise DataError(f"--dataset {spec}: images vary in size; pass --image-size")
    out_shape = (image_size or h, image_size or w, channels or {2: 1, 4: 3}.get(c, c))  # alpha dropped
    if (h, w, c) != out_shape:
        ds = ds.map(lambda image, label: (fit_image(image, (h, w, c), out_shape), label),
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds, ImageSource(name=name, num_examples=int(n), num_classes=int(num_classes),
                           image_shape=tuple(int(d) for d in out_shape))


def image_batches(spec: str, *, batch_size: int, seed: int, image_size: int | None = None,
                  channels: int | None = None, data_dir: str | None = None,
                  start_batch: int = 0) -> tuple[tf.data.Dataset, ImageSource]:
    """An endless, reproducible stream of shuffled batches of `spec`.

    All N examples are loaded once into memory (one uint8 tensor, at the first
    batch). The examples are then visited epoch by epoch, epoch e in the order of the
    stateless permutation `index_shuffle(seed=(seed, e, SHUFFLE_SALT))` of 0..N-1;
    batch b holds positions b*B .. b*B+B-1 of that endless sequence (a batch may
    straddle two epochs, so every batch is full). Batch b therefore depends only on
    (seed, b): start_batch=k yields batch k first, at no cost for skipping, and no
    process state (tf.random.set_seed, earlier random ops) changes the order.

    This replaces cache -> shuffle(buffer, seed) -> repeat -> batch -> skip: tf.data's
    shuffle mixes the global seed into its seed (tf.random.set_seed changes the order),
    a buffer smaller than N mixes class-sorted data (folder:) poorly, and skip(k)
    recomputes k batches on resume.

    Args:
      spec, image_size, channels, data_dir: as for `load_examples`.
      batch_size: examples per batch B.
      seed: data-order seed.
      start_batch: index of the first batch to yield (batches already trained on).
    Returns:
      (dataset of (images float32 (B, H, W, C) in [-1, 1], labels int32 (B,)), ImageSource).
      Pixels map as x / 127.5 - 1: 0 -> -1.0 and 255 -> 1.0 exactly.
    Raises:
      DataError: as `load_examples`, and for a non-positive batch_size or negative start_batch.
    """
    _check_batching(batch_size, start_batch)
    examples, source = load_examples(spec, image_size=image_size, channels=channels, data_dir=data_dir)
    return batches_of(examples, source, batch_size=batch_size, seed=seed, start_batch=start_batch), source


def _check_batching(batch_size, start_batch) -> None:
    """Raises DataError unless batch_size > 0 and start_batch >= 0 are integers."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise DataError(f"--batch-size {batch_size!r}: expected a positive integer")
    if isinstance(start_batch, bool) or not isinstance(start_batch, (int, np.integer)) or start_batch < 0:
        raise DataError(f"start_batch {start_batch!r}: expected a non-negative integer")


def shuffled_positions(index, batch_size: int, n: int, seed) -> tf.Tensor:
    """Which of n examples batch `index` holds (B,) int64: positions index * B ... of an endless
    sequence in which epoch e is a stateless permutation of (seed, e).  A pure function of
    (seed, index), so batch i is the same in a resumed run."""
    b = int(batch_size)
    k = tf.cast(index, tf.int64) * b + tf.range(b, dtype=tf.int64)  # (B,) positions in the endless sequence
    epoch, i = k // n, k % n
    seed = tf.cast(seed, tf.int64)
    seeds = tf.stack([tf.fill([b], seed), epoch, tf.fill([b], tf.constant(SHUFFLE_SALT, tf.int64))], 1)  # (B, 3)
    # tf.random.experimental.index_shuffle mis-pads a batch of seeds ((B, 2) -> (B+1, 2)): call the op.
    return tf.raw_ops.RandomIndexShuffle(index=i, seed=seeds, max_index=tf.fill([b], tf.constant(n - 1, tf.int64)),
                                         rounds=4)


def batches_of(examples: tf.data.Dataset, source: ImageSource, *, batch_size: int, seed: int,
               start_batch: int = 0, transform=None) -> tf.data.Dataset:
    """`image_batches`'s stream of the examples `load_examples` returned (opened once, batched
    from any start_batch as often as needed).  `transform(images, labels, batch_index)`, if
    given, maps each batch (random crops and flips drawn from the index stay reproducible)."""
    n, b = source.num_examples, int(batch_size)
    everything = examples.batch(n).take(1).cache().repeat()  # one element: ((N, H, W, C), (N,)), kept in memory
    seed = tf.constant(int(seed), tf.int64)

    def batch(arrays, index):
        images, labels = arrays  # (N, H, W, C) uint8, (N,) int32
        j = shuffled_positions(index, b, n, seed)  # (B,)
        x = tf.cast(tf.gather(images, j), tf.float32) / 127.5 - 1.0  # (B, H, W, C) in [-1, 1]
        x, y = tf.ensure_shape(x, (b,) + source.image_shape), tf.ensure_shape(tf.gather(labels, j), (b,))
        return (x, y) if transform is None else transform(x, y, index)

    ds = (tf.data.Dataset.zip(everything, tf.data.Dataset.counter(start=int(start_batch)))
          .map(batch)
          .prefetch(tf.data.AUTOTUNE))
    return ds


# --- image conversion ------------------------------------------------------------


def fit_image(image, shape, out_shape):
    """Center-crops, resizes and converts channels of one uint8 image (H, W, C) to out_shape."""
    h, w, c = shape
    size_h, size_w, channels = out_shape
    if (h, w) != (size_h, size_w):  # only when image_size was given: out is square
        dims = tf.shape(image)
        side = tf.minimum(dims[0], dims[1])
        top, left = (dims[0] - side) // 2, (dims[1] - side) // 2
        image = image[top:top + side, left:left + side]  # (S', S', C) center square
        if h is None or w is None or min(h, w) != size_h:
            resized = tf.image.resize(tf.cast(image, tf.float32), (size_h, size_w), antialias=True)
            image = tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)
    if c in (2, 4):
        image = image[..., :c - 1]  # drop alpha
        c -= 1
    if channels == 3 and c == 1:
        image = tf.tile(image, (1, 1, 3))
    elif channels == 1 and c == 3:
        grey = tf.tensordot(tf.cast(image, tf.float32), tf.constant(LUMA, tf.float32), 1)[..., None]
        image = tf.cast(tf.clip_by_value(tf.round(grey), 0.0, 255.0), tf.uint8)
    return tf.ensure_shape(image, out_shape)


def _from_arrays(images: np.ndarray, labels: np.ndarray | None, order_seed) -> tf.data.Dataset:
    if labels is None:
        labels = np.full(len(images), -1, np.int32)
    labels = labels.astype(np.int32)
    if order_seed is not None:
        order = visit_order(len(images), order_seed)
        images, labels = images[order], labels[order]
    return tf.data.Dataset.from_tensor_slices((images, labels))


def visit_order(n: int, order_seed) -> np.ndarray:
    """0..n-1, or a permutation of it drawn from order_seed (load_examples' order_seed: an integer,
    or a tuple of integers, numpy's seed sequence: prepare.write_order's (seed, salt))."""
    if order_seed is None:
        return np.arange(n)
    seed = [int(s) for s in order_seed] if isinstance(order_seed, (tuple, list)) else int(order_seed)
    return np.random.default_rng(seed).permutation(n)


# --- tfds:NAME[:SPLIT] -------------------------------------------------------------


def _tfds_examples(spec, arg, data_dir):
    import tensorflow_datasets as tfds  # slow import: only for tfds specs

    name, _, split = arg.partition(":")
    split = split or "train"
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        known = tfds.list_builders(with_community_datasets=False)  # the default also asks the network
        close = difflib.get_close_matches(name, known, n=6, cutoff=0.6)
        hint = f"try one of: {', '.join(close)}" if close else "see tfds.list_builders()"
        raise DataError(f"--dataset {spec}: {name!r} is not a known tensorflow-datasets dataset; {hint}") from None
    except (ValueError, ImportError) as e:  # e.g. an unknown config in NAME/CONFIG
        raise DataError(f"--dataset {spec}: {' '.join(str(e).split())[:400]}") from None

    features = builder.info.features
    keys = list(features.keys()) if isinstance(features, tfds.features.FeaturesDict) else []
    if "image" not in keys or not isinstance(features["image"], tfds.features.Image):
        raise DataError(f"--dataset {spec}: {name!r} is not an image dataset (no 'image' feature; "
                        f"it has: {', '.join(keys) or features})")
    image_key = "image"
    image_feature = features[image_key]
    if image_feature.dtype != tf.uint8:
        raise DataError(f"--dataset {spec}: images are {image_feature.dtype.name}; expected uint8")
    label = features["label"] if "label" in keys else None
    num_classes = label.num_classes if isinstance(label, tfds.features.ClassLabel) else 0

    # Fail fast: as_dataset reads only prepared files (never downloads). tfds.testing.mock_data
    # patches as_dataset, so this works under the mock, where builder.is_prepared() is False.
    try:
        ds = builder.as_dataset(split=split, shuffle_files=False)
    except AssertionError:
        raise DataError(_not_prepared_message(spec, name, builder)) from None
    except (ValueError, KeyError) as e:
        splits = ", ".join(builder.info.splits.keys())
        raise DataError(f"--dataset {spec}: split {split!r}: {str(e).splitlines()[0]}"
                        + (f"; available splits: {splits}" if splits else "")) from None
    try:
        n = builder.info.splits[split].num_examples
    except KeyError:  # no split metadata (tfds.testing.mock_data): count
        n = int(ds.cardinality())
        if n < 0:
            n = int(ds.reduce(0, lambda count, _: count + 1))

    def pick(example):
        y = tf.cast(example["label"], tf.int32) if num_classes else tf.constant(-1, tf.int32)
        return example[image_key], y

    ds = ds.map(pick, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    h, w, c = image_feature.shape
    if c not in (1, 2, 3, 4):
        raise DataError(f"--dataset {spec}: images have {c} channels; expected 1 or 3")
    return ds, f"tfds:{name}:{split}", n, num_classes, (h, w, c)


def _not_prepared_message(spec, name, builder):
    root = builder.data_dir_root
    message = (f"--dataset {spec}: no prepared data in {root}; run `python -c \"import tensorflow_datasets "
               f"as tfds; tfds.load('{name}', data_dir='{root}')\"` on a machine with internet "
               f"(or copy a prepared {root}/{name} here)")
    found = Path(builder.data_dir).parent
    versions = sorted(p.name for p in found.iterdir() if p.is_dir()) if found.is_dir() else []
    if versions:
        message += f"; {found} holds version(s) {', '.join(versions)} but this tensorflow-datasets reads {builder.version}"
    return message


# --- mnist-idx:DIR -------------------------------------------------------------------


def _idx_examples(spec, arg, order_seed=None):
    """Images (and labels, when present) from IDX files; prefers the 'train' prefix over others (t10k)."""
    folder = _existing(spec, arg, directory=True)
    images = {}  # prefix -> path, raw files before .gz for the same prefix
    for path in sorted(folder.iterdir(), key=lambda p: (p.name.endswith(".gz"), p.name)):
        match = _IDX_IMAGES.match(path.name)
        if match and path.is_file():
            images.setdefault(match["prefix"], path)
    if not images:
        raise DataError(f"--dataset {spec}: no *-images-idx3-ubyte[.gz] file in {folder}")
    if "train" in images:
        prefix = "train"
    elif len(images) == 1:
        prefix = next(iter(images))
    else:
        raise DataError(f"--dataset {spec}: {folder} holds several image files ({', '.join(sorted(images))}) "
                        f"and none is 'train'; keep one")
    image_path = images[prefix]
    pixels = _read_idx(spec, image_path, IDX_IMAGES_MAGIC)[..., None]  # (N, H, W, 1)
    label_path = next((p for p in (folder / f"{prefix}-labels-idx1-ubyte", folder / f"{prefix}-labels.idx1-ubyte",
                                   folder / f"{prefix}-labels-idx1-ubyte.gz", folder / f"{prefix}-labels.idx1-ubyte.gz")
                       if p.is_file()), None)
    labels, num_classes = None, 0
    if label_path is not None:
        labels = _read_idx(spec, label_path, IDX_LABELS_MAGIC)
        if len(labels) != len(pixels):
            raise DataError(f"--dataset {spec}: {label_path} has {len(labels)} labels but {image_path} "
                            f"has {len(pixels)} images")
        num_classes = int(labels.max()) + 1 if len(labels) else 0
    name = f"mnist-idx:{folder} ({image_path.name}{', ' + label_path.name if label_path else ''})"
    return _from_arrays(pixels, labels, order_seed), name, len(pixels), num_classes, pixels.shape[1:]


def _read_idx(spec, path: Path, magic: int) -> np.ndarray:
    """Parses one IDX file of unsigned bytes: big-endian magic, big-endian uint32 dims, data."""
    try:
        raw = gzip.open(path, "rb").read() if path.name.endswith(".gz") else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"--dataset {spec}: cannot read {path}: {e}") from None
    what = "images" if magic == IDX_IMAGES_MAGIC else "labels"
    if len(raw) < 4:
        raise DataError(f"--dataset {spec}: {path} is truncated ({len(raw)} bytes; no IDX header)")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(f"--dataset {spec}: {path} is not an IDX {what} file (magic number {found}, expected {magic})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"--dataset {spec}: {path} is truncated ({len(raw)} bytes; header needs {header})")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    size = int(np.prod(dims))
    if len(raw) - header != size:
        state = "truncated" if len(raw) - header < size else "longer than its header says"
        raise DataError(f"--dataset {spec}: {path} is {state}: {len(raw) - header} bytes of data, "
                        f"dimensions {dims} need {size}")
    return np.frombuffer(raw, np.uint8, size, header).reshape(dims)


# --- folder:DIR ------------------------------------------------------------------------


def _folder_examples(spec, arg, image_size, order_seed=None):
    """Image files: sorted subfolder names are classes 0..K-1, or a flat folder is unlabeled."""
    folder, paths, labels, num_classes, grey = folder_listing(spec, arg, image_size)
    order = visit_order(len(paths), order_seed)
    ds = tf.data.Dataset.from_tensor_slices((paths[order], labels[order]))
    ds = ds.map(lambda path, label: (decode_file(path), label), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)
    return ds, f"folder:{folder}", len(paths), num_classes, (None, None, 1 if grey else 3)


def folder_listing(spec, arg, image_size):
    """(folder, paths (N,) str, labels (N,) int32, num_classes, all greyscale) of a folder: spec.

    Every file is checked with PIL when listed (header and structure; JPEGs without an
    end-of-image marker are decoded in full), so a bad file is named here rather than
    failing later inside tf.data.  Nothing is kept but the paths.
    """
    if image_size is None:
        raise DataError(f"--dataset {spec}: folder datasets need --image-size (images are center-cropped "
                        f"and resized to it)")
    folder = _existing(spec, arg, directory=True)
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = image_files(folder, recursive=False)
    if subfolders and loose:
        raise DataError(f"--dataset {spec}: {folder} holds both class subfolders and loose images "
                        f"(e.g. {loose[0].name}); move the images into a subfolder")
    paths, labels = [], []
    if subfolders:
        for label, sub in enumerate(subfolders):
            files = image_files(sub, recursive=True)
            if not files:
                raise DataError(f"--dataset {spec}: class folder {sub} has no images ({', '.join(IMAGE_EXTENSIONS)})")
            paths += files
            labels += [label] * len(files)
    else:
        paths = loose
        labels = [-1] * len(paths)
    if not paths:
        raise DataError(f"--dataset {spec}: {folder} has no images ({', '.join(IMAGE_EXTENSIONS)})")
    grey = all([check_image(spec, p) for p in paths])  # check every file, not just up to the first colour one
    return folder, np.asarray([str(p) for p in paths]), np.asarray(labels, np.int32), len(subfolders), grey


def decode_file(path) -> tf.Tensor:
    """One image file (PNG, JPEG, GIF's first frame, BMP) as uint8 (H, W, 3)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return tf.ensure_shape(image, (None, None, 3))


@dataclasses.dataclass(frozen=True)
class Folder:
    """A folder: source, listed and checked once: its files' paths and labels, never their pixels."""
    paths: np.ndarray      # (N,) str
    labels: np.ndarray     # (N,) int32, -1 when unlabeled
    source: ImageSource    # image_shape: what every file is cropped, resized and converted to


def open_folder(spec: str, *, image_size: int, channels: int | None = None) -> Folder:
    """Lists and checks a folder: spec (see folder_listing) for `folder_batches`.

    Raises:
      DataError: not a folder: spec, a bad --image-size/--channels, or a file that cannot be read.
    """
    scheme, arg = parse_spec(spec)
    if scheme != "folder":
        raise DataError(f"--dataset {spec!r}: expected folder:DIR")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer))
                                   or image_size <= 0):
        raise DataError(f"--image-size {image_size!r}: expected a positive integer")
    if channels is not None and channels not in (1, 3):
        raise DataError(f"--channels {channels!r}: expected 1 (greyscale) or 3 (RGB)")
    folder, paths, labels, num_classes, grey = folder_listing(spec, arg, image_size)
    shape = (int(image_size), int(image_size), channels or (1 if grey else 3))
    return Folder(paths, labels, ImageSource(f"folder:{folder}", len(paths), num_classes, shape))


def folder_batches(folder: Folder, *, batch_size: int, seed: int, start_batch: int = 0,
                   transform=None) -> tf.data.Dataset:
    """`batches_of` for a folder, without holding its images: batch b reads and decodes the files
    at `shuffled_positions(b)` (in parallel, kept in order), so it is the very batch the in-memory
    stream gives, and memory holds the paths and the batches in flight.

    Returns:
      an endless dataset of (images float32 (B, H, W, C) in [-1, 1], labels int32 (B,)).
    Raises:
      DataError: a non-positive batch_size or negative start_batch.
    """
    _check_batching(batch_size, start_batch)
    n, b = folder.source.num_examples, int(batch_size)
    out_shape = folder.source.image_shape
    paths, labels, seed = tf.constant(folder.paths), tf.constant(folder.labels), tf.constant(int(seed), tf.int64)

    def example(j):  # file j -> (image uint8 out_shape, label int32)
        return fit_image(decode_file(paths[j]), (None, None, 3), out_shape), labels[j]

    def floats(batch, index):  # (B, H, W, C) uint8 -> float32 in [-1, 1]
        x = tf.cast(tf.ensure_shape(batch[0], (b,) + out_shape), tf.float32) / 127.5 - 1.0
        y = tf.ensure_shape(batch[1], (b,))
        return (x, y) if transform is None else transform(x, y, index)

    positions = tf.data.Dataset.counter(start=int(start_batch)).map(
        lambda index: shuffled_positions(index, b, n, seed)).unbatch()  # file indices, batch after batch
    decoded = positions.map(example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(b)
    return (tf.data.Dataset.zip(decoded, tf.data.Dataset.counter(start=int(start_batch)))
            .map(floats)
            .prefetch(tf.data.AUTOTUNE))


def image_files(folder: Path, recursive: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def check_image(spec, path: Path) -> bool:
    """Raises DataError naming `path` unless it is a readable PNG/JPEG/GIF/BMP; True if greyscale."""
    return _inspect(spec, path)[0]


def _inspect(spec, path: Path) -> tuple[bool, tuple[int, int]]:
    """check_image, and the image's (width, height)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            kind, mode, size = image.format, image.mode, image.size
            image.verify()
        if kind == "JPEG":
            with open(path, "rb") as f:
                f.seek(max(0, os.path.getsize(path) - 2))
                complete = f.read() == b"\xff\xd9"
            if not complete:  # truncated, or trailing data after the end marker: decode to tell
                with Image.open(path) as image:
                    image.load()
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, ... for bad files
        raise DataError(f"--dataset {spec}: cannot read image {path}: {e}") from None
    if kind not in _PIL_FORMATS:
        raise DataError(f"--dataset {spec}: {path} is a {kind} image; expected PNG, JPEG, GIF or BMP")
    return mode in _GREY_MODES, size


def image_headers(spec, files) -> tuple[list[bool], list[tuple[int, int]]]:
    """(greyscale?, (width, height)) of every file: each checked (check_image), no pixels decoded
    (PIL reads the header)."""
    found = [_inspect(spec, p) for p in files]
    return [grey for grey, _ in found], [size for _, size in found]


def decoded_shape(sizes) -> tuple:
    """The static shape fit_image takes for decode_file's images of files of `sizes` ((width,
    height) each): (H, W, 3) if they are all one size, else (None, None, 3)."""
    (w, h) = sizes[0]
    return (h, w, 3) if len(set(sizes)) == 1 else (None, None, 3)


# --- tfrecords:DIR --------------------------------------------------------------------------


def _records_examples(arg):
    """The records of a prepared image dataset in file order (for evaluation; training streams
    them in a seeded order, streaming.py).  A prepared captioned dataset gives its images and
    labels: the training images, then (captions2digits) the held-out digits -- every digit of
    its source, as evaluate.py's reference of captions2digits:SPEC is SPEC's digits."""
    if records.kind_of(arg) == "captions":
        parts = [records.captions_description(arg)]
        if (parts[0].directory / records.CAPTIONS_HELD_OUT).is_dir():
            parts.append(records.captions_description(parts[0].directory / records.CAPTIONS_HELD_OUT))
    else:
        parts = [records.image_description(arg)]

    def examples(description):
        def decode(serialized):  # (B,) -> (B, H, W, C) uint8, (B,) int32
            parsed = records.parse(serialized, description)
            return parsed[0], parsed[list(description.features).index("label")]

        return tf.data.TFRecordDataset(description.paths()).batch(256).map(decode).unbatch()

    ds = examples(parts[0])
    for part in parts[1:]:
        ds = ds.concatenate(examples(part))
    description = parts[0]
    shape = tuple(description.features["image"]["shape"])
    return (ds, f"tfrecords:{description.directory}", sum(d.num_examples for d in parts), description.num_classes,
            shape)


# --- npz:FILE ----------------------------------------------------------------------------


def _npz_examples(spec, arg, order_seed=None):
    """Arrays `x` and optional `y` from an .npz archive.

    x: (N, H, W) or (N, H, W, C) with C 1 or 3, and either
      - uint8 (or another integer type) with values 0..255, used as is;
      - float, read by its value range: any value below 0 means [-1, 1] (x+1)*127.5;
        otherwise max <= 1 means [0, 1] (x*255); otherwise max <= 255 means [0, 255].
        Floats are rounded to the nearest integer. Anything else (NaN, out of range) is an error.
    y: (N,) non-negative integers (labels 0..max(y)); absent means unlabeled.
    """
    path = _existing(spec, arg, directory=False)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError(f"--dataset {spec}: {path} is a single .npy array; expected an .npz archive "
                            f"with arrays x and optional y (np.savez(path, x=images, y=labels))")
        with archive:
            if "x" not in archive.files:
                raise DataError(f"--dataset {spec}: {path} has no array 'x' (images); it has: "
                                f"{', '.join(archive.files) or 'nothing'}")
            x = archive["x"]
            y = archive["y"] if "y" in archive.files else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        if isinstance(e, DataError):
            raise
        if "pickle" in str(e).lower():  # numpy's advice would be to unpickle it: never relay that
            raise DataError(f"--dataset {spec}: {path} is not an .npz archive of arrays (it is another kind "
                            f"of file, or holds Python objects); expected one written by "
                            f"np.savez(path, x=images, y=labels)") from None
        raise DataError(f"--dataset {spec}: cannot read {path} as an .npz archive: {error_reason(e)}") from None

    where = f"--dataset {spec}: {path}"
    if x.ndim == 3:
        x = x[..., None]  # (N, H, W) -> (N, H, W, 1)
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise DataError(f"{where}: x has shape {x.shape}; expected (N, H, W) or (N, H, W, C) with C 1 or 3")
    x = _to_uint8(where, x)
    labels, num_classes = None, 0
    if y is not None:
        if y.shape != (len(x),):
            raise DataError(f"{where}: y has shape {y.shape}; expected ({len(x)},), one label per image")
        if not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{where}: y is {y.dtype}; expected integer labels")
        if len(y) and y.min() < 0:
            raise DataError(f"{where}: y has negative labels (min {y.min()}); expected 0..K-1")
        labels = y.astype(np.int32)
        num_classes = int(y.max()) + 1 if len(y) else 0
    return _from_arrays(x, labels, order_seed), f"npz:{path}", len(x), num_classes, x.shape[1:]


def _to_uint8(where, x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return x
    if x.size == 0:
        return x.astype(np.uint8)
    if np.issubdtype(x.dtype, np.integer):
        if x.min() < 0 or x.max() > 255:
            raise DataError(f"{where}: x is {x.dtype} with values {x.min()}..{x.max()}; expected 0..255")
        return x.astype(np.uint8)
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{where}: x is {x.dtype}; expected uint8 or float images")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{where}: x has NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    if low < 0:
        if low < -1 or high > 1:
            raise DataError(f"{where}: float x spans {low:g}..{high:g}; expected [-1, 1], [0, 1] or [0, 255]")
        x = (x.astype(np.float64) + 1.0) * 127.5
    elif high <= 1:
        x = x.astype(np.float64) * 255.0
    elif high > 255:
        raise DataError(f"{where}: float x spans {low:g}..{high:g}; expected [-1, 1], [0, 1] or [0, 255]")
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _existing(spec, arg, directory: bool) -> Path:
    path = Path(arg).expanduser()
    kind = "directory" if directory else "file"
    if not path.exists():
        raise DataError(f"--dataset {spec}: {kind} does not exist")
    if directory != path.is_dir():
        raise DataError(f"--dataset {spec}: not a {kind}")
    return path.resolve()
