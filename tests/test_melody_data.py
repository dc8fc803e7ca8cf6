"""Bars of melody with chords (data/melody.py): MIDI files and the chorales, ranges, keys, held-out
pieces, batches, refusals."""

import numpy as np
import pytest
import tensorflow as tf

from music_fixtures import A_MINOR, C_MAJOR, F_MAJOR, G_MAJOR, write_song, write_songs
from tfgan_app import config as cfg
from tfgan_app.data import melody, open_data


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TFGAN_APP_CACHE", str(tmp_path / "cache"))


def test_a_midi_song_becomes_bars_of_sixteenths_with_their_chords(tmp_path):
    write_song(tmp_path / "s" / "a.mid", [72, 74, None, 72] + [69] * 4 + [65, 69, 72, 65] + [67, 71, 74, 79],
               [C_MAJOR, A_MINOR, F_MAJOR, G_MAJOR])
    bars = melody.load_bars(f"midi:{tmp_path / 's'}")
    assert bars.melody[0].tolist() == [72] * 4 + [74] * 4 + [-1] * 4 + [72] * 4
    assert bars.melody[1].tolist() == [69] * 16  # four repeated quarters read as one held note's steps
    assert [melody.chord_name(c) for c in bars.chord] == ["C", "Am", "F", "G"]
    assert bars.previous.tolist() == [-1, 0, 1, 2]
    assert bars.melody[3].tolist() == [67] * 4 + [71] * 4 + [74] * 4 + [79] * 4  # all inside 60..83


def test_pieces_move_by_octaves_into_two_octaves_and_stray_notes_fold_in():
    assert melody.into_range(np.array([[48, 50, -1, 59]])).tolist() == [[60, 62, -1, 71]]  # an octave up
    assert melody.fold(np.array([[84, 59, -1]]), 0).tolist() == [[72, 71, -1]]
    assert melody.fold(np.array([[83]]), 1).tolist() == [[72]]  # B5 + 1 = C6 -> C5


def test_training_bars_come_in_twelve_keys_and_every_tenth_piece_is_held_out(tmp_path):
    data = melody.load_melodies(write_songs(tmp_path / "songs", n=10))
    assert np.unique(data.train.piece).tolist() == list(range(9)) and np.unique(data.held_out.piece).tolist() == [9]
    assert data.held_out.names[9] == "song09.mid"
    assert len(data.bar) == 12 * 9 * 4  # 4 bars a song, 12 keys
    assert data.bar.min() >= 0 and data.bar.max() < melody.PITCHES  # every step sounds, inside 24 rows
    # Key -6 first: song i's first bar is over C + i % 3, moved down 6 semitones.
    assert data.chord[0:36:4].tolist() == [(i % 3 - 6) % 12 for i in range(9)]
    assert data.shape == {"bar": (16, 24), "chord": (13,)}
    for k in range(12):  # each key block: a song moves whole (one shift for all its steps) ...
        block, base = data.bar[36 * k:36 * (k + 1)].astype(int), data.bar[36 * 6:36 * 7].astype(int)
        for song in range(9):
            assert len(np.unique(block[4 * song:4 * song + 4] - base[4 * song:4 * song + 4])) == 1
        # ... and a bar's previous bar is the bar before it, in the same key; the first follows silence
        prev = data.previous[36 * k:36 * (k + 1)]
        assert (prev[0::4] == -1).all()
        np.testing.assert_array_equal(prev.reshape(9, 4, 16)[:, 1:], block.reshape(9, 4, 16)[:, :-1])


def test_the_chorales_give_soprano_bars_and_chords_from_the_lower_voices():
    bars = melody.chorale_bars(limit=3)
    assert len(bars.names) >= 1 and len(bars.melody) > 10
    assert np.mean(bars.chord >= 0) > 0.9  # four-part harmony: nearly every bar has a triad
    notes = bars.melody[bars.melody >= 0]
    assert notes.min() >= 60 and notes.max() <= 83


TUNES = """%% a file header: its fields hold for every tune
L: 1/8
M: C|

X: 1
T: In the header's 2/2
K: G
GABc d2 d2 | e4 d4 |

X: 2
T: A jig: 6/8 bars are not 16 sixteenths
M: 6/8
K: D
ABA ABA |

X: 3
N:
M: 4/4
K: Gm
B2 A2 G4 |

X: 4
M: C| % a reel
K: D
d2 f2 a4 |
"""


def test_abc_tunes_in_four_four_are_picked_with_their_file_header():
    tunes = melody.abc_tunes(TUNES)
    assert [x for x, _ in tunes] == ["1", "3", "4"]  # an empty field, a comment: still read
    assert all(text.startswith("%% a file header") and "L: 1/8" in text for _, text in tunes)


