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
    """n songs of 4 bars (C, Am, F, G), each melody a transposition of one tune; returns midi:FOLDER."""
    tune = [72, 74, 76, 72, 69, 72, 76, 69, 65, 69, 72, 65, 67, 71, 74, 67]
    for i in range(n):
        write_song(folder / f"song{i:02d}.mid", [p + (i % 3) for p in tune], [C_MAJOR, A_MINOR, F_MAJOR, G_MAJOR])
    return f"midi:{folder}"
