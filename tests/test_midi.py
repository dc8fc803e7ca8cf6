"""Standard MIDI file bytes built with TF ops (data/midi.py), against bytes written out by hand and
music21's reader."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.data import midi


def notes_of(data: bytes):
    from music21 import midi as m21midi

    mf = m21midi.MidiFile()
    mf.readstr(data)
    score = m21midi.translate.midiFileToStream(mf)
    return [(float(n.offset), float(n.quarterLength), n.pitch.midi) for n in score.flatten().notes]


def test_a_melody_is_a_format_0_file_with_one_note_per_run_of_equal_steps():
    data = midi.midi_bytes([[60, 60, 62, -1]]).numpy()[0]
    events = bytes([0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,               # tempo: 500,000 us a quarter
                    0x00, 0xFF, 0x58, 0x04, 0x04, 0x02, 0x18, 0x08,         # 4/4
                    0x00, 0x90, 60, 90,        # C4 on at tick 0
                    0x02, 0x80, 60, 0,         # off after two steps (held, not struck twice)
                    0x00, 0x90, 62, 90,        # D4 on
                    0x01, 0x80, 62, 0,         # off at the rest
                    0x01, 0xFF, 0x2F, 0x00])   # end of track after the rest: the melody keeps its 4 steps
    track = events
    assert data == midi.HEADER + b"MTrk" + len(track).to_bytes(4, "big") + track
    assert data[:14] == b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x04"  # format 0, one track, 4 ticks a quarter


def test_music21_reads_back_the_notes_and_their_lengths():
    steps = [60, 60, 62, -1, -1, 64, 64, 64, 65, -1, 67, 67, 67, 67, 67, 67]
    assert notes_of(midi.midi_bytes([steps]).numpy()[0]) == [
        (0.0, 0.5, 60), (0.5, 0.25, 62), (1.25, 0.75, 64), (2.0, 0.25, 65), (2.5, 1.5, 67)]


@pytest.mark.parametrize("rest, delta", [(127, [0x7F]), (128, [0x81, 0x00]), (130, [0x81, 0x02])])
def test_delta_times_are_variable_length_quantities(rest, delta):
    data = midi.midi_bytes([[-1] * rest + [72]]).numpy()[0]
    assert bytes(delta + [0x90, 72, 90]) in data
    assert notes_of(data) == [(rest / 4, 0.25, 72)]


def test_a_batch_gives_one_file_per_melody_and_silence_is_a_valid_file():
    files = midi.midi_bytes([[-1] * 4, [70, 70, 70, 70]]).numpy()
    assert len(files) == 2 and notes_of(files[0]) == [] and notes_of(files[1]) == [(0.0, 1.0, 70)]


@pytest.mark.parametrize("bad", [[[128, 60]], [[-2, 60]]])
def test_a_pitch_outside_midi_fails_in_the_graph(bad):
    with pytest.raises(tf.errors.InvalidArgumentError, match="pitches must be MIDI 0..127 or -1"):
        midi.midi_bytes(np.array(bad, np.int32))
