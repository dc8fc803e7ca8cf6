"""pix2pix's U-Net generator (Isola et al. 2017, Sec. 3.2.1 and Appendix 6.1.1).

At 256 px the paper's encoder is C64-C128-C256-C512-C512-C512-C512-C512 (4x4 convolutions
of stride 2 down to 1x1, LeakyReLU 0.2, no normalisation in the first layer) and its
decoder CD512-CD512-CD512-C512-C256-C128-C64 (4x4 transposed convolutions of stride 2,
ReLU, dropout 0.5 in the first three), each decoder block concatenated with the encoder
block of its size (the skips), and a last transposed convolution to the output channels
with tanh.  Here:

- the levels are log2 of the side (8 at 256 px; 5 at 32 px); a side that is not a power of
  two (28) is reflect-padded up to one (32) and the output cropped back;
- `width` is the first layer's filters (64 in the paper) and the filters double per level
  up to 8 x width, as in the paper;
- normalisation is instance normalisation (per example and channel, with a learnt scale and
  offset): the paper trains with BatchNorm at batch size 1 and keeps it in training mode at
  test time, which is what instance normalisation computes at any batch size -- so one
  client's output does not depend on who is batched with it on the server.  The innermost
  encoder block has none (the authors' code: at 1x1 it would zero the bottleneck);
- dropout draws its masks for the global batch (`GlobalDropout`): R replicas compute one
  device's step; with `seeds` it draws each example's masks from its own seed (the export's
  `translate_sampled`).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfgan_app.config import Config
from tfgan_app.nets.blocks import Crop, ReflectionPad, impl, init, instance_norm
from tfgan_app.nets.layers import GlobalDropout  # noqa: F401 (unet.GlobalDropout: the export looks for it)

UNET_DROPOUT = 0.5        # the paper's, in the first three decoder blocks
DROPOUT_BLOCKS = 3


def unet_levels(side: int) -> int:
    """Stride-2 levels down to 1x1: log2 of the side rounded up to a power of two (256 -> 8, 28 -> 5)."""
    return max(1, math.ceil(math.log2(side)))


def build_unet(config: Config, input_shape: tuple, out_channels: int, dropout: float = UNET_DROPOUT,
               name: str = "unet") -> keras.Model:
    """The U-Net: images (B, S, S, Ci) in [-1, 1] -> images (B, S, S, out_channels) in [-1, 1].

    `sampled(unet)` is the same network taking seeds for its dropout masks.
    """
    layers = impl(config)
    s = int(input_shape[0])
    levels = unet_levels(s)
    w = config.width
    filters = [min(w * 2 ** i, 8 * w) for i in range(levels)]  # encoder: w, 2w, 4w, 8w, 8w, ...
    net = {}
    for i, f in enumerate(filters):  # 4x4 stride 2: C64-C128-... down to 1x1
        net[f"down{i}_conv"] = layers.Conv2D(f, 4, strides=2, padding="same", use_bias=False,
                                             kernel_initializer=init(), name=f"down{i}_conv")
        if 0 < i < levels - 1:
            net[f"down{i}_norm"] = instance_norm(f"down{i}_norm")
    for j, i in enumerate(range(levels - 2, -1, -1)):  # up to the size of encoder block i
        net[f"up{j}_conv"] = layers.Conv2DTranspose(filters[i], 4, strides=2, padding="same", use_bias=False,
                                                    kernel_initializer=init(), name=f"up{j}_conv")
        net[f"up{j}_norm"] = instance_norm(f"up{j}_norm")
        if j < DROPOUT_BLOCKS and dropout:
            net[f"up{j}_dropout"] = GlobalDropout(dropout, salt=j, name=f"up{j}_dropout")
    net["out_conv"] = layers.Conv2DTranspose(out_channels, 4, strides=2, padding="same",
                                             kernel_initializer=init(), dtype="float32", name="out_conv")
    images = keras.Input(tuple(input_shape), name="images")
    return keras.Model(images, _forward(net, images, s, levels), name=name)


def _forward(net: dict, images, side: int, levels: int, seeds=None):
    """The U-Net's graph over its layers `net` (name -> layer); seeds: see GlobalDropout."""
    padded = 2 ** levels
    before = (padded - side) // 2
    x = images
    if padded != side:
        x = ReflectionPad((before, padded - side - before) * 2)(x)
    skips = []
    for i in range(levels):
        x = net[f"down{i}_conv"](x)
        if f"down{i}_norm" in net:
            x = net[f"down{i}_norm"](x)
        x = keras.layers.LeakyReLU(0.2)(x)
        skips.append(x)
    for j, i in enumerate(range(levels - 2, -1, -1)):
        x = net[f"up{j}_norm"](net[f"up{j}_conv"](x))
        if f"up{j}_dropout" in net:
            x = net[f"up{j}_dropout"](x) if seeds is None else net[f"up{j}_dropout"](x, seeds=seeds)
        x = keras.layers.ReLU()(x)
        x = keras.layers.Concatenate()([x, skips[i]])
    x = net["out_conv"](x)
    if padded != side:
        x = Crop(before, before, side, side)(x)
    return keras.layers.Activation("tanh", dtype="float32")(x)


def sampled(unet: keras.Model) -> keras.Model:
    """The same U-Net (shared weights) taking [images, seeds (B, 2) int64]: dropout on, each
    example's masks drawn from its seed; normalisation as always (per example)."""
    shape = tuple(unet.input.shape[1:])
    images = keras.Input(shape, name="images")
    seeds = keras.Input((2,), dtype="int64", name="seeds")
    net = {layer.name: layer for layer in unet.layers}
    out = _forward(net, images, int(shape[0]), unet_levels(int(shape[0])), seeds=seeds)
    return keras.Model([images, seeds], out, name=f"{unet.name}_sampled")
