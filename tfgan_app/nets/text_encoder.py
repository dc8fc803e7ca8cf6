"""The text encoder StackGAN conditions on: learnt jointly with an image encoder (Reed et al. 2016), then frozen.

StackGAN takes phi_t from Reed et al.'s char-CNN-RNN, trained so that an image and the text
describing it score higher than mismatched pairs (their "deep symmetric structured joint
embedding").  Here: captions2digits (data/captions.py), a word-level encoder (nets/text.py),
and the same loss:

    joint_embedding_loss(v, t, classes)   Reed et al.'s symmetric hinge on dot-product scores
    train_text_encoder(spec, out)          trains both encoders, writes the text side (strings -> phi)
    load_text_encoder(path)                the frozen strings -> phi model a StackGAN run uses

    python -m tfgan_app.nets.text_encoder --dataset mnist-idx:DIR --out encoder.keras
    python -m tfgan_app.nets.text_encoder --dataset captions:FILE --out encoder.keras    # your captions
    python -m tfgan_app.nets.text_encoder --dataset tfrecords:DIR --out encoder.keras    # prepared from either

The written model takes raw strings (its tokenizer is in the graph), so a StackGAN export serves
sentences.  Its report (`out` with .json) gives the retrieval accuracy on held-out digits
described in the held-out phrasings (words arranged in ways the encoder never read).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_EPOCHS = 10
EMBEDDING_DIM = 128   # phi_t's size (StackGAN's char-CNN-RNN: 1024; CA maps it to 128 either way)
MAX_WORDS = 16
BATCH = 64
LEARNING_RATE = 4e-4  # Reed et al.'s RMSprop rate (train_sje_hybrid.lua)


def joint_embedding_loss(image_features, text_features, classes):
    """Reed et al. 2016's symmetric structured loss with compatibility s(v, t) = <v, t>:

        sum over pairs (i, j) of different classes of
            max(0, 1 + s(v_i, t_j) - s(v_i, t_i)) + max(0, 1 + s(v_j, t_i) - s(v_i, t_i)),
        divided by the number of such pairs

    (an image must score its own text above other classes' texts by a margin of 1, and a text
    its own image above other classes' images).  Reed et al. divide by batch x classes; here
    by the pair count, so a batch of few classes is not down-weighted.  Pairs of one class are
    not contrasted.  0 when every pair is separated by the margin.
    """
    import tensorflow as tf

    v = tf.cast(image_features, tf.float32)
    t = tf.cast(text_features, tf.float32)
    s = tf.matmul(v, t, transpose_b=True)  # s[i, j] = <v_i, t_j>
    own = tf.linalg.diag_part(s)           # s(v_i, t_i)
    other = tf.cast(tf.not_equal(classes[:, None], classes[None, :]), tf.float32)
    image_side = tf.nn.relu(1.0 + s - own[:, None])                 # image i against text j
    text_side = tf.nn.relu(1.0 + tf.transpose(s) - own[:, None])    # text i against image j
    return tf.reduce_sum(other * (image_side + text_side)) / tf.maximum(tf.reduce_sum(other), 1.0)


def text_model(vocabulary: list[str], dim: int = EMBEDDING_DIM, max_words: int = MAX_WORDS):
    """strings (B,) -> phi_t (B, dim): the tokenizer and the text encoder as one model."""
    import keras

    from tfgan_app.nets import text

    strings = keras.Input((), dtype="string", name="text")
    ids = text.Tokenizer(vocabulary, max_words, name="tokenizer")(strings)
    phi = text.text_encoder(len(vocabulary), dim, max_words=max_words)(ids)
    return keras.Model(strings, phi, name="text_model")


def retrieval_accuracy(text_fn, image_fn, images, table, classes, labels=None) -> dict:
    """Text-to-image retrieval: for each caption (each column of `table`, one caption per image),
    the image of highest score; "class" is right when that image's class (captions2digits: digit,
    thickness, slant and width; captions:FILE: the caption itself) is the caption's, "digit" when
    its digit is (with `labels`)."""
    v = image_fn(images)  # (N, dim)
    out = {"class": []} if labels is None else {"class": [], "digit": []}
    for k in range(table.shape[1]):
        best = np.argmax(text_fn(table[:, k]) @ v.T, axis=1)  # (N,) the best image per caption
        out["class"].append(np.mean(classes[best] == classes))
        if labels is not None:
            out["digit"].append(np.mean(labels[best] == labels))
    return {k: float(np.mean(v_)) for k, v_ in out.items()}


def word_vocabulary(texts, limit: int = 10_000) -> list[str]:
    """The `limit` most frequent words of `texts` (as the tokenizer splits them), most frequent first."""
    from collections import Counter

    from tfgan_app.data import captions

    counts = Counter(word for text in texts for word in captions.normalise(str(text)).split())
    return [word for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def _caption_sets(spec: str, data_dir, held_out):
    """(vocabulary, training set, {name: scored set}): a set is (images uint8, captions (N, T), classes (N,),
    digit labels or None)."""
    from tfgan_app.data import captions, streaming

    sets = {"held_out_digits_training_phrasings": captions.TRAIN_TEMPLATES,
            "held_out_digits_held_out_phrasings": captions.HELD_OUT_TEMPLATES}
    if streaming.is_prepared(spec):  # what prepare wrote of captions2digits: or captions:, in the source's order
        if held_out is not None:
            raise ValueError(f"held_out={held_out}: {spec} is prepared; its held-out part was fixed by prepare")
        scheme, images, table, classes, labels, held = captions.prepared_caption_sets(spec)
        if scheme == "captions":
            return _own_caption_sets(spec, images, table, classes, None)
        return captions.vocabulary(), (images, table, classes, labels), {
            name: (held[0], held[1][:, list(templates)], held[2], held[3]) for name, templates in sets.items()}
    if spec.startswith("captions:"):
        images, table = captions.load_captioned(spec, data_dir=data_dir)
        _, classes = np.unique(table[:, 0].astype(str), return_inverse=True)
        return _own_caption_sets(spec, images, table, classes, held_out)
    train = captions.captioned_digits(spec, "train", data_dir, held_out)
    scored = captions.captioned_digits(spec, "held_out", data_dir, held_out)
    return captions.vocabulary(), (train.images, train.captions(), train.classes(), train.labels), {
        name: (scored.images, scored.captions(templates), scored.classes(), scored.labels)
        for name, templates in sets.items()}


def _own_caption_sets(spec: str, images, table, classes, held_out):
    """_caption_sets of a captions:FILE's images (in the file's order): a tenth (or `held_out`) of
    them scored, the vocabulary the training captions' words."""
    from tfgan_app.data import splits

    n = len(images)
    if n < 4:
        raise ValueError(f"--dataset {spec}: {n} captioned images; a text encoder needs at least 4")
    train, rest = splits.split_examples(n, held_out or max(1, n // 10))
    vocabulary = word_vocabulary(table[train, 0])
    return vocabulary, (images[train], table[train], classes[train], None), {
        "held_out_images": (images[rest], table[rest], classes[rest], None)}


def train_text_encoder(spec: str, out, *, epochs: int = DEFAULT_EPOCHS, seed: int = 0, data_dir=None,
                       held_out: int | None = None, verbose: int = 1) -> dict:
    """Trains the joint embedding on the captioned images of `spec` -- a labelled digit spec
    (mnist-idx:DIR, tfds:mnist, npz:FILE: captions2digits' training digits and phrasings),
    captions:FILE (your captions; a tenth of the images held out for the report), or tfrecords:DIR
    prepared from either (read whole, in the source's order: the same encoder) -- and writes the
    text side to `out` (.keras, atomically) and its report to `out`.json.  Returns the report."""
    import keras
    import tensorflow as tf

    from tfgan_app.nets import text

    out = Path(out)
    start = time.time()
    keras.utils.set_random_seed(seed)
    vocabulary, (images, table, classes, _), scored = _caption_sets(spec, data_dir, held_out)
    text_side = text_model(vocabulary)
    image_side = text.image_encoder(images.shape[1:], EMBEDDING_DIM)
    optimizer = keras.optimizers.RMSprop(LEARNING_RATE)
    variables = text_side.trainable_variables + image_side.trainable_variables
    optimizer.build(variables)

    @tf.function
    def step(x, strings, batch_classes):
        with tf.GradientTape() as tape:
            loss = joint_embedding_loss(image_side(x, training=True), text_side(strings, training=True),
                                        batch_classes)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    x = images.astype(np.float32) / 127.5 - 1.0
    rng = np.random.default_rng(seed)
    n = len(x)
    batch = min(BATCH, n)
    for epoch in range(epochs):
        order = rng.permutation(n)
        phrasing = rng.integers(0, table.shape[1], n)  # one random training phrasing per image and epoch
        losses = []
        for i in range(0, n - batch + 1, batch):
            idx = order[i:i + batch]
            losses.append(float(step(tf.constant(x[idx]), tf.constant(table[idx, phrasing[idx]].astype(str)),
                                     tf.constant(classes[idx]))))
        if verbose:
            print(f"text encoder epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f}", flush=True)

    def text_fn(strings):
        return np.concatenate([text_side(tf.constant(np.asarray(strings[i:i + 500], dtype=str)), training=False).numpy()
                               for i in range(0, len(strings), 500)])

    def image_fn(pictures):
        y = pictures.astype(np.float32) / 127.5 - 1.0
        return np.concatenate([image_side(y[i:i + 500], training=False).numpy() for i in range(0, len(y), 500)])

    report = {"dataset": spec, "epochs": epochs, "seed": seed, "vocabulary": len(vocabulary),
              "final_loss": float(np.mean(losses)),
              **{name: retrieval_accuracy(text_fn, image_fn, *parts) for name, parts in scored.items()},
              "seconds": round(time.time() - start, 1)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}.keras")
    text_side.save(tmp)
    os.replace(tmp, out)  # readers never see a half-written model
    report_tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}.json")
    report_tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(report_tmp, out.with_suffix(".json"))
    return report


def load_text_encoder(path, flag: str = "--text-encoder"):
    """The frozen strings -> phi_t model written by train_text_encoder.

    Raises:
      ValueError: no such file, or not a text encoder (the message names `flag`).
    """
    import keras

    from tfgan_app.nets import text  # noqa: F401 (registers the Tokenizer for loading)

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{flag} {path}: no such file; train one with python -m tfgan_app.nets.text_encoder "
                         f"--dataset mnist-idx:DIR --out {path}")
    model = keras.saving.load_model(path, custom_objects={"Tokenizer": text.Tokenizer})
    if model.input.dtype != "string":
        raise ValueError(f"{flag} {path}: expected a model of strings (a text encoder), got one of {model.input.dtype}")
    model.trainable = False
    return model


