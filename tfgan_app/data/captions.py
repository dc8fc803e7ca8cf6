"""Captions of MNIST digits from their label and measured shape: text for text-to-image, offline.

No captioned image set ships with any installed package, so captions are made: each digit's
label and three Morpho-MNIST measurements (data/morphometry.py) are put into words --

    thickness  thin / medium / thick      (the training digits' tertiles)
    slant      leaning left / upright / leaning right   (tertiles)
    width      narrow / wide              (the median)

-- and written in one of several phrasings (TEMPLATES), e.g. "a thick seven leaning right",
"the digit 7, thin and upright".  Two phrasings are never used in training (HELD_OUT_TEMPLATES):
the text-to-image benchmark asks for digits in words the text encoder never read.  The
thresholds are fitted on the training digits only and kept with the measurements.

Users with their own captions use `captions:FILE`: one `image_path<TAB>caption` per line, the
paths relative to the file (`read_caption_file`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import numpy as np

from tfgan_app.data.images import DataError

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS = ("thin", "medium", "thick")
LEAN = ("leaning left", "upright", "leaning right")          # after a noun: "a seven leaning left"
LEANING = ("left-leaning", "upright", "right-leaning")       # before a noun: "a left-leaning seven"
WIDTH = ("narrow", "wide")

# {digit} the word, {number} the numeral; {thickness}, {lean}, {leaning}, {width} as above.
TEMPLATES = (
    "a {thickness} {digit} {lean}",
    "the digit {number}, {thickness} and {lean}",
    "a {width} {thickness} {digit}, {lean}",
    "{digit} written {lean} with a {thickness} stroke",
    "a {leaning} {digit} in {thickness} ink",        # held out
    "number {number}: {width}, {thickness}, {lean}",  # held out
)
HELD_OUT_TEMPLATES = (4, 5)
TRAIN_TEMPLATES = tuple(i for i in range(len(TEMPLATES)) if i not in HELD_OUT_TEMPLATES)


MORPHOMETRY_VERSION = 2  # bump when data/morphometry.py's figures change: the cache is keyed by it


class CaptionError(DataError):
    """A caption file or attribute set that cannot be used; the message names the line or field."""


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Where the words change: thickness and slant tertiles, the width median (fitted on training digits)."""
    thickness: tuple[float, float]
    slant: tuple[float, float]
    width: float

    @classmethod
    def fit(cls, measured: dict) -> "Thresholds":
        t = np.quantile(measured["thickness"], [1 / 3, 2 / 3])
        s = np.quantile(measured["slant"], [1 / 3, 2 / 3])
        return cls((float(t[0]), float(t[1])), (float(s[0]), float(s[1])), float(np.median(measured["width"])))

    def categories(self, measured: dict) -> dict[str, np.ndarray]:
        """Word indices per digit: {"thickness": 0..2, "slant": 0..2, "width": 0..1}, each (N,)."""
        return {"thickness": np.searchsorted(self.thickness, measured["thickness"], side="right"),
                "slant": np.searchsorted(self.slant, measured["slant"], side="right"),
                "width": (np.asarray(measured["width"]) >= self.width).astype(np.int64)}


@dataclasses.dataclass
class CaptionedDigits:
    """Digits with what their captions are made of."""
    images: np.ndarray       # uint8 (N, S, S, 1)
    labels: np.ndarray       # int32 (N,)
    measured: dict           # "thickness", "slant", "width": float32 (N,)
    thresholds: Thresholds   # fitted on the training part

    @property
    def categories(self) -> dict[str, np.ndarray]:
        return self.thresholds.categories(self.measured)

    def captions(self, templates=TRAIN_TEMPLATES) -> np.ndarray:
        """(N, len(templates)) captions of every digit."""
        return captions_for(self.labels, self.categories, templates)

    def classes(self) -> np.ndarray:
        """(N,) int32 in 0..179: what a caption says, (digit, thickness, slant, width) as one number
        (the joint embedding's classes, nets/text_encoder.py)."""
        c = self.categories
        return (((self.labels * 3 + c["thickness"]) * 3 + c["slant"]) * 2 + c["width"]).astype(np.int32)


