"""Sharded TFRecords: a dataset written once, then read as a stream that never holds it whole.

    write(examples, out, ...)   a finite dataset of example tuples -> DIR/shard-*.tfrecord + DIR/dataset.json
    describe(DIR)               dataset.json read and checked against its shards (cheap: sizes, one record each)
    verify(DIR)                 every shard's sha256 against dataset.json (a full read)
    kind_of(DIR)                what the dataset holds: images, pairs, domains, text, music or captions (below)
    parse(serialized, desc)     a batch of records (B,) -> a tuple of tensors (B, ...)

The format is plain TFRecord files of `tf.train.Example`s, one feature per tensor of the
example, each holding that tensor's raw bytes (little-endian), or for a string tensor its
strings (UTF-8, one value each); `dataset.json` names the
features with their dtype and shape, so a batch decodes with one `parse_example` and one
`decode_raw` per numeric feature, and nothing is lost (no JPEG: the pixels read back are the pixels
written).  No compression: a compressed shard is one zlib stream that a resumed run would
have to inflate to skip records.

    dataset.json = {"format": "tfgan-tfrecords/1", "kind": "images", "source": SPEC, "num_examples": N,
                    "num_classes": K, "features": {"image": {"dtype": "uint8", "shape": [H, W, C]},
                    "label": {"dtype": "int32", "shape": []}}, "write_seed": S, "tensorflow": VERSION,
                    "shards": [{"file": "shard-00000-of-00016.tfrecord", "num_examples": n,
                                "bytes": b, "sha256": h}, ...]}

The kind says what the examples are, so one `tfrecords:DIR` serves every game that reads
that kind (a description without a kind, as the first prepared datasets were written, holds
images):

    images    image uint8 [H, W, C], label int32 []         (tfds:, mnist-idx:, folder:, npz:)
    pairs     inputs uint8 [S, S, Ca], targets uint8 [S, S, Cb]   (pairs:, edges2digits:)
    domains   no shards of its own: two image datasets in DIR/a and DIR/b, named by
              dataset.json = {"format": ..., "kind": "domains", "source": SPEC,
                              "parts": {"a": NAME_A, "b": NAME_B}, "tensorflow": VERSION}
                                                              (domains:, digits2mnist:)
    text      ids int32 [L]: the training lines as character ids, with "meta": {"seq_len": L,
              "vocab": V, "vocabulary": [code points of ids 2, 3, ...]}, and the held-out lines
              in DIR/held_out, a text dataset of the same meta (pydoc-topics, text:, tfds:lm1b)
    music     bar int8 [16], previous int8 [16], chord int32 []: the training examples (every key),
              with "meta": {"chords": bool}; the training and held-out pieces' bars as the
              evaluation reads them (melody int16 [16], chord int16 [], piece int32 [], previous
              int32 [], in order; "meta": {"part", "names", "chords"}) in DIR/train_bars and
              DIR/held_out_bars (chorales, folk:, midi:)
    captions  image uint8 [S, S, C], captions string [T], classes int32 [], label int32 [], index
              int32 []: the training images, each with its T captions (captions2digits: the
              training phrasings; captions:FILE: T = 1), what the text encoder contrasts
              (classes), the digit (-1: none) and the example's position in the source; with
              "meta": {"captions": "captions2digits" or "captions"}.  captions2digits adds the
              held-out digits in every phrasing (TEMPLATES' order, in order) in DIR/held_out,
              the text encoder's scored sets (captions2digits:, captions:)

Example k of the source goes to shard k mod S, so shard sizes differ by at most one.  A
dataset is written into a temporary directory next to DIR and renamed to DIR when its
description is complete: DIR either holds a whole dataset or does not exist.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_app.data.errors import DataError

FORMAT = "tfgan-tfrecords/1"
DESCRIPTION = "dataset.json"
SHARD_NAME = "shard-{index:05d}-of-{count:05d}.tfrecord"
DTYPES = ("uint8", "int8", "int16", "int32", "int64", "float32")  # what decode_raw reads back exactly
STRING = "string"  # a feature of UTF-8 strings: one value per element of its shape (not raw bytes)
KINDS = ("images", "pairs", "domains", "text", "music", "captions")
PARTS = ("a", "b")  # the parts of a "domains" dataset, each an "images" dataset in its own directory
TEXT_HELD_OUT = "held_out"  # the held-out lines of a "text" dataset: a text dataset in this subdirectory
MUSIC_BARS = ("train_bars", "held_out_bars")  # the pieces' bars of a "music" dataset, in these subdirectories
CAPTIONS_HELD_OUT = "held_out"  # the held-out digits of a "captions" dataset (captions2digits only)
INNER_PARTS = {"text": (TEXT_HELD_OUT,), "music": MUSIC_BARS,
               "captions": (CAPTIONS_HELD_OUT,)}  # kind -> its datasets inside its directory


@dataclasses.dataclass(frozen=True)
class Shard:
    file: str          # name inside the dataset directory
    num_examples: int
    bytes: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class Description:
    """A prepared dataset: what dataset.json says, with the directory it was read from."""
    directory: Path
    source: str                 # the spec it was prepared from
    num_examples: int
    num_classes: int            # label values 0..K-1 (0: unlabeled)
    features: dict              # name -> {"dtype": str, "shape": [int, ...]}, in example order
    shards: tuple               # of Shard
    write_seed: int
    tensorflow: str
    kind: str = "images"        # KINDS
    meta: dict = dataclasses.field(default_factory=dict)  # what a kind needs besides its records (text: vocabulary)

    def paths(self) -> list[str]:
        return [str(self.directory / s.file) for s in self.shards]

    def to_json(self) -> dict:
        return {"format": FORMAT, "kind": self.kind, "source": self.source, "num_examples": self.num_examples,
                "num_classes": self.num_classes, "features": self.features, "write_seed": self.write_seed,
                "tensorflow": self.tensorflow, "shards": [dataclasses.asdict(s) for s in self.shards],
                **({"meta": self.meta} if self.meta else {})}


def where(directory) -> str:
    return f"--dataset tfrecords:{directory}"


# --- writing --------------------------------------------------------------------------------


def write(examples: tf.data.Dataset, out, *, names: tuple, shards: int, source: str, num_classes: int,
          write_seed: int = 0, kind: str = "images", meta: dict | None = None, inside=None,
          chunk: int = 512) -> Description:
    """Writes a finite dataset of example tuples as `shards` TFRecord files and dataset.json.

    Args:
      examples: a finite dataset of tuples of tensors with fixed shapes, in the order to write.
      out: the dataset directory to create (must not exist, or be empty).
      names: a feature name per tensor of an example, e.g. ("image", "label").
      shards: number of files S (example k goes to file k mod S).
      source, num_classes, write_seed, kind, meta: recorded in dataset.json.
      inside: if given, `inside(directory)` writes more into the dataset's directory (a part of
        it, e.g. text's held_out) before it is renamed into place.
      chunk: examples converted to NumPy at a time (memory is bounded by it, not by the dataset).
    Returns:
      the Description written.
    Raises:
      DataError: `out` is not empty, shards < 1, no examples, or more shards than examples.
    """
    out = check_out(out)
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise DataError(f"--shards {shards!r}: expected a positive integer")
    specs = examples.element_spec if isinstance(examples.element_spec, tuple) else (examples.element_spec,)
    if len(specs) != len(names):
        raise ValueError(f"{len(names)} names for examples of {len(specs)} tensors")
    features = {}
    for name, spec in zip(names, specs):
        if spec.dtype.name not in DTYPES + (STRING,) or not spec.shape.is_fully_defined() \
                or (spec.dtype.name == STRING and spec.shape.rank > 1):
            raise DataError(f"{source}: feature {name!r} is {spec.dtype.name} {spec.shape}; expected a fixed "
                            f"shape of {', '.join(DTYPES)}, or strings of rank 0 or 1")
        features[name] = {"dtype": spec.dtype.name, "shape": [int(d) for d in spec.shape]}

    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        files = [SHARD_NAME.format(index=i, count=shards) for i in range(shards)]
        writers = [tf.io.TFRecordWriter(str(temp / f)) for f in files]
        counts = [0] * shards
        k = 0
        for batch in examples.batch(chunk):
            arrays = [np.asarray(t) for t in (batch if isinstance(batch, tuple) else (batch,))]
            for row in range(len(arrays[0])):
                example = tf.train.Example(features=tf.train.Features(feature={
                    name: tf.train.Feature(bytes_list=tf.train.BytesList(value=_values(a[row])))
                    for name, a in zip(names, arrays)}))
                writers[k % shards].write(example.SerializeToString())
                counts[k % shards] += 1
                k += 1
        for w in writers:
            w.close()
        for f in files:
            _fsync(temp / f)
        if k == 0:
            raise DataError(f"{source}: no examples to write")
        if k < shards:
            raise DataError(f"--shards {shards}: more shards than the {k} examples of {source}")
        description = Description(
            directory=out, source=source, num_examples=k, num_classes=int(num_classes), features=features,
            shards=tuple(Shard(f, c, (temp / f).stat().st_size, _sha256(temp / f)) for f, c in zip(files, counts)),
            write_seed=int(write_seed), tensorflow=tf.__version__, kind=kind, meta=dict(meta or {}))
        if inside is not None:
            inside(temp)
        _publish(temp, description.to_json(), out)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return description


def _values(a: np.ndarray) -> list[bytes]:
    """A tensor's values in a record: its strings (a string tensor), else its little-endian bytes."""
    a = np.asarray(a)  # a rank-0 string is a bare bytes object
    if a.dtype == object:  # tf.string as NumPy: bytes objects
        return [bytes(v) for v in np.ravel(a)]
    return [a.astype(a.dtype.newbyteorder("<")).tobytes()]


