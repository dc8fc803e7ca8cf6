"""Melodies as Standard MIDI File bytes, built with TF ops only (so an export can serve them).

A melody is a row of steps (sixteenth notes), each a MIDI pitch or REST (-1).  `midi_bytes`
writes a format-0 file with one track:

    MThd, length 6, format 0, 1 track, division 4 ticks per quarter (one tick a sixteenth)
    MTrk, length, events:
        tempo (FF 51 03: 500,000 us a quarter, 120 bpm), time signature 4/4 (FF 58 04 04 02 18 08)
        for each note: delta, 90 pitch velocity ... delta, 80 pitch 00     (channel 0)
        end of track (FF 2F 00) at the melody's end (trailing rests keep their length)

A step that repeats the pitch before it holds the note (the piano roll cannot tell a held note
from a repeated one; MidiNet's paper says the same of its data).  Every delta time is a
variable-length quantity (7 bits a byte, most significant first, the high bit on all but the
last byte: 0..127 take one byte, up to 16,383 two; longer melodies are refused).  Bytes are
computed as int32, mapped through a 256-entry table of one-byte strings (`tf.gather`) and joined
(`tf.strings.reduce_join`): no tf.py_function, which TF Serving cannot load.
"""

from __future__ import annotations

import tensorflow as tf

REST = -1
TICKS_PER_STEP = 1       # division 4: a quarter is 4 sixteenth-note steps
DIVISION = 4
VELOCITY = 90
MAX_STEPS = 16383        # two-byte delta times

HEADER = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00" + bytes([DIVISION])
TRACK_START = (b"\x00\xff\x51\x03\x07\xa1\x20"          # tempo 500,000 us per quarter
               b"\x00\xff\x58\x04\x04\x02\x18\x08")      # 4/4, 24 clocks a click, 8 32nds a quarter
END_OF_TRACK = b"\xff\x2f\x00"


def _byte_table() -> tf.Tensor:
    return tf.constant([bytes([i]) for i in range(256)])


def _bytes_of(values) -> tf.Tensor:
    """int32 values in 0..255 (any shape, last axis joined) -> their bytes as one string per row."""
    return tf.strings.reduce_join(tf.gather(_byte_table(), values), axis=-1)


def _vlq(delta) -> tf.Tensor:
    """Variable-length quantities of int32 deltas (N,), each < 2^14: a string each (1 or 2 bytes)."""
    high = tf.bitwise.bitwise_or(tf.bitwise.right_shift(delta, 7), 0x80)
    low = tf.bitwise.bitwise_and(delta, 0x7F)
    one = _bytes_of(low[:, None])
    two = _bytes_of(tf.stack([high, low], axis=1))
    return tf.where(delta < 128, one, two)


def _uint32(n) -> tf.Tensor:
    """Big-endian 4 bytes of an int32 scalar."""
    return _bytes_of(tf.stack([tf.bitwise.bitwise_and(tf.bitwise.right_shift(n, s), 0xFF) for s in (24, 16, 8, 0)]))


def track_events(pitches) -> tf.Tensor:
    """The note events of one melody, int32 steps (T,) (MIDI pitch or REST), and its end of
    track at step T, as one string.

    A note starts where a step sounds a pitch different from the step before (or the step
    before rests) and ends where the pitch changes or a rest begins, or at the end."""
    pitches = tf.cast(pitches, tf.int32)
    steps = tf.shape(pitches)[0]
    after = tf.concat([pitches, [REST]], 0)        # (T + 1,): the last note ends at step T
    previous = tf.concat([[REST], pitches], 0)     # (T + 1,): what sounded before each boundary
    # Boundaries 0..T: at boundary t the note of step t-1 may end, and the note of step t may start.
    ends = tf.logical_and(previous != REST, previous != after)          # (T + 1,)
    starts = tf.logical_and(after != REST, previous != after)           # (T + 1,), false at T
    times = tf.range(steps + 1) * TICKS_PER_STEP
    # Each boundary emits its note-off (if any) before its note-on (if any): interleave them.
    kinds = tf.reshape(tf.stack([ends, starts], 1), [-1])                                # (2T + 2,)
    at = tf.reshape(tf.stack([times, times], 1), [-1])
    pitch = tf.reshape(tf.stack([tf.maximum(previous, 0), tf.maximum(after, 0)], 1), [-1])
    status = tf.reshape(tf.stack([tf.fill([steps + 1], 0x80), tf.fill([steps + 1], 0x90)], 1), [-1])
    velocity = tf.reshape(tf.stack([tf.zeros([steps + 1], tf.int32), tf.fill([steps + 1], VELOCITY)], 1), [-1])
    keep = tf.where(kinds)[:, 0]
    at, pitch, status, velocity = (tf.gather(v, keep) for v in (at, pitch, status, velocity))
    delta = at - tf.concat([[0], at[:-1]], 0)
    messages = _bytes_of(tf.stack([status, pitch, velocity], 1))
    last = tf.reduce_max(tf.concat([[0], at], 0))
    end = tf.strings.join([_vlq(tf.reshape(steps * TICKS_PER_STEP - last, [1]))[0], END_OF_TRACK])
    return tf.strings.join([tf.strings.reduce_join(tf.strings.join([_vlq(delta), messages])), end])


def midi_bytes(pitches) -> tf.Tensor:
    """Standard MIDI files of melodies: int32 (B, T) steps (MIDI pitch 0..127 or REST) -> string (B,).

    T at most MAX_STEPS.  Pitches outside 0..127 (other than REST) fail with INVALID_ARGUMENT."""
    pitches = tf.convert_to_tensor(pitches, tf.int32)
    checks = [tf.debugging.assert_less_equal(tf.shape(pitches)[1], MAX_STEPS,
                                             message=f"a melody of more than {MAX_STEPS} steps"),
              tf.debugging.assert_greater_equal(pitches, REST, message="pitches must be MIDI 0..127 or -1 (rest)"),
              tf.debugging.assert_less_equal(pitches, 127, message="pitches must be MIDI 0..127 or -1 (rest)")]
    with tf.control_dependencies(checks):
        pitches = tf.identity(pitches)

    def one(row):
        events = tf.strings.join([TRACK_START, track_events(row)])
        return tf.strings.join([HEADER, b"MTrk", _uint32(tf.strings.length(events)), events])

    return tf.map_fn(one, pitches, fn_output_signature=tf.string)
