"""Melodies with chords as bars of sixteenth notes: the melody GAN's data, offline by default.

A dataset spec names where the music comes from (`--problem music`):

    chorales     the Bach chorales of music21's bundled corpus (Riemenschneider 1-371): the
                 soprano as the melody, the chord of each bar from the alto, tenor and bass
    folk:NAME    melodies alone (no chords: train with --chords false) from the folk tunes of
                 music21's corpus, in ABC: `oneills` (O'Neill's Music of Ireland, 1850), `ryans`
                 (Ryan's Mammoth Collection, 1883), `essen` (the part of the Essen folksong
                 collection music21 ships); the tunes headed in 4/4, C, C| or 2/2; `folk:NAME:N`
                 reads the first N of them.  The collections carry no chord symbols (a few of
                 Ryan's carry fingerings and dynamics in quotes): the chord condition is left out.
    midi:DIR     your MIDI files (.mid, .midi; music21 reads them): the highest part as the
                 melody, the chord of each bar from the other parts (none: melody only)
    tfrecords:DIR  one of the above written by `python -m tfgan_app.data.prepare SPEC --out DIR
                 [--chords false]` (records.py, kind "music"): the training examples streamed
                 from the shards, the pieces' bars (for evaluation) read from DIR

Each bar of four quarter notes (4/4, 2/2) becomes 16 steps (sixteenth notes), each a MIDI pitch
or REST (a chord in the melody: its top note); bars in other metres, pickups and incomplete bars
are left out.  The
bar's chord (MidiNet's 24: 12 roots x major/minor, id root + 12 x minor) is the triad most of the
bar's duration holds in music21's `chordify` of the other parts, found by pitch class (`triad`:
diminished counts as minor, augmented as major, the triad on the bass first, sonorities without
a triad not at all; a bar with none has NO_CHORD).  As
MidiNet: each piece is moved by octaves into C4-B5 (MIDI 60-83, two octaves: PITCHES rows;
notes still outside are folded in by octaves), and training pieces are transposed whole into all
12 keys (-6..+5 semitones, then the octave that fits the piece; chords move with them), in
each key where the whole piece fits the two octaves (a melody spanning more than an octave does
not fit them in every key: it is left out of those, never bent by folding).  Pieces
are grouped by tune (the intervals of their first eight notes: the chorales harmonise some tunes
several times) and every tenth tune is held out for evaluation (not transposed), so no held-out
melody is trained on in another harmonisation.  Parsing and chordifying the corpus takes minutes: the bars are
cached (cache_dir()/melody, keyed by the source, music21's version and EXTRACTION_VERSION).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_app.data import records, streaming
from tfgan_app.data.images import DataError, shuffled_positions

SPEC_FORMS = "chorales, folk:oneills|ryans|essen[:N], midi:DIR"
STEPS = 16               # sixteenth notes in a 4/4 bar
LOW, PITCHES = 60, 24    # C4..B5
REST = -1
NO_CHORD = -1
CHORDS = 24              # root + 12 x minor
CHORD_DIM = 13           # MidiNet's chord vector: one-hot root, then 1 for minor
HELD_OUT_EVERY = 10      # tune i is held out when i % 10 == 9
# Models are scored on the held-out pieces' progressions of this many bars: the chorales' phrases
# break their runs of complete bars with chords often (measured: 116 runs of 2 held-out bars, 36
# of 4, 8 of 8), so 2: the second bar of each on the bar the model wrote before it.
EVALUATION_BARS = 2
# folk:NAME -> the music21 corpus folder of its ABC files
FOLK = {"oneills": "oneills1850", "ryans": "ryansMammoth", "essen": "essenFolksong"}
FOUR_FOUR = ("4/4", "C", "C|", "2/2")  # the metres whose bars are 16 sixteenths
EXTRACTION_VERSION = 2   # bump when the extraction below changes: the cache is keyed by it
FOLK_VERSION = 2         # of the folk tunes' selection (folk_tunes): in their cache key alone
ROOT_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


class MelodyError(DataError):
    """A music source that cannot be used; the message names --dataset and the file."""


@dataclasses.dataclass(frozen=True)
class Bars:
    """Bars of pieces: melody (N, 16) int16 MIDI pitch or REST, chord (N,) int16, piece (N,) int32,
    previous (N,) int32 (the index of the bar before in the same piece, -1 for a first bar)."""
    melody: np.ndarray
    chord: np.ndarray
    piece: np.ndarray
    previous: np.ndarray
    names: tuple  # piece names

    def select(self, pieces) -> "Bars":
        """The bars of the pieces in `pieces` (previous indices renumbered)."""
        keep = np.isin(self.piece, np.asarray(list(pieces)))
        index = np.full(len(self.melody), -1, np.int64)
        index[keep] = np.arange(keep.sum())
        previous = np.where(self.previous[keep] >= 0, index[np.maximum(self.previous[keep], 0)], -1)
        return Bars(self.melody[keep], self.chord[keep], self.piece[keep], previous.astype(np.int32), self.names)


# --- chords ------------------------------------------------------------------------------


def chord_id(root: int, minor: bool) -> int:
    return int(root) % 12 + 12 * bool(minor)


def chord_name(chord: int) -> str:
    return "" if chord == NO_CHORD else ROOT_NAMES[chord % 12] + ("m" if chord >= 12 else "")


def parse_chord(name: str) -> int:
    """'C', 'F#', 'Bb', 'Am', 'C#m' ... -> chord id; MelodyError for anything else."""
    text = name.strip()
    minor = text.endswith("m")
    root = text[:-1] if minor else text
    aliases = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb"}
    root = aliases.get(root, root)
    if root not in ROOT_NAMES:
        raise MelodyError(f"chord {name!r}: expected a root C, C#, D, ..., B (with # or b) and an optional m "
                          f"for minor, e.g. C,G,Am,F")
    return chord_id(ROOT_NAMES.index(root), minor)


def evaluation_chords(n: int, bars: int = 1) -> np.ndarray:
    """(n, bars) chord ids cycling MidiNet's 24 chords, every chord equally often: what samples are
    drawn for when a model is scored."""
    return (np.arange(n * bars).reshape(n, bars) % CHORDS).astype(np.int32)


def chord_vector(chords) -> np.ndarray:
    """MidiNet's 13-d condition of chord ids (N,): one-hot root, then 1 for minor; zeros for NO_CHORD."""
    chords = np.asarray(chords)
    out = np.zeros((len(chords), CHORD_DIM), np.float32)
    valid = chords >= 0
    out[np.nonzero(valid)[0], chords[valid] % 12] = 1.0
    out[:, 12] = (chords >= 12) & valid
    return out