def write_domains(write_part, out, *, source: str, names: dict) -> dict:
    """Writes a "domains" dataset: `write_part(part, directory)` writes each part of PARTS as an
    images dataset (returning its Description) into DIR/part; then dataset.json names them.
    The whole is written in a temporary directory and renamed, as `write` does.

    Returns:
      {part: Description}, their directories inside `out`.
    Raises:
      DataError: `out` is not empty, or as write_part.
    """
    out = check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for part in PARTS:
            write_part(part, temp / part)
        _publish(temp, {"format": FORMAT, "kind": "domains", "source": source,
                        "parts": {part: str(names[part]) for part in PARTS}, "tensorflow": tf.__version__}, out)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return describe_domains(out)


def _publish(temp: Path, description: dict, out: Path) -> None:
    """Writes `description` as temp's dataset.json, flushes it, and renames temp to `out` (empty
    or absent): `out` then holds a whole dataset, or nothing was published."""
    (temp / DESCRIPTION).write_text(json.dumps(description, indent=1) + "\n")
    _fsync(temp / DESCRIPTION)
    if out.exists():
        out.rmdir()  # empty (checked by check_out)
    os.replace(temp, out)


def check_out(out) -> Path:
    """`out` as a Path, refused unless it is absent or an empty directory (a dataset is never
    written over another)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"--out {out}: exists and is not an empty directory; choose a new one")
    return out


def _fsync(path: Path) -> None:
    """Flushes a written file to the disk, so the rename publishes only what is there."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- reading ----------------------------------------------------------------------------------


