"""Write a dataset as sharded TFRecords that `--dataset tfrecords:DIR` streams.

    python -m tfgan_app.data.prepare SOURCE --out DIR [--shards 16] [--image-size S] [--channels C] [--seed 0]
    python -m tfgan_app.data.prepare --verify DIR

SOURCE is a spec train.py takes, of one of these kinds (records.py: what each holds):

    images    tfds:NAME[:SPLIT], mnist-idx:DIR, folder:DIR, npz:FILE
    pairs     pairs:DIR, pairs:DIR_A,DIR_B, edges2digits:SPEC       (pix2pix; --direction is chosen
              when training: the records keep A as inputs and B as targets)
    domains   domains:A,B, domains:tfds:cycle_gan/NAME, digits2mnist:SPEC   (CycleGAN: DIR/a, DIR/b)
    text      pydoc-topics, text:FILE, text:DIR, tfds:lm1b[:SPLIT]   (the character WGAN-GP: lines
              as ids of --seq-len and --vocab, which training must then use; held-out lines in
              DIR/held_out)
    music     chorales, folk:NAME[:N], midi:DIR   (MidiNet: the training bars in every key, with
              their chords unless --chords false, which training must then use; the pieces' bars
              for evaluation in DIR/train_bars and DIR/held_out_bars)
    captions  captions2digits:SPEC, captions:FILE   (StackGAN: the training images with their
              captions, what its text encoder contrasts, and the source order; captions2digits'
              held-out digits in every phrasing in DIR/held_out)

Images are cropped, resized and converted exactly as training would do it (the sources'
own loaders), once, and written as raw pixels.  The examples are written in a random order
of --seed, so each shard holds a random sample even of a class-sorted folder; only a tfds:
image source and a prepared one (tfrecords:, read in file order) keep their own order.

An image source, a pairs: folder, each domain of domains: and a caption file's images are
read as streams (files listed and checked, then decoded in tf.data, never held whole); so is
a text source, twice (the vocabulary, then the ids, through a temporary file; of tfds:lm1b,
its first million sentences, as training reads them, or --max-sentences N).  What is made in
memory from a digit dataset (edges2digits:, digits2mnist:, captions2digits:), a tfds: or
tfrecords: domain (permuted in memory) and music are read whole once, by the loader training
uses.  A prepared image dataset (tfrecords:DIR) can be prepared again, e.g. into another
number of shards.  --verify reads every shard (and every part's) and checks it against
dataset.json's sha256.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_app.cli import ArgumentParser
from tfgan_app.data import captions, images, melody, paired, records, streaming, text, unpaired
from tfgan_app.data.errors import DataError

PAIR_ORDER_SALT = 0x9A1D  # the write order of pairs: a permutation of (seed, salt)
DOMAIN_ORDER_SALT = 0x9A1E  # the write order of domain k: a permutation of (seed, salt + k)
TEXT_ORDER_SALT = 0x7E47  # the write order of text lines
MUSIC_ORDER_SALT = 0x3D1  # the write order of the training bars
CAPTION_ORDER_SALT = 0xCA7  # the write order of captioned images
TEXT_CHUNK = 65_536  # lines encoded, and ids read back, at a time by the streamed text prepare


def write_order(n: int, seed: int, salt: int) -> np.ndarray:
    """A permutation of 0..n-1 drawn from (seed, salt): the order examples are written in."""
    return images.visit_order(n, (seed, salt))


def prepare(source: str, out, *, shards: int = 16, image_size: int = 0, channels: int = 0, seed: int = 0,
            data_dir: str = "", seq_len: int | None = None, vocab: int | None = None, chords: bool | None = None,
            max_sentences: int | None = None):
    """Writes `source` to `out` as the kind its scheme reads (records.write); returns the
    Description written, or for two domains {"a": Description, "b": Description}.

    Raises:
      DataError: the source cannot be read, `out` is not empty, the shard count does not fit, or
        a flag does not apply to the source's kind.
    """
    scheme = str(source).partition(":")[0]
    options = dict(image_size=image_size or None, channels=channels or None, data_dir=data_dir or None)
    records.check_out(out)  # before reading the source
    if streaming.is_prepared(source) and records.kind_of(str(source).partition(":")[2]) != "images":
        raise DataError(f"SOURCE {source}: holds {records.kind_of(str(source).partition(':')[2])}; only prepared "
                        f"images can be prepared again (prepare its own source instead)")
    is_text, is_music = text.is_text_spec(source), melody.is_music_spec(source)
    if chords is not None and not is_music:
        raise DataError(f"--chords: SOURCE {source} is not music (chorales, folk:, midi:); leave it out")
    if is_music and (image_size or channels):
        raise DataError(f"--image-size/--channels: SOURCE {source} is music; leave them out")
    if is_text and (image_size or channels):
        raise DataError(f"--image-size/--channels: SOURCE {source} is text; use --seq-len and --vocab")
    if max_sentences is not None and not (is_text and scheme == "tfds"):
        raise DataError(f"--max-sentences: SOURCE {source} is not tfds:lm1b; leave it out")
    if max_sentences is not None and max_sentences < 0:
        raise DataError(f"--max-sentences {max_sentences}: expected a number of sentences, or 0 for all of them")
    if not is_text and (seq_len is not None or vocab is not None):
        raise DataError(f"--seq-len/--vocab: SOURCE {source} is not text (pydoc-topics, text:, tfds:lm1b); "
                        f"leave them out")
    if scheme == "captions2digits" and (image_size or channels):
        raise DataError(f"--image-size/--channels: SOURCE {source} keeps the digits as they are (as training "
                        f"does); leave them out")
    if scheme in captions.SCHEMES:
        return _prepare_captions(source, out, shards=shards, seed=seed, options=options)
    if is_music:
        return _prepare_music(source, out, shards=shards, seed=seed, chords=True if chords is None else chords)
    if scheme in paired.SCHEMES:
        if scheme == "pairs":  # a stream of the files, in a permutation of (seed, salt)
            examples, pairs = paired.pair_examples(source, image_size=image_size or None, channels=channels or None,
                                                   order_seed=(seed, PAIR_ORDER_SALT))
            name = pairs.name
        else:  # edges2digits: made in memory from a digit dataset
            inputs, targets, name = paired.load_pairs(source, **options)
            order = write_order(len(inputs), seed, PAIR_ORDER_SALT)  # a random sample in every shard
            examples = tf.data.Dataset.from_tensor_slices((inputs[order], targets[order]))
        return records.write(examples, out, names=("inputs", "targets"), shards=shards, source=name,
                             num_classes=0, write_seed=seed, kind="pairs")
    if scheme in unpaired.SCHEMES:
        return _prepare_domains(source, out, shards=shards, seed=seed, options=options)
    if is_text:
        return _prepare_text(source, out, shards=shards, seed=seed, seq_len=32 if seq_len is None else seq_len,
                             vocab=2048 if vocab is None else vocab, data_dir=data_dir or None,
                             max_sentences=max_sentences)
    examples, info = images.load_examples(source, order_seed=seed, **options)
    return records.write(examples, out, names=("image", "label"), shards=shards, source=info.name,
                         num_classes=info.num_classes, write_seed=seed)


def _prepare_text(source: str, out, *, shards: int, seed: int, seq_len: int, vocab: int, data_dir,
                  max_sentences: int | None = None) -> records.Description:
    """The training lines of a text source as ids (kind "text"), written in a permutation of
    `seed`; the held-out lines, in their order, in out/held_out; the vocabulary in both's meta.

    Read as a stream, twice (tfds:lm1b: its first `max_sentences`, text.iter_lines): once to count
    the characters of the training lines (the vocabulary), once to write every line's ids at its
    row of the write order in a temporary file beside `out` (4 bytes a character), which
    records.write then reads in order.  Neither the lines nor their ids are held in memory, only
    each training line's row (4 bytes a line; 12 more while the write order is drawn)."""
    if seq_len < 4 or vocab < 3:  # as train.py requires
        raise DataError(f"--seq-len {seq_len} --vocab {vocab}: expected --seq-len >= 4 (the 4-gram figures) and "
                        f"--vocab >= 3 (PAD, UNKNOWN and a character)")
    counts, n = collections.Counter(), 0
    for n, line in enumerate(text.iter_lines(source, data_dir, max_sentences=max_sentences), 1):
        if not text.is_held_out(n - 1):
            counts.update(line[:seq_len])
    text.check_line_count(source, n)
    vocabulary = text.rank_characters(counts, vocab)
    meta = {"seq_len": int(seq_len), "vocab": int(vocab), "vocabulary": [int(c) for c in vocabulary]}
    n_held = n // text.HELD_OUT_EVERY
    place = np.empty(n - n_held, np.int32 if n < 2**31 else np.int64)  # training line j is row place[j]
    place[write_order(n - n_held, seed, TEXT_ORDER_SALT)] = np.arange(n - n_held, dtype=place.dtype)
    row_bytes = 4 * seq_len

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.ids-", dir=out.parent) as temp:
        paths = {part: Path(temp) / f"{part}.ids" for part in ("train", "held_out")}
        lines, rows = text.iter_lines(source, data_dir, max_sentences=max_sentences), {"train": 0, "held_out": 0}
        with open(paths["train"], "wb") as train, open(paths["held_out"], "wb") as held:
            train.truncate(len(place) * row_bytes)
            for i, chunk in enumerate(iter(lambda: list(itertools.islice(lines, TEXT_CHUNK)), [])):
                ids = text.encode(chunk, vocabulary, seq_len)
                out_of = (i * TEXT_CHUNK + np.arange(len(chunk))) % text.HELD_OUT_EVERY == text.HELD_OUT_EVERY - 1
                start = rows["train"]
                rows = {"train": start + int((~out_of).sum()), "held_out": rows["held_out"] + int(out_of.sum())}
                if rows["train"] > len(place) or rows["held_out"] > n_held:
                    _source_changed(source, n)
                held.write(ids[out_of].tobytes())  # in order
                kept, at = ids[~out_of], place[start:rows["train"]]
                for k in np.argsort(at):  # each at its row, in the file's order
                    os.pwrite(train.fileno(), kept[k].tobytes(), int(at[k]) * row_bytes)
        if rows != {"train": len(place), "held_out": n_held}:
            _source_changed(source, n)

        def in_order(path):  # a file of ids, a chunk of rows at a time
            def chunks():
                with open(path, "rb") as f:
                    while block := f.read(TEXT_CHUNK * row_bytes):
                        yield np.frombuffer(block, np.int32).reshape(-1, seq_len)
            return tf.data.Dataset.from_generator(chunks, output_signature=tf.TensorSpec((None, seq_len), tf.int32)
                                                  ).unbatch()

        def held_out(directory):
            records.write(in_order(paths["held_out"]), directory / records.TEXT_HELD_OUT, names=("ids",), shards=1,
                          source=f"{source} (held out: every {text.HELD_OUT_EVERY}th line)", num_classes=0,
                          kind="text", meta=dict(meta, part=records.TEXT_HELD_OUT))

        return records.write(in_order(paths["train"]), out, names=("ids",), shards=shards, source=source,
                             num_classes=0, write_seed=seed, kind="text", meta=meta, inside=held_out)