def test_a_folk_collection_reads_each_tune_once():
    tunes = melody.folk_tunes("oneills")  # some ranges of O'Neill's are in two files: the first is read
    numbers = [name.split("#")[1] for name, _ in tunes]
    assert len(numbers) == len(set(numbers)) and "1556" in numbers
    assert not any(name.startswith("test") for name, _ in melody.folk_tunes("essen"))


def test_a_folk_collection_gives_melodies_without_chords():
    bars = melody.load_bars("folk:oneills:1")  # the first tune in 4/4: O'Neill's 3, in G minor, L: 1/8
    assert bars.names == ("0001-0050.abc#3",)
    assert (bars.chord == melody.NO_CHORD).all()
    # Counted by hand: 4 + 3 full bars of eighths, then the strain's pickup and 4 + 3 again (each
    # strain's last bar is short: its pickup completes it); the previous-bar chain breaks there.
    assert len(bars.melody) == 14
    np.testing.assert_array_equal(bars.previous, [-1, 0, 1, 2, 3, 4, 5, -1, 7, 8, 9, 10, 11, 12])
    g, a, bb, f, d, c = 67, 69, 70, 65, 62, 60  # the ABC's G A B (flat in G minor) F D C, by hand
    np.testing.assert_array_equal(bars.melody[1], [g] * 2 + [bb] * 2 + [a] * 2 + [g] * 2 + [f] * 4 + [d] * 2 + [f] * 2)
    np.testing.assert_array_equal(bars.melody[2], [g] * 3 + [a] + [g] * 2 + [f] * 2 + [d] * 3 + [c] + [d] * 2 + [f] * 2)
    with pytest.raises(melody.MelodyError, match="no bar has a chord .* --chords false"):
        melody.load_melodies("folk:oneills:1")
    stream = open_data(cfg.preset("midinet-folk", dataset="folk:oneills:1", batch_size=4))  # melodies alone
    bar, prev, chord = next(iter(stream.batches(0)))
    assert stream.shape["chord"] == (0,) and bar.shape == (4, 16) and (chord.numpy() == melody.NO_CHORD).all()
    with pytest.raises(melody.MelodyError, match="no folk collection 'nope'; expected one of oneills, ryans, essen"):
        melody.load_bars("folk:nope")
    for count in ("x", "", "0", "²"):
        with pytest.raises(melody.MelodyError, match=f"{count!r} after the collection is not a count of tunes"):
            melody.load_bars(f"folk:oneills:{count}")


def test_a_piece_wider_than_an_octave_is_left_out_of_the_keys_it_does_not_fit_whole():
    wide = np.array([[60] * 8 + [74] * 8], np.int16)  # C4 and D5: 14 semitones
    bars = melody.Bars(wide, np.array([0], np.int16), np.zeros(1, np.int32), np.array([-1], np.int32), ("w",))
    bar, _, chord = melody.examples(bars, transpose=True, chords=True)
    # k = -6..5 moves C4 to F#3..F4: the octave shift fits C4 + k.. D5 + k into C4..B5 unless it
    # straddles: k = -2 (Bb3..C5 -> up: Bb4..C6) and k = -1 (B3..C#5) do not fit whole.
    assert sorted(chord.tolist()) == sorted(k % 12 for k in range(-6, 6) if k not in (-2, -1))
    assert all(r[8] - r[0] == 14 for r in bar.astype(int))  # the interval is kept wherever it is used


def test_batches_are_a_function_of_seed_and_index(tmp_path):
    data = melody.load_melodies(write_songs(tmp_path / "songs", n=10))
    a = [tuple(t.numpy() for t in b) for b in melody.melody_batches(data, batch_size=16, seed=1).take(3)]
    b = [tuple(t.numpy() for t in x) for x in melody.melody_batches(data, batch_size=16, seed=1, start_batch=2).take(1)]
    for x, y in zip(a[2], b[0]):
        np.testing.assert_array_equal(x, y)
    config = cfg.preset("midinet-chorales", dataset=f"midi:{tmp_path / 'songs'}", batch_size=8)
    bar, prev, chord = next(iter(open_data(config).batches(0)))
    assert bar.shape == (8, 16) and prev.shape == (8, 16) and chord.shape == (8,)


def test_chords_parse_by_name():
    assert [melody.parse_chord(n) for n in ("C", "G", "Am", "F#", "Bbm", "Db")] == [0, 7, 21, 6, 22, 1]
    with pytest.raises(melody.MelodyError, match="chord 'H': expected a root C, C#"):
        melody.parse_chord("H")


