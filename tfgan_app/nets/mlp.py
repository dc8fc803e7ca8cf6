"""Multilayer perceptrons: the toy problems' generators and discriminators.

Discriminators return logits (no sigmoid): the losses apply log-sigmoids
stably.  Output layers are float32 whatever the mixed-precision policy.
"""

from __future__ import annotations

import keras

from tfgan_app.config import Config
from tfgan_app.data import toy as toy_data


def _activation(name: str):
    return keras.layers.LeakyReLU(0.2) if name == "leaky_relu" else keras.layers.Activation(name)


def mlp(input_dim: int, hidden: tuple, output_dim: int, activation: str, name: str) -> keras.Model:
    """input_dim -> hidden[0] -> ... -> output_dim, `activation` between, linear output."""
    x = inputs = keras.Input((input_dim,), name="z" if name == "generator" else "x")
    for i, width in enumerate(hidden):
        x = keras.layers.Dense(int(width), name=f"dense_{i}")(x)
        x = _activation(activation)(x)
    outputs = keras.layers.Dense(output_dim, dtype="float32", name="out")(x)
    return keras.Model(inputs, outputs, name=name)


def toy_generator(config: Config) -> keras.Model:
    return mlp(config.latent_dim, config.g_hidden, toy_data.data_dim(config.problem),
               config.g_activation, "generator")


def toy_discriminator(config: Config) -> keras.Model:
    """An MLP on `pack` concatenated samples (PacGAN; 1 = one sample)."""
    return mlp(toy_data.data_dim(config.problem) * config.pack, config.d_hidden, 1,
               config.d_activation, "discriminator")
