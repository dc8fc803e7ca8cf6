"""The in-graph tokenizer and the text encoder (nets/text.py)."""

import numpy as np
import tensorflow as tf

from tfgan_app.data import captions
from tfgan_app.nets import text

VOCAB = captions.vocabulary()
TRICKY = ["The digit 7, THIN and upright!", "a zebra seven", "  a  left-leaning\ttwo ", "", "number 3: wide"]


def ids_by_hand(sentence: str, max_words: int = 16) -> list[int]:
    words = captions.normalise(sentence).split()[:max_words]
    ids = [VOCAB.index(w) + 2 if w in VOCAB else text.UNKNOWN for w in words]
    return ids + [text.PAD] * (max_words - len(ids))


def test_tokenizer_matches_the_python_normalisation_unknown_words_and_padding():
    tok = text.Tokenizer(VOCAB, max_words=16)
    got = tok(tf.constant(TRICKY)).numpy()
    assert got.shape == (5, 16) and got.dtype == np.int32
    for row, sentence in zip(got, TRICKY):
        assert row.tolist() == ids_by_hand(sentence)
    assert got[1][1] == text.UNKNOWN  # "zebra"
    assert not got[3].any()  # the empty string: all padding
    long = tok(tf.constant([" ".join(["seven"] * 40)])).numpy()
    assert long.shape == (1, 16) and (long == VOCAB.index("seven") + 2).all()  # words past max_words dropped


def test_tokenizer_and_encoder_run_in_a_graph_with_an_unknown_batch():
    tok = text.Tokenizer(VOCAB, max_words=8)
    enc = text.text_encoder(len(VOCAB), dim=16, embed=8, units=8, max_words=8)
    f = tf.function(lambda s: enc(tok(s)), input_signature=[tf.TensorSpec([None], tf.string)])
    out = f(tf.constant(TRICKY[:3])).numpy()
    assert out.shape == (3, 16)
    # Padding is masked: a sentence's vector does not depend on the batch it is padded in.
    np.testing.assert_allclose(f(tf.constant(TRICKY[1:2])).numpy()[0], out[1], atol=1e-6)
    assert text.image_encoder((28, 28, 1), dim=16, width=4)(tf.zeros((2, 28, 28, 1))).shape == (2, 16)
