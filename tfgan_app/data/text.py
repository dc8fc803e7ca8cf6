"""Lines of text as fixed-length character ids: the character language model's data, offline.

A dataset spec names where the text comes from (`--problem text`):

    pydoc-topics      the English reference text every CPython ships (`pydoc_data.topics`,
                      ~465,000 characters in ~8,700 lines): the offline default
    text:FILE         a UTF-8 text file
    text:DIR          every file under DIR (sorted by path), each UTF-8 text
    tfds:lm1b[:SPLIT] the One Billion Word benchmark the paper trained on (a prepared
                      tensorflow-datasets copy; its first TFDS_MAX_LINES sentences, which
                      training from it reads into memory; `prepare --max-sentences` streams more)
    tfrecords:DIR     one of the above written as ids by `python -m tfgan_app.data.prepare SPEC
                      --out DIR --seq-len L --vocab V` (records.py, kind "text"): the training
                      lines streamed from the shards (streaming.py), the held-out lines and the
                      vocabulary read from DIR

As the paper's code (`language_helpers.load_dataset`): one example per line, cut to
`--seq-len` characters (32) and padded after its end; characters are Unicode code points (the
paper's Python 2 read bytes); the vocabulary is PAD (id 0), UNKNOWN (id 1) and the most frequent
characters of the training lines, at most `--vocab` ids in all (the paper's 2,048), most frequent
first (ties by code point), every other character UNKNOWN.  Lines are stripped of surrounding
white space and empty lines dropped.  Every tenth line (line i with i % 10 == 9) is held out:
the n-gram evaluation (metrics/ngrams.py) compares samples with those.

The vocabulary travels with the run as the data's shape, {"tokens": (L,), "vocabulary": code
points of ids 2, 3, ...}: model.json keeps it, and the export's decoder is built from it.
Batch i of a run is a pure function of (seed, i), as for images: a resumed run sees the same.
"""

from __future__ import annotations

import codecs
import collections
import dataclasses
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_app.data import records, streaming
from tfgan_app.data.images import DataError, shuffled_positions

SPEC_FORMS = "pydoc-topics, text:FILE, text:DIR, tfds:lm1b[:SPLIT], tfrecords:DIR (prepared from one of them)"
PAD, UNKNOWN = 0, 1          # the two ids before the characters
SPECIAL = 2
HELD_OUT_EVERY = 10          # line i is held out when i % 10 == 9
TFDS_MAX_LINES = 1_000_000   # lm1b has 30M sentences; the paper read at most 10M: a million fit in memory


class TextError(DataError):
    """A text source that cannot be used; the message names --dataset and the file."""


@dataclasses.dataclass(frozen=True)
class TextData:
    """Training and held-out lines as ids, and the vocabulary (code points of ids 2, 3, ...)."""
    train: np.ndarray        # (N, L) int32
    held_out: np.ndarray     # (M, L) int32
    vocabulary: tuple        # code points

    @property
    def shape(self) -> dict:
        return {"tokens": (self.train.shape[1],), "vocabulary": self.vocabulary}


# --- reading -------------------------------------------------------------------------


def _pydoc_text() -> str:
    from pydoc_data.topics import topics  # in every CPython

    return "\n".join(topics[key] for key in sorted(topics))


def _file_texts(spec: str, arg: str):
    """The texts of text:FILE or text:DIR's files (sorted by path), one file at a time."""
    root = Path(arg).expanduser()
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise TextError(f"--dataset {spec}: {root} holds no files; expected UTF-8 text files")
    else:
        raise TextError(f"--dataset {spec}: {root} is neither a file nor a directory")
    for f in files:
        yield from _file_blocks(spec, f)


def _file_blocks(spec: str, path: Path, block: int = 1 << 20):
    """A UTF-8 file's text in pieces of about `block` bytes, each ending at a line break (or at the
    end of the file): splitlines of the pieces gives the file's lines, never holding the file.
    (A CR LF cut between two pieces gives an empty line there, which read_lines drops anyway.)"""
    decoder, carry, offset = codecs.getincrementaldecoder("utf-8")(), "", 0
    with open(path, "rb") as f:
        while True:
            raw = f.read(block)
            nul = raw.find(b"\x00")
            if nul >= 0:
                raise TextError(f"--dataset {spec}: {path} is binary (a NUL byte at {offset + nul}); expected UTF-8 text")
            pending = decoder.getstate()[0]  # the bytes of a character cut by the last block
            try:
                piece = carry + decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as e:  # e.start counts from the pending bytes
                raise TextError(f"--dataset {spec}: {path} is not UTF-8 text (byte {offset - len(pending) + e.start}: "
                                f"{e.object[e.start:e.start + 1]!r})") from None
            offset += len(raw)
            if not raw:
                yield piece
                return
            lines = piece.splitlines(keepends=True)
            carry = lines.pop() if lines and lines[-1].splitlines() == [lines[-1]] else ""  # no line break yet
            yield "".join(lines)