# --- reading scores ----------------------------------------------------------------------


def _bar_steps(measure) -> np.ndarray:
    """A 4/4 measure's melody as 16 steps (MIDI pitch or REST)."""
    out = np.full(STEPS, REST, np.int16)
    for n in measure.flatten().notes:
        if n.duration.isGrace or not n.pitches:  # grace notes; drums (unpitched)
            continue
        start = int(round(float(n.offset) * 4))
        end = int(round(float(n.offset + n.quarterLength) * 4))
        out[max(start, 0):min(end, STEPS)] = max(p.midi for p in n.pitches)
    return out


# Triads by their pitch classes above the root, and whether each counts as minor.
TRIADS = (((0, 4, 7), False), ((0, 3, 7), True), ((0, 3, 6), True), ((0, 4, 8), False))


def triad(pitch_classes, bass: int) -> int:
    """The chord id of a sonority's pitch classes: a major, minor, diminished (as minor) or augmented
    (as major) triad it contains, by pitch class (whatever the spelling: MIDI files spell C# major's
    third as F); the triad on the bass first; NO_CHORD when it contains none."""
    pcs = set(pitch_classes)
    found = [(root, minor) for intervals, minor in TRIADS for root in range(12)
             if all((root + i) % 12 in pcs for i in intervals)]
    if not found:
        return NO_CHORD
    root, minor = min(found, key=lambda rm: rm[0] != bass % 12)  # stable: the first listed otherwise
    return chord_id(root, minor)


