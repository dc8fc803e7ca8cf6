"""LAPGAN's networks (Denton et al. 2015, §3 and §4; the authors' Torch code, facebook/eyescream).

A K-level cascade, level 0 the finest (nets/pyramid.py's order):

- level K-1, the coarsest: an unconditional GAN on the small image I_{K-1}.  Both nets are
  MLPs as the paper's CIFAR-10 base ("1200 units" in G, "600" in D); the code's layers:
  G: z -> Dense(h) ReLU -> Dense(h) sigmoid -> Dense(S*S*C) (linear);
  D: x -> [Dense(h) ReLU Dropout(0.5)] x 2 -> Dense(1) (a logit).
- every finer level k: a conditional GAN on the band h_k = I_k - u(I_{k+1}) (nets/pyramid.py),
  conditioned on l_k = u(I_{k+1}).  The noise is one extra plane at the level's resolution,
  "a 4th colour plane" (noise first, then l_k), as the code's JoinTable:
  G_k: [noise (S, S, 1), l_k (S, S, C)] -> Conv7x7(w) ReLU -> Conv7x7(w) ReLU -> Conv5x5(C),
       a linear output: the band;
  D_k: [band (S, S, C), l_k (S, S, C)] -> band + l_k (the code's CAddTable: D sees the image the
       band makes) -> Conv5x5 valid (w) ReLU -> Conv5x5 stride 2 valid (w) ReLU -> Dropout(0.5) ->
       Dense(1) (a logit; the code's Sigmoid is in the loss here).
  w is the code's hidden_G / hidden_D, 64.

Initialisation is Keras's (Glorot uniform); the Torch code used Torch's default (uniform with
bound 1 / sqrt(fan_in)).  Dropout masks are drawn for the global batch (layers.GlobalDropout), so
R replicas compute one device's step.
"""

from __future__ import annotations

import keras

from tfgan_app.config import Config
from tfgan_app.nets import layers as fast_layers
from tfgan_app.nets.blocks import impl
from tfgan_app.nets.precision import precision_policy

DROPOUT = 0.5  # nn.Dropout's default in the Torch code


def _dense_out(units: int, name: str):
    return keras.layers.Dense(units, dtype="float32", name=name)  # float32 outputs under mixed precision


def base_generator(config: Config, side: int, channels: int, name: str) -> keras.Model:
    """The coarsest level's G: z (latent_dim,) -> an image (side, side, channels)."""
    hidden = tuple(config.g_hidden)
    z = keras.Input((config.latent_dim,), name="z")
    x = z
    for i, units in enumerate(hidden):
        last = i == len(hidden) - 1
        x = keras.layers.Dense(units, activation="sigmoid" if last and i else "relu", name=f"dense{i}")(x)
    x = _dense_out(side * side * channels, "image")(x)
    return keras.Model(z, keras.layers.Reshape((side, side, channels))(x), name=name)


def base_discriminator(config: Config, side: int, channels: int, name: str) -> keras.Model:
    """The coarsest level's D: an image (side, side, channels) -> a logit (1,)."""
    image = keras.Input((side, side, channels), name="image")
    x = keras.layers.Flatten()(image)
    for i, units in enumerate(config.d_hidden):
        x = keras.layers.Dense(units, activation="relu", name=f"dense{i}")(x)
        x = fast_layers.GlobalDropout(DROPOUT, name=f"dropout{i}")(x)
    return keras.Model(image, _dense_out(1, "logit")(x), name=name)


def band_generator(config: Config, side: int, channels: int, name: str) -> keras.Model:
    """A finer level's G_k: [noise (side, side, 1), coarse (side, side, channels)] -> a band."""
    layers = impl(config)
    noise = keras.Input((side, side, 1), name="noise")
    coarse = keras.Input((side, side, channels), name="coarse")
    x = keras.layers.Concatenate(name="planes")([noise, coarse])
    x = layers.Conv2D(config.width, 7, padding="same", activation="relu", name="conv0")(x)
    x = layers.Conv2D(config.width, 7, padding="same", activation="relu", name="conv1")(x)
    band = layers.Conv2D(channels, 5, padding="same", dtype="float32", name="band")(x)
    return keras.Model([noise, coarse], band, name=name)


def band_discriminator(config: Config, side: int, channels: int, name: str) -> keras.Model:
    """A finer level's D_k: [band (side, side, channels), coarse (same)] -> a logit (1,)."""
    if side < 13:  # two valid 5x5 convolutions, the second of stride 2, need 13 pixels for 3x3 maps
        raise ValueError(f"a LAPGAN band level of {side}x{side} pixels: its discriminator's valid 5x5 "
                         f"convolutions need at least 13; use fewer --levels")
    layers = impl(config)
    band = keras.Input((side, side, channels), name="band")
    coarse = keras.Input((side, side, channels), name="coarse")
    x = keras.layers.Add(name="image")([band, coarse])
    x = layers.Conv2D(config.width, 5, padding="valid", activation="relu", name="conv0")(x)
    x = layers.Conv2D(config.width, 5, strides=2, padding="valid", activation="relu", name="conv1")(x)
    x = fast_layers.GlobalDropout(DROPOUT, name="dropout")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model([band, coarse], _dense_out(1, "logit")(x), name=name)


def build_levels(config: Config, sides: list[int], channels: int) -> list[tuple[keras.Model, keras.Model]]:
    """[(G_k, D_k)] for k = 0 (finest) .. K-1 (coarsest), built under the precision policy."""
    with precision_policy(config.precision):
        out = []
        for k, side in enumerate(sides):
            if k == len(sides) - 1:
                out.append((base_generator(config, side, channels, f"g{k}"),
                            base_discriminator(config, side, channels, f"d{k}")))
            else:
                out.append((band_generator(config, side, channels, f"g{k}"),
                            band_discriminator(config, side, channels, f"d{k}")))
        return out