def test_unusable_music_is_one_clear_line(tmp_path):
    write_song(tmp_path / "solo" / "a.mid", [72] * 16, [], with_chords=False)
    with pytest.raises(melody.MelodyError, match="no bar has a chord .* --chords false"):
        melody.load_melodies(f"midi:{tmp_path / 'solo'}")
    alone = melody.load_melodies(f"midi:{tmp_path / 'solo'}", chords=False)  # melodies alone are fine
    assert len(alone.bar) == 12 * 4 and (alone.chord == melody.NO_CHORD).all() and alone.shape["chord"] == (0,)
    write_song(tmp_path / "silent" / "s.mid", [None] * 8, [], with_chords=False)
    with pytest.raises(melody.MelodyError, match=r"--dataset midi:.*s\.mid: no part with pitched notes; expected a melody"):
        melody.load_bars(f"midi:{tmp_path / 'silent'}")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.mid").write_bytes(b"not a midi file at all")
    with pytest.raises(melody.MelodyError, match=r"--dataset midi:.*x\.mid: cannot be read as MIDI"):
        melody.load_bars(f"midi:{tmp_path / 'broken'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(melody.MelodyError, match="holds no .mid or .midi file"):
        melody.load_bars(f"midi:{tmp_path / 'empty'}")
    write_song(tmp_path / "waltz" / "w.mid", [72] * 12, [C_MAJOR] * 4, time_signature="3/4")
    with pytest.raises(melody.MelodyError, match="no complete bar of four quarter notes"):
        melody.load_bars(f"midi:{tmp_path / 'waltz'}")
    with pytest.raises(melody.MelodyError, match="unknown music source; expected one of chorales, folk:"):
        melody.load_bars("folder:x")
    with pytest.raises(cfg.ConfigError, match="--problem: midinet learns music"):
        cfg.Config(game="midinet").validate()


def test_prepared_music_streams_the_training_bars_and_keeps_the_pieces_bars_for_evaluation(tmp_path):
    from tfgan_app.data import DataError, prepare, records

    spec = write_songs(tmp_path / "songs", n=10)
    description = prepare.prepare(spec, tmp_path / "rec", shards=2)
    assert description.kind == "music" and description.meta == {"chords": True}
    source, prepared = melody.load_melodies(spec), melody.load_melodies(f"tfrecords:{tmp_path / 'rec'}")
    for part in ("train", "held_out"):  # the pieces' bars, in order: what the evaluation reads
        a, b = getattr(source, part), getattr(prepared, part)
        for field in ("melody", "chord", "piece", "previous"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=f"{part}.{field}")
            assert getattr(a, field).dtype == getattr(b, field).dtype, f"{part}.{field}"
        assert a.names == b.names
    for x, y in zip(melody.held_out_progressions(source, 2), melody.held_out_progressions(prepared, 2)):
        np.testing.assert_array_equal(x, y)
    rows = lambda bar, prev, chord: sorted(  # noqa: E731
        (tuple(b), tuple(p), int(c)) for b, p, c in zip(np.asarray(bar), np.asarray(prev), np.asarray(chord)))
    assert rows(prepared.bar, prepared.previous, prepared.chord) == rows(source.bar, source.previous, source.chord)

    n = len(source.bar)
    config = cfg.preset("midinet-chorales", dataset=f"tfrecords:{tmp_path / 'rec'}", batch_size=n)
    stream = open_data(config)
    assert stream.shape == {"bar": (16, melody.PITCHES), "chord": (melody.CHORD_DIM,)}
    first = next(iter(stream.batches(0)))  # one epoch: every training bar once, with its bar before and chord
    assert first[0].dtype == tf.int8 and rows(*first) == rows(source.bar, source.previous, source.chord)
    small = cfg.preset("midinet-chorales", dataset=config.dataset, batch_size=8)
    batches = list(open_data(small).batches(0).take(4))
    for x, y in zip(batches[3], next(iter(open_data(small).batches(3)))):  # resumed at batch 3
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    with pytest.raises(DataError, match="--chords false: the records in .* were prepared with --chords true"):
        open_data(cfg.preset("midinet-chorales", dataset=config.dataset, chords=False))
    with pytest.raises(DataError, match="--chords: SOURCE .* is not music"):
        prepare.prepare("pydoc-topics", tmp_path / "t", chords=False)
    assert [d.num_examples for d in records.verify_dataset(tmp_path / "rec")] == [
        n, len(source.train.melody), len(source.held_out.melody)]
    # Melodies alone (the CLI's --chords false): every bar, no chord, and a run must say --chords false too.
    assert prepare.main([spec, "--out", str(tmp_path / "alone"), "--shards", "2", "--chords", "false"]) == 0
    alone = melody.load_melodies(spec, chords=False)
    stream = open_data(cfg.preset("midinet-chorales", dataset=f"tfrecords:{tmp_path / 'alone'}", chords=False,
                                  batch_size=len(alone.bar)))
    assert stream.shape == {"bar": (16, melody.PITCHES), "chord": (0,)}
    bar, prev, chord = next(iter(stream.batches(0)))
    assert rows(bar, prev, chord) == rows(alone.bar, alone.previous, alone.chord)
    assert set(chord.numpy().tolist()) == {melody.NO_CHORD}