def _read_json(directory) -> tuple[Path, dict]:
    """(path, contents) of directory's dataset.json, its format checked."""
    directory = Path(directory).expanduser()
    at = where(directory)
    if not directory.is_dir():
        raise DataError(f"{at}: directory does not exist")
    path = directory / DESCRIPTION
    if not path.is_file():
        raise DataError(f"{at}: no {DESCRIPTION}; write the dataset with `python -m tfgan_app.data.prepare "
                        f"SOURCE --out {directory}`")
    try:
        raw = json.loads(path.read_text())
    except ValueError as e:
        raise DataError(f"{at}: {path} is not a dataset description ({type(e).__name__}: {e}); write the "
                        f"dataset again with `python -m tfgan_app.data.prepare`") from None
    if not isinstance(raw, dict):
        raise DataError(f"{at}: {path} is not a JSON object; write the dataset again with "
                        f"`python -m tfgan_app.data.prepare`")
    if raw.get("format") != FORMAT:
        raise DataError(f"{at}: {path} is format {raw.get('format')!r}; expected {FORMAT!r}")
    kind = _kind(raw)
    if kind not in KINDS:
        raise DataError(f"{at}: {path} holds data of kind {kind!r}; this version reads {', '.join(KINDS)}")
    return path, raw


def _kind(raw: dict) -> str:
    return raw.get("kind", "images")  # the first prepared datasets had no kind: they hold images


