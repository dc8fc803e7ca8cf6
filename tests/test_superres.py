"""Super-resolution data (data/superres.py): HR crops and their bicubic downsamples, sr-photos."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import config as cfg
from tfgan_app import data
from tfgan_app.data import superres
from tfgan_app.data.images import DataError


def config(spec, **overrides):
    return dataclasses.replace(cfg.preset("srresnet-photos", dataset=spec, image_size=16, batch_size=4), **overrides)


def test_crops_come_from_the_images_and_lr_is_their_bicubic_downsample(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
    np.savez(tmp_path / "p.npz", x=x)
    stream = data.open_data(config(f"sr:npz:{tmp_path / 'p.npz'}", mirror=False))
    assert stream.shape == {"low": (4, 4, 3), "high": (16, 16, 3)}
    lr, hr = next(iter(stream.batches(0)))
    hr = hr.numpy()
    for crop in hr:  # each HR crop is a 16x16 window of one of the images
        pixels = np.round((crop + 1) * 127.5).astype(np.uint8)
        assert any((pixels == x[i, r:r + 16, c:c + 16]).all() for i in range(3) for r in range(25) for c in range(25))
    np.testing.assert_allclose(lr.numpy(), superres.downsample(tf.constant(hr)).numpy(), atol=1e-6)
    lr2, hr2 = next(iter(stream.batches(0)))  # a function of (seed, batch index)
    np.testing.assert_array_equal(hr2.numpy(), hr)


def test_bicubic_downsample_of_a_flat_image_is_flat():
    hr = tf.fill((1, 16, 16, 3), 0.25)
    np.testing.assert_allclose(superres.downsample(hr).numpy(), 0.25, atol=1e-6)
    assert superres.downsample(hr).shape == (1, 4, 4, 3)


def test_images_smaller_than_the_crop_and_bad_crop_sizes_are_refused(tmp_path):
    np.savez(tmp_path / "p.npz", x=np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(DataError, match="smaller than the --image-size 16 crop"):
        data.open_data(config(f"sr:npz:{tmp_path / 'p.npz'}"))
    with pytest.raises(DataError, match="--image-size 18: the HR crop side, a multiple of 4"):
        data.open_data(config(f"sr:npz:{tmp_path / 'p.npz'}", image_size=18))


def test_sr_photos_are_real_bundled_photographs_and_the_held_out_ones_stay_out():
    train, held = superres.photos("train"), superres.photos("held_out")
    assert set(held) == set(superres.HELD_OUT_PHOTOS) and not set(held) & set(train)
    assert len(train) + len(held) == len(superres.SR_PHOTOS)
    for image in list(train.values()) + list(held.values()):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) >= 96
    assert held["astronaut"].shape == (512, 512, 3)
