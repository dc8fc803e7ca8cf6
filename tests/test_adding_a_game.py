"""docs/adding_a_game.md's promise: a game that is not a GAN trains, resumes, evaluates and
exports through the shared code, touching only its own rooms and the registries.

`Mover` has none of the GAN's interface (no `sample_noise`, `generate`, `sampler`,
`latent_dim`, `conditional`): its generator maps uniform noise u in [0, 1)^3 to the plane and
plays the least-squares game on ring8.  Registering it is what the recipe says a new game
does -- `config.GAMES`, `games.GAMES`, `export.archive.SIGNATURES` (patched here) -- and
nothing else in training/, evaluate.py or export/ knows it exists.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import config as cfg
from tfgan_app import evaluate, games
from tfgan_app.export import archive as exporting
from tfgan_app.export.c_api import run_signature
from tfgan_app.export.signatures import Signatures, endpoint
from tfgan_app.games import losses
from tfgan_app.games.base import AdversarialGame
from tfgan_app.metrics import figures
from tfgan_app.training import evaluation, run_dir
from tfgan_app.training import train as training

NOISE = 3


def noise(n, seed):
    """u (n, 3) ~ U[0, 1), stateless."""
    return tf.random.stateless_uniform([n, NOISE], seed)


class Mover(AdversarialGame):
    """LSGAN on 2-D points with its own names: networks "mover" and "judge"."""

    def __init__(self, seed):
        mover = keras.Sequential([keras.Input((NOISE,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(2)], name="mover")
        judge = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(1)], name="judge")
        super().__init__({"mover": mover, "judge": judge}, seed=seed, trackers=("judge_loss", "mover_loss"))

    def train_step(self, real):
        n = tf.shape(real)[0]
        u = self.draw(lambda m: noise(m, self.next_seed()), n)
        with tf.GradientTape() as tape:
            loss = losses.least_squares_discriminator_loss(self.judge(real), self.judge(self.mover(u)),
                                                           reduce=self.reduce)
        self.descend("judge_optimizer", tape, loss)
        with tf.GradientTape() as tape:
            moved_loss = losses.least_squares_generator_loss(self.judge(self.mover(u)), reduce=self.reduce)
        self.descend("mover_optimizer", tape, moved_loss)
        self.track("judge_loss", loss)
        self.track("mover_loss", moved_loss)
        return self.results()

    def samples(self, n, seed, batch=500):
        u = noise(n, tf.constant(seed, tf.int64))
        return np.concatenate([self.mover(u[i:i + batch], training=False).numpy() for i in range(0, n, batch)])

    def exported_networks(self):
        return {"mover": self.mover}


def mover_from_config(config, data_shape=None, num_classes=0):
    game = Mover(config.seed)
    game.compile({"mover_optimizer": (keras.optimizers.Adam(config.g_lr), "mover"),
                  "judge_optimizer": (keras.optimizers.Adam(config.d_lr), "judge")})
    return game


class MoverSignatures(Signatures):
    """serving_default: seeds int64 [B] -> samples float32 [B, 2]; u of seed s from (s, 0)."""

    CONTRACT = {"serving_default": {"inputs": {"seeds": ("int64", [None])},
                                    "outputs": {"samples": ("float32", [None, 2])}}}

    def _moved(self, seeds):
        u = tf.map_fn(lambda s: noise(1, tf.stack([s, tf.constant(0, tf.int64)]))[0], seeds,
                      fn_output_signature=tf.float32)
        return self.game.mover(u, training=False)

    def build(self):
        archive = keras.export.ExportArchive()
        archive.track(self.game.mover)
        archive.add_endpoint("serving_default", endpoint(lambda seeds: {"samples": self._moved(seeds)},
                                                         tf.TensorSpec([None], tf.int64, name="seeds")))
        return archive, self.CONTRACT

    def example_inputs(self, contract, signature, batch, seed=0):
        return {"seeds": np.arange(batch, dtype=np.int64) * 31 + seed}

    def reference(self, contract, signature, inputs):
        return {"samples": self._moved(tf.constant(inputs["seeds"])).numpy()}

    def info(self):
        return {"noise": "u = stateless_uniform([3], (seed, 0))"}

    @staticmethod
    def sampler(signatures, info, draw_batch):
        def draw(n, seed):
            seeds = np.arange(n, dtype=np.int64) + np.int64(seed) * (1 << 32)
            return np.concatenate([signatures["serving_default"](seeds=tf.constant(seeds[i:i + draw_batch]))
                                   ["samples"].numpy() for i in range(0, n, draw_batch)])
        return draw


@pytest.fixture
def registered(monkeypatch):
    """The three registry lines of docs/adding_a_game.md, and nothing else."""
    monkeypatch.setattr(cfg, "GAMES", (*cfg.GAMES, "mover"))
    monkeypatch.setitem(games.GAMES, "mover", mover_from_config)
    monkeypatch.setitem(exporting.SIGNATURES, "mover", MoverSignatures)


def mover_config(epochs):
    return cfg.preset("ring8", game="mover", epochs=epochs, steps_per_epoch=5, batch_size=64,
                      eval_every=1, eval_samples=300, plot_every=1)


def weights(game):
    return [v.numpy() for v in game.mover.weights + game.judge.weights]


def test_a_new_game_trains_resumes_evaluates_and_exports(registered, tmp_path):
    whole = training.train(mover_config(3), tmp_path / "whole", verbose=0)
    assert isinstance(whole.gan, Mover)
    for path in ("samples.png", "quality.json", "best/best.json", "metrics.csv"):
        assert (tmp_path / "whole" / path).is_file(), path
    header = (tmp_path / "whole" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"judge_loss", "mover_loss", "lr_mover", "lr_judge", "eval_modes"} <= set(header)

    # resume: 2 epochs, then a third, lands on the uninterrupted run's weights bit for bit
    training.train(mover_config(2), tmp_path / "split", verbose=0)
    resumed = training.train(mover_config(3), tmp_path / "split", verbose=0)
    assert resumed.initial_epoch == 2
    for a, b in zip(weights(whole.gan), weights(resumed.gan)):
        np.testing.assert_array_equal(a, b)

    # evaluate.py on the run: the game's own samples, scored by the problem's figures
    report = evaluate.evaluate(tmp_path / "whole", samples=400, seed=1, write=False)
    want = whole.gan.samples(400, [1, -5], batch=1000)
    expected = figures.toy_quality("ring8", want)
    assert report["metrics"]["modes"] == expected["modes"]
    assert report["metrics"]["high_quality"] == pytest.approx(expected["high_quality"])

    # export: the game's signatures, checked and published by the shared exporter
    result = exporting.export_run(tmp_path / "whole", tmp_path / "exports", "mover")
    assert result.signatures == MoverSignatures.CONTRACT
    info = json.loads((result.export_dir / exporting.EXTRA_DIR / exporting.INFO_FILE).read_text())
    assert info["config"]["game"] == "mover" and info["noise"].startswith("u = ")
    seeds = np.array([5, 6, 2**40], np.int64)
    served = run_signature(result.export_dir, "serving_default", {"seeds": seeds})  # TF Serving's loader
    np.testing.assert_allclose(served["samples"], MoverSignatures(whole.gan).reference(None, None, {"seeds": seeds})
                               ["samples"], rtol=1e-5, atol=1e-6)
    exported = evaluate.evaluate(result.export_dir, samples=300, seed=0, write=False)
    assert exported["kind"] == "export" and 0 <= exported["metrics"]["modes"] <= 8

    # and restore_run builds it back from the run directory alone; --weights best restores best/
    config, game, epoch = run_dir.restore_run(tmp_path / "whole")
    assert (config.game, epoch, type(game)) == ("mover", 3, Mover)
    best = json.loads((tmp_path / "whole" / "best" / "best.json").read_text())
    assert evaluation.restore_best(tmp_path / "whole", game) == best["epoch"]
    best_modes = figures.toy_quality("ring8", game.samples(300, [0, -4]))["modes"]
    assert best_modes == best["figures"]["modes"]  # the weights the periodic evaluation scored


def test_an_unregistered_game_is_refused_by_name(tmp_path):
    with pytest.raises(cfg.ConfigError, match="--game: 'mover' is not one of: gan"):
        mover_config(1)