def kind_of(directory) -> str:
    """What a prepared dataset holds (KINDS), from its dataset.json.

    Raises:
      DataError: no directory or dataset.json there, not a JSON object, another format, or a
        kind this version does not read.
    """
    return _kind(_read_json(directory)[1])


def describe_domains(directory) -> dict:
    """{part: Description} of a "domains" dataset, each part an images dataset (image_description).

    Raises:
      DataError: not a domains dataset, or a part is not a whole images dataset.
    """
    directory = Path(directory).expanduser()
    path, raw = _read_json(directory)
    kind = _kind(raw)
    if kind != "domains":
        raise DataError(f"{where(directory)}: holds {kind}; expected two domains (prepared from domains:A,B or "
                        f"digits2mnist:SPEC)")
    return {part: image_description(directory / part) for part in PARTS}


def describe(directory) -> Description:
    """dataset.json of `directory`, checked against the files: each shard exists with the size it
    says, the counts add up to num_examples > 0, and each shard's first record decodes to the
    features' shapes.  (Cheap: no shard is read in full; `verify` does that.)

    Raises:
      DataError: naming the file and what is wrong.
    """
    directory = Path(directory).expanduser()
    at = where(directory)
    path, raw = _read_json(directory)
    if _kind(raw) == "domains":
        raise DataError(f"{at}: holds two domains, in {directory / PARTS[0]} and {directory / PARTS[1]}; "
                        f"read it as unpaired data (--game cyclegan)")
    try:
        shards = tuple(Shard(str(s["file"]), int(s["num_examples"]), int(s["bytes"]), str(s["sha256"]))
                       for s in raw["shards"])
        features = {str(name): {"dtype": str(f["dtype"]), "shape": [int(d) for d in f["shape"]]}
                    for name, f in raw["features"].items()}
        description = Description(directory.resolve(), str(raw["source"]), int(raw["num_examples"]),
                                  int(raw["num_classes"]), features, shards, int(raw.get("write_seed", 0)),
                                  str(raw.get("tensorflow", "")), str(_kind(raw)),
                                  dict(raw.get("meta", {})))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise DataError(f"{at}: {path} is not a dataset description ({type(e).__name__}: {e}); write the "
                        f"dataset again with `python -m tfgan_app.data.prepare`") from None
    if not shards or description.num_examples <= 0:
        raise DataError(f"{at}: no examples ({path} lists {len(shards)} shards)")
    if sum(s.num_examples for s in shards) != description.num_examples:
        raise DataError(f"{at}: the shards' counts add up to {sum(s.num_examples for s in shards)}, but "
                        f"{DESCRIPTION} says num_examples {description.num_examples}")
    for name, f in features.items():
        if f["dtype"] not in DTYPES + (STRING,):
            raise DataError(f"{at}: feature {name!r} is {f['dtype']}; expected one of {', '.join(DTYPES)} "
                            f"or {STRING}")
    for shard in shards:
        file = directory / shard.file
        if not file.is_file():
            raise DataError(f"{at}: shard {shard.file} is missing (listed in {DESCRIPTION}); prepare the dataset again")
        size = file.stat().st_size
        if size != shard.bytes:
            raise DataError(f"{at}: shard {shard.file} is {size:,} bytes, {DESCRIPTION} says {shard.bytes:,} "
                            f"(truncated or replaced); prepare the dataset again")
        _check_first_record(description, shard)
    return description


def _check_first_record(description: Description, shard: Shard) -> None:
    at = where(description.directory)
    try:
        first = next(iter(tf.data.TFRecordDataset(str(description.directory / shard.file)).take(1)))
        example = tf.train.Example.FromString(first.numpy())
    except (tf.errors.OpError, StopIteration, ValueError) as e:
        raise DataError(f"{at}: shard {shard.file}: cannot read its first record "
                        f"({str(e).splitlines()[0] if str(e) else type(e).__name__}); prepare the dataset again") from None
    for name, f in description.features.items():
        values = example.features.feature[name].bytes_list.value if name in example.features.feature else []
        if f["dtype"] == STRING:
            need = int(np.prod(f["shape"], dtype=np.int64))
            if len(values) != need:
                raise DataError(f"{at}: shard {shard.file}: feature {name!r} holds {len(values)} strings; "
                                f"{tuple(f['shape'])} needs {need} ({DESCRIPTION} does not match its shards)")
            continue
        need = int(np.prod(f["shape"], dtype=np.int64)) * np.dtype(f["dtype"]).itemsize
        if len(values) != 1 or len(values[0]) != need:
            got = f"{len(values[0]):,} bytes" if len(values) == 1 else "no value"
            raise DataError(f"{at}: shard {shard.file}: feature {name!r} holds {got}; {f['dtype']} {tuple(f['shape'])} "
                            f"needs {need:,} ({DESCRIPTION} does not match its shards)")