def captioned_digits(spec: str, part: str = "train", data_dir: str | None = None,
                     held_out: int | None = None) -> CaptionedDigits:
    """The digits of a labelled greyscale image spec (mnist-idx:DIR, tfds:mnist, ...), the
    classifier's `part` of them ("train" or "held_out": the splits.HELD_OUT digits data/splits.py
    holds out, or `held_out` of them), measured.

    Measuring takes ~2.5 ms a digit: the figures of the whole spec are cached (cache_dir()/morphometry,
    keyed by the images' bytes and MORPHOMETRY_VERSION) and the thresholds fitted on the train part.

    Raises:
      DataError: the spec is unusable, unlabelled or has too few images.
    """
    import hashlib

    from tfgan_app.data import images as image_data
    from tfgan_app.data import morphometry, splits
    from tfgan_app.data.cache import cache_dir

    if part not in ("train", "held_out"):
        raise ValueError(f"part {part!r}: expected train or held_out")
    examples, source = image_data.load_examples(spec, channels=1, data_dir=data_dir)
    held_out = splits.HELD_OUT if held_out is None else int(held_out)
    if source.num_classes != 10 or source.num_examples <= held_out:
        raise image_data.DataError(
            f"--dataset captions2digits:{spec}: expected labelled digits (10 classes) and more than "
            f"{held_out} of them (MNIST's test split has 10,000); got {source.num_examples} images, "
            f"{source.num_classes} classes")
    x, y = next(iter(examples.batch(source.num_examples)))
    x, y = x.numpy(), y.numpy().astype(np.int32)
    key = hashlib.sha256(x.tobytes() + f"v{MORPHOMETRY_VERSION}".encode()).hexdigest()[:20]
    path = cache_dir() / "morphometry" / f"{key}.npz"
    if path.is_file():
        with np.load(path) as f:
            measured = {k: f[k] for k in ("thickness", "slant", "width")}
    else:
        measured = morphometry.measure_all(x)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.npz")
        np.savez(tmp, **measured)
        tmp.replace(path)  # readers never see half a file
    train, rest = splits.split_examples(len(x), held_out)
    thresholds = Thresholds.fit({k: v[train] for k, v in measured.items()})
    keep = train if part == "train" else rest
    return CaptionedDigits(x[keep], y[keep], {k: v[keep] for k, v in measured.items()}, thresholds)


def caption(label: int, thickness: int, slant: int, width: int, template: int) -> str:
    """The caption of a digit `label` with word indices (thickness, slant, width) in phrasing `template`."""
    if not 0 <= label < 10:
        raise CaptionError(f"label {label}: expected a digit 0..9")
    return TEMPLATES[template].format(digit=DIGITS[label], number=label, thickness=THICKNESS[thickness],
                                      lean=LEAN[slant], leaning=LEANING[slant], width=WIDTH[width])


def captions_for(labels, categories: dict, templates=TRAIN_TEMPLATES) -> np.ndarray:
    """(N, len(templates)) captions: every digit in every phrasing asked for."""
    return np.array([[caption(int(y), int(t), int(s), int(w), k) for k in templates]
                     for y, t, s, w in zip(labels, categories["thickness"], categories["slant"], categories["width"])],
                    dtype=object)


def vocabulary() -> list[str]:
    """Every word any phrasing of any digit can use (the training phrasings' words come first)."""
    words: list[str] = []
    for k in TRAIN_TEMPLATES + HELD_OUT_TEMPLATES:
        for label in range(10):
            for t in range(3):
                for s in range(3):
                    for w in range(2):
                        for word in normalise(caption(label, t, s, w, k)).split():
                            if word not in words:
                                words.append(word)
    return words


def normalise(text: str) -> str:
    """Lower case, every run of characters other than a-z, 0-9 and '-' as one space: what the
    in-graph tokenizer does (nets/text.py), in Python."""
    return re.sub(r"[^a-z0-9\-]+", " ", text.lower()).strip()


def read_caption_file(path) -> list[tuple[Path, str]]:
    """[(image path, caption)] of a `captions:FILE`: one `image_path<TAB>caption` per line, paths
    relative to the file; blank lines and lines starting with # are skipped.

    Raises:
      CaptionError: the file is missing or empty, a line has no tab or an empty caption, or an
        image it names does not exist (the line number is in the message).
    """
    path = Path(path)
    if not path.is_file():
        raise CaptionError(f"--dataset captions:{path}: no such file; expected one 'image_path<TAB>caption' per line")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        image, tab, text = line.partition("\t")
        if not tab or not text.strip():
            raise CaptionError(f"--dataset captions:{path}, line {number}: expected 'image_path<TAB>caption', "
                               f"got {line[:60]!r}")
        image_path = (path.parent / image.strip()).resolve()
        if not image_path.is_file():
            raise CaptionError(f"--dataset captions:{path}, line {number}: image {image.strip()!r} not found "
                               f"(paths are relative to the caption file)")
        rows.append((image_path, text.strip()))
    if not rows:
        raise CaptionError(f"--dataset captions:{path}: no captions in the file")
    return rows


