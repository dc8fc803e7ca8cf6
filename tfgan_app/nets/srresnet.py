"""SRGAN's networks (Ledig et al. 2017, Fig. 4): the SRResNet generator and the discriminator.

Generator (SRResNet): k9n64s1 + PReLU; B residual blocks [k3n64s1, BN, PReLU, k3n64s1, BN, +]
(B = 16); k3n64s1 + BN + the skip from before the blocks; two upsampling blocks [k3n256s1,
sub-pixel shuffle x2 (depth_to_space), PReLU]; k9n3s1.  The paper leaves the output open; tanh
here, as krasserm/super-resolution (images in [-1, 1]).  Fully convolutional: it takes any
input size (the export fixes one).  PReLU slopes are shared over H and W (one per channel).

Discriminator: k3n64s1 + LeakyReLU 0.2; seven [conv k3, BN, LeakyReLU 0.2] with n/s 64/2,
128/1, 128/2, 256/1, 256/2, 512/1, 512/2; Dense 1024, LeakyReLU 0.2, Dense 1 (a logit: the
sigmoid is in the loss).  `width` is the first layer's 64 in both.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgan_app.config import Config
from tfgan_app.nets.blocks import impl

UPSAMPLING = 2  # blocks of x2: 4x in all


class DepthToSpace(keras.layers.Layer):
    """Sub-pixel convolution's shuffle (Shi et al. 2016): (B, H, W, r^2 C) -> (B, rH, rW, C)."""

    def __init__(self, block: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.block = int(block)

    def call(self, x):
        return tf.nn.depth_to_space(x, self.block)

    def compute_output_shape(self, shape):
        r = self.block
        grow = lambda d: None if d is None else d * r  # noqa: E731
        return (shape[0], grow(shape[1]), grow(shape[2]), shape[3] // (r * r))

    def get_config(self):
        return {**super().get_config(), "block": self.block}


def build_srresnet(config: Config, channels: int = 3, blocks: int = 16, name: str = "srresnet") -> keras.Model:
    """LR images (B, h, w, C) in [-1, 1] -> SR images (B, 4h, 4w, C) in [-1, 1]."""
    layers = impl(config)
    w = config.width
    lr = keras.Input((None, None, channels), name="images")
    x = layers.Conv2D(w, 9, padding="same", name="stem")(lr)
    x = skip = keras.layers.PReLU(shared_axes=[1, 2], name="stem_prelu")(x)
    for i in range(blocks):
        y = layers.Conv2D(w, 3, padding="same", name=f"res{i}_conv0")(x)
        y = layers.BatchNormalization(synchronized=config.sync_batchnorm, name=f"res{i}_bn0")(y)
        y = keras.layers.PReLU(shared_axes=[1, 2], name=f"res{i}_prelu")(y)
        y = layers.Conv2D(w, 3, padding="same", name=f"res{i}_conv1")(y)
        y = layers.BatchNormalization(synchronized=config.sync_batchnorm, name=f"res{i}_bn1")(y)
        x = keras.layers.Add(name=f"res{i}")([x, y])
    x = layers.Conv2D(w, 3, padding="same", name="trunk_conv")(x)
    x = layers.BatchNormalization(synchronized=config.sync_batchnorm, name="trunk_bn")(x)
    x = keras.layers.Add(name="trunk_skip")([skip, x])
    for i in range(UPSAMPLING):
        x = layers.Conv2D(4 * w, 3, padding="same", name=f"up{i}_conv")(x)
        x = DepthToSpace(2, name=f"up{i}_shuffle")(x)
        x = keras.layers.PReLU(shared_axes=[1, 2], name=f"up{i}_prelu")(x)
    x = layers.Conv2D(channels, 9, padding="same", dtype="float32", name="out")(x)
    return keras.Model(lr, keras.layers.Activation("tanh", dtype="float32")(x), name=name)


def build_sr_discriminator(config: Config, shape: tuple, name: str = "sr_discriminator") -> keras.Model:
    """HR images (B, H, W, C) -> logits (B, 1); H, W fixed (the Dense layer sees them all).
    `features(discriminator)` is the same model up to its last conv block."""
    layers = impl(config)
    w = config.width
    images = keras.Input(tuple(shape), name="images")
    x = layers.Conv2D(w, 3, padding="same", name="conv0")(images)
    x = keras.layers.LeakyReLU(0.2)(x)
    for i, (mult, stride) in enumerate(((1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (8, 1), (8, 2)), start=1):
        x = layers.Conv2D(w * mult, 3, strides=stride, padding="same", name=f"conv{i}")(x)
        x = layers.BatchNormalization(synchronized=config.sync_batchnorm, name=f"bn{i}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"block{i}")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16 * w, name="dense")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    return keras.Model(images, keras.layers.Dense(1, dtype="float32", name="logits")(x), name=name)


def features(discriminator: keras.Model) -> keras.Model:
    """The discriminator's last conv block's activations (shared weights): a content space."""
    return keras.Model(discriminator.input, discriminator.get_layer("block7").output,
                       name=f"{discriminator.name}_features")
