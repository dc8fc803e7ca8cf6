"""Two unpaired image domains for CycleGAN: batches of (images of A, images of B).

A dataset spec names the two domains:

    domains:A,B                    two image sources: directories of image files, or any image
                                   spec of data/images.py (folder:DIR, npz:FILE, mnist-idx:DIR,
                                   tfds:NAME:SPLIT); labels are ignored
    domains:tfds:cycle_gan/NAME    a tensorflow-datasets CycleGAN dataset (horse2zebra,
                                   monet2photo, ...): its trainA and trainB splits
    digits2mnist:SPEC              scikit-learn's 1,797 bundled 8x8 handwritten digits (A),
                                   upsampled, against the MNIST digits of SPEC (B; e.g.
                                   mnist-idx:DIR): two real domains of the same ten classes
    tfrecords:DIR                  two domains prepared from one of the above (`python -m
                                   tfgan_app.data.prepare domains:A,B --out DIR`), streamed
                                   from their shards, never held whole (streaming.py)

A domain named as a prepared image dataset (domains:tfrecords:DIR_A,tfrecords:DIR_B) is read
whole, as every other domain spec: prepare the two domains together to stream them.

The two domains are drawn independently: each in its own stateless order (the run's seed
for A, seed + DOMAIN_B_SEED for B), so a resumed run sees the same batches.  Each batch gets
the random jitter of the CycleGAN code (resize up, random crop, random mirror: the pix2pix
recipe of data/paired.py), A and B each their own.

digits2mnist: an 8x8 digit (values 0..16) is scaled to 0..255 and resized to 20x20
(bilinear, antialiased), then padded by 4 pixels each side to 28x28: MNIST's own framing
(its digits fit a 20x20 box in a 28x28 image).  DIGITS_HELD_OUT of them (a seeded third) are
kept out of training: the CycleGAN benchmark translates those.  B is MNIST's training part of
data/splits.py (the images the project's classifier trains on).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf

from tfgan_app.data import images, paired, records, splits, streaming
from tfgan_app.data.images import DataError

SCHEMES = ("domains", "digits2mnist")
SPEC_FORMS = ("domains:A,B (two folders or image specs), domains:tfds:cycle_gan/NAME, digits2mnist:SPEC, "
              "tfrecords:DIR (prepared from one of them)")
DOMAIN_B_SEED = 0x3B0B  # B's data order: the run's seed + this
JITTER_SALT = 0x9A18
DIGITS_HELD_OUT = 597   # a third of scikit-learn's 1,797 digits, for scoring
DIGIT_BOX, DIGIT_SIDE = 20, 28  # MNIST's framing


@dataclasses.dataclass
class UnpairedStream:
    batches: Callable[[int], tf.data.Dataset]  # start_batch -> (images of A, images of B) float32 in [-1, 1]
    shape: dict                                # {"a": (S, S, Ca), "b": (S, S, Cb)}
    names: tuple                               # what A and B are


def open_domains(config) -> UnpairedStream:
    """batch_size images of each domain per step (n_critic x that), jittered.

    Raises:
      DataError: an unknown spec, a domain with no images, bad files.
    """
    if streaming.is_prepared(config.dataset):
        return _prepared_domains(config)
    a, b, names = load_domains(config.dataset, image_size=config.image_size or None,
                               channels=config.channels or None, data_dir=config.data_dir or None)
    per_step = config.batch_size * config.n_critic

    def stream(x, seed, salt):
        examples = tf.data.Dataset.from_tensor_slices((x, np.full(len(x), -1, np.int32)))
        source = images.ImageSource("", len(x), 0, x.shape[1:])
        transform = _jitter(config, seed, salt)
        return lambda start: images.batches_of(examples, source, batch_size=per_step, seed=seed, start_batch=start,
                                               transform=lambda batch, _labels, index: transform(batch, index))

    return _two_streams(stream(a, config.seed, JITTER_SALT), stream(b, config.seed + DOMAIN_B_SEED, JITTER_SALT + 1),
                        a.shape[1:], b.shape[1:], names)


def _prepared_domains(config) -> UnpairedStream:
    """open_domains of `tfrecords:DIR` prepared from two domains (records.describe_domains): each
    part streamed in its own order (streaming.py), jittered as the in-memory domains are."""
    parts = records.describe_domains(streaming.directory_of(config.dataset))
    per_step = config.batch_size * config.n_critic
    for d in parts.values():
        streaming.check_shape(d.features["image"]["shape"], d.directory, image_size=config.image_size,
                              channels=config.channels)

    def stream(description, seed, salt):
        transform = _jitter(config, seed, salt)

        def batches(start: int) -> tf.data.Dataset:
            ds = streaming.image_batches(description, batch_size=per_step, seed=seed, window=config.shuffle_buffer,
                                         start_batch=start)
            return streaming.with_batch_index(ds, start).map(lambda xy, index: transform(xy[0], index))

        return batches

    a, b = parts["a"], parts["b"]
    return _two_streams(stream(a, config.seed, JITTER_SALT), stream(b, config.seed + DOMAIN_B_SEED, JITTER_SALT + 1),
                        a.features["image"]["shape"], b.features["image"]["shape"], (a.source, b.source))


def _jitter(config, seed: int, salt: int):
    """(batch of one domain, batch index) -> the batch jittered by draws of (seed, index, salt)."""
    def transform(batch, index):
        pair = tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])
        return paired.jitter(batch, tf.random.experimental.stateless_fold_in(pair, salt), config.jitter, config.mirror)

    return transform


def _two_streams(stream_a, stream_b, shape_a, shape_b, names) -> UnpairedStream:
    def batches(start_batch: int) -> tf.data.Dataset:
        return tf.data.Dataset.zip(stream_a(start_batch), stream_b(start_batch))

    shape = {"a": tuple(int(d) for d in shape_a), "b": tuple(int(d) for d in shape_b)}
    return UnpairedStream(batches, shape, names)


def load_domains(spec: str, *, image_size=None, channels=None, data_dir=None):
    """(A uint8 (Na, S, S, Ca), B uint8 (Nb, S, S, Cb), (name of A, name of B)) of a spec.

    Raises:
      DataError: the spec or a domain is not usable (the message names it).
    """
    scheme, _, arg = str(spec).partition(":")
    if scheme not in SCHEMES or not arg:
        raise DataError(f"--dataset {spec!r}: expected one of {SPEC_FORMS}")
    if scheme == "digits2mnist":
        a, _ = sklearn_digits("train")
        b = mnist_training_digits(arg, data_dir)
        return a, b, ("scikit-learn digits (upsampled to 28x28)", f"MNIST: {arg}")
    spec_a, spec_b = domain_specs(spec)
    return (_domain(spec, spec_a, image_size, channels, data_dir), _domain(spec, spec_b, image_size, channels, data_dir),
            (spec_a, spec_b))


def domain_examples(spec, part: str, *, image_size=None, channels=None, data_dir=None, order_seed=None):
    """One domain of `spec` as images.load_examples gives it: (examples, ImageSource), read as a
    stream (a directory is folder:DIR; order_seed as load_examples takes it).

    Raises:
      DataError: the domain is not usable (the message names the spec and the domain).
    """
    if part.partition(":")[0] not in images.SCHEMES:
        if not Path(part).expanduser().is_dir():
            raise DataError(f"--dataset {spec}: domain {part!r} is neither a directory nor an image spec "
                            f"({images.SPEC_FORMS})")
        part = f"folder:{part}"
    try:
        return images.load_examples(part, image_size=image_size, channels=channels, data_dir=data_dir,
                                    order_seed=order_seed)
    except DataError as e:
        raise DataError(f"--dataset {spec}: domain {part}: {str(e).partition(': ')[2] or e}") from None


def domain_specs(spec: str) -> tuple[str, str]:
    """The two image specs of domains:A,B or domains:tfds:cycle_gan/NAME.

    Raises:
      DataError: neither form.
    """
    scheme, _, arg = str(spec).partition(":")
    if scheme != "domains" or not arg:
        raise DataError(f"--dataset {spec!r}: expected one of {SPEC_FORMS}")
    if "," in arg:
        spec_a, _, spec_b = arg.partition(",")
        return spec_a, spec_b
    if arg.startswith("tfds:cycle_gan/"):
        return f"{arg}:trainA", f"{arg}:trainB"
    raise DataError(f"--dataset {spec!r}: name two domains, domains:A,B (or domains:tfds:cycle_gan/NAME)")


def _domain(spec, part: str, image_size, channels, data_dir) -> np.ndarray:
    """All images of one domain, uint8 (N, S, S, C)."""
    examples, source = domain_examples(spec, part, image_size=image_size, channels=channels, data_dir=data_dir)
    x, _ = next(iter(examples.batch(source.num_examples)))
    return x.numpy()


def sklearn_digits(part: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's handwritten digits in MNIST's framing: (images uint8 (N, 28, 28, 1), labels
    int32 (N,)), `part` "train" (1,200) or "held_out" (DIGITS_HELD_OUT, seeded), or "all"."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = tf.constant(digits.images[..., None] * (255.0 / 16.0), tf.float32)  # (1797, 8, 8, 1) in 0..255
    box = tf.image.resize(x, (DIGIT_BOX, DIGIT_BOX), antialias=True)
    pad = (DIGIT_SIDE - DIGIT_BOX) // 2
    x = tf.pad(tf.round(tf.clip_by_value(box, 0.0, 255.0)), [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    x, y = x.numpy().astype(np.uint8), digits.target.astype(np.int32)
    if part == "all":
        return x, y
    train, held_out = splits.split_examples(len(x), DIGITS_HELD_OUT)
    keep = {"train": train, "held_out": held_out}[part]
    return x[keep], y[keep]


def mnist_training_digits(spec: str, data_dir: str | None = None) -> np.ndarray:
    """The MNIST images of `spec` the project's classifier trains on (splits.py), uint8 (N, 28, 28, 1)."""
    examples, source = images.load_examples(spec, channels=1, data_dir=data_dir)
    x, _ = next(iter(examples.batch(source.num_examples)))
    if source.num_examples > splits.HELD_OUT:
        x = tf.gather(x, splits.split_examples(source.num_examples)[0])
    return x.numpy()
