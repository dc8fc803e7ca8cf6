"""Character n-gram figures (metrics/ngrams.py) against hand-computed values."""

import math

import numpy as np
import pytest

from tfgan_app.metrics import ngrams


def test_ngrams_are_counted_inside_each_line():
    ids = np.array([[1, 2, 1, 2], [2, 2, 0, 0]])
    keys, counts = ngrams.ngram_counts(ids, 2)
    got = {(int(k) >> 15, int(k) & 0x7FFF): int(c) for k, c in zip(keys, counts)}
    # line 1: (1,2) (2,1) (1,2); line 2: (2,2) (2,0) (0,0); nothing across the lines (2 -> 2 at the seam)
    assert got == {(1, 2): 2, (2, 1): 1, (2, 2): 1, (2, 0): 1, (0, 0): 1}
    keys, counts = ngrams.ngram_counts(ids, 1)
    assert dict(zip(keys.tolist(), counts.tolist())) == {0: 2, 1: 2, 2: 4}


def test_js_divergence_in_bits_matches_the_formula_by_hand():
    p = (np.array([1, 2]), np.array([1, 1]))  # P = {1: 1/2, 2: 1/2}
    q = (np.array([1]), np.array([7]))        # Q = {1: 1},  M = {1: 3/4, 2: 1/4}
    want = 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)) + 0.5 * (1 * math.log2(1 / 0.75))
    assert ngrams.js_divergence(p, q) == pytest.approx(want, abs=1e-12)  # 0.3538
    assert ngrams.js_divergence(q, p) == pytest.approx(want, abs=1e-12)
    assert ngrams.js_divergence(p, p) == 0.0
    assert ngrams.js_divergence(p, (np.array([5]), np.array([3]))) == pytest.approx(1.0)  # nothing shared


def test_js_figures_of_a_text_against_itself_are_zero_and_grow_with_n():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, (200, 8)), rng.integers(0, 5, (200, 8))
    assert ngrams.js_figures(a, a) == {"js1": 0.0, "js2": 0.0, "js3": 0.0, "js4": 0.0}
    js = ngrams.js_figures(a, b)
    assert 0 < js["js1"] < js["js2"] < js["js3"] < js["js4"] <= 1


def test_the_unigram_sampler_draws_the_training_frequencies():
    train = np.array([[3, 3, 3, 4]] * 50)
    sample = ngrams.unigram_sample(train, 2000, seed=0)
    assert sample.shape == (2000, 4) and set(np.unique(sample)) == {3, 4}
    assert np.mean(sample == 4) == pytest.approx(0.25, abs=0.01)  # 8,000 draws: 3 standard errors


def test_the_markov_sampler_copies_a_deterministic_text_and_backs_off_to_shorter_contexts():
    train = np.array([[1, 2, 3, 1, 2, 3]] * 5)  # every 3-character context has one continuation
    np.testing.assert_array_equal(ngrams.MarkovSampler(train, 4).sample(7, seed=1), np.repeat(train[:1], 7, 0))
    # Order 2 on two lines "1 2 ..." and "1 3 ...": after 1 comes 2 or 3, half each
    two = np.array([[1, 2, 2, 2], [1, 3, 3, 3]] * 50)
    sample = ngrams.MarkovSampler(two, 2).sample(400, seed=2)
    assert set(sample[:, 0]) == {1} and np.mean(sample[:, 1] == 2) == pytest.approx(0.5, abs=0.08)
    assert np.all(sample[:, 2] == sample[:, 1])  # 2 -> 2 and 3 -> 3 only


def test_the_report_compares_everything_on_as_many_lines_as_are_held_out():
    rng = np.random.default_rng(1)
    train, held = rng.integers(0, 6, (300, 8)), rng.integers(0, 6, (50, 8))
    report = ngrams.js_report(train[:80], held, train, seed=0)
    assert set(report) == {"model", "floor", "unigram", "markov4"}
    assert report["model"] == ngrams.js_figures(train[:50], held)  # cut to the 50 held-out lines
    with pytest.raises(ValueError, match="at least as many as the 50 held-out lines"):
        ngrams.js_report(train[:10], held, train)
