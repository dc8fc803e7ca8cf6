"""Morpho-MNIST's measurements (data/morphometry.py) on shapes whose answers are known."""

import math

import numpy as np
import pytest

from tfgan_app.data import morphometry


def bar(width: int, shear: float = 0.0, height: int = 16) -> np.ndarray:
    """A 28x28 uint8 image: a bar `width` px wide and `height` tall, its column at row y shifted by
    shear * (centre row - y) (shear > 0: the top to the right)."""
    img = np.zeros((28, 28), np.uint8)
    top = (28 - height) // 2
    centre = top + (height - 1) / 2
    for y in range(top, top + height):
        x0 = int(round(14 - width / 2 + shear * (centre - y)))
        img[y, x0:x0 + width] = 255
    return img


def test_an_upright_bar_has_its_width_as_thickness_and_width_and_no_slant():
    m = morphometry.measure(bar(3))
    # The medial axis's ends (near the bar's corners) are closer to the background than its
    # middle, so the mean thickness is a little under the bar's 3 px, never over.
    assert 2.4 < m["thickness"] <= 3.2
    assert abs(m["slant"]) < math.radians(1)
    # Width is measured on the grey image upsampled with a cubic kernel (support +-2 px) and a
    # Gaussian: its tails widen a hard-edged bar by up to 1.5 px; the 2% trim narrows it a little.
    wide = morphometry.measure(bar(10))
    assert 2.8 <= m["width"] <= 4.5 and 9.8 <= wide["width"] <= 11.5
    assert wide["thickness"] > m["thickness"]


@pytest.mark.parametrize("shear", [0.25, -0.25])
def test_a_sheared_bar_has_the_shears_slant_and_its_width_along_the_slant(shear):
    m = morphometry.measure(bar(3, shear))
    assert m["slant"] == pytest.approx(math.atan(shear), abs=math.radians(2))  # > 0: leaning right
    # Width along the slant is the upright bar's, not its bounding box's (4 px more: 16 rows x 0.25).
    assert m["width"] == pytest.approx(morphometry.measure(bar(3))["width"], abs=0.5)


def test_channels_and_a_blank_image():
    one = morphometry.measure_all(np.stack([bar(3), bar(6)])[..., None])
    assert one["thickness"].shape == (2,) and one["thickness"][1] > one["thickness"][0]
    with pytest.raises(ValueError, match="blank image"):
        morphometry.measure(np.zeros((28, 28), np.uint8))


def test_the_medial_axis_is_scikit_images_with_its_tables_built_once():
    from skimage import morphology

    rng = np.random.default_rng(3)
    shapes = [bar(3) > 0, bar(6, 0.25) > 0, np.ones((5, 9), bool)]
    shapes += [morphometry._upsampled(bar(w, s)) > 0.5 for w, s in ((1, 0.3), (4, -0.2))]  # as measure() sees them
    shapes += [rng.random((40, 30)) < p for p in (0.5, 0.7, 0.9)]  # ragged blobs: many ties and holes
    for binary in shapes:
        skeleton, distance = morphometry.medial_axis(binary)
        want_skeleton, want_distance = morphology.medial_axis(binary, return_distance=True,
                                                              rng=morphometry.TIEBREAK_SEED)
        assert skeleton.any() and skeleton.sum() < binary.sum()
        np.testing.assert_array_equal(skeleton, want_skeleton)
        np.testing.assert_array_equal(distance, want_distance)
    # The same image is measured alike in every run (scikit-image's default draws its tiebreak anew).
    assert morphometry.measure(bar(6, 0.25)) == morphometry.measure(bar(6, 0.25))
