"""The SN-GAN standard CNN (Miyato et al. 2018, Table 3), with SAGAN's and BigGAN's additions.

G: z (128) -> Dense -> (s0, s0, 8w) -> [ConvT(4, stride 2) -> BN -> ReLU] x 3 -> Conv(3, stride 1)
   -> tanh, channels 8w, 4w, 2w, w (w = `width`, 64 in the paper: 512, 256, 128, 64).
D: Conv3(w) Conv4/2(w) Conv3(2w) Conv4/2(2w) Conv3(4w) Conv4/2(4w) Conv3(8w), each LeakyReLU(0.1),
   then Dense -> 1.  No BatchNorm in D (SN replaces it).
The paper's table at 32 px (s0 = 4); at 28 px the same three upsamplings run 4 -> 7 -> 14 -> 28
(dcgan_sizes(28, 3)) and D mirrors them.  Where the authors' code differs (chainer-gan-lib's
SN-DCGAN doubles the channels at each strided conv, LeakyReLU 0.2) we follow the paper's table;
the BatchNorm after G's Dense is the code's (the table lists none).  Weights from N(0, 0.02)
(the code's wscale).

Options (config):
  spectral_norm  "d": SN in every layer of D (SN-GAN); "gd": in G too (SAGAN, BigGAN); "none".
  attention      a feature-map side: SAGAN's self-attention block after the G block and the D
                 conv that produce that side (nets/attention.py); 0 = none.
  conditioning   "projection": conditional BatchNorm in G and the projection discriminator on
                 D's sum-pooled features (Miyato & Koyama 2018; nets/conditional.py); D then
                 sums over positions, as the projection paper's nets do, instead of flattening.
  class_embedding  with projection: 0 = per-class gain/bias tables in each CBN (the projection
                 paper); d > 0 = BigGAN's shared class embedding (d wide, no SN), concatenated
                 with z and mapped to each CBN's gain and bias by its own linear layers (BigGAN-
                 deep's form: z whole, not split into per-block chunks as BigGAN's hierarchical z).
"""

from __future__ import annotations

import keras

from tfgan_app.config import Config, ConfigError
from tfgan_app.nets import layers, spectral_norm
from tfgan_app.nets.attention import SelfAttention
from tfgan_app.nets.conditional import ConditionalBatchNorm, projection_logits
from tfgan_app.nets.dcgan import dcgan_sizes

UPSAMPLINGS = 3  # Table 3: three stride-2 layers in each net
LEAK = 0.1  # "The slopes of all lReLU functions in the networks are set to 0.1" (Table 3)


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)


class _Builder:
    """Layer factories honouring --spectral-norm and --layer-impl for one net."""

    def __init__(self, config: Config, spectral: bool):
        self.spectral = spectral
        self.fast = layers.implementation(config) == "tfgan"
        self.config = config
        self.plain = layers if self.fast else keras.layers

    def dense(self, units, **kw):
        cls = spectral_norm.Dense if self.spectral else keras.layers.Dense
        return cls(units, kernel_initializer=_init(), **kw)

    def conv(self, filters, kernel, stride, **kw):
        if self.spectral:
            return spectral_norm.Conv2D(filters, kernel, stride, "same", kernel_initializer=_init(), fast=self.fast, **kw)
        return self.plain.Conv2D(filters, kernel, stride, "same", kernel_initializer=_init(), **kw)

    def conv_transpose(self, filters, pad, **kw):
        if self.spectral:
            return spectral_norm.Conv2DTranspose(filters, 4, 2, "same", output_padding=pad, kernel_initializer=_init(),
                                                 fast=self.fast, **kw)
        return self.plain.Conv2DTranspose(filters, 4, 2, "same", output_padding=pad, kernel_initializer=_init(), **kw)

    def batch_norm(self):
        sync = self.config.sync_batchnorm
        return (layers if self.fast and not sync else keras.layers).BatchNormalization(synchronized=sync)

    def attention(self):
        return SelfAttention(spectral=self.spectral, fast=self.fast)


