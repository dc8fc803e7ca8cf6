"""Paired images for image-to-image translation (pix2pix): batches of (inputs, targets).

A dataset spec names where the pairs come from:

    pairs:DIR            pix2pix's own format: each file holds A and B side by side (its width
                         twice its height), as the facades, maps and edges2shoes archives ship
    pairs:DIR_A,DIR_B    two folders of images with the same file names
    edges2digits:SPEC    a labelled digit dataset (e.g. mnist-idx:DIR) as A = its edge maps (made
                         here) and B = the digits, without the 2,000 held-out images the
                         project's classifier never trains on (splits.py): pix2pix is scored on those
    tfrecords:DIR        pairs prepared from one of the above (`python -m tfgan_app.data.prepare
                         pairs:... --out DIR`), streamed from their shards, never held whole
                         (streaming.py: exact order and resume; the jitter is drawn as below)

--direction AtoB makes A the input and B the target (BtoA the other way).  Every image is
centre-cropped to a square and resized to --image-size (0: the files' own size).

Each batch gets pix2pix's random jitter (Isola et al. 2017, Sec. 6.2; the TF pix2pix
tutorial's `random_jitter`): both images of a pair resized up by --jitter (286/256,
nearest neighbour as the tutorial), one random crop back to the size for both, and a
random left-right mirror for both (--mirror).  The draws are stateless functions of
(seed, batch index): a resumed run sees the same crops.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf

from tfgan_app.data import images, records, splits, streaming
from tfgan_app.data.images import DataError

SCHEMES = ("pairs", "edges2digits")
SPEC_FORMS = ("pairs:DIR (A|B side by side), pairs:DIR_A,DIR_B (same file names), edges2digits:SPEC, "
              "tfrecords:DIR (prepared from one of them)")
DIRECTIONS = ("AtoB", "BtoA")
PIX2PIX_JITTER = 286 / 256  # the paper's resize-then-crop ratio
# Edge map of a digit: pixels whose Sobel gradient magnitude (of the image in [0, 1]) exceeds
# this.  A 0 -> 1 step gives 4 (the kernel's positive weights sum to 4), so 2 marks a change of
# at least half the full intensity: the outline of each stroke, its inside left empty.
EDGE_THRESHOLD = 2.0
JITTER_SALT = 0x9A17  # keeps the jitter's draws apart from the data order's


@dataclasses.dataclass(frozen=True)
class PairedSource:
    """What a paired spec resolved to: its name, number of pairs and the two sides' shapes."""
    name: str
    num_examples: int
    input_shape: tuple
    target_shape: tuple


@dataclasses.dataclass
class PairedStream:
    batches: Callable[[int], tf.data.Dataset]  # start_batch -> (inputs, targets) float32 in [-1, 1]
    shape: dict                                # {"inputs": (S, S, Ca), "targets": (S, S, Cb)}
    source: PairedSource


# --- the stream ---------------------------------------------------------------------------


def open_pairs(config) -> PairedStream:
    """The batches of config.dataset's pairs (batch_size x n_critic pairs a step), jittered.

    Raises:
      DataError: an unknown spec, unreadable or unpaired files, bad --direction / --jitter.
    """
    if config.direction not in DIRECTIONS:
        raise DataError(f"--direction {config.direction!r}: expected one of {', '.join(DIRECTIONS)}")
    if streaming.is_prepared(config.dataset):
        return _prepared_pairs(config)
    inputs, targets, name = load_pairs(config.dataset, image_size=config.image_size or None,
                                       channels=config.channels or None, data_dir=config.data_dir or None)
    if config.direction == "BtoA":
        inputs, targets = targets, inputs
    source = PairedSource(name, len(inputs), inputs.shape[1:], targets.shape[1:])
    both = np.concatenate([inputs, targets], -1)  # (N, S, S, Ca + Cb): one image to shuffle and crop
    examples = tf.data.Dataset.from_tensor_slices((both, np.full(len(both), -1, np.int32)))
    as_images = images.ImageSource(name, len(both), 0, both.shape[1:])
    per_step = config.batch_size * config.n_critic
    jittered = _jitter_and_split(config, inputs.shape[-1])

    def batches(start_batch: int) -> tf.data.Dataset:
        return images.batches_of(examples, as_images, batch_size=per_step, seed=config.seed,
                                  start_batch=start_batch, transform=lambda x, _labels, index: jittered(x, index))

    return PairedStream(batches, _shape(source), source)


