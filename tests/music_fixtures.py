"""Small MIDI files written with music21, for the melody tests (no corpus parsing)."""

from pathlib import Path


def write_song(path: Path, melody, chords, time_signature: str = "4/4", with_chords: bool = True) -> Path:
    """A two-part MIDI file: `melody` (MIDI pitches, a quarter note each; None = a quarter rest) over
    `chords` (one triad of MIDI pitches a bar, whole notes)."""
    from music21 import chord, meter, note, stream

    score = stream.Score()
    top, low = stream.Part(), stream.Part()
    top.append(meter.TimeSignature(time_signature))
    for p in melody:
        top.append(note.Rest(quarterLength=1.0) if p is None else note.Note(p, quarterLength=1.0))
    score.insert(0, top)
    if with_chords:
        low.append(meter.TimeSignature(time_signature))
        for triad in chords:
            low.append(chord.Chord(triad, quarterLength=4.0 if time_signature == "4/4" else 3.0))
        score.insert(0, low)
    path.parent.mkdir(parents=True, exist_ok=True)
    score.write("midi", fp=str(path))
    return path


C_MAJOR, A_MINOR, G_MAJOR, F_MAJOR = (48, 52, 55), (45, 48, 52), (43, 47, 50), (41, 45, 48)


def write_songs(folder: Path, n: int = 10) -> str:
    """n songs of 4 bars over C, Am, F, G, each a different tune of the bar's chord tones (quarter
    notes, A4..G#5: less than an octave, so two octaves hold them in any key), song i moved up i % 3 semitones with its chords;
    returns midi:FOLDER."""
    import numpy as np

    for i in range(n):
        rng = np.random.default_rng(i)
        chords = [C_MAJOR, A_MINOR, F_MAJOR, G_MAJOR]
        tune = [int(rng.choice([69 + (p - 69) % 12 for p in triad])) for triad in chords for _ in range(4)]  # A4..G#5
        write_song(folder / f"song{i:02d}.mid", [p + i % 3 for p in tune],
                   [tuple(p + i % 3 for p in triad) for triad in chords])
    return f"midi:{folder}"