def default_path(dataset: str) -> Path:
    """Where the text encoder trained for `dataset` is cached: cache_dir()/text_encoder/KEY.keras,
    KEY a hash of the spec (and of a prepared dataset's shard checksums: prepared again, it is
    another dataset)."""
    import hashlib

    from tfgan_app.data import records, streaming
    from tfgan_app.data.cache import cache_dir

    key = dataset
    if streaming.is_prepared(dataset):
        key += "".join(s.sha256 for s in records.describe(streaming.directory_of(dataset)).shards)
    return cache_dir() / "text_encoder" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.keras"


def text_encoder_for(config):
    """The frozen text encoder of a StackGAN run: config.text_encoder, else the one cached for its
    dataset (captions2digits:SPEC, captions:FILE or tfrecords:DIR prepared from one), trained now
    (once; ~1 minute for MNIST's digits on 2 cores) if there is none.

    Raises:
      ValueError: the file named is unusable.
    """
    if config.text_encoder:
        return load_text_encoder(config.text_encoder)
    scheme, _, spec = config.dataset.partition(":")
    path = default_path(config.dataset)
    if not path.is_file():
        print(f"training the text encoder for {config.dataset} (once; cached at {path})", flush=True)
        train_text_encoder(config.dataset if scheme in ("captions", "tfrecords") else spec, path,
                           data_dir=config.data_dir or None, verbose=0)
    return load_text_encoder(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, help="labelled digits (mnist-idx:DIR, tfds:mnist, npz:FILE: "
                   "captions2digits' captions), captions:FILE, or tfrecords:DIR prepared from either")
    p.add_argument("--out", required=True, help="where the text encoder goes (.keras; its report beside it as .json)")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error(f"--epochs: expected a positive integer, got {args.epochs}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        report = train_text_encoder(args.dataset, args.out, epochs=args.epochs, seed=args.seed)
    except ValueError as e:  # DataError, CaptionError: the message names --dataset
        p.exit(2, f"{p.prog}: error: {e}\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
