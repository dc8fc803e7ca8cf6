"""SAGAN's self-attention block (Zhang et al. 2019), as the authors' code builds it.

    y = x + gamma * o(softmax(theta(x) phi(x)^T) g(x)),   gamma initialised to 0

theta, phi, g and o are 1x1 convolutions without bias, spectrally normalised.  The paper
writes C/8 channels for the query, key and value; the authors' code
(brain-research/self-attention-gan, `sn_non_local_block_sim`) and BigGAN's
(`layers.Attention`) use C/8 for the query and key, **C/2 for the value**, and 2x2 max-pool
(stride 2) the key and value maps -- a quarter of the positions to attend to, a quarter of
the cost -- and o maps C/2 back to C.  We follow the code (BigGAN's README: the paper's
description "is largely incorrect; refer to the released code").  An odd side (7 at 28 px)
pools with 'same' padding, so every position is covered (the code's 'valid' would drop the
last row and column).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgan_app.nets import spectral_norm


class SelfAttention(keras.layers.Layer):
    """x (B, H, W, C) -> x + gamma * attention output (B, H, W, C); identity at initialisation.

    Args:
      spectral: spectrally normalise the four 1x1 convolutions (SAGAN: yes, in G and D).
      fast: the convolutions' kernels (spectral_norm.Conv2D's `fast`).
    """

    def __init__(self, spectral: bool = True, fast: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.spectral = spectral
        self.fast = fast

    def build(self, input_shape):
        if len(input_shape) != 4 or None in tuple(input_shape[1:]):
            raise ValueError(f"self-attention needs feature maps (B, H, W, C) of known H, W and C, "
                             f"got {tuple(input_shape)}")
        c = input_shape[-1]
        init = keras.initializers.GlorotUniform  # the authors' code: Xavier (orthogonal in BigGAN)

        def conv(filters, name):
            if self.spectral:
                return spectral_norm.Conv2D(filters, 1, use_bias=False, kernel_initializer=init(), fast=self.fast,
                                            name=name)
            return keras.layers.Conv2D(filters, 1, use_bias=False, kernel_initializer=init(), name=name)

        self.theta = conv(max(1, c // 8), "theta")  # query
        self.phi = conv(max(1, c // 8), "phi")      # key
        self.g = conv(max(1, c // 2), "g")          # value
        self.o = conv(c, "o")
        self.pool = keras.layers.MaxPooling2D(2, 2, padding="same")
        self.theta.build(input_shape)
        self.phi.build(input_shape)
        self.g.build(input_shape)
        self.o.build((*input_shape[:-1], self.g.filters))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")
        self.built = True

    def attention_map(self, x, training=False):
        """(B, H*W, N') softmax weights of every position over the N' pooled positions; rows sum to 1."""
        b, h, w, _ = x.shape
        query = tf.reshape(self.theta(x, training=training), [-1, h * w, self.theta.filters])  # (B, N, C/8)
        key = self.pool(self.phi(x, training=training))  # (B, H', W', C/8)
        key = tf.reshape(key, [-1, key.shape[1] * key.shape[2], self.phi.filters])  # (B, N', C/8)
        logits = tf.matmul(tf.cast(query, tf.float32), tf.cast(key, tf.float32), transpose_b=True)  # (B, N, N')
        return tf.nn.softmax(logits, axis=-1)

    def call(self, x, training=False):
        _, h, w, _ = x.shape
        beta = self.attention_map(x, training)  # (B, N, N')
        value = self.pool(self.g(x, training=training))  # (B, H', W', C/2)
        value = tf.reshape(value, [-1, value.shape[1] * value.shape[2], self.g.filters])  # (B, N', C/2)
        attended = tf.matmul(tf.cast(beta, value.dtype), value)  # (B, N, C/2)
        attended = tf.reshape(attended, [-1, h, w, self.g.filters])  # (B, H, W, C/2)
        return x + tf.cast(self.gamma, x.dtype) * self.o(attended, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "spectral": self.spectral, "fast": self.fast}
