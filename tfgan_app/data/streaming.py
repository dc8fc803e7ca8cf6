"""Prepared TFRecords (records.py) as an endless, reproducible stream of batches, never held whole.

    tfrecords:DIR   a dataset written by `python -m tfgan_app.data.prepare SOURCE --out DIR`:
                    images (image_batches), pairs (pair_batches), two domains (each an
                    image dataset), text, music or captions (decoded_batches); records.py
                    says what each kind holds

Order.  The stream visits the examples epoch by epoch; data epoch e is

    shards in the order of a stateless permutation of (seed, e)
    -> read C = min(4, S) shards at a time, one record from each in turn (a fixed interleave)
    -> cut into windows of K records (--shuffle-buffer), each window's records permuted by a
       stateless permutation of (seed, e, window)

and batch b holds positions b*B .. b*B+B-1 of the endless sequence (batches straddle epochs,
as the in-memory sources' do).  Every choice is a pure function of (seed, e, window): no
tf.data `shuffle` (which mixes TF's global seed into its own), no core-count-dependent
interleave.  So the sequence depends only on the files, the seed and K -- and a run resumed at
batch k reads the records before position k*B once more (without decoding them) and goes on
with the very batches an uninterrupted run would have seen.

`prepare` writes the examples of random-access sources in a seeded random order, so a shard
holds a random sample of the dataset; the window permutation then mixes C shards' records,
and the shard permutation changes which records share a window from one epoch to the next.
Memory: one window of serialized records (K x record bytes) plus tf.data's prefetch, whatever
the dataset's size (measured in benchmarks/input_pipeline.py).
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_app.data import records
from tfgan_app.data.errors import DataError

SCHEMES = ("tfrecords",)
SPEC_FORMS = "tfrecords:DIR"
CYCLE = 4                # shards read at a time (fixed: a core-count-dependent cycle would change the order)
SHARD_SALT = 0x5A4D      # third seed word of the shard permutation
WINDOW_SALT = 1 << 40    # + window index: the third seed word of a window's permutation (never SHARD_SALT)


def permutation(n, seed_words) -> tf.Tensor:
    """A stateless permutation of 0..n-1 (n a scalar tensor or int) keyed by 3 int64 seed words."""
    n = tf.cast(n, tf.int64)
    seeds = tf.tile(tf.reshape(tf.cast(tf.stack(seed_words), tf.int64), [1, 3]), tf.stack([n, 1]))  # (n, 3)
    # tf.random.experimental.index_shuffle mis-pads a batch of seeds: call the op (as images.py does).
    return tf.raw_ops.RandomIndexShuffle(index=tf.range(n), seed=seeds, max_index=tf.fill([n], n - 1), rounds=4)


def shard_order(description: records.Description, epoch, *, seed: int, worker: int = 0, workers: int = 1):
    """The shards data epoch `epoch` reads (indices into description.shards): all of them in the
    order of a permutation of (seed, epoch), or worker w's share of that order, [w::W]."""
    order = permutation(len(description.shards), [tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64),
                                                  tf.constant(SHARD_SALT, tf.int64)])
    return order[worker::workers]


