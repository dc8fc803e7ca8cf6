"""Layers the image-to-image nets share (U-Net, PatchGAN, the CycleGAN and SRGAN generators).

    init()            N(0, 0.02): pix2pix's and CycleGAN's weight initialisation
    impl(config)      the module whose Conv2D / Conv2DTranspose the nets use (--layer-impl)
    instance_norm     per example and channel over H, W (Ulyanov et al. 2016)
    ReflectionPad     padding by reflection (CycleGAN's generator)
    Crop              a fixed crop (a U-Net padded to a power of two, cropped back)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgan_app.config import Config
from tfgan_app.nets import layers

INSTANCE_NORM_EPSILON = 1e-5  # PyTorch's InstanceNorm2d default, the authors' code


def init():
    """N(0, 0.02) (pix2pix Appendix 6.2, CycleGAN Sec. 4); a new instance per layer (nets/dcgan.py says why)."""
    return keras.initializers.RandomNormal(0.0, 0.02)


def impl(config: Config):
    """nets/layers.py (fast CPU kernels) or keras.layers, as --layer-impl says."""
    return layers if layers.implementation(config) == "tfgan" else keras.layers


def instance_norm(name: str, affine: bool = True) -> keras.layers.Layer:
    """Normalises each example's channels over H, W; with `affine` a learnt per-channel scale and
    offset (pix2pix's BatchNorm at batch size 1 has them; CycleGAN's InstanceNorm2d does not)."""
    return keras.layers.GroupNormalization(groups=-1, epsilon=INSTANCE_NORM_EPSILON, center=affine,
                                           scale=affine, name=name)


class ReflectionPad(keras.layers.Layer):
    """Pads H and W by reflection: (top, bottom, left, right)."""

    def __init__(self, pads: tuple, **kwargs):
        super().__init__(**kwargs)
        self.pads = tuple(int(p) for p in pads)

    def call(self, x):
        t, b, l, r = self.pads
        return tf.pad(x, [[0, 0], [t, b], [l, r], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, shape):
        t, b, l, r = self.pads
        grow = lambda d, n: None if d is None else d + n  # noqa: E731
        return (shape[0], grow(shape[1], t + b), grow(shape[2], l + r), shape[3])

    def get_config(self):
        return {**super().get_config(), "pads": self.pads}


class Crop(keras.layers.Layer):
    """Crops H and W to (top, top + height) x (left, left + width)."""

    def __init__(self, top: int, left: int, height: int, width: int, **kwargs):
        super().__init__(**kwargs)
        self.box = (int(top), int(left), int(height), int(width))

    def call(self, x):
        t, l, h, w = self.box
        return x[:, t:t + h, l:l + w, :]

    def compute_output_shape(self, shape):
        return (shape[0], self.box[2], self.box[3], shape[3])

    def get_config(self):
        t, l, h, w = self.box
        return {**super().get_config(), "top": t, "left": l, "height": h, "width": w}