def _source_changed(source: str, n: int):
    raise DataError(f"SOURCE {source}: read {n:,} lines, then another number of them: it changed between prepare's two "
                    f"reads; prepare it again once it no longer changes")


def _prepare_music(source: str, out, *, shards: int, seed: int, chords: bool) -> records.Description:
    """The training examples of a music source (every key: melody.load_melodies) in a permutation
    of `seed`; the training and held-out pieces' bars, in order, in out/train_bars and
    out/held_out_bars (what the evaluation reads)."""
    try:
        data = melody.load_melodies(source, chords=chords)
    except melody.MelodyError as e:  # its words are train.py's
        raise DataError(str(e).replace("--dataset ", "SOURCE ", 1).replace("train with", "prepare with")) from None
    if not len(data.held_out.melody):
        raise DataError(f"SOURCE {source}: no held-out bars (every tenth tune is held out for the evaluation: "
                        f"{len(data.train.names)} pieces here); a prepared dataset needs at least 10 tunes")
    order = write_order(len(data.bar), seed, MUSIC_ORDER_SALT)

    def bars(directory):
        for part, pieces in zip(records.MUSIC_BARS, (data.train, data.held_out)):
            columns = (pieces.melody.astype(np.int16), pieces.chord.astype(np.int16), pieces.piece.astype(np.int32),
                       pieces.previous.astype(np.int32))
            records.write(tf.data.Dataset.from_tensor_slices(columns), directory / part,
                          names=("melody", "chord", "piece", "previous"), shards=1,
                          source=f"{source} ({part.replace('_', ' ')})", num_classes=0, kind="music",
                          meta={"part": part, "names": list(pieces.names), "chords": bool(chords)})

    examples = tf.data.Dataset.from_tensor_slices((data.bar[order], data.previous[order], data.chord[order]))
    return records.write(examples, out, names=("bar", "previous", "chord"), shards=shards, source=source,
                         num_classes=0, write_seed=seed, kind="music", meta={"chords": bool(chords)}, inside=bars)