def _prepared_pairs(config) -> PairedStream:
    """open_pairs of `tfrecords:DIR`: pairs streamed from their shards (streaming.pair_batches, in
    the window-shuffled order of streaming.py), then jittered as the in-memory pairs are."""
    directory = streaming.directory_of(config.dataset)
    description = records.pair_description(directory)
    shapes = [description.features[side]["shape"] for side in ("inputs", "targets")]
    differ = shapes[0][-1] != shapes[1][-1]
    for shape, side in zip(shapes, ("A (input) images", "B (target) images")):
        streaming.check_shape(shape, directory, image_size=config.image_size, channels=config.channels, what=side,
                              hint=f"the two sides differ ({shapes[0][-1]} and {shapes[1][-1]} channels): leave "
                                   f"--channels out to keep each side's" if differ else "")
    swap = config.direction == "BtoA"
    if swap:
        shapes = shapes[::-1]
    source = PairedSource(description.source, description.num_examples, tuple(shapes[0]), tuple(shapes[1]))
    per_step = config.batch_size * config.n_critic
    jittered = _jitter_and_split(config, shapes[0][-1])

    def batches(start_batch: int) -> tf.data.Dataset:
        pairs = streaming.pair_batches(description, batch_size=per_step, seed=config.seed,
                                       window=config.shuffle_buffer, start_batch=start_batch)

        def transform(pair, index):
            inputs, targets = pair[::-1] if swap else pair
            return jittered(tf.concat([inputs, targets], -1), index)

        return streaming.with_batch_index(pairs, start_batch).map(transform)

    return PairedStream(batches, _shape(source), source)


def _jitter_and_split(config, input_channels: int):
    """(both sides stacked (B, S, S, Ca + Cb), batch index) -> (inputs, targets), jittered by draws
    of (seed, batch index): the same crop and mirror for both sides of a pair."""
    def transform(x, index):
        seed = tf.stack([tf.constant(config.seed, tf.int64), tf.cast(index, tf.int64),
                         tf.constant(JITTER_SALT, tf.int64)])
        x = jitter(x, tf.random.experimental.stateless_fold_in(seed[:2], seed[2]), config.jitter, config.mirror)
        return x[..., :input_channels], x[..., input_channels:]

    return transform


def _shape(source: PairedSource) -> dict:
    return {"inputs": tuple(int(d) for d in source.input_shape),
            "targets": tuple(int(d) for d in source.target_shape)}


def jitter(x, seed, factor: float, mirror: bool):
    """pix2pix's random jitter of a batch (B, S, S, C): resize up to round(S * factor)
    (nearest neighbour), crop a random S x S window per example, mirror half of them at random.
    The channels of one example (input and target stacked) move together.  seed: (2,) int."""
    b, s = tf.shape(x)[0], x.shape[1]
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    big = int(round(s * factor))
    if big > s:
        x = tf.image.resize(x, (big, big), method="nearest")
        offsets = tf.random.stateless_uniform([b, 2], crop_seed, 0, big - s + 1, dtype=tf.int32)  # (B, 2)
        window = tf.range(s)
        x = tf.gather(x, offsets[:, :1] + window, axis=1, batch_dims=1)  # (B, S, big, C): rows
        x = tf.gather(x, offsets[:, 1:] + window, axis=2, batch_dims=1)  # (B, S, S, C): columns
    if mirror:
        flip = tf.random.stateless_uniform([b], flip_seed) < 0.5
        x = tf.where(flip[:, None, None, None], tf.reverse(x, [2]), x)
    return x


# --- reading pairs ------------------------------------------------------------------------


