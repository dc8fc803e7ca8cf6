"""StackGAN (games/stackgan.py, nets/stackgan.py, export/stackgan.py): the losses by hand, both
stages on a captions:FILE dataset, resume, Stage I frozen in Stage II, the export from text."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import killed_and_resumed, stop_after
from fake_tf_serving import run_client
from tfgan_app import config as cfg
from tfgan_app import games
from tfgan_app.data import captions
from tfgan_app.export import archive as exporting
from tfgan_app.export.c_api import TFCApiError, run_signature
from tfgan_app.export.stackgan import noise_for_seeds
from tfgan_app.nets import text_encoder
from tfgan_app.training import train as training

TINY = dict(width=4, latent_dim=8, c_dim=4, res_blocks=1, batch_size=4, steps_per_epoch=2, epochs=2, plot_every=1)


@pytest.fixture(scope="module")
def caption_data(tmp_path_factory):
    """A captions:FILE of 8 random 28x28 grey PNGs and an (untrained) text encoder file."""
    root = tmp_path_factory.mktemp("captions")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(root / f"{i}.png")
        lines.append(f"{i}.png\t{captions.caption(i % 10, i % 3, (i + 1) % 3, i % 2, i % 4)}")
    (root / "captions.tsv").write_text("\n".join(lines) + "\n")
    encoder = root / "encoder.keras"
    keras.utils.set_random_seed(0)
    text_encoder.text_model(captions.vocabulary(), dim=16).save(encoder)
    return dict(dataset=f"captions:{root / 'captions.tsv'}", text_encoder=str(encoder))


def test_stage_one_trains_and_resumes_stage_two_keeps_it_frozen_and_the_export_serves_text(tmp_path, caption_data):
    stage1 = cfg.preset("stackgan-captions2digits", **caption_data, **TINY)
    one = training.train(stage1, tmp_path / "s1", verbose=0)
    assert int(one.gan.g_optimizer.iterations) == 4 and one.gan.side == 14
    training.train(stage1, tmp_path / "cut", verbose=0, extra_callbacks=[stop_after(1)])
    resumed = training.train(stage1, tmp_path / "cut", verbose=0)
    assert resumed.initial_epoch == 1
    for a, b in zip(one.gan.get_weights(), resumed.gan.get_weights()):
        np.testing.assert_array_equal(a, b)

    stage2 = cfg.preset("stackgan-captions2digits", stage=2, init_from=str(tmp_path / "s1"), **caption_data, **TINY)
    two = training.train(stage2, tmp_path / "s2", verbose=0)
    assert two.gan.side == 28 and int(two.gan.g_optimizer.iterations) == 4
    for a, b in zip(one.gan.g1.get_weights(), two.gan.g1.get_weights()):  # Stage I frozen, as Stage I left it
        np.testing.assert_array_equal(a, b)
    _, killed, epoch = killed_and_resumed(stage2, tmp_path / "s2-cut")  # SIGKILL in epoch 2, then train.py again
    assert epoch == 2
    for a, b in zip(two.gan.get_weights(), killed.get_weights()):  # both stages
        np.testing.assert_array_equal(a, b)

    export = exporting.export_run(tmp_path / "s2", tmp_path / "exports", "digits")
    assert set(export.signatures) == {"serving_default", "generate_from_text", "generate_from_text_png"}
    text = np.array([b"a thin two leaning left", b"the digit 7, thick and upright", b"a unicorn"], dtype=object)
    seeds = np.array([1, 2, 3], np.int64)
    served = run_signature(export.export_dir, "generate_from_text", {"text": text, "seeds": seeds})["images"]
    assert served.shape == (3, 28, 28, 1)
    want = two.gan.generate_from_text(tf.constant([t.decode() for t in text]),
                                      *noise_for_seeds(seeds, 8, 4, True)).numpy()
    np.testing.assert_allclose(served, want, atol=1e-5)
    with pytest.raises(TFCApiError, match="at least one word"):
        run_signature(export.export_dir, "generate_from_text", {"text": np.array([b" ?! "], dtype=object),
                                                                "seeds": np.array([1], np.int64)})

    # A client sends a sentence over REST and gets the PNG of the same image.
    out, = run_client(export, "digits", ["text2image", "a thin two leaning left", "--seed", "1", "--out",
                                         str(tmp_path / "two.png")])
    assert out.returncode == 0, out.stderr
    got = np.asarray(Image.open(tmp_path / "two.png")).astype(int)
    assert np.abs(got - np.round((served[0, ..., 0] + 1) * 127.5)).max() <= 1


def test_without_augmentation_one_caption_varies_only_with_z(caption_data):
    config = cfg.preset("stackgan-captions2digits", augment=False, **caption_data, **TINY)
    game = games.build(config, (28, 28, 1))
    z, e1, e2 = game.noise(4, (1, 2))
    assert not np.any(e1.numpy()) and not np.any(e2.numpy()) and game.kl_weight == 0.0
    assert game.samples(6, (0, 1)).shape == (6, 14, 14, 1)


def test_refusals_name_the_field(caption_data):
    with pytest.raises(cfg.ConfigError, match="--init-from STAGE1_RUN"):
        cfg.preset("stackgan-captions2digits", stage=2, **caption_data)
    with pytest.raises(games.GameConfigError, match="^--text-encoder .*missing.keras: no such file; train one with"):
        games.build(cfg.preset("stackgan-captions2digits", dataset=caption_data["dataset"],
                               text_encoder=caption_data["text_encoder"] + ".missing.keras", **TINY), (28, 28, 1))
    game = games.build(cfg.preset("stackgan-captions2digits", stage=1, **caption_data, **TINY), (28, 28, 1))
    with pytest.raises(games.GameConfigError, match="--init-from: Stage II starts from a finished Stage-I"):
        game.initialize_from(object())


def test_a_stage_one_run_on_prepared_captions_trains_and_resumes(tmp_path, caption_data, monkeypatch):
    from tfgan_app.data import prepare

    prepare.prepare(caption_data["dataset"], tmp_path / "rec", shards=2)
    config = cfg.preset("stackgan-captions2digits", **dict(caption_data, dataset=f"tfrecords:{tmp_path / 'rec'}"),
                        **TINY)
    whole = training.train(config, tmp_path / "whole", verbose=0)
    assert int(whole.gan.g_optimizer.iterations) == 4
    training.train(config, tmp_path / "cut", verbose=0, extra_callbacks=[stop_after(1)])
    resumed = training.train(config, tmp_path / "cut", verbose=0)
    for a, b in zip(whole.gan.get_weights(), resumed.gan.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Without --text-encoder, the encoder is cached per prepared dataset: prepared again, another key.
    monkeypatch.setenv("TFGAN_APP_CACHE", str(tmp_path / "cache"))
    first = text_encoder.default_path(config.dataset)
    assert first == text_encoder.default_path(config.dataset)
    import shutil

    shutil.rmtree(tmp_path / "rec")
    prepare.prepare(caption_data["dataset"], tmp_path / "rec", shards=2, seed=1)
    assert text_encoder.default_path(config.dataset) != first
