"""Morpho-MNIST's measurements of a handwritten digit (Castro et al. 2019, §3.1): thickness, slant, width.

Each grey image is upsampled 4x (cubic), binarised at half its intensity range, and measured:

    thickness  2 x the mean distance from the skeleton (medial axis) to the background, in pixels
               of the original image: the stroke's mean width;
    slant      arctan(-u11 / u02) of the upsampled image's central moments (x right, y down): the
               horizontal shear that makes the digit upright; > 0 leans right (the top to the right);
    width      the width of the sheared bounding parallelogram holding all but 2% of the ink
               (1% each side), along the slant, in original pixels.

The definitions and constants are the paper's (its code: dccastro/Morpho-MNIST,
morphomnist/morpho.py); this is an independent implementation on NumPy and scikit-image.
Captions (data/captions.py) are built from these figures, and the text-to-image benchmark
measures generated digits with the same functions.
"""

from __future__ import annotations

import functools

import numpy as np

SCALE = 4          # upsampling before measuring (the paper's default)
THRESHOLD = 0.5    # binarisation at this fraction of the image's intensity range
BOUND_FRAC = 0.02  # ink left outside the bounding parallelogram (half on each side)
TIEBREAK_SEED = 0  # the medial axis's order among equally distant pixels (scikit-image draws a new one
                   # per call unless given one: the figures would vary from run to run)


def _moments(img: np.ndarray) -> tuple[float, float, float, float, float]:
    """(x centroid, y centroid, u20, u11, u02) of an image used as a mass distribution."""
    h, w = img.shape
    x = np.arange(w, dtype=np.float64)[None, :]
    y = np.arange(h, dtype=np.float64)[:, None]
    mass = img.sum()
    cx, cy = (x * img).sum() / mass, (y * img).sum() / mass
    u20 = ((x - cx) ** 2 * img).sum() / mass
    u11 = ((x - cx) * (y - cy) * img).sum() / mass
    u02 = ((y - cy) ** 2 * img).sum() / mass
    return cx, cy, u20, u11, u02


def _upsampled(image: np.ndarray) -> np.ndarray:
    from skimage import transform

    img = np.asarray(image, np.float64)
    if img.max() > 1.0:
        img = img / 255.0
    return transform.pyramid_expand(img, upscale=SCALE, order=3)


@functools.cache
def _medial_axis_tables() -> tuple[np.ndarray, np.ndarray]:
    """The two lookup tables of skimage.morphology.medial_axis over the 512 3x3 neighbourhoods
    (bit k of an index: pixel k of the 3x3 square, row by row), which scikit-image builds again on
    every call (1,024 connected-component labellings: ~40 ms, ~90% of measuring a digit):

    keep      the centre is ink and removing it changes the neighbourhood's number of 8-connected
              components, or it has fewer than 3 ink pixels;
    corners   9 - the number of ink pixels: the later a pixel is visited among equals.
    """
    from scipy import ndimage

    eight = ndimage.generate_binary_structure(2, 2)
    patterns = ((np.arange(512)[:, None] >> np.arange(9)) & 1).reshape(512, 3, 3).astype(bool)
    without_centre = patterns.copy()
    without_centre[:, 1, 1] = False
    changes = np.array([ndimage.label(p, eight)[1] != ndimage.label(q, eight)[1]
                        for p, q in zip(patterns, without_centre)])
    ink = patterns.reshape(512, 9).sum(1)
    keep = patterns[:, 1, 1] & (changes | (ink < 3))
    return np.ascontiguousarray(keep, np.uint8), 9 - ink


def medial_axis(binary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(skeleton bool, distance to the background float64) of a binary image: scikit-image's
    medial_axis(binary, return_distance=True, rng=TIEBREAK_SEED), its tables built once.

    Its steps: the distance transform; the ink pixels ordered by distance, then by cornerness,
    then by a seeded random tiebreak; one pass in that order that removes a pixel unless the
    `keep` table says it holds the shape together (scikit-image's compiled loop)."""
    from scipy import ndimage
    from skimage.morphology._skeletonize import _skeletonize_loop, _table_lookup

    keep, corners = _medial_axis_tables()
    image = np.asarray(binary, bool)
    distance = ndimage.distance_transform_edt(image)
    corner_score = _table_lookup(image, corners)
    i, j = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    tiebreak = np.random.default_rng(TIEBREAK_SEED).permutation(np.arange(image.sum()))
    order = np.ascontiguousarray(np.lexsort((tiebreak, corner_score[image], distance[image])), np.int32)
    skeleton = np.ascontiguousarray(image, np.uint8)
    _skeletonize_loop(skeleton, np.ascontiguousarray(i[image], np.intp), np.ascontiguousarray(j[image], np.intp),
                      order, keep)
    return skeleton.astype(bool), distance


def measure(image: np.ndarray) -> dict:
    """{"thickness", "slant", "width"} of one grey digit (H, W) or (H, W, 1), uint8 or [0, 1].

    Raises:
      ValueError: the image is blank (no ink to measure).
    """
    image = np.asarray(image)
    if image.ndim == 3:
        image = image[..., 0]
    hires = _upsampled(image)
    lo, hi = hires.min(), hires.max()
    if not hi > lo:
        raise ValueError("a blank image has no stroke to measure")
    binary = hires >= lo + (hi - lo) * THRESHOLD
    skeleton, distance = medial_axis(binary)
    thickness = 2.0 * float(np.mean(distance[skeleton])) / SCALE
    cx, cy, _, u11, u02 = _moments(hires)
    shear = u11 / u02
    slant = float(np.arctan(-shear))
    # Width: the ink's distribution along x measured in sheared coordinates x' = x - shear (y - cy).
    h, w = hires.shape
    x = np.arange(w, dtype=np.float64)[None, :]
    y = np.arange(h, dtype=np.float64)[:, None]
    sheared = np.broadcast_to(x - shear * (y - cy), hires.shape).ravel()
    order = np.argsort(sheared, kind="stable")
    mass = hires.ravel()[order]
    cdf = np.cumsum(mass) / mass.sum()
    left, right = np.interp([BOUND_FRAC / 2, 1 - BOUND_FRAC / 2], cdf, sheared[order])
    return {"thickness": thickness, "slant": slant, "width": float(right - left) / SCALE}


def measure_all(images: np.ndarray) -> dict[str, np.ndarray]:
    """measure() of every image (N, H, W[, 1]): {"thickness": (N,), "slant": (N,), "width": (N,)}."""
    rows = [measure(img) for img in images]
    return {k: np.array([r[k] for r in rows], np.float32) for k in ("thickness", "slant", "width")}