def load_pairs(spec: str, *, image_size: int | None = None, channels: int | None = None,
               data_dir: str | None = None):
    """(A uint8 (N, S, S, Ca), B uint8 (N, S, S, Cb), description) of a paired spec, in memory.

    channels: 1 or 3 for both sides; None keeps each side's (1 if all its files are greyscale).
    Raises:
      DataError: the spec, a folder or a file is not usable (the message names it).
    """
    scheme, arg = _parse(spec)
    if scheme == "edges2digits":
        edges, digits, _ = edges2digits(arg, "train", image_size=image_size, data_dir=data_dir)
        return edges, digits, f"edges2digits:{arg} (training part: {len(digits)} digits)"
    examples, source = pair_examples(spec, image_size=image_size, channels=channels)
    a, b = next(iter(examples.batch(source.num_examples)))
    return a.numpy(), b.numpy(), source.name


def pair_examples(spec: str, *, image_size: int | None = None, channels: int | None = None,
                  order_seed=None) -> tuple[tf.data.Dataset, PairedSource]:
    """The pairs of pairs:DIR or pairs:DIR_A,DIR_B as a finite stream of (A uint8 (S, S, Ca),
    B uint8 (S, S, Cb)), never held whole: every file is listed and checked first (its format,
    size and whether it is greyscale, from PIL), then decoded in tf.data and centre-cropped and
    resized as images.fit_image does.  In file order, or in a permutation of `order_seed`
    (images.load_examples' order_seed).

    Raises:
      DataError: the spec, a folder or a file is not usable (the message names it).
    """
    scheme, arg = _parse(spec)
    if scheme != "pairs":
        raise DataError(f"--dataset {spec!r}: {scheme}: is made in memory; expected pairs:DIR or pairs:DIR_A,DIR_B")
    if "," in arg:
        folder_a, _, folder_b = arg.partition(",")
        paths, shapes, out = _two_folders(spec, _folder(spec, folder_a), _folder(spec, folder_b), image_size,
                                          channels)

        def read(path_a, path_b):
            return tuple(images.fit_image(images.decode_file(path), shape, o)
                         for path, shape, o in zip((path_a, path_b), shapes, out))
    else:
        paths, shape, out = _side_by_side(spec, _folder(spec, arg), image_size, channels)
        paths = (paths,)

        def read(path):
            pair = images.decode_file(path)
            h = tf.shape(pair)[0]
            return images.fit_image(pair[:, :h], shape, out[0]), images.fit_image(pair[:, h:], shape, out[1])
    order = images.visit_order(len(paths[0]), order_seed)
    examples = tf.data.Dataset.from_tensor_slices(tuple(p[order] for p in paths)).map(
        read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    n = len(paths[0])
    return examples, PairedSource(f"{scheme}:{arg} ({n} pairs)", n, *out)


def _parse(spec):
    scheme, _, arg = str(spec).partition(":")
    if scheme not in SCHEMES:
        raise DataError(f"--dataset {spec!r}: not a paired dataset; expected one of {SPEC_FORMS}")
    if not arg:
        raise DataError(f"--dataset {spec!r}: nothing after '{scheme}:'; expected one of {SPEC_FORMS}")
    return scheme, arg


def _folder(spec, arg) -> Path:
    path = Path(arg).expanduser()
    if not path.is_dir():
        raise DataError(f"--dataset {spec}: {arg} is not a directory")
    return path.resolve()


def _files(spec, folder: Path) -> list[Path]:
    files = images.image_files(folder, recursive=False)
    if not files:
        raise DataError(f"--dataset {spec}: {folder} has no images ({', '.join(images.IMAGE_EXTENSIONS)})")
    return files


def _side_by_side(spec, folder: Path, image_size, channels):
    """(paths, the shape of a half as fit_image takes it, (A's shape, B's shape)) of A|B files."""
    files = _files(spec, folder)
    grey, sizes = images.image_headers(spec, files)  # every file checked before any is read
    channels = channels or (1 if all(grey) else 3)
    for path, (w, h) in zip(files, sizes):
        if w != 2 * h:
            raise DataError(f"--dataset {spec}: {path} is {w}x{h} pixels; a pairs: image holds A and B side "
                            f"by side, so its width must be twice its height")
        if image_size is None and h != sizes[0][1]:
            raise DataError(f"--dataset {spec}: {path} is {h} pixels high, {files[0].name} {sizes[0][1]}; "
                            f"pass --image-size to resize them all")
    size = image_size or sizes[0][1]
    halves = [(w // 2, h) for w, h in sizes]
    out = (size, size, channels)
    return np.array([str(p) for p in files]), images.decoded_shape(halves), (out, out)


def _two_folders(spec, folder_a: Path, folder_b: Path, image_size, channels):
    """((paths of A, paths of B), each side's shape as fit_image takes it, (A's shape, B's shape))."""
    files_a, files_b = _files(spec, folder_a), _files(spec, folder_b)
    names_b = {p.name for p in files_b}
    missing = [p.name for p in files_a if p.name not in names_b]
    extra = sorted(names_b - {p.name for p in files_a})
    if missing or extra:
        which = (f"{missing[0]} is in {folder_a} but not in {folder_b}" if missing
                 else f"{extra[0]} is in {folder_b} but not in {folder_a}")
        raise DataError(f"--dataset {spec}: the two folders must hold the same file names; {which} "
                        f"({len(missing) + len(extra)} unmatched)")
    paths, shapes, out = [], [], []
    for folder in (folder_a, folder_b):
        files = [folder / p.name for p in files_a]
        grey, sizes = images.image_headers(spec, files)
        if image_size is None and len(set(sizes)) > 1:
            odd = next(p for p, size in zip(files, sizes) if size != sizes[0])
            raise DataError(f"--dataset {spec}: {odd} is not the size of {files[0].name}; pass --image-size")
        size = image_size or sizes[0][1]
        paths.append(np.array([str(p) for p in files]))
        shapes.append(images.decoded_shape(sizes))
        out.append((size, size, channels or (1 if all(grey) else 3)))
    return tuple(paths), tuple(shapes), tuple(out)


# --- edges2digits ---------------------------------------------------------------------------


def edge_maps(digits: np.ndarray) -> np.ndarray:
    """Edge maps uint8 (N, H, W, 1), 255 on edges, of digits uint8 (N, H, W, 1): Sobel gradient
    magnitude of the image in [0, 1] above EDGE_THRESHOLD (tf.image.sobel_edges pads by reflection)."""
    x = tf.constant(digits, tf.float32) / 255.0
    sobel = tf.image.sobel_edges(x)  # (N, H, W, 1, 2): d/dy, d/dx
    magnitude = tf.norm(sobel, axis=-1)  # (N, H, W, 1)
    return tf.cast(tf.where(magnitude > EDGE_THRESHOLD, 255, 0), tf.uint8).numpy()


def edges2digits(spec: str, part: str = "train", *, image_size: int | None = None, data_dir: str | None = None):
    """(edges uint8 (N, S, S, 1), digits uint8 (N, S, S, 1), labels int32 (N,)) of a labelled
    single-channel image spec, its `part`: "train" (what pix2pix trains on) or "held_out" (the
    splits.HELD_OUT images the classifier never trained on: what pix2pix is scored on).

    Raises:
      DataError: the spec is unusable, unlabelled, not greyscale, or has too few images.
    """
    if part not in ("train", "held_out"):
        raise ValueError(f"part {part!r}: expected train or held_out")
    examples, source = images.load_examples(spec, image_size=image_size, channels=1, data_dir=data_dir)
    if source.num_examples <= splits.HELD_OUT:
        raise DataError(f"--dataset edges2digits:{spec}: {source.num_examples} images; it holds out "
                        f"{splits.HELD_OUT} for scoring, so it needs more (MNIST's test split has 10,000)")
    digits, labels = next(iter(examples.batch(source.num_examples)))
    train, held_out = splits.split_examples(source.num_examples)
    keep = train if part == "train" else held_out
    digits = digits.numpy()[keep]
    return edge_maps(digits), digits, labels.numpy()[keep].astype(np.int32)
