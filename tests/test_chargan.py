"""The character-level WGAN-GP (games/chargan.py, export/chargan.py): the step is the GAN's on one-hot
text, a run writes text samples and n-gram figures and resumes exactly, the export writes text."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import killed_and_resumed
from fake_tf_serving import run_client
from tfgan_app import config as cfg
from tfgan_app import evaluate, games
from tfgan_app.data import prepare
from tfgan_app.data import text as text_data
from tfgan_app.export import archive as exporting
from tfgan_app.export.c_api import run_signature
from tfgan_app.export.gan import noise_for_seeds
from tfgan_app.games.gan import GAN, game_arguments
from tfgan_app.metrics import ngrams
from tfgan_app.training import train as training

TINY = dict(width=8, res_blocks=1, latent_dim=6, batch_size=4, n_critic=2, steps_per_epoch=2, epochs=2,
            plot_every=1, eval_samples=40)
VOCAB = tuple(ord(c) for c in "abc d")


def corpus(path, n=60) -> str:
    rng = np.random.default_rng(0)
    path.write_text("\n".join("".join(rng.choice(list("abc d"), size=rng.integers(3, 10))) for _ in range(n)))
    return f"text:{path}"


def test_a_step_is_the_gans_step_on_one_hot_lines():
    config = cfg.preset("text-wgan-gp", dataset="unused", seq_len=6, **TINY)
    shape = {"tokens": (6,), "vocabulary": VOCAB}
    keras.utils.set_random_seed(0)
    game = games.build(config, shape)
    keras.utils.set_random_seed(0)
    twin = games.build(config, shape)
    plain = GAN(twin.generator, twin.discriminator, **game_arguments(config))
    plain.compile(keras.optimizers.Adam(1e-4, 0.5, 0.9), keras.optimizers.Adam(1e-4, 0.5, 0.9))
    ids = tf.constant(np.random.default_rng(1).integers(0, 7, (8, 6)), tf.int32)
    game.train_step(ids)
    plain.train_step(tf.one_hot(ids, 7))
    for a, b in zip(game.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert game.d_optimizer.iterations.numpy() == 2 and game.g_optimizer.iterations.numpy() == 1
    assert game.loss_name == "wasserstein" and game.penalty == "gp" and game.penalty_weight == 10.0


def test_text_is_the_argmax_at_each_position_decoded_in_the_graph():
    config = cfg.preset("text-wgan-gp", dataset="unused", seq_len=6, **TINY)
    game = games.build(config, {"tokens": (6,), "vocabulary": VOCAB})
    z = tf.random.stateless_normal([5, 6], [0, 1])
    ids = game.generate_ids(z).numpy()
    argmax = np.argmax(game.generator(z).numpy(), -1)
    ended = np.cumsum(argmax == text_data.PAD, axis=1) > 0  # a line ends at its first PAD
    np.testing.assert_array_equal(ids, np.where(ended, text_data.PAD, argmax))
    assert [t.decode() for t in game.generate_text(z).numpy()] == text_data.decode(ids, VOCAB)
    game.generator.get_layer("output").bias.assign([9.0, 0, 0, 0, 0, 0, 0])  # PAD everywhere: empty lines
    assert game.generate_text(z).numpy().tolist() == [b""] * 5


def test_a_run_writes_text_and_js_figures_and_resumes_after_sigkill_to_the_uninterrupted_weights(tmp_path):
    config = cfg.preset("text-wgan-gp", dataset=corpus(tmp_path / "c.txt"), seq_len=8, **TINY)
    whole = training.train(config, tmp_path / "whole", verbose=0)
    lines = (tmp_path / "whole" / "samples" / "epoch_0002.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 64 and all(len(line) <= 8 for line in lines)
    assert (tmp_path / "whole" / "samples.txt").read_text(encoding="utf-8").splitlines() == lines
    rows = list(csv.DictReader(open(tmp_path / "whole" / "metrics.csv")))
    assert len(rows) == 2 and all(0 <= float(rows[-1][f"eval_js{n}"]) <= 1 for n in range(1, 5))
    assert (tmp_path / "whole" / "best" / "best.json").is_file()
    _, resumed, epoch = killed_and_resumed(config, tmp_path / "cut")  # SIGKILL in epoch 2, then train.py again
    assert epoch == 2
    for a, b in zip(whole.gan.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)

    # evaluate.py reports the n-gram figures with the baselines', the run's and the export's alike.
    report = evaluate.evaluate(tmp_path / "whole", write=False)
    assert report["samples"] == 6 and set(report["baselines"]) == {"floor", "unigram", "markov4"}
    assert set(report["metrics"]) == {"js1", "js2", "js3", "js4"}

    # The export writes the same lines as the game, through TF Serving's loader, seed by seed.
    export = exporting.export_run(tmp_path / "whole", tmp_path / "exports", "chars")
    assert set(export.signatures) == {"serving_default", "generate_text"}
    seeds = np.array([0, 7, -3, 2**62], np.int64)
    served = run_signature(export.export_dir, "generate_text", {"seeds": seeds})["text"]
    z = noise_for_seeds(seeds, 6)
    assert list(served) == list(whole.gan.generate_text(z).numpy())
    one = run_signature(export.export_dir, "generate_text", {"seeds": seeds[2:3]})["text"]
    assert one[0] == served[2]
    # ... and evaluate.py scores an export by the lines it serves for seeds 0..5 (its --seed 0).
    from_export = evaluate.evaluate(export.export_dir, write=False)
    assert from_export["baselines"] == report["baselines"]
    lines = [t.decode() for t in whole.gan.generate_text(noise_for_seeds(np.arange(6), 6)).numpy()]
    data = text_data.load_text(config.dataset, 8, config.vocab)
    assert from_export["metrics"] == ngrams.js_figures(text_data.encode(lines, data.vocabulary, 8), data.held_out)

    # serving/client.py text prints one line per seed, over REST.
    out, = run_client(export, "chars", ["text", "--seeds", "0", "7"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"0\t{served[0].decode()}", f"7\t{served[1].decode()}"]


def test_the_game_refuses_data_that_is_not_text():
    config = cfg.preset("text-wgan-gp", dataset="unused", **TINY)
    with pytest.raises(cfg.ConfigError, match="--dataset: chargan learns lines of text"):
        games.build(config, (28, 28, 1))


def test_a_run_on_prepared_text_trains_and_scores_against_its_held_out_lines(tmp_path):
    spec = corpus(tmp_path / "c.txt")
    prepare.prepare(spec, tmp_path / "rec", shards=2, seq_len=8)
    config = cfg.preset("text-wgan-gp", dataset=f"tfrecords:{tmp_path / 'rec'}", seq_len=8,
                        **dict(TINY, epochs=1))
    result = training.train(config, tmp_path / "run", verbose=0)
    assert int(result.gan.g_optimizer.iterations) == 2
    assert result.gan.vocabulary == text_data.load_text(spec, 8, config.vocab).vocabulary
    report = evaluate.evaluate(tmp_path / "run", write=False)
    assert report["samples"] == 6 and set(report["metrics"]) == {"js1", "js2", "js3", "js4"}
