"""Image presets end to end: one fit step each on mocked TFDS and on real MNIST, monitors, resume."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from conftest import SHARED_MNIST
from tfgan_app import config as cfg
from tfgan_app.training import train as training
from tfgan_app.games.gan import GANConfigError

# The GAN's image presets (the translation games' have their own tests: test_pix2pix.py).
IMAGE_PRESETS = [n for n, v in cfg.PRESETS.items() if v.get("problem") == "image" and v.get("game", "gan") == "gan"]
TINY = dict(width=4, latent_dim=8, batch_size=4, steps_per_epoch=1, epochs=1)


def write_npz(path, n=16, size=64, channels=3, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, size, size, channels), dtype=np.uint8)
    np.savez(path, x=x, y=np.arange(n) % classes)
    return f"npz:{path}"


def check_run(workdir, result, conditional_rows=None):
    gan = result.gan
    assert int(gan.g_optimizer.iterations) == 1
    assert int(gan.d_optimizer.iterations) == result.config.n_critic
    assert (workdir / "checkpoints" / "checkpoint").exists()
    assert (workdir / "samples.png").read_bytes()[:4] == b"\x89PNG"
    assert (workdir / "progress.gif").read_bytes()[:6] == b"GIF89a"
    assert list((workdir / "tensorboard").rglob("events.out.tfevents.*"))
    header = (workdir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"d_loss", "g_loss", "lr_g", "lr_d"} <= set(header)
    if conditional_rows:
        from PIL import Image
        h = result.gan.generator.output_shape[1]
        assert Image.open(workdir / "samples.png").size[1] == conditional_rows * h  # one row per class


# The sngan family's CIFAR-10 presets differ from the MNIST ones only in the dataset and the
# attention side: their 32x32x3 nets are built and run in test_sngan.py (cheaper than a run).
ON_MOCK_TFDS = [n for n in IMAGE_PRESETS if n != "dcgan-celeba"
                and not (n.endswith("-cifar10") and cfg.PRESETS[n]["architecture"] == "sngan")]


@pytest.mark.parametrize("name", ON_MOCK_TFDS)
def test_one_step_of_each_image_preset_on_mock_tfds(name, tmp_path):
    dataset = "tfds:mnist" if "cifar" not in name else "tfds:cifar10"
    with tfds.testing.mock_data(num_examples=16):
        result = training.train(cfg.preset(name, dataset=dataset, **TINY), tmp_path, verbose=0)
    rows = 10 if cfg.PRESETS[name].get("conditioning", "none") != "none" else None
    check_run(tmp_path, result, rows)
    h = 32 if "cifar" in name else 28
    assert result.gan.generator.output_shape[1:] == (h, h, 3 if "cifar" in name else 1)


def test_celeba_sized_dcgan_on_64px_rgb(tmp_path):
    spec = write_npz(tmp_path / "faces.npz")
    result = training.train(cfg.preset("dcgan-celeba", dataset=spec, **TINY), tmp_path / "run", verbose=0)
    check_run(tmp_path / "run", result)
    assert result.gan.generator.output_shape[1:] == (64, 64, 3)


# The real-data path is the same for every preset; the sngan family's mock-TFDS steps above suffice.
MNIST_PRESETS = [n for n in IMAGE_PRESETS if cfg.PRESETS[n]["dataset"] == "tfds:mnist"
                 and cfg.PRESETS[n]["architecture"] != "sngan"]


@pytest.mark.parametrize("name", MNIST_PRESETS)
def test_one_step_on_real_mnist_idx(name, tmp_path):
    if not SHARED_MNIST.exists():
        pytest.skip(f"needs the MNIST test split at {SHARED_MNIST} (CI has it; a clone does not)")
    result = training.train(cfg.preset(name, dataset=f"mnist-idx:{SHARED_MNIST}", **TINY), tmp_path,
                            verbose=0)
    check_run(tmp_path, result, 10 if cfg.PRESETS[name].get("conditioning") else None)
    assert np.isfinite(result.history["d_loss"][0])


def test_batchnorm_critic_with_wgan_gp_is_refused(tmp_path):
    spec = write_npz(tmp_path / "x.npz", size=28, channels=1)
    config = cfg.preset("wgan-gp-dcgan", dataset=spec, d_norm="batch", **TINY)
    with pytest.raises(GANConfigError, match="BatchNormalization"):
        training.train(config, tmp_path / "run", verbose=0)


def test_image_run_resumes_to_the_same_weights(tmp_path):
    spec = write_npz(tmp_path / "x.npz", n=24, size=28, channels=1)
    base = dict(TINY, dataset=spec, steps_per_epoch=3)
    straight = training.train(cfg.preset("dcgan", **dict(base, epochs=2)), tmp_path / "a", verbose=0)
    training.train(cfg.preset("dcgan", **dict(base, epochs=1)), tmp_path / "b", verbose=0)
    resumed = training.train(cfg.preset("dcgan", **dict(base, epochs=2)), tmp_path / "b", verbose=0)
    assert resumed.initial_epoch == 1
    for model in ("generator", "discriminator"):  # weights and BatchNorm statistics
        for x, y in zip(getattr(straight.gan, model).weights, getattr(resumed.gan, model).weights):
            np.testing.assert_array_equal(x.numpy(), y.numpy())