def _tfds_texts(spec: str, arg: str, data_dir, max_sentences):
    import tensorflow_datasets as tfds  # slow import: only for tfds specs

    name, _, split = arg.partition(":")
    if name != "lm1b":
        raise TextError(f"--dataset {spec}: the text sources of tensorflow-datasets read here are lm1b; got {name!r}")
    builder = tfds.builder(name, data_dir=data_dir)
    try:
        ds = builder.as_dataset(split=split or "train", shuffle_files=False)
    except AssertionError:
        raise TextError(f"--dataset {spec}: no prepared lm1b in {builder.data_dir_root}; run `python -c \"import "
                        f"tensorflow_datasets as tfds; tfds.load('lm1b')\"` on a machine with internet") from None
    ds = ds.map(lambda e: e["text"])
    for t in tfds.as_numpy(ds if max_sentences is None else ds.take(max_sentences)):
        yield t.decode("utf-8", "replace")


def iter_lines(spec: str, data_dir=None, *, max_sentences: int | None = None):
    """The non-empty, stripped lines of `spec`, in order, read one text (a file, a sentence) at a
    time; of tfds:lm1b, its first `max_sentences` sentences (None: TFDS_MAX_LINES; 0: all)."""
    scheme, _, arg = spec.partition(":")
    if spec == "pydoc-topics":
        texts = [_pydoc_text()]
    elif scheme == "text" and arg:
        texts = _file_texts(spec, arg)
    elif scheme == "tfds" and arg:
        texts = _tfds_texts(spec, arg, data_dir, TFDS_MAX_LINES if max_sentences is None else max_sentences or None)
    else:
        raise TextError(f"--dataset {spec!r}: unknown text source; expected one of {SPEC_FORMS}")
    for text in texts:
        for line in text.splitlines():
            line = line.strip()
            if line:
                yield line


def read_lines(spec: str, data_dir=None) -> list[str]:
    """The non-empty, stripped lines of `spec`, in order (tfds:lm1b: its first TFDS_MAX_LINES)."""
    lines = list(iter_lines(spec, data_dir))
    check_line_count(spec, len(lines))
    return lines


def check_line_count(spec: str, n: int) -> None:
    if n < HELD_OUT_EVERY:
        raise TextError(f"--dataset {spec}: holds {n} non-empty lines; expected at least {HELD_OUT_EVERY} "
                        f"(every tenth is held out)")


def is_held_out(i: int) -> bool:
    """Whether line i of a source is held out (every tenth)."""
    return i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1


# --- vocabulary and ids ----------------------------------------------------------------


def build_vocabulary(lines, seq_len: int, size: int) -> tuple:
    """Code points of the most frequent characters of the lines' first seq_len characters,
    at most size - 2 (ids 2, 3, ...), most frequent first, ties by code point."""
    return rank_characters(collections.Counter(ch for line in lines for ch in line[:seq_len]), size)


def rank_characters(counts: collections.Counter, size: int) -> tuple:
    """build_vocabulary from the characters' counts."""
    if size <= SPECIAL:
        raise TextError(f"--vocab {size}: expected more than {SPECIAL} (PAD and UNKNOWN come first)")
    ranked = sorted(counts, key=lambda ch: (-counts[ch], ord(ch)))
    return tuple(ord(ch) for ch in ranked[:size - SPECIAL])


def encode(lines, vocabulary, seq_len: int) -> np.ndarray:
    """(N, L) int32 ids: each line cut to L characters, unknown characters UNKNOWN, PAD after."""
    index = {chr(c): i + SPECIAL for i, c in enumerate(vocabulary)}
    out = np.full((len(lines), seq_len), PAD, np.int32)
    for row, line in enumerate(lines):
        ids = [index.get(ch, UNKNOWN) for ch in line[:seq_len]]
        out[row, :len(ids)] = ids
    return out


def decode(ids, vocabulary) -> list[str]:
    """Strings of (N, L) ids: PAD is nothing, UNKNOWN U+FFFD (the export's decoder does the same)."""
    table = np.array(["", "\ufffd"] + [chr(c) for c in vocabulary], dtype=object)
    return ["".join(table[np.asarray(row)]) for row in np.asarray(ids)]


def is_text_spec(spec: str) -> bool:
    """Whether `spec` names a text source (tfds:lm1b is text; other tfds: names are images)."""
    scheme, _, arg = str(spec).partition(":")
    return spec == "pydoc-topics" or scheme == "text" or (scheme == "tfds" and arg.partition(":")[0] == "lm1b")


