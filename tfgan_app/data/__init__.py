"""Data sources: a config's data as an endless stream of batches that resumes exactly.

    open_data(config) -> DataStream(batches(start_batch), shape, num_classes)

Which source opens the data is one lookup in `SOURCES`, keyed by the kind of data:
"toy" for the toy problems, "text" and "music" for those problems, else the scheme of
`--dataset` (the part before its first colon).  Every source's batch i is a pure function of (seed, i), so a resumed run sees the
batches an uninterrupted one would, and every opener decodes its first batch before
returning (a source that cannot be read fails before a run directory is touched).

    toy.py            gaussian1d, sine, ring8, grid25
    images.py         tfds:, mnist-idx:, npz:  -> (images, labels), held in memory; folder: streamed
    records.py        sharded TFRecords: the format `python -m tfgan_app.data.prepare` writes
    streaming.py      tfrecords:                        -> (images, labels), pairs, domains or captions, streamed
    service.py        tfrecords: read by a tf.data service's workers (--data-service), and its servers
    paired.py         pairs:, edges2digits:             -> (input images, target images)
    unpaired.py       domains:, digits2mnist:           -> (images of A, images of B), unpaired
    superres.py       sr:, sr-photos                    -> (low-resolution images, high-resolution crops)
    captions.py       captions2digits:, captions:       -> (images, captions): text-to-image
    text.py           pydoc-topics, text:, tfds:lm1b, tfrecords: -> lines as character ids (--problem text)
    melody.py         chorales, folk:, midi:, tfrecords: -> bars of melody with chords (--problem music)
    midi.py           melodies as Standard MIDI File bytes, in TF ops
    morphometry.py    Morpho-MNIST's thickness, slant and width of a digit (captions2digits' words)
    stacked_mnist.py  Stacked MNIST (written as npz: for the Q4 benchmark)
    splits.py         the held-out part of a dataset the project's classifier never trains on
    cache.py          where derived data (classifiers, measurements) is kept

A game with a new kind of data adds its module here and one line to SOURCES
(docs/adding_a_game.md).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import tensorflow as tf

from tfgan_app.config import Config
from tfgan_app.data import (captions, images, melody, paired, records, service, streaming, superres, text, toy,
                            unpaired)
from tfgan_app.data.errors import DataError


@dataclasses.dataclass
class DataStream:
    """A run's data source, opened once: its batches from any batch index, and what it holds."""
    batches: Callable[[int], tf.data.Dataset]  # start_batch -> batches of n_critic * batch_size examples
    shape: tuple                               # one example's shape (a paired example: the target's)
    num_classes: int                           # label values (0: unlabeled)
    # Reads every file the stream reads and raises DataError naming a bad one (train.py calls it
    # when TensorFlow reports corrupt data mid-run, which names no file).
    verify: Callable[[], object] = lambda: None
    # File sharding (streamed sources): the number of files, and (start_batch, InputContext) ->
    # the per-replica batches of one input pipeline, reading only its files (None: not shardable).
    files: int = 0
    worker_batches: Callable[[int, tf.distribute.InputContext], tf.data.Dataset] | None = None
    # --data-service: (start_batch, job name, batch size) -> batches read through the service
    # (every consumer naming the job shares it).  None: read here.
    service_batches: Callable[[int, str, int], tf.data.Dataset] | None = None


def _labels_if_conditional(config: Config, ds: tf.data.Dataset) -> tf.data.Dataset:
    """(images, labels) batches as the game takes them: unconditional games take the images alone."""
    return ds.map(lambda x, y: x) if config.conditioning == "none" else ds


def _toy(config: Config) -> DataStream:
    per_step = config.batch_size * config.n_critic
    return DataStream(lambda start: toy.toy_batches(config.problem, batch_size=per_step, seed=config.seed,
                                                    start_batch=start),
                      (toy.data_dim(config.problem),), 0)


def _images(config: Config) -> DataStream:
    per_step = config.batch_size * config.n_critic
    if config.dataset.startswith("folder:"):
        return _folder(config)
    examples, source = images.load_examples(config.dataset, image_size=config.image_size or None,
                                            channels=config.channels or None, data_dir=config.data_dir or None)
    check_first_batch(config, examples.take(per_step).batch(per_step))

    def batches(start_batch: int) -> tf.data.Dataset:
        ds = images.batches_of(examples, source, batch_size=per_step, seed=config.seed, start_batch=start_batch)
        return _labels_if_conditional(config, ds)

    return DataStream(batches, source.image_shape, source.num_classes)


