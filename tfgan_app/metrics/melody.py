"""Figures of generated melody bars against held-out ones, and two baselines to read them by.

MidiNet's paper judged its melodies by a listening study; there is no standard objective figure,
so these are the ones the issue names, each on bars as rows of 16 steps (a pitch row 0..P-1 of
the two-octave range starting at C, or -1 for a rest; row % 12 is the pitch class):

- pitch_js: Jensen-Shannon divergence (bits) of the pitch-class histograms (sounding steps);
- interval_js: the same of the intervals between consecutive notes within a bar (a note is a run
  of steps on one pitch; rests do not break the melody), clipped to +-12 semitones;
- scale: scale consistency (Mogren 2016): per bar with notes, the largest share of its sounding
  steps in one major scale (over the 12 keys), averaged;
- empty: the share of bars with no note;
- chord_tones: the share of sounding steps whose pitch class is in the bar's chord triad (root,
  minor or major third, fifth), over bars with a chord.

A model is scored on the held-out pieces' chord progressions (data/melody.py:
`held_out_progressions`): it writes a melody for each, bar by bar, each bar on its chord and the
bar it wrote before, and its bars are compared with all held-out bars.  Baselines
(`melody_report`), on the same progressions: the melodies that really went with them (what real
music scores), real training bars shuffled against the chords (real melodies that ignore the
chord), and a first-order Markov melody (each step from the one before, over 24 pitches and rest,
fitted on the training bars; the first step from the first steps' histogram).
"""

from __future__ import annotations

import numpy as np

from tfgan_app.data.melody import note_pitches

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def _js(p: np.ndarray, q: np.ndarray) -> float:
    """JS divergence (bits) of two histograms; NaN when one is empty (no note, no interval)."""
    if p.sum() == 0 or q.sum() == 0:
        return float("nan")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a):
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def pitch_classes(rows) -> np.ndarray:
    """Histogram (12,) of the pitch classes of sounding steps."""
    rows = np.asarray(rows)
    return np.bincount(rows[rows >= 0] % 12, minlength=12).astype(np.float64)


def intervals(rows) -> np.ndarray:
    """Histogram (25,) of intervals -12..+12 between consecutive notes within each bar (clipped)."""
    hist = np.zeros(25)
    for row in np.asarray(rows):
        notes = note_pitches(row)
        for a, b in zip(notes, notes[1:]):
            hist[int(np.clip(b - a, -12, 12)) + 12] += 1
    return hist


def scale_consistency(rows) -> float:
    rows = np.asarray(rows)
    best = []
    for row in rows:
        pcs = row[row >= 0] % 12
        if len(pcs):
            best.append(max(np.isin(pcs, (MAJOR + k) % 12).mean() for k in range(12)))
    return float(np.mean(best)) if best else float("nan")


def chord_tones(chord: int) -> np.ndarray:
    root, minor = chord % 12, chord >= 12
    return (root + np.array([0, 3 if minor else 4, 7])) % 12


def chord_tone_ratio(rows, chords) -> float:
    hits, total = 0, 0
    for row, chord in zip(np.asarray(rows), np.asarray(chords)):
        if chord < 0:
            continue
        pcs = row[row >= 0] % 12
        hits += int(np.isin(pcs, chord_tones(int(chord))).sum())
        total += len(pcs)
    return hits / total if total else float("nan")


def melody_figures(rows, chords, reference_rows) -> dict:
    """The module docstring's figures of bars `rows` (N, 16) generated for `chords` (N,), against
    the reference (held-out) bars."""
    rows = np.asarray(rows)
    return {"pitch_js": _js(pitch_classes(rows), pitch_classes(reference_rows)),
            "interval_js": _js(intervals(rows), intervals(reference_rows)),
            "scale": scale_consistency(rows),
            "empty": float(np.mean(np.all(rows < 0, axis=1))),
            "chord_tones": chord_tone_ratio(rows, chords)}


def markov_melodies(train_rows, n: int, seed: int, states: int = 24) -> np.ndarray:
    """n bars from a first-order Markov chain over rows 0..states-1 and rest (state `states`)."""
    train = np.asarray(train_rows).astype(np.int64)
    coded = np.where(train < 0, states, train)
    first = np.bincount(coded[:, 0], minlength=states + 1).astype(np.float64) + 1e-12
    moves = np.full((states + 1, states + 1), 1e-12)
    np.add.at(moves, (coded[:, :-1].ravel(), coded[:, 1:].ravel()), 1.0)
    moves /= moves.sum(1, keepdims=True)
    rng = np.random.default_rng(seed)
    out = np.zeros((n, train.shape[1]), np.int64)
    out[:, 0] = rng.choice(states + 1, size=n, p=first / first.sum())
    for t in range(1, train.shape[1]):
        u = rng.random(n)[:, None]
        out[:, t] = np.minimum((np.cumsum(moves[out[:, t - 1]], 1) < u).sum(1), states)
    return np.where(out == states, -1, out).astype(np.int32)


def melody_report(rows, chords, true_rows, reference_rows, train_rows, seed: int = 0) -> dict:
    """Figures of generated bars `rows` (N, 16) written for `chords` (N,), and of the baselines on
    the same chords: `true_rows` (the real bars of those chords), as many shuffled training bars,
    as many Markov bars; all against `reference_rows` (the held-out bars)."""
    rng = np.random.default_rng(seed)
    n = len(rows)
    shuffled = np.asarray(train_rows)[rng.choice(len(train_rows), n, replace=len(train_rows) < n)]
    return {"model": melody_figures(rows, chords, reference_rows),
            "held_out": melody_figures(true_rows, chords, reference_rows),
            "shuffled_real": melody_figures(shuffled, chords, reference_rows),
            "markov": melody_figures(markov_melodies(train_rows, n, seed + 1), chords, reference_rows)}