def load_text(spec: str, seq_len: int = 32, vocab: int = 2048, data_dir=None) -> TextData:
    """The lines of `spec` as ids: training lines, held-out lines (every tenth) and the vocabulary
    (from the training lines)."""
    if seq_len <= 0:
        raise TextError(f"--seq-len {seq_len}: expected a positive number of characters")
    if streaming.is_prepared(spec):
        train, held_out = (prepared_text(spec, seq_len, vocab, part) for part in ("train", "held_out"))
        return TextData(records.read_all(train)[0], records.read_all(held_out)[0],
                        tuple(train.meta["vocabulary"]))
    return _source_text(spec, seq_len, vocab, data_dir)


def held_out_ids(spec: str, seq_len: int = 32, vocab: int = 2048, data_dir=None) -> np.ndarray:
    """(M, L) ids of the held-out lines alone (of a prepared dataset: DIR/held_out, without
    reading the training lines)."""
    if streaming.is_prepared(spec):
        return records.read_all(prepared_text(spec, seq_len, vocab, "held_out"))[0]
    return load_text(spec, seq_len, vocab, data_dir).held_out


def _source_text(spec: str, seq_len: int, vocab: int, data_dir) -> TextData:
    lines = read_lines(spec, data_dir)
    train = [line for i, line in enumerate(lines) if not is_held_out(i)]
    held = [line for i, line in enumerate(lines) if is_held_out(i)]
    vocabulary = build_vocabulary(train, seq_len, vocab)
    return TextData(encode(train, vocabulary, seq_len), encode(held, vocabulary, seq_len), vocabulary)


def text_batches(ids: np.ndarray, *, batch_size: int, seed: int, start_batch: int = 0) -> tf.data.Dataset:
    """Endless batches (B, L) int32 of the rows of `ids`, each epoch a stateless permutation of
    (seed, epoch): batch i is a pure function of (seed, i)."""
    n, b = len(ids), int(batch_size)
    table = tf.constant(ids)
    seed = tf.constant(int(seed), tf.int64)

    def batch(index):
        return tf.ensure_shape(tf.gather(table, shuffled_positions(index, b, n, seed)), (b, ids.shape[1]))

    return tf.data.Dataset.counter(start=int(start_batch)).map(batch).prefetch(tf.data.AUTOTUNE)


def prepared_text(spec: str, seq_len: int, vocab: int, part: str = "train") -> records.Description:
    """The description of a prepared text dataset's training lines, or its held-out ones (part
    "held_out"), checked to be cut to seq_len with a vocabulary of `vocab` ids.

    Raises:
      DataError: not a prepared text dataset, or --seq-len / --vocab differ from its.
    """
    directory = streaming.directory_of(spec)
    description = records.text_description(directory if part == "train"
                                           else f"{directory}/{records.TEXT_HELD_OUT}")
    meta = description.meta
    if part == "train" and meta.get("part") == records.TEXT_HELD_OUT:
        raise TextError(f"--dataset {spec}: holds the held-out lines of {Path(directory).parent}; train on that "
                        f"(--dataset tfrecords:{Path(directory).parent})")
    for flag, asked, held in (("--seq-len", seq_len, meta["seq_len"]), ("--vocab", vocab, meta["vocab"])):
        if int(asked) != int(held):
            raise TextError(f"{flag} {asked}: the records in {directory} were prepared with {flag} {held}; use "
                            f"{flag} {held}, or prepare them again with {flag} {asked}")
    return description


@dataclasses.dataclass
class TextStream:
    batches: object   # start_batch -> tf.data.Dataset of (n_critic * batch_size, L) int32
    shape: dict
    data: TextData | None  # None when streamed from tfrecords:DIR


def open_text(config) -> TextStream:
    """config.dataset's lines as batches of n_critic x batch_size ids a step."""
    per_step = config.batch_size * config.n_critic
    if streaming.is_prepared(config.dataset):
        description = prepared_text(config.dataset, config.seq_len, config.vocab)

        def batches(start: int) -> tf.data.Dataset:
            return streaming.decoded_batches(description, lambda b: records.parse(b, description)[0],
                                             batch_size=per_step, seed=config.seed, window=config.shuffle_buffer,
                                             start_batch=start)

        shape = {"tokens": (int(description.meta["seq_len"]),),
                 "vocabulary": tuple(int(c) for c in description.meta["vocabulary"])}
        return TextStream(batches, shape, None)
    data = load_text(config.dataset, config.seq_len, config.vocab, config.data_dir or None)
    return TextStream(lambda start: text_batches(data.train, batch_size=per_step, seed=config.seed,
                                                 start_batch=start), data.shape, data)