def _prepare_captions(source: str, out, *, shards: int, seed: int, options: dict) -> records.Description:
    """The training images of a captioned source with their captions (records.captions_description),
    in a permutation of `seed`, each with its position in the source (`index`: the text encoder
    reads them back in the source's order); captions2digits' held-out digits, in every phrasing,
    in out/held_out."""
    scheme, _, arg = source.partition(":")
    try:
        if scheme == "captions2digits":
            if not arg:
                captions.load_captioned(source)  # raises, naming the forms
            train = captions.captioned_digits(arg, "train", options["data_dir"])
            held = captions.captioned_digits(arg, "held_out", options["data_dir"])
            pictures, table, classes, labels = train.images, train.captions(), train.classes(), train.labels
        else:  # captions:FILE, a stream of its images in the write order
            pictures, rows, _ = captions.caption_file_examples(source, image_size=options["image_size"],
                                                               channels=options["channels"],
                                                               order_seed=(seed, CAPTION_ORDER_SALT))
            table = np.array([[text] for _, text in rows], dtype=object)
            classes = np.unique(table[:, 0].astype(str), return_inverse=True)[1]  # as the text encoder does
            labels = np.full(len(rows), -1)
    except DataError as e:  # its words are train.py's, naming the digits' SPEC or the whole spec
        raise DataError(str(e).replace(f"--dataset {arg}:", f"SOURCE {source}:", 1)
                        .replace("--dataset ", "SOURCE ", 1)) from None
    meta = {"captions": scheme}

    def columns(images_, table_, classes_, labels_):
        return (images_.astype(np.uint8), table_.astype(str), np.asarray(classes_, np.int32),
                np.asarray(labels_, np.int32), np.arange(len(images_), dtype=np.int32))

    def held_out(directory):
        if scheme != "captions2digits":
            return
        every = tuple(range(len(captions.TEMPLATES)))
        records.write(tf.data.Dataset.from_tensor_slices(columns(held.images, held.captions(every), held.classes(),
                                                                 held.labels)),
                      directory / records.CAPTIONS_HELD_OUT, names=records.CAPTION_FEATURES, shards=1,
                      source=f"{source} (held-out digits, every phrasing)", num_classes=10, kind="captions",
                      meta=dict(meta, part=records.CAPTIONS_HELD_OUT))

    if scheme == "captions2digits":
        order = write_order(len(pictures), seed, CAPTION_ORDER_SALT)
        examples = tf.data.Dataset.from_tensor_slices(tuple(c[order] for c in columns(pictures, table, classes,
                                                                                      labels)))
    else:  # each streamed image with its line's caption, class, label and position
        per_line = [tf.constant(c) for c in columns(np.zeros(len(table)), table, classes, labels)[1:4]]
        examples = pictures.map(lambda image, i: (image, *(c[i] for c in per_line), i))  # caption, class, label
    return records.write(examples, out, names=records.CAPTION_FEATURES, shards=shards, source=source,
                         num_classes=10 if scheme == "captions2digits" else 0, write_seed=seed, kind="captions",
                         meta=meta, inside=held_out)


