"""Sliced Wasserstein distance per Laplacian band (Karras et al. 2018, "Progressive growing of GANs", §5).

Two image sets are compared level by level of their Laplacian pyramids (nets/pyramid.py, the
binomial pyramid of the paper's code): from every image, random 7x7 neighbourhoods of each band
become descriptors (49 x C values); each set's descriptors are normalised per channel; the
distance between the two descriptor sets is the sliced Wasserstein distance

    SWD(A, B) = mean over directions p of  mean_i | sort(A p)_i - sort(B p)_i |

(the 1-D Wasserstein-1 distance of the projections on random unit directions p, averaged), and
is reported x 1e3 as the paper's tables do.  A small figure at the finest band means the
generated edges and strokes look like the data's; at the low-pass level, the coarse layout does.

Follows the authors' code (tkarras/progressive_growing_of_gans, metrics/sliced_wasserstein.py):
128 neighbourhoods per image, 4 repeats of 128 directions, per-channel normalisation of each set.
TF-GAN's `sliced_wasserstein_distance` differs in normalising every patch by its own mean and
std (a flat patch -- most of an MNIST background -- then divides by zero) and in its defaults
(64 patches, 147 directions, no x 1e3), so its figures are not comparable with these.
The paper asks for 16,384 images per set for figures comparable across papers; fewer give a
noisier (and upward-biased) figure: compare sets of the same size.
"""

from __future__ import annotations

import numpy as np

PATCH = 7  # neighbourhood side
PATCHES_PER_IMAGE = 128
REPEATS = 4
DIRECTIONS = 128


def descriptors(images, rng, patch: int = PATCH, per_image: int = PATCHES_PER_IMAGE) -> np.ndarray:
    """(N * per_image, patch * patch * C) neighbourhoods of NHWC `images`, centres drawn
    uniformly where the whole patch fits (an image exactly `patch` wide gives its one patch)."""
    images = np.asarray(images, np.float32)
    n, h, w, c = images.shape
    if h < patch or w < patch:
        raise ValueError(f"sliced Wasserstein distance: {h}x{w} images are smaller than the {patch}x{patch} "
                         "neighbourhoods it compares")
    ys = rng.integers(0, h - patch + 1, size=(n, per_image))
    xs = rng.integers(0, w - patch + 1, size=(n, per_image))
    offsets = np.arange(patch)
    rows = ys[..., None, None] + offsets[:, None]  # (n, per_image, patch, 1)
    cols = xs[..., None, None] + offsets[None, :]  # (n, per_image, 1, patch)
    index = np.arange(n)[:, None, None, None]
    return images[index, rows, cols].reshape(n * per_image, patch * patch * c)


def normalize(desc: np.ndarray, channels: int) -> np.ndarray:
    """Each channel's values over all descriptors of the set to mean 0, std 1 (a constant
    channel is only centred)."""
    d = desc.reshape(len(desc), -1, channels)
    mean = d.mean(axis=(0, 1), keepdims=True)
    std = d.std(axis=(0, 1), keepdims=True)
    return ((d - mean) / np.where(std > 0, std, 1.0)).reshape(desc.shape)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, directions: np.ndarray) -> float:
    """mean over the columns p of `directions` of mean_i |sort(a p)_i - sort(b p)_i|:
    a and b are (N, D) sets of the same size, directions (D, P) unit columns."""
    if a.shape != b.shape:
        raise ValueError(f"sliced Wasserstein distance of sets of {a.shape} and {b.shape}: expected equal shapes")
    pa, pb = np.sort(a @ directions, axis=0), np.sort(b @ directions, axis=0)
    return float(np.abs(pa - pb).mean())


def random_directions(dim: int, count: int, rng) -> np.ndarray:
    """(dim, count) directions uniform on the unit sphere."""
    d = rng.standard_normal((dim, count))
    return d / np.linalg.norm(d, axis=0, keepdims=True)


def levels_for(side: int, patch: int = PATCH) -> int:
    """Pyramid levels for images of `side`: halving while the side stays even and the next level
    still holds a neighbourhood (28 -> 3 levels: 28, 14, 7; 64 -> 4: 64, 32, 16, 8)."""
    levels = 1
    while side % 2 == 0 and side // 2 >= patch:
        side //= 2
        levels += 1
    return levels


def band_swd(real, fake, levels: int, seed: int = 0, repeats: int = REPEATS, directions: int = DIRECTIONS,
             per_image: int = PATCHES_PER_IMAGE) -> list[float]:
    """SWD x 1e3 between `real` and `fake` (NHWC in one value range, the same count) at each
    level of their `levels`-level Laplacian pyramids, finest band first, the low-pass image last."""
    from tfgan_app.nets import pyramid  # TF ops, run eagerly

    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    if real.shape != fake.shape:
        raise ValueError(f"band SWD of {real.shape} real and {fake.shape} generated images: expected equal shapes")
    channels = real.shape[-1]
    rng = np.random.default_rng(seed)
    out = []
    for r, f in zip(pyramid.laplacian_pyramid(real, levels), pyramid.laplacian_pyramid(fake, levels)):
        da = normalize(descriptors(r.numpy(), rng, per_image=per_image), channels)
        db = normalize(descriptors(f.numpy(), rng, per_image=per_image), channels)
        dists = [sliced_wasserstein(da, db, random_directions(da.shape[1], directions, rng)) for _ in range(repeats)]
        out.append(1e3 * float(np.mean(dists)))
    return out
