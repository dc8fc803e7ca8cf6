"""MidiNet's nets (Yang et al. 2017; the authors' `v1/model.py`), on bars of 16 steps x P pitches.

    conditioner  previous bar (16, P, 1) -> conv (1 x P) -> (16, 1, 16) -> 3 x conv (2 x 1, stride 2)
                 -> (8, 1, 16), (4, 1, 16), (2, 1, 16): feature maps at each generator resolution
    generator    [z (100), y (13)] -> dense 1024 -> ++y -> dense 2 x 1 x 128 -> (2, 1, 128)
                 -> ++y ++cond(2) -> deconv (2 x 1, s2) -> (4, 1, 128) -> ++y ++cond(4) -> ... (16, 1, 128)
                 -> ++y ++cond(16) -> deconv (1 x P) -> (16, P, 1), sigmoid
    discriminator (16, P, 1) ++y -> conv (2 x P, s2), 14 filters -> (8, 1, 14): the feature-matching
                 layer -> ++y -> conv 77 (4 x 1, s2) -> flatten ++y -> dense 1024 -> ++y -> dense 1 (logit)

++y tiles the 13-d chord vector over the map (the code's `conv_cond_concat`); the previous bar
feeds the generator only.  Batch norm after every layer but the discriminator's first and the
outputs, lrelu 0.2 in D and the conditioner, ReLU in G, N(0, 0.02) weights, 'valid' padding,
as the code.  The code's P is 128 MIDI pitches; MidiNet's data spans two octaves, so P is 24 here
(C4-B5), and the first conv spans them all as the code's spans 128.  The conditioner is part of
the generator model (the code trains its `g_prev_*` variables with G's loss).
"""

from __future__ import annotations

import keras
from keras import layers

from tfgan_app.nets import blocks


def _init() -> dict:
    """The code's N(0, 0.02) kernels: blocks.init(), a new initializer per layer."""
    return dict(kernel_initializer=blocks.init())


BN = dict(momentum=0.9, epsilon=1e-5)   # tf.contrib batch_norm(decay 0.9, epsilon 1e-5)


def _bn(name: str, synchronized: bool):
    """BatchNormalization as the code's; `synchronized`: statistics over every replica's examples."""
    return layers.BatchNormalization(name=name, synchronized=synchronized, **BN)


def tile_onto(x, y):
    """x (B, H, W, C) ++ y (B, D) tiled to (B, H, W, D): the code's conv_cond_concat."""
    h, w = x.shape[1], x.shape[2]
    tiled = layers.Reshape((1, 1, y.shape[-1]))(y)
    tiled = layers.UpSampling2D((h, w))(tiled) if (h, w) != (1, 1) else tiled
    return layers.Concatenate()([x, tiled])


def generator(steps: int = 16, pitches: int = 24, latent_dim: int = 100, chord_dim: int = 13,
              width: int = 128, cond_width: int = 16, synchronized: bool = False) -> keras.Model:
    """[z (B, latent), chord vector (B, chord_dim), previous bar (B, steps, pitches, 1)] -> bar (B, steps, pitches, 1)."""
    if steps % 8:
        raise ValueError(f"{steps} steps a bar: expected a multiple of 8 (three halvings)")
    z = keras.Input((latent_dim,), name="z")
    y = keras.Input((chord_dim,), name="chord")
    prev = keras.Input((steps, pitches, 1), name="previous")

    c = layers.Conv2D(cond_width, (1, pitches), padding="valid", name="cond0", **_init())(prev)  # (16, 1, 16)
    c = layers.LeakyReLU(0.2)(_bn("cond0_bn", synchronized)(c))
    conds = [c]
    for i in range(1, 4):
        c = layers.Conv2D(cond_width, (2, 1), strides=(2, 1), padding="valid", name=f"cond{i}", **_init())(c)
        c = layers.LeakyReLU(0.2)(_bn(f"cond{i}_bn", synchronized)(c))
        conds.append(c)  # (8, 1), (4, 1), (2, 1)

    h = layers.Concatenate()([z, y])
    h = layers.ReLU()(_bn("dense0_bn", synchronized)(layers.Dense(1024, name="dense0", **_init())(h)))
    h = layers.Concatenate()([h, y])
    h = layers.Dense((steps // 8) * width, name="dense1", **_init())(h)
    h = layers.ReLU()(_bn("dense1_bn", synchronized)(h))
    h = layers.Reshape((steps // 8, 1, width))(h)  # (2, 1, 128)
    for i, cond in enumerate(reversed(conds[1:])):  # (2, 1), (4, 1), (8, 1) conditioner maps
        h = layers.Concatenate()([tile_onto(h, y), cond])
        h = layers.Conv2DTranspose(width, (2, 1), strides=(2, 1), padding="valid", name=f"deconv{i}", **_init())(h)
        h = layers.ReLU()(_bn(f"deconv{i}_bn", synchronized)(h))
    h = layers.Concatenate()([tile_onto(h, y), conds[0]])  # (16, 1, 128 + 13 + 16)
    out = layers.Conv2DTranspose(1, (1, pitches), padding="valid", name="output", dtype="float32", **_init())(h)
    out = layers.Activation("sigmoid", dtype="float32", name="sigmoid")(out)
    return keras.Model([z, y, prev], out, name="generator")


def discriminator(steps: int = 16, pitches: int = 24, chord_dim: int = 13, synchronized: bool = False) -> keras.Model:
    """[bar (B, steps, pitches, 1), chord vector (B, chord_dim)] -> [logit (B, 1), features (B, 8, 1, 14)]."""
    x = keras.Input((steps, pitches, 1), name="bar")
    y = keras.Input((chord_dim,), name="chord")
    h = tile_onto(x, y)
    features = layers.LeakyReLU(0.2, name="features")(
        layers.Conv2D(chord_dim + 1, (2, pitches), strides=(2, 2), padding="valid", name="conv0", **_init())(h))
    h = tile_onto(features, y)
    h = layers.Conv2D(64 + chord_dim, (4, 1), strides=(2, 1), padding="valid", name="conv1", **_init())(h)  # 77 filters
    h = layers.LeakyReLU(0.2)(_bn("conv1_bn", synchronized)(h))
    h = layers.Concatenate()([layers.Flatten()(h), y])
    h = layers.LeakyReLU(0.2)(_bn("dense0_bn", synchronized)(layers.Dense(1024, name="dense0",
                                                                                             **_init())(h)))
    h = layers.Concatenate()([h, y])
    logit = layers.Dense(1, name="logit", dtype="float32", **_init())(h)
    return keras.Model([x, y], [logit, layers.Activation("linear", dtype="float32", name="fm")(features)],
                       name="discriminator")