# --- the stream: batches of (images, captions) ----------------------------------------------

SCHEMES = ("captions2digits", "captions")
TEMPLATE_SALT = 0xCA9  # keeps the phrasing draws apart from the data order's


@dataclasses.dataclass
class CaptionStream:
    batches: object   # start_batch -> (images float32 in [-1, 1], captions string)
    shape: tuple      # one image's (S, S, C)
    num_examples: int


def load_captioned(spec: str, *, image_size: int | None = None, channels: int | None = None,
                   data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, S, S, C), captions (N, T) str): every training phrasing of every training
    digit (captions2digits:SPEC), or the caption of every file (captions:FILE, T = 1).

    Raises:
      DataError, CaptionError: the spec is unusable (the message names --dataset).
    """
    scheme, _, arg = spec.partition(":")
    if scheme == "captions2digits":
        if not arg:
            raise DataError(f"--dataset {spec}: expected captions2digits:SPEC with SPEC a labelled digit dataset "
                            f"(mnist-idx:DIR, tfds:mnist, npz:FILE)")
        digits = captioned_digits(arg, "train", data_dir)
        return digits.images, digits.captions()
    if scheme == "captions":
        examples, rows, _ = caption_file_examples(spec, image_size=image_size, channels=channels)
        pictures, _ = next(iter(examples.batch(len(rows))))
        return pictures.numpy(), np.array([[text] for _, text in rows], dtype=object)
    raise DataError(f"--dataset {spec}: expected captions2digits:SPEC or captions:FILE")


def caption_file_examples(spec: str, *, image_size: int | None = None, channels: int | None = None,
                          order_seed=None):
    """The images of captions:FILE as a finite stream of (image uint8 (S, S, C), its line's
    position in the file int32), never held whole: every image is checked first (its format,
    size and whether it is greyscale, from PIL), then decoded in tf.data, centre-cropped and
    resized to S (--image-size, or the smallest side of all), with the first image's channels
    unless `channels`.  In file order, or a permutation of `order_seed` (images.load_examples').
    Returns (examples, [(image path, caption)] in file order, (S, S, C)).

    Raises:
      DataError, CaptionError: the file, a line or an image is unusable (the message names it).
    """
    import tensorflow as tf

    from tfgan_app.data import images

    rows = read_caption_file(spec.partition(":")[2])
    grey, sizes = images.image_headers(spec, [path for path, _ in rows])
    size = image_size or min(min(w, h) for w, h in sizes)
    decoded, shape = images.decoded_shape(sizes), (size, size, channels or (1 if grey[0] else 3))
    order = images.visit_order(len(rows), order_seed).astype(np.int32)
    paths = np.array([str(path) for path, _ in rows])[order]
    examples = tf.data.Dataset.from_tensor_slices((paths, order)).map(
        lambda path, index: (images.fit_image(images.decode_file(path), decoded, shape), index),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return examples, rows, shape


def _phrasings(config, batch_index, per_step: int, phrasings: int):
    """(per_step,) int32: which of its `phrasings` captions each example of batch `batch_index`
    is shown with, drawn from (seed, batch index)."""
    import tensorflow as tf

    seed = tf.random.experimental.stateless_fold_in(
        tf.stack([tf.constant(config.seed, tf.int64), tf.cast(batch_index, tf.int64)]), TEMPLATE_SALT)
    return tf.random.stateless_uniform([per_step], seed, 0, phrasings, dtype=tf.int32)


def open_captions(config) -> CaptionStream:
    """Batches of (images, captions) of config.dataset, n_critic x batch_size a step: each digit in
    one of its training phrasings, drawn per (seed, batch index) so a resumed run sees the same.
    A prepared dataset (tfrecords:DIR) is streamed from its shards (_prepared_captions)."""
    import tensorflow as tf

    from tfgan_app.data import images as image_data
    from tfgan_app.data import streaming

    if streaming.is_prepared(config.dataset):
        return _prepared_captions(config)
    pictures, table = load_captioned(config.dataset, image_size=config.image_size or None,
                                     channels=config.channels or None, data_dir=config.data_dir or None)
    n, phrasings = table.shape
    examples = tf.data.Dataset.from_tensor_slices((pictures, np.arange(n, dtype=np.int32)))
    source = image_data.ImageSource(config.dataset, n, 0, pictures.shape[1:])
    table = tf.constant(table.astype(str))
    per_step = config.batch_size * config.n_critic

    def transform(x, index_of_example, batch_index):
        which = _phrasings(config, batch_index, per_step, phrasings)
        return x, tf.gather_nd(table, tf.stack([index_of_example, which], 1))

    def batches(start_batch: int):
        return image_data.batches_of(examples, source, batch_size=per_step, seed=config.seed,
                                     start_batch=start_batch, transform=transform)

    return CaptionStream(batches, tuple(int(d) for d in pictures.shape[1:]), n)


def _prepared_captions(config) -> CaptionStream:
    """open_captions of `tfrecords:DIR` (prepared from captions2digits: or captions:): the images and
    their captions streamed from the shards (streaming.py's window-shuffled order), each shown with
    one of its captions drawn from (seed, batch index) as in memory.

    Raises:
      DataError: not captioned images, the held-out part, or another --image-size/--channels.
    """
    import tensorflow as tf

    from tfgan_app.data import records, streaming

    directory = streaming.directory_of(config.dataset)
    description = _training_part(config.dataset)
    shape = description.features["image"]["shape"]
    if description.meta["captions"] == "captions2digits" and ((config.image_size and config.image_size != shape[0])
                                                              or (config.channels and config.channels != shape[2])):
        raise DataError(f"--image-size/--channels: {config.dataset} holds captions2digits' {shape[0]}x{shape[1]}x"
                        f"{shape[2]} digits, kept as they are; leave them out")
    streaming.check_shape(shape, directory, image_size=config.image_size, channels=config.channels)
    phrasings = description.features["captions"]["shape"][0]
    per_step = config.batch_size * config.n_critic

    def decode(batch):
        image, table, *_ = records.parse(batch, description)  # uint8 (B, S, S, C), string (B, T)
        return streaming.to_float(image), table

    def batches(start_batch: int):
        examples = streaming.decoded_batches(description, decode, batch_size=per_step, seed=config.seed,
                                             window=config.shuffle_buffer, start_batch=start_batch)

        def transform(example, batch_index):
            x, table = example
            return x, tf.gather(table, _phrasings(config, batch_index, per_step, phrasings), batch_dims=1)

        return streaming.with_batch_index(examples, start_batch).map(transform)

    return CaptionStream(batches, tuple(shape), description.num_examples)


def _training_part(spec: str):
    """The description of a prepared captioned dataset (tfrecords:DIR), refused if it is a
    dataset's held-out part (DIR/held_out: the text encoder's scored digits).

    Raises:
      DataError: not captioned images, or the held-out part.
    """
    from tfgan_app.data import records, streaming

    description = records.captions_description(streaming.directory_of(spec))
    if description.meta.get("part"):
        raise DataError(f"--dataset {spec}: holds the held-out digits of a prepared dataset (for the text "
                        f"encoder's report); name the dataset that holds it")
    return description


def prepared_caption_sets(spec: str):
    """What the text encoder reads of a prepared captioned dataset (tfrecords:DIR), as from its
    source: (scheme, images, captions (N, T), classes, labels or None) of the training images in
    the source's order, and captions2digits' held-out digits (images, captions in every phrasing
    (N, len(TEMPLATES)), classes, labels) or None.

    Raises:
      DataError: not a prepared captioned dataset, or its held-out part.
    """
    from tfgan_app.data import records

    description = _training_part(spec)

    def in_source_order(d):
        image, table, classes, label, index = records.read_all(d)
        order = np.argsort(index, kind="stable")
        table = np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(table[order])
        return image[order], table, classes[order], label[order]

    scheme = description.meta["captions"]
    images_, table, classes, labels = in_source_order(description)
    held = None
    if scheme == "captions2digits":
        held = in_source_order(records.captions_description(description.directory / records.CAPTIONS_HELD_OUT))
    return scheme, images_, table, classes, (labels if scheme == "captions2digits" else None), held
