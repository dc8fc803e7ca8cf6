"""Melody figures (metrics/melody.py) against values counted by hand."""

import math

import numpy as np
import pytest

from tfgan_app.metrics import melody

C, E, G, A = 0, 4, 7, 9  # rows (C4 = row 0)


def test_notes_are_runs_of_steps_and_intervals_are_counted_between_them():
    row = [C, C, E, -1, E, G, G, 12 + C, -1, -1, -1, -1, -1, -1, -1, -1]
    assert melody.note_pitches(row) == [C, E, E, G, 12 + C]  # E, rest, E: two notes; G G: one
    hist = melody.intervals([row])  # +4, 0 (across the rest), +3, +5
    assert [hist[12 + 4], hist[12], hist[12 + 3], hist[12 + 5], hist.sum()] == [1, 1, 1, 1, 4]


def test_the_figures_of_bars_written_by_hand():
    bars = np.array([[C] * 8 + [E] * 8,            # C major, on its chord C
                     [-1] * 16,                    # empty
                     [A] * 4 + [1] * 12])          # A and C#: 4 of 16 steps on Am's tones (A C E)
    chords = np.array([0, 0, 9 + 12])
    fig = melody.melody_figures(bars, chords, reference_rows=bars)
    assert fig["empty"] == pytest.approx(1 / 3)
    assert fig["chord_tones"] == pytest.approx((16 + 4) / 32)
    # scale: bar 1 all in C major; bar 3: A and C# both in A major (and D, E majors) -> 1
    assert fig["scale"] == 1.0 and fig["pitch_js"] == 0.0 and fig["interval_js"] == 0.0


def test_pitch_class_js_of_disjoint_bars_is_one_bit_and_of_half_overlap_by_the_formula():
    assert melody.melody_figures([[C] * 16], [0], [[G] * 16])["pitch_js"] == pytest.approx(1.0)
    p = melody.pitch_classes([[C] * 8 + [E] * 8])  # P = {C: 1/2, E: 1/2}, Q = {C: 1}
    want = 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)) + 0.5 * math.log2(1 / 0.75)
    assert melody._js(p, melody.pitch_classes([[C] * 16])) == pytest.approx(want)
    assert math.isnan(melody._js(p, np.zeros(12)))  # nothing to compare with


def test_the_markov_baseline_follows_the_training_transitions():
    train = np.array([[C, E, G, -1] * 4] * 20)  # C -> E -> G -> rest -> C, always
    out = melody.markov_melodies(train, 50, seed=0)
    assert np.all(out[:, 0] == C)
    follows = {C: E, E: G, G: -1, -1: C}
    assert all(follows[a] == b for row in out for a, b in zip(row[:-1], row[1:]))


def test_the_report_scores_every_baseline_on_the_same_chords():
    on_c = np.array([[C, E, G, C] * 4] * 20)  # real bars over C: all chord tones
    off_c = np.array([[1, 3, 6, 8] * 4] * 20)  # C#, D#, F#, G#: none of C major's
    chords = np.zeros(20, int)
    report = melody.melody_report(off_c, chords, on_c, on_c, train_rows=on_c, seed=1)
    assert set(report) == {"model", "held_out", "shuffled_real", "markov"}
    assert report["model"]["chord_tones"] == 0.0 and report["held_out"]["chord_tones"] == 1.0
    assert report["shuffled_real"]["chord_tones"] == 1.0  # training bars drawn for the same chords
    assert report["model"]["pitch_js"] == pytest.approx(1.0) and report["held_out"]["pitch_js"] == 0.0