def _prepare_domains(source: str, out, *, shards: int, seed: int, options: dict) -> dict:
    """Each domain of `source` as an images dataset in out/a and out/b (records.write_domains), in a
    permutation of (seed, DOMAIN_ORDER_SALT + k): a domain that allows random access (a directory,
    folder:, npz:, mnist-idx:) is read as a stream in that order; a tfds: or tfrecords: domain,
    and digits2mnist:'s small built-in arrays, are read whole and permuted."""
    if str(source).startswith("domains:"):
        names = unpaired.domain_specs(source)
        parts = [unpaired.domain_examples(source, name, order_seed=(seed, DOMAIN_ORDER_SALT + k), **options)
                 for k, name in enumerate(names)]  # every domain listed and checked before writing
        examples = {}
        for k, (part, name, (ds, info)) in enumerate(zip(records.PARTS, names, parts)):
            if name.partition(":")[0] in images.KEEP_ORDER:
                x, _ = next(iter(ds.batch(info.num_examples)))  # in the source's own order: permuted here
                x = x.numpy()[write_order(info.num_examples, seed, DOMAIN_ORDER_SALT + k)]
                ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(len(x), np.int32)))
            examples[part] = ds.map(lambda image, label: (image, tf.constant(-1, tf.int32)))  # no classes here
    else:
        a, b, names = unpaired.load_domains(source, **options)
        examples = {}
        for k, (part, x) in enumerate(zip(records.PARTS, (a, b))):
            order = write_order(len(x), seed, DOMAIN_ORDER_SALT + k)
            examples[part] = tf.data.Dataset.from_tensor_slices((x[order], np.full(len(x), -1, np.int32)))

    def write_part(part, directory):
        k = records.PARTS.index(part)
        return records.write(examples[part], directory, names=("image", "label"), shards=shards,
                             source=f"{source} ({part}: {names[k]})", num_classes=0, write_seed=seed)

    return records.write_domains(write_part, out, source=source, names=dict(zip(records.PARTS, names)))