def generator(config: Config, shape: tuple, num_classes: int) -> keras.Model:
    h, _, c = shape
    sizes = dcgan_sizes(h, UPSAMPLINGS)
    make = _Builder(config, config.spectral_norm == "gd")
    projection = config.conditioning == "projection"
    z = keras.Input((config.latent_dim,), name="z")
    inputs, condition = z, None
    if projection:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs, condition = [z, labels], labels
        if config.class_embedding:  # BigGAN: one shared embedding, with z, feeds every CBN
            shared = keras.layers.Embedding(num_classes, config.class_embedding, name="shared_embedding")(labels)
            condition = keras.layers.Concatenate(name="z_and_class")([z, shared])  # (B, latent + d)

    def norm(x):
        if not projection:
            return make.batch_norm()(x)
        return ConditionalBatchNorm(num_classes, spectral=make.spectral, synchronized=config.sync_batchnorm,
                                    fast=make.fast)([x, condition])

    ch = config.width * 8
    x = make.dense(sizes[0] * sizes[0] * ch, use_bias=False)(z)
    x = keras.layers.ReLU()(norm(x))
    x = keras.layers.Reshape((sizes[0], sizes[0], ch))(x)  # (B, s0, s0, 8w)
    for i, side in enumerate(sizes[1:]):
        ch //= 2
        pad = None if side == 2 * sizes[i] else 1  # 4 -> 7 at 28 px
        x = make.conv_transpose(ch, pad, use_bias=False)(x)  # (B, side, side, ch)
        x = keras.layers.ReLU()(norm(x))
        if side == config.attention:
            x = make.attention()(x)
    x = make.conv(c, 3, 1)(x)  # (B, H, W, C)
    out = keras.layers.Activation("tanh", dtype="float32", name="samples")(x)
    return keras.Model(inputs, out, name="generator")


def discriminator(config: Config, shape: tuple, num_classes: int) -> keras.Model:
    h, w, c = shape
    make = _Builder(config, config.spectral_norm in ("d", "gd"))
    x = keras.Input((h, w, c * config.pack), name="x")
    inputs, y = x, x
    ch = config.width
    for i in range(UPSAMPLINGS):
        y = keras.layers.LeakyReLU(LEAK)(make.conv(ch, 3, 1)(y))
        y = make.conv(ch, 4, 2)(y)  # (B, side / 2, side / 2, ch)
        if config.d_norm == "layer":
            y = keras.layers.LayerNormalization(axis=[1, 2, 3], name=f"norm_{i}")(y)
        y = keras.layers.LeakyReLU(LEAK)(y)
        if y.shape[1] == config.attention:
            y = make.attention()(y)
        ch *= 2
    y = keras.layers.LeakyReLU(LEAK)(make.conv(ch, 3, 1)(y))  # (B, s0, s0, 8w)
    if config.conditioning == "projection":
        labels = keras.Input((), dtype="int32", name="labels")
        inputs = [x, labels]
        features = keras.layers.Lambda(lambda t: keras.ops.sum(t, axis=(1, 2)), name="sum_pool")(y)  # (B, 8w)
        logits = projection_logits(features, labels, num_classes, make.spectral)
    else:
        logits = make.dense(1, dtype="float32", name="logits")(keras.layers.Flatten()(y))
    return keras.Model(inputs, logits, name="discriminator")


def build(config: Config, shape: tuple, num_classes: int = 0) -> tuple[keras.Model, keras.Model]:
    num_classes = num_classes or config.num_classes
    if config.conditioning != "none" and num_classes < 2:
        raise ConfigError("conditioning", f"{config.conditioning} needs labelled data with >= 2 classes "
                          f"(the dataset has {num_classes}); set --num-classes or use --conditioning none")
    h, w, _ = shape
    if h != w or h not in (28, 32, 64):
        raise ConfigError("image_size", f"sngan builds 28, 32 or 64 pixel square images, got {h}x{w}; "
                          f"set --image-size 28, 32 or 64")
    sides = dcgan_sizes(h, UPSAMPLINGS)[1:-1]  # the sides both nets have (G's blocks, D's strided convs)
    if config.attention and config.attention not in sides:
        raise ConfigError("attention", f"{config.attention} is not a feature-map side of both {h} px nets; "
                          f"use one of {', '.join(map(str, sides))} (or 0 for none)")
    return generator(config, tuple(shape), num_classes), discriminator(config, tuple(shape), num_classes)
