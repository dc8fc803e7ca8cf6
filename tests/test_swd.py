"""Sliced Wasserstein distance (metrics/swd.py): the projection formula in closed form, patches,
normalisation, and per-band figures that see what a blur removes."""

import numpy as np
import pytest

from tfgan_app.metrics import swd


def test_sliced_wasserstein_of_a_translated_set_is_the_mean_projected_shift():
    # b = a + c v: every projection is shifted by c <v, p>, sorting keeps the pairing, so
    # SWD = mean_p |c <v, p>|.
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 6))
    v = np.array([1.0, -2.0, 0.5, 0.0, 3.0, 1.0])
    dirs = swd.random_directions(6, 40, rng)
    assert np.allclose(np.linalg.norm(dirs, axis=0), 1.0)
    expected = np.mean(np.abs(0.7 * v @ dirs))
    assert swd.sliced_wasserstein(a, a + 0.7 * v, dirs) == pytest.approx(expected, rel=1e-9)
    assert swd.sliced_wasserstein(a, a[::-1], dirs) == 0.0  # the same set in another order


def test_descriptors_are_the_image_patches():
    images = np.arange(2 * 7 * 7 * 2, dtype=np.float32).reshape(2, 7, 7, 2)
    d = swd.descriptors(images, np.random.default_rng(0), per_image=3)
    assert d.shape == (6, 7 * 7 * 2)
    np.testing.assert_array_equal(d[0], images[0].ravel())  # a 7x7 image has one 7x7 patch
    np.testing.assert_array_equal(d[5], images[1].ravel())
    big = np.random.default_rng(1).standard_normal((1, 12, 12, 1)).astype(np.float32)
    for patch in swd.descriptors(big, np.random.default_rng(2), per_image=20).reshape(20, 7, 7):
        found = [(y, x) for y in range(6) for x in range(6) if np.array_equal(big[0, y:y + 7, x:x + 7, 0], patch)]
        assert found  # each descriptor is some 7x7 window of the image
    with pytest.raises(ValueError, match="smaller than the 7x7"):
        swd.descriptors(np.zeros((1, 5, 5, 1)), np.random.default_rng(0))


def test_normalize_per_channel_and_a_constant_channel_only_centred():
    rng = np.random.default_rng(0)
    d = np.stack([rng.normal(3.0, 2.0, (400, 49)), np.full((400, 49), 5.0)], -1).reshape(400, 98)
    n = swd.normalize(d, 2).reshape(400, 49, 2)
    assert n[..., 0].mean() == pytest.approx(0.0, abs=1e-9) and n[..., 0].std() == pytest.approx(1.0)
    assert np.all(n[..., 1] == 0.0)


def test_levels_for_stop_where_a_neighbourhood_still_fits():
    assert [swd.levels_for(s) for s in (28, 32, 64, 14, 7, 30)] == [3, 3, 4, 2, 1, 2]


def squares(n: int, seed: int) -> np.ndarray:
    """n 28x28 images: a bright 8x8 square at a random place on -1."""
    rng = np.random.default_rng(seed)
    out = np.full((n, 28, 28, 1), -1.0, np.float32)
    for img, (y, x) in zip(out, rng.integers(0, 20, (n, 2))):
        img[y:y + 8, x:x + 8] = 1.0
    return out


def test_a_blur_shows_in_the_finest_band_not_in_the_coarse_layout():
    from tfgan_app.nets import pyramid

    real, other = squares(200, 0), squares(200, 1)
    # The same squares without their finest band: u(d(x)), a blur.
    blurred = pyramid.upsample(pyramid.downsample(other)).numpy()
    same = swd.band_swd(real, other, levels=3, seed=0, repeats=2, directions=64, per_image=32)
    blur = swd.band_swd(real, blurred, levels=3, seed=0, repeats=2, directions=64, per_image=32)
    assert len(same) == len(blur) == 3  # bands at 28 and 14, the 7-px low-pass
    assert blur[0] > 2 * same[0]  # the edges are gone
    assert blur[0] / same[0] > blur[-1] / same[-1]  # it changes the finest band more than the layout
    with pytest.raises(ValueError, match="expected equal shapes"):
        swd.band_swd(real, other[:10], levels=3)