def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m tfgan_app.data.prepare", description=__doc__)
    p.add_argument("source", nargs="?", help="a dataset spec, e.g. folder:photos, tfds:mnist, pairs:DIR, "
                   "domains:A,B or captions2digits:mnist-idx:DIR")
    p.add_argument("--out", help="the dataset directory to write (new, or empty)")
    p.add_argument("--shards", type=int, default=16, help="number of TFRecord files (default 16; at least the "
                   "number of workers that will read them)")
    p.add_argument("--image-size", type=int, default=0, help="center-crop and resize to S x S (folder: needs it)")
    p.add_argument("--channels", type=int, default=0, help="1 or 3 (default: the source's)")
    p.add_argument("--seed", type=int, default=0, help="the write order's seed (default 0)")
    p.add_argument("--data-dir", default="", help="tensorflow-datasets data directory (tfds: specs)")
    p.add_argument("--seq-len", type=int, default=None, help="text: characters per line (default 32, train.py's)")
    p.add_argument("--vocab", type=int, default=None, help="text: ids in the vocabulary, PAD and UNKNOWN "
                   "included (default 2,048, train.py's)")
    p.add_argument("--max-sentences", type=int, default=None,
                   help="tfds:lm1b: the sentences read (default 1,000,000, as training from the source reads; "
                   "0: all ~30M; the evaluation then reads that many ids whole)")
    p.add_argument("--chords", choices=("true", "false"), default=None,
                   help="music: keep each bar's chord (default true, train.py's); false: melodies alone")
    p.add_argument("--verify", metavar="DIR", help="check every shard of DIR against its dataset.json, then exit")
    args = p.parse_args(argv)
    if args.verify:
        if args.source or args.out:
            p.error("--verify DIR takes no SOURCE or --out")
    elif not args.source or not args.out:
        p.error("expected SOURCE and --out DIR (or --verify DIR)")
    start = time.time()
    try:
        if args.verify:
            for description in records.verify_dataset(args.verify):
                print(f"{description.directory}: {description.num_examples:,} examples in "
                      f"{len(description.shards)} shards, every sha256 as dataset.json says")
            print(f"verified in {time.time() - start:.1f} s")
            return 0
        written = prepare(args.source, args.out, shards=args.shards, image_size=args.image_size,
                          channels=args.channels, seed=args.seed, data_dir=args.data_dir, seq_len=args.seq_len,
                          vocab=args.vocab, chords=None if args.chords is None else args.chords == "true",
                          max_sentences=args.max_sentences)
    except ValueError as e:  # DataError
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2
    for description in (written.values() if isinstance(written, dict) else [written]):
        total = sum(s.bytes for s in description.shards)
        print(json.dumps({k: v for k, v in description.to_json().items() if k not in ("shards", "meta")}))
        print(f"{description.num_examples:,} examples ({description.kind}) of {description.source} -> "
              f"{description.directory} ({len(description.shards)} shards, {total / 1e6:.1f} MB)")
    print(f"{time.time() - start:.1f} s; train with --dataset tfrecords:{args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
