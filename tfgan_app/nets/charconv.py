"""The character language model's nets (Gulrajani et al. 2017, `gan_language.py`).

    generator  z (128) -> Dense(L x D) -> (L, D) -> blocks x ResBlock -> Conv1D(V, 1) -> softmax per position
    critic     one-hot or softmax (L, V) -> Conv1D(D, 1) -> blocks x ResBlock -> Dense(1) (a score)
    ResBlock   x + 0.3 * conv5(relu(conv5(relu(x))))   (kernel 5, 'same', D channels)

The paper's D is 512 with 5 blocks in each net; both are config fields (--width, --res-blocks).
As the authors' tflib, convolutions start He-uniform over (fan_in + fan_out) / 2
(VarianceScaling(2, fan_avg, uniform)) and dense layers Glorot-uniform; no normalisation
anywhere (the gradient penalty is per example).  Channels last (the code's NCW is a layout).
"""

from __future__ import annotations

import keras

CONV_INIT = dict(scale=2.0, mode="fan_avg", distribution="uniform")  # tflib's he_init for conv1d
RESIDUAL_SCALE = 0.3


def _conv(width: int, kernel: int, name: str):
    return keras.layers.Conv1D(width, kernel, padding="same", name=name,
                               kernel_initializer=keras.initializers.VarianceScaling(**CONV_INIT))


def res_block(x, width: int, name: str):
    """x + 0.3 * conv(relu(conv(relu(x)))), two kernel-5 convolutions of `width` channels."""
    h = keras.layers.ReLU(name=f"{name}_relu1")(x)
    h = _conv(width, 5, f"{name}_conv1")(h)
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = _conv(width, 5, f"{name}_conv2")(h)
    h = keras.layers.Rescaling(RESIDUAL_SCALE, name=f"{name}_scale")(h)
    return keras.layers.Add(name=f"{name}_add")([x, h])


def generator(seq_len: int, vocab_size: int, latent_dim: int = 128, width: int = 512, blocks: int = 5) -> keras.Model:
    """z (B, latent_dim) -> per-position character distributions (B, seq_len, vocab_size), float32."""
    z = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(seq_len * width, name="input")(z)
    x = keras.layers.Reshape((seq_len, width), name="sequence")(x)
    for i in range(blocks):
        x = res_block(x, width, f"block{i + 1}")
    logits = keras.layers.Conv1D(vocab_size, 1, name="output", dtype="float32",
                                 kernel_initializer=keras.initializers.VarianceScaling(**CONV_INIT))(x)
    return keras.Model(z, keras.layers.Softmax(axis=-1, dtype="float32", name="softmax")(logits), name="generator")


def critic(seq_len: int, vocab_size: int, width: int = 512, blocks: int = 5) -> keras.Model:
    """One-hot text or a generator's distributions (B, seq_len, vocab_size) -> scores (B, 1), float32."""
    x = inputs = keras.Input((seq_len, vocab_size), name="characters")
    x = _conv(width, 1, "input")(x)
    for i in range(blocks):
        x = res_block(x, width, f"block{i + 1}")
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, keras.layers.Dense(1, dtype="float32", name="score")(x), name="discriminator")