def epoch_records(description: records.Description, epoch, *, seed: int, window: int, worker: int = 0,
                  workers: int = 1) -> tf.data.Dataset:
    """The serialized records of data epoch `epoch` (of worker w's shards when W > 1), in the order
    the module docstring gives."""
    files = tf.constant(description.paths())
    seed = tf.constant(int(seed), tf.int64)
    epoch = tf.cast(epoch, tf.int64)
    order = shard_order(description, epoch, seed=seed, worker=worker, workers=workers)
    cycle = min(CYCLE, -(-len(description.shards) // workers))
    stream = (tf.data.Dataset.from_tensor_slices(tf.gather(files, order))
              .interleave(tf.data.TFRecordDataset, cycle_length=cycle, block_length=1,
                          num_parallel_calls=cycle, deterministic=True))

    def shuffle(window_records, index):  # (<=K,) -> the same records, permuted by (seed, epoch, window)
        words = [seed, epoch, tf.constant(WINDOW_SALT, tf.int64) + index * workers + worker]
        return tf.gather(window_records, permutation(tf.shape(window_records)[0], words))

    windows = tf.data.Dataset.zip(stream.batch(int(window)), tf.data.Dataset.counter())
    return windows.map(shuffle).unbatch()


def locate(description: records.Description, position: int, *, seed: int, worker: int = 0,
           workers: int = 1) -> tuple[int, int]:
    """Where record `position` of a worker's endless sequence falls.

    One reader's epochs all hold N records; worker w of W reads the shards [w::W] of each
    epoch's order, whose sizes may differ by one record each, so its epochs are walked.

    Returns:
      (data epoch, records of that epoch before the position).
    """
    if workers == 1:
        return divmod(int(position), description.num_examples)
    counts = tf.constant([s.num_examples for s in description.shards], tf.int64)
    epoch, position = 0, int(position)
    while True:
        size = int(tf.reduce_sum(tf.gather(counts, shard_order(description, epoch, seed=seed, worker=worker,
                                                               workers=workers))))
        if position < size:
            return epoch, position
        epoch, position = epoch + 1, position - size


def record_batches(description: records.Description, *, batch_size: int, seed: int, window: int,
                   start_batch: int = 0, worker: int = 0, workers: int = 1) -> tf.data.Dataset:
    """Batches of serialized records from batch `start_batch` of the endless sequence.

    Args:
      description: the prepared dataset.
      batch_size: records per batch B.
      seed: the order's seed.
      window: records shuffled together (--shuffle-buffer).
      start_batch: batches already consumed (a resumed run's), skipped by reading them again.
      worker, workers: file sharding: read only the shards [worker::workers] of each epoch's order.
    Returns:
      an endless dataset of (B,) strings.
    Raises:
      DataError: a window < 1, or more workers than shards.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise DataError(f"--shuffle-buffer {window!r}: expected a positive integer")
    if workers > len(description.shards):
        raise DataError(f"--data-sharding file: {workers} workers but {len(description.shards)} shards in "
                        f"{description.directory}; prepare at least one shard per worker, or use --data-sharding data")
    first_epoch, skip = locate(description, int(start_batch) * int(batch_size), seed=seed, worker=worker,
                               workers=workers)
    ds = (tf.data.Dataset.counter(start=first_epoch)
          .flat_map(lambda e: epoch_records(description, e, seed=seed, window=window, worker=worker,
                                            workers=workers))
          .skip(skip)  # the records of this epoch already trained on: read again, never decoded
          .batch(int(batch_size), drop_remainder=True))
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options)


def decoded_batches(description: records.Description, decode, *, batch_size: int, seed: int, window: int,
                    start_batch: int = 0, worker: int = 0, workers: int = 1) -> tf.data.Dataset:
    """`record_batches`, each batch of records mapped by `decode(serialized (B,)) -> tensors`."""
    serialized = record_batches(description, batch_size=batch_size, seed=seed, window=window,
                                start_batch=start_batch, worker=worker, workers=workers)
    return serialized.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


def with_batch_index(batches: tf.data.Dataset, start_batch: int) -> tf.data.Dataset:
    """(batch, its index in the endless stream) pairs, for draws of (seed, batch index) such as
    the translation sources' jitter."""
    return tf.data.Dataset.zip(batches, tf.data.Dataset.counter(start=int(start_batch)))


def to_float(pixels):
    """uint8 pixels -> float32 in [-1, 1] as x / 127.5 - 1 (what the in-memory sources give)."""
    return tf.cast(pixels, tf.float32) / 127.5 - 1.0


def image_batches(description: records.Description, *, batch_size: int, seed: int, window: int,
                  start_batch: int = 0, worker: int = 0, workers: int = 1) -> tf.data.Dataset:
    """`record_batches` of a prepared image dataset, decoded as `images.image_batches` gives them.

    Returns:
      an endless dataset of (images float32 (B, H, W, C) in [-1, 1] as x / 127.5 - 1,
      labels int32 (B,), -1 when unlabeled).
    Raises:
      DataError: as record_batches.
    """
    def decode(batch):
        image, label = records.parse(batch, description)  # (B, H, W, C) uint8, (B,) int32
        return to_float(image), label

    return decoded_batches(description, decode, batch_size=batch_size, seed=seed, window=window,
                           start_batch=start_batch, worker=worker, workers=workers)


def pair_batches(description: records.Description, *, batch_size: int, seed: int, window: int,
                 start_batch: int = 0) -> tf.data.Dataset:
    """`record_batches` of a prepared paired dataset (records.pair_description).

    Returns:
      an endless dataset of (inputs float32 (B, S, S, Ca), targets float32 (B, S, S, Cb)) in [-1, 1].
    """
    def decode(batch):
        inputs, targets = records.parse(batch, description)  # uint8 (B, S, S, Ca), (B, S, S, Cb)
        return to_float(inputs), to_float(targets)

    return decoded_batches(description, decode, batch_size=batch_size, seed=seed, window=window,
                           start_batch=start_batch)


def is_prepared(spec) -> bool:
    """Whether `spec` names a prepared dataset (tfrecords:DIR), of any kind."""
    return str(spec).partition(":")[0] in SCHEMES


def directory_of(spec: str) -> str:
    """DIR of `tfrecords:DIR`.

    Raises:
      DataError: spec is not of that form.
    """
    scheme, _, directory = str(spec).partition(":")
    if scheme not in SCHEMES or not directory:
        raise DataError(f"--dataset {spec!r}: expected {SPEC_FORMS}")
    return directory


def open_images(spec: str, *, image_size: int = 0, channels: int = 0) -> records.Description:
    """The description of `tfrecords:DIR`, checked to hold images (and labels) of the asked shape.

    Raises:
      DataError: not a prepared image dataset, or --image-size/--channels differ from its images.
    """
    directory = directory_of(spec)
    description = records.image_description(directory)
    check_shape(description.features["image"]["shape"], directory, image_size=image_size, channels=channels)
    return description


def check_shape(shape, directory, *, image_size: int = 0, channels: int = 0, what: str = "images",
                hint: str = "") -> None:
    """Refuses an --image-size or --channels that the prepared images (of `shape` [H, W, C]) do
    not have: a prepared dataset is read as written, never resized.  `what` names them in the
    message (e.g. "target images"); `hint` replaces the advice on --channels.

    Raises:
      DataError: naming the flag, what the records hold and how to get what was asked.
    """
    h, w, c = shape
    if image_size and (h, w) != (image_size, image_size):
        raise DataError(f"--image-size {image_size}: the records in {directory} hold {h}x{w} {what}; use "
                        f"--image-size {h}, or prepare them again with --image-size {image_size}")
    if channels and c != channels:
        raise DataError(f"--channels {channels}: the records in {directory} hold {c}-channel {what}; "
                        + (hint or f"use --channels {c}, or prepare them again with --channels {channels}"))