def _folder(config: Config) -> DataStream:
    """folder: streamed -- the files are read and decoded as batches need them, in the order the
    in-memory sources use."""
    per_step = config.batch_size * config.n_critic
    folder = images.open_folder(config.dataset, image_size=config.image_size or None,
                                channels=config.channels or None)

    def batches(start_batch: int) -> tf.data.Dataset:
        ds = images.folder_batches(folder, batch_size=per_step, seed=config.seed, start_batch=start_batch)
        return _labels_if_conditional(config, ds)

    check_first_batch(config, batches(0).take(1))
    return DataStream(batches, folder.source.image_shape, folder.source.num_classes)


def _streamed_images(config: Config) -> DataStream:
    per_step = config.batch_size * config.n_critic
    description = streaming.open_images(config.dataset, image_size=config.image_size, channels=config.channels)

    def batches(start_batch: int) -> tf.data.Dataset:
        ds = streaming.image_batches(description, batch_size=per_step, seed=config.seed,
                                     window=config.shuffle_buffer, start_batch=start_batch)
        return _labels_if_conditional(config, ds)

    def worker_batches(start_batch: int, context: tf.distribute.InputContext) -> tf.data.Dataset:
        # This pipeline feeds R / P replicas, each B*k / R examples a step: so its own batch index
        # is start_batch * R / P, over the shards [p::P] of each epoch.
        here = context.num_replicas_in_sync // context.num_input_pipelines
        ds = streaming.image_batches(description, batch_size=per_step // context.num_replicas_in_sync,
                                     seed=config.seed, window=config.shuffle_buffer, start_batch=start_batch * here,
                                     worker=context.input_pipeline_id, workers=context.num_input_pipelines)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF  # sharded above
        ds = ds.with_options(options)
        return _labels_if_conditional(config, ds)

    service_batches = None
    if config.data_service:  # bounded: TF itself would wait an hour, or for ever, for a missing dispatcher
        workers = service.probe(config.data_service, config.worker_timeout)
        stream = service.ServiceStream(config.data_service, description, config.seed, config.shuffle_buffer)

        def service_batches(start_batch: int, job_name: str, batch_size: int) -> tf.data.Dataset:
            n = description.num_examples
            first, last = start_batch * per_step // n, (config.epochs * config.steps_per_epoch * per_step - 1) // n
            # Each service worker drops its last partial batch: up to workers x (B - 1) records a
            # job (more workers may join later), covered by spare epochs.
            spare = max(1, -(-workers * (batch_size - 1) // n))
            ds = service.batches(stream, batch_size=batch_size, first_epoch=first, epochs=last - first + 1 + spare,
                                 job_name=job_name)
            return _labels_if_conditional(config, ds)

    check_first_batch(config, batches(0).take(1))
    shape = tuple(description.features["image"]["shape"])
    return DataStream(batches, shape, description.num_classes, lambda: records.verify(description.directory),
                      len(description.shards), worker_batches, service_batches)


def _prepared(config: Config) -> DataStream:
    """tfrecords:DIR, opened as what its dataset.json says it holds (records.KINDS)."""
    directory = streaming.directory_of(config.dataset)
    kind = records.kind_of(directory)
    if kind == "images":
        return _streamed_images(config)
    if kind not in PREPARED:  # text and music: opened by their --problem
        preset = {"text": "text-wgan-gp", "music": "midinet-chorales"}[kind]
        raise DataError(f"--dataset {config.dataset}: holds {kind}; train it with --problem {kind} (the "
                        f"{preset} preset)")
    if kind == "captions" and config.game != "stackgan":  # its batches hold strings beside the images
        raise DataError(f"--dataset {config.dataset}: holds captioned images; train it with --game stackgan (the "
                        f"stackgan-captions2digits preset)")
    _refuse_sharded_reading(config, kind)
    return _verified_by_checksums(PREPARED[kind](config), directory)


def _verified_by_checksums(stream: DataStream, directory: str) -> DataStream:
    """`stream` of a prepared dataset, its `verify` checking every shard's sha256 (train.py names a
    corrupt shard with it)."""
    return dataclasses.replace(stream, verify=lambda: records.verify_dataset(directory))


def _refuse_sharded_reading(config: Config, kind: str) -> None:
    """File sharding and the tf.data service read prepared images only: refused for other kinds."""
    if config.data_service:
        raise DataError(f"--data-service {config.data_service}: the tf.data service reads prepared images; "
                        f"{config.dataset} holds {kind} (train without --data-service)")
    if config.data_sharding == "file":
        raise DataError(f"--data-sharding file: {config.dataset} holds {kind}, which every worker reads "
                        f"whole; use --data-sharding data (or auto)")


def _problem_source(open_stream: Callable, check_prepared: Callable[[Config], object]):
    """The opener of --problem text or music: its own sources, or tfrecords:DIR prepared from one
    (`check_prepared` refuses another kind, or other settings, before anything else)."""
    def opener(config: Config) -> DataStream:
        if not streaming.is_prepared(config.dataset):
            return _unlabelled(open_stream)(config)
        check_prepared(config)
        _refuse_sharded_reading(config, config.problem)
        return _verified_by_checksums(_unlabelled(open_stream)(config), streaming.directory_of(config.dataset))

    return opener


def _unlabelled(open_stream: Callable) -> Callable[[Config], DataStream]:
    """The opener of a source whose `open_stream(config)` returns its batches and example shape
    (paired, unpaired, super-resolution, captioned): opened, its first batch decoded, no labels."""

    def opener(config: Config) -> DataStream:
        stream = open_stream(config)
        check_first_batch(config, stream.batches(0).take(1))
        return DataStream(stream.batches, stream.shape, 0)

    return opener


# kind of data -> opener(config) -> DataStream.  The kind is "toy" for the toy problems, else
# --dataset's scheme.
SOURCES: dict[str, Callable[[Config], DataStream]] = {
    "toy": _toy,
    **{scheme: _images for scheme in images.SCHEMES},
    **{scheme: _prepared for scheme in streaming.SCHEMES},  # images.load_examples reads prepared images too
    **{scheme: _unlabelled(paired.open_pairs) for scheme in paired.SCHEMES},
    **{scheme: _unlabelled(unpaired.open_domains) for scheme in unpaired.SCHEMES},
    **{scheme: _unlabelled(superres.open_superres) for scheme in superres.SCHEMES},
    **{scheme: _unlabelled(captions.open_captions) for scheme in captions.SCHEMES},
    "text": _problem_source(text.open_text, lambda c: text.prepared_text(c.dataset, c.seq_len, c.vocab)),
    "music": _problem_source(melody.open_melodies, lambda c: melody.prepared_music(c.dataset, c.chords)),
}


# kind of a prepared dataset (tfrecords:DIR, records.KINDS) other than images -> its opener
# (text is opened by --problem text, as every text source).
PREPARED: dict[str, Callable[[Config], DataStream]] = {
    "pairs": _unlabelled(paired.open_pairs),
    "domains": _unlabelled(unpaired.open_domains),
    "captions": _unlabelled(captions.open_captions),
}


def reference_spec(spec: str) -> str:
    """The image spec whose images a game's samples are compared with (evaluate.py): the spec
    itself, or for captioned digits (captions2digits:SPEC) the digits' SPEC."""
    scheme, _, arg = spec.partition(":")
    return arg if scheme == "captions2digits" and arg else spec


def check_first_batch(config: Config, dataset: tf.data.Dataset) -> None:
    """Decodes one batch: a file that cannot be decoded fails now, naming --dataset."""
    try:
        next(iter(dataset))
    except tf.errors.OpError as e:
        raise DataError(f"--dataset {config.dataset}: cannot decode its first examples: "
                        f"{str(e).splitlines()[0]}") from None


def open_data(config: Config) -> DataStream:
    """Opens config's data source (SOURCES) and decodes its first batch.

    Raises:
      DataError: an unknown --dataset scheme, or a source that cannot be read.
    """
    if config.problem in ("text", "music"):
        kind, colon = config.problem, ":"
    else:
        kind, colon, _ = ("toy", "", "") if not config.is_image else str(config.dataset).partition(":")
    if kind not in SOURCES:
        hint = f"; did you mean tfds:{config.dataset}?" if not colon and config.dataset else ""
        raise DataError(f"--dataset {config.dataset!r}: unknown dataset spec; expected one of "
                        f"{images.SPEC_FORMS}, {paired.SPEC_FORMS}, {unpaired.SPEC_FORMS}, "
                        f"{superres.SPEC_FORMS}{hint}")
    return SOURCES[kind](config)


def data_stream(config: Config, start_batch: int = 0):
    """(dataset of batches of n_critic * batch_size examples, data shape, num_classes)."""
    data = open_data(config)
    return data.batches(start_batch), data.shape, data.num_classes


__all__ = ["SOURCES", "DataError", "DataStream", "open_data", "data_stream", "check_first_batch"]
