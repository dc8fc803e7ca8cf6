"""pix2pix's PatchGAN discriminator (Isola et al. 2017, Sec. 3.2.2 and Appendix 6.1.2).

D(x, y) judges an (input, output) pair patch by patch: it sees both images concatenated
on the channels and returns a map of logits, one per N x N patch of the input.  The 70x70
PatchGAN at 256 px is C64-C128-C256-C512 then a convolution to 1 channel (4x4 kernels,
LeakyReLU 0.2, no normalisation in the first layer; the first three of stride 2, the last
two of stride 1 with one pixel of zero padding, as the authors' code), 30x30 logits.
`patch_layers` is the number of stride-2 layers (the authors' `n_layers_D`); the patch one
logit sees (`receptive_field`):

    patch_layers  1    2    3    4
    patch         16   34   70   142   pixels

The 70x70 PatchGAN is 3; the digit-size presets take 1, the paper's 16x16 PatchGAN (16 px is
57% of a 28 px digit, where 70 is 27% of 256 px; 34 would see the whole digit).
Normalisation is instance normalisation (nets/unet.py says why).
"""

from __future__ import annotations

import keras

from tfgan_app.config import Config
from tfgan_app.nets.blocks import impl, init, instance_norm


def receptive_field(patch_layers: int) -> int:
    """The side of the input patch one output logit sees (4x4 kernels; strides 2, ..., 2, 1, 1)."""
    strides = [2] * patch_layers + [1, 1]
    field = 1
    for stride in reversed(strides):
        field = (field - 1) * stride + 4
    return field


def build_patchgan(config: Config, input_shape: tuple, target_shape: tuple, patch_layers: int,
                   name: str = "patchgan") -> keras.Model:
    """pix2pix's conditional D: [inputs (B, S, S, Ci), images (B, S, S, Co)] -> patch logits (B, h, w, 1)."""
    inputs = keras.Input(tuple(input_shape), name="inputs")
    images = keras.Input(tuple(target_shape), name="images")
    x = keras.layers.Concatenate(name="pair")([inputs, images])
    return keras.Model([inputs, images], _trunk(config, x, patch_layers), name=name)


def build_single_patchgan(config: Config, shape: tuple, patch_layers: int, name: str = "patchgan") -> keras.Model:
    """CycleGAN's D: images (B, S, S, C) -> patch logits (B, h, w, 1); instance norm without scale
    and offset, and biases, as the authors' code."""
    images = keras.Input(tuple(shape), name="images")
    return keras.Model(images, _trunk(config, images, patch_layers, affine=False), name=name)


def _trunk(config: Config, x, patch_layers: int, affine: bool = True):
    """C64 (stride 2, no norm) - ... - C(8w at most) (stride 1) - 1-channel logits (stride 1)."""
    layers = impl(config)
    w = config.width
    x = layers.Conv2D(w, 4, strides=2, padding="same", kernel_initializer=init(), name="conv0")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    for i in range(1, patch_layers + 1):  # patch_layers - 1 more of stride 2, then one of stride 1
        last = i == patch_layers
        f = w * min(2 ** i, 8)
        if last:
            x = keras.layers.ZeroPadding2D(1)(x)
        x = layers.Conv2D(f, 4, strides=1 if last else 2, padding="valid" if last else "same", use_bias=not affine,
                          kernel_initializer=init(), name=f"conv{i}")(x)
        x = instance_norm(f"norm{i}", affine=affine)(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.ZeroPadding2D(1)(x)
    return layers.Conv2D(1, 4, padding="valid", kernel_initializer=init(), dtype="float32", name="logits")(x)