def image_description(directory) -> Description:
    """`describe`, checked to hold images and labels (image uint8 [H, W, C], label int32 []) as
    prepare writes them from an image source.

    Raises:
      DataError: as describe, or the records hold other features.
    """
    def holds(features, meta):
        return list(features) == ["image", "label"] and features["image"]["dtype"] == "uint8" \
            and len(features["image"]["shape"]) == 3 and features["label"] == {"dtype": "int32", "shape": []}

    return _description_of(directory, "images", holds, "images (image uint8 [H, W, C], label int32 []) as "
                                                        "prepare writes them from an image source")


def pair_description(directory) -> Description:
    """`describe`, checked to hold pairs (inputs uint8 [S, S, Ca], targets uint8 [S, S, Cb]) as
    prepare writes them from a paired source.

    Raises:
      DataError: as describe, or the records hold other features.
    """
    def holds(features, meta):
        return list(features) == ["inputs", "targets"] \
            and all(f["dtype"] == "uint8" and len(f["shape"]) == 3 for f in features.values())

    return _description_of(directory, "pairs", holds, "pairs of images (inputs uint8 [S, S, Ca], targets uint8 "
                                                      "[S, S, Cb]) as prepare writes them from pairs:DIR or "
                                                      "edges2digits:SPEC")


def text_description(directory) -> Description:
    """`describe`, checked to hold lines as ids (ids int32 [L]) with their vocabulary, as prepare
    writes them from a text source.

    Raises:
      DataError: as describe, or the records hold other features.
    """
    def holds(features, meta):
        return list(features) == ["ids"] and features["ids"]["dtype"] == "int32" \
            and len(features["ids"]["shape"]) == 1 and {"seq_len", "vocab", "vocabulary"} <= set(meta)

    return _description_of(directory, "text", holds, "lines as character ids (ids int32 [L] and a vocabulary) as "
                                                     "prepare writes them from a text source (pydoc-topics, "
                                                     "text:FILE, tfds:lm1b)")


def music_description(directory) -> Description:
    """`describe`, checked to hold a music dataset's training examples (bar, previous int8 [16],
    chord int32 []) as prepare writes them from a music source.

    Raises:
      DataError: as describe, or the records hold other features.
    """
    def holds(features, meta):
        return list(features.items()) == [("bar", {"dtype": "int8", "shape": [16]}),
                                          ("previous", {"dtype": "int8", "shape": [16]}),
                                          ("chord", {"dtype": "int32", "shape": []})] and "chords" in meta

    return _description_of(directory, "music", holds, "bars of melody (bar int8 [16], previous int8 [16], chord "
                                                      "int32 []) as prepare writes them from a music source "
                                                      "(chorales, folk:NAME, midi:DIR)")


def bars_description(directory) -> Description:
    """`describe`, checked to hold a music dataset's bars of pieces (DIR/train_bars or
    DIR/held_out_bars).

    Raises:
      DataError: as describe, or the records hold other features.
    """
    def holds(features, meta):
        return list(features.items()) == [("melody", {"dtype": "int16", "shape": [16]}),
                                          ("chord", {"dtype": "int16", "shape": []}),
                                          ("piece", {"dtype": "int32", "shape": []}),
                                          ("previous", {"dtype": "int32", "shape": []})] \
            and {"part", "names", "chords"} <= set(meta)

    return _description_of(directory, "music", holds, "the bars of a music dataset's pieces (melody, chord, piece, "
                                                      "previous) as prepare writes them in DIR/train_bars")


CAPTION_FEATURES = ("image", "captions", "classes", "label", "index")


