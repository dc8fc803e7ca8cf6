"""Text into vectors, in the graph: a word tokenizer and the encoders of a joint text-image embedding.

    Tokenizer(vocabulary, max_words)   strings (B,) -> word ids (B, max_words); 0 pads, 1 is unknown
    text_encoder(vocab_size, ...)      word ids -> phi_t (B, dim): embedding, GRU, dense
    image_encoder(shape, dim)          images -> (B, dim): a small CNN (the embedding's other side)

The tokenizer is TF ops only (lower case, punctuation to spaces, split on spaces, a
StringLookup table), so an exported text-to-image signature takes sentences: TF Serving runs
it with no Python.  A word the vocabulary lacks becomes the unknown id (not an error); words
past `max_words` are dropped.  It does exactly what data/captions.py's `normalise` does in
Python (tests/test_text.py checks the two agree).

StackGAN (Zhang et al. 2017) takes its text embedding phi_t from Reed et al. 2016's
char-CNN-RNN, trained jointly with an image encoder so that matching text and images score
high (nets/text_encoder.py).  Here the encoder is word level (the captions are short and
made of a closed vocabulary): word embeddings, a GRU (the RNN half of char-CNN-RNN), a dense
projection.
"""

from __future__ import annotations

import keras
import tensorflow as tf

PAD, UNKNOWN = 0, 1
# Lower case, then every run of characters other than a-z, 0-9 and '-' becomes one space.
_SEPARATORS = r"[^a-z0-9\-]+"


def normalised(text):
    """Strings (B,) lower-cased (UTF-8 aware), punctuation and whitespace runs as single spaces."""
    lowered = tf.strings.lower(text, encoding="utf-8")
    return tf.strings.strip(tf.strings.regex_replace(lowered, _SEPARATORS, " "))


@keras.saving.register_keras_serializable(package="tfgan_app")
class Tokenizer(keras.layers.Layer):
    """strings (B,) -> int32 word ids (B, max_words): PAD (0) after the last word, UNKNOWN (1) for
    a word not in `vocabulary`, word i of the vocabulary as i + 2."""

    def __init__(self, vocabulary: list[str], max_words: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = list(vocabulary)
        self.max_words = int(max_words)
        self.lookup = keras.layers.StringLookup(vocabulary=self.vocabulary, num_oov_indices=1, mask_token="",
                                                output_mode="int", name="words")

    def build(self, input_shape):
        pass  # the vocabulary table is made in __init__: nothing depends on the input's shape

    def call(self, text):
        words = tf.strings.split(normalised(text))  # ragged (B, None)
        dense = words.to_tensor(default_value="", shape=[None, self.max_words])
        return tf.cast(self.lookup(dense), tf.int32)  # "" -> 0 (mask), unknown -> 1, word i -> i + 2

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.max_words)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "max_words": self.max_words}


def text_encoder(vocab_size: int, dim: int = 128, embed: int = 64, units: int = 128,
                 max_words: int = 16, name: str = "text_encoder") -> keras.Model:
    """word ids (B, max_words) -> phi_t (B, dim): Embedding (0 masked), GRU, Dense."""
    ids = keras.Input((max_words,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size + 2, embed, mask_zero=True, name="embedding")(ids)
    x = keras.layers.GRU(units, name="gru")(x)
    return keras.Model(ids, keras.layers.Dense(dim, dtype="float32", name="phi")(x), name=name)


def image_encoder(shape: tuple, dim: int = 128, width: int = 32, name: str = "image_encoder") -> keras.Model:
    """images (B, H, W, C) in [-1, 1] -> (B, dim): two stride-2 convolutions, LeakyReLU, dense."""
    images = keras.Input(tuple(shape), name="images")
    x = keras.layers.Conv2D(width, 4, strides=2, padding="same", name="conv0")(images)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Conv2D(2 * width, 4, strides=2, padding="same", name="conv1")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(images, keras.layers.Dense(dim, dtype="float32", name="embedding")(x), name=name)
