"""Gaussian and Laplacian pyramids as TF ops (Burt & Adelson 1983), for LAPGAN and per-band SWD.

    downsample(x)           d: blur with the 5-tap binomial filter, then keep every other pixel
    upsample(x)             u: insert zeros between pixels, then blur with gain 4
    laplacian_pyramid(x, K) [h_0, ..., h_{K-2}, I_{K-1}]:  h_k = I_k - u(I_{k+1}),  I_{k+1} = d(I_k)
    reconstruct(pyramid)    I_0 = h_0 + u(h_1 + u(... + u(I_{K-1})))   (exact: the inverse by construction)

The filter is the binomial [1, 4, 6, 4, 1] / 16 in each direction (its outer product / 256),
with reflected borders: the pyramid of Karras et al. 2018's sliced Wasserstein distance
(TF-GAN's `laplacian_pyramid`, cv2.pyrDown / cv2.pyrUp).  LAPGAN (Denton et al. 2015, §3.1)
defines d and u this way; the authors' Torch code (eyescream) resizes bilinearly instead, and
the paper is followed here: blurring before subsampling leaves no aliasing in the coarse image.

Everything is plain TF ops on NHWC float tensors with static even sides, so it runs inside a
train_step, a tf.data map and an exported signature alike.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_TAPS = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
KERNEL_2D = np.outer(_TAPS, _TAPS)  # sums to 1


def _blur(x, gain: float = 1.0):
    """x convolved per channel with gain * KERNEL_2D, borders reflected (2 pixels)."""
    channels = x.shape[-1]
    kernel = tf.constant(np.tile((gain * KERNEL_2D)[:, :, None, None], (1, 1, channels, 1)), x.dtype)
    padded = tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="REFLECT")
    return tf.nn.depthwise_conv2d(padded, kernel, strides=[1, 1, 1, 1], padding="VALID")


def _check_sides(x, what: str) -> None:
    h, w = x.shape[1], x.shape[2]
    if h is None or w is None or h < 3 or w < 3:
        raise ValueError(f"{what}: images need static sides of at least 3 pixels; got shape {x.shape}")


def downsample(x):
    """d(x): blurred, then every other row and column (H x W -> ceil(H/2) x ceil(W/2))."""
    x = tf.convert_to_tensor(x)
    _check_sides(x, "downsample")
    return _blur(x)[:, ::2, ::2, :]


def upsample(x):
    """u(x): zeros inserted after every pixel (H x W -> 2H x 2W), then blurred with gain 4,
    which restores the mean: u of a constant image is the same constant."""
    x = tf.convert_to_tensor(x)
    _check_sides(x, "upsample")
    n, h, w, c = tf.shape(x)[0], x.shape[1], x.shape[2], x.shape[3]
    zeros = tf.zeros_like(x)
    rows = tf.reshape(tf.stack([x, zeros], axis=3), [n, h, 2 * w, c])  # interleave columns
    full = tf.reshape(tf.stack([rows, tf.zeros_like(rows)], axis=2), [n, 2 * h, 2 * w, c])  # then rows
    return _blur(full, gain=4.0)


def sides(size: int, levels: int) -> list[int]:
    """The side of each level, finest first: [size, size/2, ...]; every level but the
    coarsest must halve exactly (28 -> 14 -> 7, 32 -> 16 -> 8)."""
    out = [int(size)]
    for _ in range(levels - 1):
        if out[-1] % 2:
            raise ValueError(f"a {levels}-level pyramid of {size}-pixel images: {out[-1]} does not halve; "
                             f"expected a side divisible by {2 ** (levels - 1)}")
        out.append(out[-1] // 2)
    return out


def gaussian_pyramid(x, levels: int) -> list:
    """[I_0 = x, I_1 = d(I_0), ..., I_{K-1}], finest first."""
    x = tf.convert_to_tensor(x)
    sides(x.shape[1], levels), sides(x.shape[2], levels)
    out = [x]
    for _ in range(levels - 1):
        out.append(downsample(out[-1]))
    return out


def laplacian_pyramid(x, levels: int) -> list:
    """[h_0, ..., h_{K-2}, I_{K-1}], finest first: the bands h_k = I_k - u(I_{k+1}) and the
    coarsest Gaussian level, which is an image, not a band."""
    g = gaussian_pyramid(x, levels)
    return [g[k] - upsample(g[k + 1]) for k in range(levels - 1)] + [g[-1]]


def reconstruct(pyramid: list):
    """The image whose Laplacian pyramid is `pyramid`: I_k = h_k + u(I_{k+1}), coarse to fine."""
    image = tf.convert_to_tensor(pyramid[-1])
    for band in reversed(pyramid[:-1]):
        image = tf.convert_to_tensor(band) + upsample(image)
    return image