def captions_description(directory) -> Description:
    """`describe`, checked to hold captioned images (image uint8 [S, S, C], captions string [T],
    classes, label, index int32 []) as prepare writes them from a captioned source: the training
    images, or (DIR/held_out) captions2digits' held-out digits.

    Raises:
      DataError: as describe, or the records hold other features.
    """
    def holds(features, meta):
        return tuple(features) == CAPTION_FEATURES and features["image"]["dtype"] == "uint8" \
            and len(features["image"]["shape"]) == 3 and features["captions"]["dtype"] == STRING \
            and len(features["captions"]["shape"]) == 1 \
            and all(features[k] == {"dtype": "int32", "shape": []} for k in CAPTION_FEATURES[2:]) \
            and meta.get("captions") in ("captions2digits", "captions")

    return _description_of(directory, "captions", holds, "captioned images (image uint8 [S, S, C], captions "
                                                         "string [T], classes, label, index int32 []) as prepare "
                                                         "writes them from captions2digits:SPEC or captions:FILE")


def _description_of(directory, kind: str, holds, expected: str) -> Description:
    """`describe`, refused unless the dataset is of `kind` and holds(features, meta)."""
    description = describe(directory)
    if description.kind != kind or not holds(description.features, description.meta):
        raise DataError(f"{where(directory)}: holds {description.kind} ({_features(description.features)}); "
                        f"expected {expected}")
    return description


def read_all(description: Description) -> tuple:
    """Every record of a dataset in file order, as NumPy arrays (one per feature: (N, *shape)).
    For what is read whole (evaluation's references); training streams (streaming.py)."""
    ds = tf.data.TFRecordDataset(description.paths()).batch(4096).map(lambda b: parse(b, description))
    try:
        parts = [tuple(t.numpy() for t in batch) for batch in ds]
    except tf.errors.OpError:  # a corrupt record (describe checks only each shard's first)
        verify(description.directory)  # names the shard
        raise DataError(f"{where(description.directory)}: a record cannot be read; prepare the dataset again") from None
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(len(description.features)))


def _features(features: dict) -> str:
    return ", ".join(f"{name} {f['dtype']} {f['shape']}" for name, f in features.items())


def verify(directory) -> Description:
    """`describe`, then every shard's sha256 against dataset.json (reads every byte).

    Raises:
      DataError: naming the first shard that differs.
    """
    description = describe(directory)
    for shard in description.shards:
        if _sha256(description.directory / shard.file) != shard.sha256:
            raise DataError(f"{where(description.directory)}: shard {shard.file} is corrupt (its sha256 differs "
                            f"from {DESCRIPTION}'s); prepare the dataset again")
    return description


def verify_dataset(directory) -> list[Description]:
    """`verify` of a dataset of any kind: a domains dataset's two parts, or the dataset itself and
    the parts inside it (INNER_PARTS: text's held-out lines, music's bars, captions' held-out digits).

    Returns:
      the Descriptions verified (one per part).
    """
    kind = kind_of(directory)
    if kind == "domains":
        return [verify(d.directory) for d in describe_domains(directory).values()]
    return [verify(directory)] + [verify(Path(directory) / part) for part in INNER_PARTS.get(kind, ())
                                  if (Path(directory) / part).is_dir()]  # not inside a part itself


def parse(serialized: tf.Tensor, description: Description) -> tuple:
    """Decodes a batch of records.

    Args:
      serialized: (B,) string, records of `description`'s dataset.
      description: what the records hold.
    Returns:
      one tensor per feature, in description.features' order: (B, *shape) of its dtype.
    """
    spec = {name: tf.io.FixedLenFeature(f["shape"] if f["dtype"] == STRING else [], tf.string)
            for name, f in description.features.items()}
    raw = tf.io.parse_example(serialized, spec)
    out = []
    for name, f in description.features.items():
        if f["dtype"] == STRING:  # (B, *shape) already
            out.append(raw[name])
            continue
        values = tf.io.decode_raw(raw[name], tf.dtypes.as_dtype(f["dtype"]), little_endian=True)  # (B, n)
        out.append(tf.reshape(values, tf.concat([tf.shape(serialized)[:1], f["shape"]], 0)))  # (B, *shape)
    return tuple(tf.ensure_shape(t, [serialized.shape[0], *f["shape"]])
                 for t, f in zip(out, description.features.values()))