def _bar_chord(measure) -> int:
    """The chord most of a chordified measure's duration holds (module docstring)."""
    votes: dict = {}
    for c in measure.flatten().getElementsByClass("Chord"):
        key = triad([p.pitchClass for p in c.pitches], c.bass().pitchClass)
        if key != NO_CHORD:
            votes[key] = votes.get(key, 0.0) + float(c.quarterLength)
    return max(votes, key=lambda k: (votes[k], -k)) if votes else NO_CHORD


def _is_full_bar(measure) -> bool:
    """A complete bar of four quarter notes (4/4, or 2/2): 16 sixteenth-note steps."""
    return float(measure.barDuration.quarterLength) == 4.0 and float(measure.duration.quarterLength) == 4.0


def score_bars(score, melody_part: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(melody (n, 16), chords (n,), previous (n,)) of a music21 score's full 4/4 bars.

    The melody is part `melody_part` (None: the part with the highest mean pitch); the chords come
    from the other parts (NO_CHORD everywhere when there are none)."""
    from music21 import stream

    parts = [p for p in score.parts if any(n.pitches for n in p.flatten().notes)]  # drum parts have none
    if not parts:
        raise MelodyError("no part with pitched notes")
    if melody_part is None:
        melody_part = int(np.argmax([np.mean([max(x.midi for x in n.pitches) for n in p.flatten().notes if n.pitches])
                                     for p in parts]))
    melody = parts[melody_part]
    if not melody.getElementsByClass("Measure"):
        melody = melody.makeMeasures()
    others = [p for i, p in enumerate(parts) if i != melody_part]
    measures = list(melody.getElementsByClass("Measure"))
    chord_measures = None
    if others:
        harmony = stream.Score()
        for p in others:
            harmony.insert(0, p if p.getElementsByClass("Measure") else p.makeMeasures())
        chord_measures = list(harmony.chordify().getElementsByClass("Measure"))
        if len(chord_measures) != len(measures):
            chord_measures = None  # misaligned parts: melody only
    rows, chords, previous = [], [], []
    last_full = False
    for i, m in enumerate(measures):
        if not _is_full_bar(m):
            last_full = False
            continue
        rows.append(_bar_steps(m))
        chords.append(_bar_chord(chord_measures[i]) if chord_measures else NO_CHORD)
        previous.append(len(rows) - 2 if last_full else -1)
        last_full = True
    return (np.array(rows, np.int16).reshape(-1, STEPS), np.array(chords, np.int16), np.array(previous, np.int32))


def into_range(melody: np.ndarray) -> np.ndarray:
    """A piece's melody moved by the octave shift that puts most notes in LOW..LOW+PITCHES-1, the
    rest folded in by octaves; rests stay."""
    notes = melody[melody != REST].astype(np.int32)
    if not len(notes):
        return melody
    shifts = [12 * k for k in range(-4, 5)]
    best = max(shifts, key=lambda s: (np.sum((notes + s >= LOW) & (notes + s < LOW + PITCHES)), -abs(s)))
    return fold(melody, best)


def fold(melody: np.ndarray, semitones: int) -> np.ndarray:
    """melody + semitones, every note folded by octaves into LOW..LOW+PITCHES-1; rests stay."""
    m = melody.astype(np.int32)
    moved = m + semitones
    moved = LOW + np.mod(moved - LOW, 12) + 12 * np.clip((moved - LOW) // 12, 0, PITCHES // 12 - 1)
    return np.where(m == REST, REST, moved).astype(np.int16)


# --- sources -----------------------------------------------------------------------------


def _collect(spec: str, items, parse, melody_part) -> Bars:
    melodies, chords, pieces, previous, names = [], [], [], [], []
    offset = 0
    for name, source in items:
        try:
            score = parse(source)
            if score is None:  # a bundled tune music21 cannot read: skipped
                continue
            melody, chord, prev = score_bars(score, melody_part)
        except MelodyError as e:
            raise MelodyError(f"--dataset {spec}: {name}: {e}; expected a melody in a part of its own") from None
        if not len(melody):
            continue
        melodies.append(into_range(melody))
        chords.append(chord)
        pieces.append(np.full(len(melody), len(names), np.int32))
        previous.append(np.where(prev >= 0, prev + offset, -1).astype(np.int32))
        names.append(name)
        offset += len(melody)
    if not names:
        raise MelodyError(f"--dataset {spec}: no complete bar of four quarter notes (4/4) in any piece")
    return Bars(np.concatenate(melodies), np.concatenate(chords), np.concatenate(pieces), np.concatenate(previous),
                tuple(names))


def _cached(spec: str, key_text: str, build) -> Bars:
    import music21

    from tfgan_app.data.cache import cache_dir

    key = hashlib.sha256(f"{key_text}|music21 {music21.__version__}|v{EXTRACTION_VERSION}".encode()).hexdigest()[:20]
    path = cache_dir() / "melody" / f"{key}.npz"
    if path.is_file():
        with np.load(path) as f:
            return Bars(f["melody"], f["chord"], f["piece"], f["previous"], tuple(str(n) for n in f["names"]))
    bars = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.npz")
    np.savez(tmp, melody=bars.melody, chord=bars.chord, piece=bars.piece, previous=bars.previous,
             names=np.array(bars.names))
    tmp.replace(path)  # readers never see half a file
    return bars


def chorale_bars(limit: int | None = None) -> Bars:
    """The bars of music21's Bach chorales (the first `limit` of them), cached."""
    from music21 import corpus

    names = list(corpus.chorales.Iterator(returnType="filename"))[:limit]
    return _cached("chorales", f"chorales|{len(names)}",
                   lambda: _collect("chorales", [(n, n) for n in names], corpus.parse, 0))


def midi_bars(spec: str, directory: str) -> Bars:
    """The bars of the MIDI files under `directory` (sorted by path), cached by their bytes."""
    from music21 import converter

    root = Path(directory).expanduser()
    if not root.is_dir():
        raise MelodyError(f"--dataset {spec}: {root} is not a directory; expected a folder of MIDI files")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise MelodyError(f"--dataset {spec}: {root} holds no .mid or .midi file")
    digest = hashlib.sha256(b"".join(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() for f in files)
                            ).hexdigest()

    def parse(path):
        try:
            return converter.parse(str(path))
        except Exception as e:  # music21 raises many types for a broken file
            raise MelodyError(f"cannot be read as MIDI ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None

    return _cached(spec, f"midi|{digest}", lambda: _collect(spec, [(str(f.relative_to(root)), f) for f in files],
                                                            parse, None))


def abc_tunes(text: str) -> list[tuple[str, str]]:
    """(X number, text) of the tunes of an ABC file headed in a metre of FOUR_FOUR, each with the
    file's header (the fields before its first X:) in front, as ABC scopes them."""
    header, *tunes = re.split(r"(?m)^(?=X:)", text)
    out = []
    for tune in tunes:
        head = re.sub(r"%.*", "", header + tune.split("\nK:")[0])  # comments
        fields = dict(re.findall(r"(?m)^([A-Z]):[ \t]*(.*?)[ \t]*$", head))
        if fields.get("M") in FOUR_FOUR:
            out.append((fields["X"], header + tune))
    return out


def folk_tunes(name: str) -> list[tuple[str, str]]:
    """(name, ABC text) of a folk collection's 4/4 tunes, in file order, each X number once: O'Neill's
    folder holds some ranges twice (1556-1576 inside 1556-1624, ...): the first file's version is
    kept; music21's own test files in the Essen folder (test*.abc) are not tunes of the collection."""
    import music21

    folder = Path(music21.__file__).parent / "corpus" / FOLK[name]
    out, seen = [], set()
    for f in sorted(folder.glob("*.abc")):
        if f.name.startswith("test"):
            continue
        text = f.read_text(encoding="latin-1")
        for x, tune in abc_tunes(text):
            if name != "oneills" or x not in seen:  # O'Neill's numbers its tunes through the book;
                seen.add(x)                            # Essen's and Ryan's files from 1 each
                out.append((f"{f.name}#{x}", tune))
    return out


def folk_bars(spec: str, name: str, limit: int | None = None) -> Bars:
    """The bars of a folk collection of music21's corpus (FOLK; its first `limit` 4/4 tunes),
    melodies alone, cached.  A tune music21's ABC reader cannot read is skipped."""
    from music21 import converter

    if name not in FOLK:
        raise MelodyError(f"--dataset {spec!r}: no folk collection {name!r}; expected one of {', '.join(FOLK)}")
    tunes = folk_tunes(name)[:limit]

    def parse(text):
        try:
            return converter.parse(text, format="abc")
        except Exception:  # music21 raises many types for tunes it cannot read
            return None

    return _cached(spec, f"folk{FOLK_VERSION}|{name}|{len(tunes)}", lambda: _collect(spec, tunes, parse, 0))


def load_bars(spec: str, limit: int | None = None) -> Bars:
    scheme, _, arg = spec.partition(":")
    if spec == "chorales":
        return chorale_bars(limit)
    if scheme == "folk" and arg:
        name, colon, count = arg.partition(":")
        if colon and not (count.isdecimal() and int(count) > 0):
            raise MelodyError(f"--dataset {spec!r}: {count!r} after the collection is not a count of tunes; "
                              f"expected folk:{name}:N with N >= 1")
        counts = [int(count)] if colon else []
        counts += [limit] if limit is not None else []
        return folk_bars(spec, name, min(counts) if counts else None)
    if scheme == "midi" and arg:
        return midi_bars(spec, arg)
    raise MelodyError(f"--dataset {spec!r}: unknown music source; expected one of {SPEC_FORMS}")


# --- training examples -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MelodyData:
    """Training examples (transposed into 12 keys) and held-out ones, as row indices 0..23 or -1."""
    bar: np.ndarray        # (N, 16) int8: pitch - LOW, or -1 (rest)
    previous: np.ndarray   # (N, 16) int8: the bar before (all -1 for a first bar)
    chord: np.ndarray      # (N,) int32 (NO_CHORD when the source has none, or chords are off)
    held_out: Bars         # the held-out pieces' bars (MIDI pitches), untransposed
    train: Bars            # the training pieces' bars, untransposed
    chords: bool           # the examples carry chords

    @property
    def shape(self) -> dict:
        return {"bar": (STEPS, PITCHES), "chord": (CHORD_DIM if self.chords else 0,)}


def piece_shifts(bars: Bars, semitones: int) -> tuple[np.ndarray, np.ndarray]:
    """(shift, fits), each (N,) per bar: `semitones` plus the octave that puts most of its piece's
    notes in range after the transposition (one shift per piece: a melody keeps its shape), and
    whether all of the piece's notes then are in range (a piece spanning more than an octave does
    not fit two octaves in every key)."""
    shifts = np.zeros(len(bars.melody), np.int32)
    fits = np.zeros(len(bars.melody), bool)
    for p in np.unique(bars.piece):
        rows = bars.piece == p
        notes = bars.melody[rows][bars.melody[rows] != REST].astype(np.int32) + semitones
        inside = lambda s: np.sum((notes + s >= LOW) & (notes + s < LOW + PITCHES))  # noqa: E731
        octave = max((12 * k for k in range(-4, 5)), key=lambda s: (inside(s), -abs(s)))
        shifts[rows] = semitones + octave
        fits[rows] = inside(octave) == len(notes)
    return shifts, fits


def examples(bars: Bars, transpose: bool, chords: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bar, previous, chord) rows of `bars` (with a chord when `chords`), in every key when `transpose`:
    each piece moved whole by k = -6..+5 semitones and an octave (`piece_shifts`), in the keys where
    it fits the two octaves whole (always in its own, k = 0, where `into_range` placed it)."""
    keep = bars.chord >= 0 if chords else np.ones(len(bars.melody), bool)
    melody, chord = bars.melody[keep], bars.chord[keep]
    prev = np.where((bars.previous[keep] >= 0)[:, None], bars.melody[np.maximum(bars.previous[keep], 0)], REST)
    out_bar, out_prev, out_chord = [], [], []
    for k in (range(-6, 6) if transpose else [0]):
        shift, fits = piece_shifts(bars, k)
        use = fits[keep] | (k == 0)
        shift = shift[keep][use][:, None]  # a bar and its previous bar: one piece, one shift
        out_bar.append(fold(melody[use], shift))
        out_prev.append(fold(prev[use], shift))
        c = chord[use]
        out_chord.append(np.where(c >= 0, (c % 12 + k) % 12 + 12 * (c >= 12), NO_CHORD) if chords
                         else np.full(len(c), NO_CHORD))
    to_rows = lambda m: np.where(m == REST, -1, m.astype(np.int32) - LOW).astype(np.int8)  # noqa: E731
    return to_rows(np.concatenate(out_bar)), to_rows(np.concatenate(out_prev)), np.concatenate(out_chord).astype(np.int32)


def held_out_rows(data: "MelodyData") -> tuple[np.ndarray, np.ndarray]:
    """(rows (M, 16), chords (M,)) of the held-out bars (those with a chord when the data has chords)."""
    bar, _, chord = examples(data.held_out, transpose=False, chords=data.chords)
    return bar.astype(np.int32), chord


def held_out_progressions(data: "MelodyData", bars: int) -> tuple[np.ndarray, np.ndarray]:
    """(chords (M, bars) int32, rows (M, bars, 16)): the held-out pieces cut into runs of `bars`
    consecutive bars (each bar's previous bar the one before it; with a chord each when the data
    has chords): the progressions a model is scored on, and the melodies that really went with them."""
    held = data.held_out
    ok = held.chord >= 0 if data.chords else np.ones(len(held.melody), bool)
    rows = np.where(held.melody == REST, -1, held.melody.astype(np.int32) - LOW)
    runs, current = [], []  # runs of usable bars, each bar following the one before
    for i in range(len(held.melody)):
        if ok[i] and current and held.previous[i] == current[-1]:
            current.append(i)
        else:
            runs.append(current)
            current = [i] if ok[i] else []
    runs.append(current)
    windows = [run[j:j + bars] for run in runs for j in range(0, len(run) - bars + 1, bars)]
    if not windows:
        return np.zeros((0, bars), np.int32), np.zeros((0, bars, STEPS), np.int32)
    index = np.array([list(w) for w in windows])
    chords = held.chord[index].astype(np.int32) if data.chords else np.full(index.shape, NO_CHORD, np.int32)
    return chords, rows[index]


def training_rows(data: "MelodyData") -> np.ndarray:
    """Rows (N, 16) of the training bars, untransposed."""
    return examples(data.train, transpose=False, chords=data.chords)[0].astype(np.int32)


def note_pitches(row) -> list[int]:
    """The notes of a row of steps (a run of steps on one pitch is one note; a rest ends it), rests skipped."""
    notes, last = [], None
    for r in np.asarray(row).tolist():
        if r >= 0 and r != last:
            notes.append(r)
        last = r if r >= 0 else None
    return notes


def tune_groups(bars: Bars) -> np.ndarray:
    """(pieces,) the tune of each piece: pieces whose first eight notes move by the same intervals
    share one (numbered in order of first appearance)."""
    keys, groups = {}, []
    for p in range(len(bars.names)):
        notes = note_pitches(bars.melody[bars.piece == p].reshape(-1))
        key = tuple(np.diff(notes[:8]).tolist())
        groups.append(keys.setdefault(key, len(keys)))
    return np.array(groups)


def is_music_spec(spec: str) -> bool:
    """Whether `spec` names a music source (chorales, folk:, midi:)."""
    scheme, colon, _ = str(spec).partition(":")
    return spec == "chorales" or (bool(colon) and scheme in ("folk", "midi"))


def prepared_music(spec: str, chords: bool) -> records.Description:
    """The description of a prepared music dataset's training examples, checked to have been
    prepared with `chords`.

    Raises:
      DataError: not a prepared music dataset, or --chords differs from its.
    """
    directory = streaming.directory_of(spec)
    description = records.music_description(directory)
    if bool(description.meta["chords"]) != bool(chords):
        held = str(bool(description.meta["chords"])).lower()
        raise MelodyError(f"--chords {str(bool(chords)).lower()}: the records in {directory} were prepared with "
                          f"--chords {held}; use --chords {held}, or prepare them again")
    return description


def _prepared_bars(description: records.Description, part: str) -> Bars:
    """The Bars of a prepared music dataset's part (records.MUSIC_BARS), in their order."""
    bars = records.bars_description(description.directory / part)
    melody, chord, piece, previous = records.read_all(bars)
    return Bars(melody, chord, piece, previous, tuple(bars.meta["names"]))


def load_melodies(spec: str, chords: bool = True, limit: int | None = None) -> MelodyData:
    if streaming.is_prepared(spec):
        if limit is not None:
            raise MelodyError(f"--dataset {spec}: a prepared dataset is read whole; prepare fewer pieces instead "
                              f"of a limit of {limit}")
        description = prepared_music(spec, chords)
        bar, previous, chord = records.read_all(description)
        train, held = (_prepared_bars(description, part) for part in records.MUSIC_BARS)
        return MelodyData(bar, previous, chord, held, train, bool(chords))
    bars = load_bars(spec, limit)
    pieces = np.arange(len(bars.names))
    tunes = tune_groups(bars)
    held_out = tunes % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
    held = bars.select(pieces[held_out])
    train = bars.select(pieces[~held_out])
    if chords and not np.any(train.chord >= 0):
        raise MelodyError(f"--dataset {spec}: no bar has a chord (a single part per file?); train with "
                          f"--chords false for melodies alone")
    bar, prev, chord = examples(train, transpose=True, chords=chords)
    if not len(bar):
        raise MelodyError(f"--dataset {spec}: no training bar")
    return MelodyData(bar, prev, chord, held, train, chords)


def melody_batches(data: MelodyData, *, batch_size: int, seed: int, start_batch: int = 0) -> tf.data.Dataset:
    """Endless batches ((bar, previous) (B, 16) int8 rows, chord (B,) int32), each epoch a stateless
    permutation of (seed, epoch): batch i is a pure function of (seed, i)."""
    n, b = len(data.bar), int(batch_size)
    bar, prev, chord = tf.constant(data.bar), tf.constant(data.previous), tf.constant(data.chord)

    def batch(index):
        j = shuffled_positions(index, b, n, seed)
        return tf.gather(bar, j), tf.gather(prev, j), tf.gather(chord, j)

    return tf.data.Dataset.counter(start=int(start_batch)).map(batch).prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass
class MelodyStream:
    batches: object
    shape: dict
    data: MelodyData | None  # None when streamed from tfrecords:DIR


def open_melodies(config) -> MelodyStream:
    per_step = config.batch_size * config.n_critic
    if streaming.is_prepared(config.dataset):
        description = prepared_music(config.dataset, config.chords)

        def batches(start: int) -> tf.data.Dataset:
            return streaming.decoded_batches(description, lambda b: records.parse(b, description),
                                             batch_size=per_step, seed=config.seed, window=config.shuffle_buffer,
                                             start_batch=start)

        shape = {"bar": (STEPS, PITCHES), "chord": (CHORD_DIM if config.chords else 0,)}
        return MelodyStream(batches, shape, None)
    data = load_melodies(config.dataset, chords=config.chords)
    return MelodyStream(lambda start: melody_batches(data, batch_size=per_step, seed=config.seed, start_batch=start),
                        data.shape, data)
