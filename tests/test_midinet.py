"""MidiNet (nets/midinet.py, games/midinet.py, export/midinet.py): the nets' shapes, the losses by
hand, a run that writes MIDI files and resumes exactly, melodies bar by bar, the export's MIDI."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import killed_and_resumed
from fake_tf_serving import run_client
from music_fixtures import write_songs
from tfgan_app import config as cfg
from tfgan_app import evaluate, games
from tfgan_app.data import midi
from tfgan_app.export import archive as exporting
from tfgan_app.export.c_api import TFCApiError, run_signature
from tfgan_app.export.midinet import noise_for_seeds
from tfgan_app.games import midinet as midinet_game
from tfgan_app.nets import midinet as midinet_nets
from tfgan_app.training import train as training

TINY = dict(width=8, latent_dim=6, batch_size=4, steps_per_epoch=2, epochs=2, plot_every=1, eval_samples=48, bars=2)
SHAPE = {"bar": (16, 24), "chord": (13,)}


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TFGAN_APP_CACHE", str(tmp_path / "cache"))


def notes_of(path):
    from music21 import converter

    return [(float(n.offset), float(n.quarterLength), n.pitch.midi) for n in converter.parse(str(path)).flatten().notes]


def test_the_nets_shapes_follow_the_authors_code():
    g = midinet_nets.generator(latent_dim=6, width=8)
    d = midinet_nets.discriminator()
    z, y, prev = np.zeros((3, 6), "float32"), np.zeros((3, 13), "float32"), np.zeros((3, 16, 24, 1), "float32")
    bar = g([z, y, prev]).numpy()
    assert bar.shape == (3, 16, 24, 1) and 0 <= bar.min() and bar.max() <= 1
    logit, features = d([bar, y])
    assert logit.shape == (3, 1) and features.shape == (3, 8, 1, 14)
    assert [g.get_layer(f"cond{i}").output.shape[1:] for i in range(4)] == [(16, 1, 16), (8, 1, 16), (4, 1, 16),
                                                                            (2, 1, 16)]
    assert d.get_layer("conv1").output.shape[1:] == (3, 1, 77)
    kernels = [w.numpy() for w in g.weights + d.weights if w.path.endswith("kernel")]
    assert not any(a.shape == b.shape and np.array_equal(a, b)  # deconv0..2 and cond1..3 share shapes
                   for i, a in enumerate(kernels) for b in kernels[i + 1:])


def test_chords_and_piano_rolls_are_midinets_vectors():
    np.testing.assert_array_equal(midinet_game.chord_vectors([0, 12 + 9, -1]).numpy(),
                                  [[1] + [0] * 12, [0] * 9 + [1, 0, 0, 1], [0] * 13])
    roll = midinet_game.piano_roll([[0, -1] * 8]).numpy()
    assert roll.shape == (1, 16, 24, 1) and roll[0, 0, 0, 0] == 1 and roll[0, 1].sum() == 0
    bars = np.zeros((1, 16, 24, 1), "float32")
    bars[0, 0, 5], bars[0, 1, 7], bars[0, 1, 3] = 0.7, 0.6, 0.9  # step 2: a rest (below 1/2)
    assert midinet_game.decode_rows(tf.constant(bars)).numpy()[0, :3].tolist() == [5, 3, -1]


def test_a_melody_is_made_bar_by_bar_on_the_bar_decoded_before():
    config = cfg.preset("midinet-chorales", dataset="unused", **TINY)
    game = games.build(config, SHAPE)
    z = game.noise(2, 3, (0, 1))
    chords = np.array([[0, 7, 21], [5, 5, 5]])
    bars, rows = game.melody(z, chords)
    assert bars.shape == (2, 3, 16, 24) and rows.shape == (2, 3, 16)
    prev = midinet_game.piano_roll(rows[:, 1])
    third = game.generator([z[:, 2], midinet_game.chord_vectors(chords[:, 2]), prev], training=False)
    np.testing.assert_allclose(bars[:, 2].numpy(), third.numpy()[..., 0], atol=1e-6)


def test_a_run_writes_midi_and_resumes_after_sigkill_to_the_uninterrupted_weights(tmp_path):
    config = cfg.preset("midinet-chorales", dataset=write_songs(tmp_path / "songs"), **TINY)
    whole = training.train(config, tmp_path / "whole", verbose=0)
    assert int(whole.gan.g_optimizer.iterations) == 2 * int(whole.gan.d_optimizer.iterations) == 8  # 2 G steps each
    # The epoch's first MIDI file holds the monitor's first melody (C, G for its 2 bars), note by note.
    rows = whole.gan.melody(whole.gan.noise(4, 2, [0, -3]), np.array([[0, 7]] * 4))[1].numpy()[0].reshape(-1)
    want, start = [], 0
    for t in range(1, 33):  # runs of equal rows -> (offset, length) in quarters, rests skipped
        if t == 32 or rows[t] != rows[start]:
            if rows[start] >= 0:
                want.append((start / 4, (t - start) / 4, int(rows[start]) + 60))
            start = t
    assert notes_of(tmp_path / "whole" / "samples" / "epoch_0002_0.mid") == want
    assert (tmp_path / "whole" / "samples" / "epoch_0002.png").is_file()
    assert (tmp_path / "whole" / "samples.png").is_file()
    _, resumed, epoch = killed_and_resumed(config, tmp_path / "cut")  # SIGKILL in epoch 2, then train.py again
    assert epoch == 2
    for a, b in zip(whole.gan.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    report = evaluate.evaluate(tmp_path / "whole", write=False)
    assert report["melodies"] == 2 and report["bars"] == 2  # song09's 4 bars as two runs of 2
    assert set(report["baselines"]) == {"held_out", "shuffled_real", "markov"}
    assert report["baselines"]["held_out"]["chord_tones"] == 1.0  # the songs' notes are their chords' tones

    # The export: the game's melodies through TF Serving's loader, and MIDI files of them.
    export = exporting.export_run(tmp_path / "whole", tmp_path / "exports", "tunes")
    assert set(export.signatures) == {"serving_default", "generate_melody", "generate_midi"}
    seeds, chords = np.array([3, -1], np.int64), np.array([[0, 7, 21, 5], [2, 2, 2, 2]], np.int32)
    served = run_signature(export.export_dir, "generate_melody", {"seeds": seeds, "chords": chords})
    bars, rows = whole.gan.melody(noise_for_seeds(seeds, 4, 6), chords)
    np.testing.assert_array_equal(served["pitches"], np.where(rows.numpy() >= 0, rows.numpy() + 60, -1).reshape(2, -1))
    files = run_signature(export.export_dir, "generate_midi", {"seeds": seeds, "chords": chords})["midi_bytes"]
    assert list(files) == list(midi.midi_bytes(served["pitches"]).numpy())
    with pytest.raises(TFCApiError, match="chords must be chord ids 0..23"):
        run_signature(export.export_dir, "generate_midi", {"seeds": seeds[:1], "chords": np.array([[24]], np.int32)})

    # serving/client.py melody writes the file the export makes, over REST.
    out, bad = run_client(export, "tunes", ["melody", "--seed", "3", "--chords", "C,G,Am,F", "--out", str(tmp_path / "tune.mid")],
                          ["melody", "--chords", "C,H", "--out", str(tmp_path / "x.mid")])
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "tune.mid").read_bytes() == bytes(files[0])
    assert bad.returncode == 1 and "--chords: 'H' is not a chord" in bad.stderr


def test_a_model_of_melodies_alone_exports_without_chords(tmp_path):
    config = cfg.preset("midinet-chorales", dataset="unused", chords=False, **TINY)
    game = games.build(config, {"bar": (16, 24), "chord": (0,)})
    assert not np.any(game.condition(tf.constant([3, 15])).numpy())
    keras.utils.set_random_seed(0)
    signatures = exporting.SIGNATURES["midinet"](game)
    _, contract = signatures.build()
    assert set(contract["generate_midi"]["inputs"]) == {"seeds"}
    out = signatures.reference(contract, "generate_melody", {"seeds": np.array([1, 2], np.int64)})
    assert out["pitches"].shape == (2, 2 * 16)  # its config's 2 bars


def test_a_run_on_prepared_music_trains_and_is_scored_on_the_held_out_progressions(tmp_path):
    from tfgan_app.data import prepare

    spec = write_songs(tmp_path / "songs")
    prepare.prepare(spec, tmp_path / "rec", shards=2)
    config = cfg.preset("midinet-chorales", dataset=f"tfrecords:{tmp_path / 'rec'}", **dict(TINY, epochs=1))
    result = training.train(config, tmp_path / "run", verbose=0)
    assert int(result.gan.d_optimizer.iterations) == 2
    report = evaluate.evaluate(tmp_path / "run", write=False)
    assert report["melodies"] == 2  # song09's 4 bars as two runs of 2
    # Scored against the prepared pieces as against the source's, figure for figure.
    from_source = evaluate.evaluate(tmp_path / "run", dataset=spec, write=False)
    timing = ("dataset", "seconds")
    assert {k: v for k, v in report.items() if k not in timing} == {k: v for k, v in from_source.items()
                                                                    if k not in timing}
