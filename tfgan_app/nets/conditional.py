"""Class conditioning as SN-GAN's projection paper and BigGAN do it: conditional BatchNorm in G
and the projection head of D.

    ConditionalBatchNorm   BN without its own affine, then a class-dependent gain and bias
    projection_logits      D(x, y) = psi(phi(x)) + embed(y) . phi(x)   (Miyato & Koyama 2018)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgan_app.nets import layers, spectral_norm


class ConditionalBatchNorm(keras.layers.Layer):
    """[x (B, ..., C), condition] -> BN(x) * gain + bias, gain and bias depending on the condition.

    Two forms, by what the condition is:
      - int labels (B,): per-class tables, gain initialised to 1 and bias to 0 (Miyato & Koyama
        2018; the authors' `CategoricalConditionalBatchNormalization`);
      - a float vector (B, d): gain = 1 + c W_g, bias = c W_b, with W_g, W_b linear maps
        without bias, spectrally normalised when `spectral` (BigGAN's `ccbn`, where c is the
        shared class embedding, with z, see nets/sngan.py).
    The statistics are the batch's (moving averages at inference), as in BatchNormalization.

    Args:
      num_classes: the table's rows (int labels); unused for a vector condition.
      spectral: spectrally normalise W_g and W_b (vector condition only).
      synchronized: batch statistics over every replica's examples (--sync-batchnorm).
      fast: tfgan_app.nets.layers.BatchNormalization (one fused op) instead of Keras's.
    """

    def __init__(self, num_classes: int = 0, spectral: bool = False, synchronized: bool = False,
                 fast: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.spectral = spectral
        self.synchronized = synchronized
        self.fast = fast
        bn = layers.BatchNormalization if fast and not synchronized else keras.layers.BatchNormalization
        self.norm = bn(center=False, scale=False, synchronized=synchronized, name="bn")

    def build(self, input_shape):
        x_shape, c_shape = input_shape
        channels = x_shape[-1]
        self.norm.build(x_shape)
        self.by_label = len(c_shape) == 1
        if len(c_shape) not in (1, 2):
            raise ValueError(f"conditional BatchNorm: the condition must be labels (B,) or a vector (B, d), "
                             f"got shape {tuple(c_shape)}")
        if self.by_label:
            if self.num_classes < 2:
                raise ValueError(f"conditional BatchNorm on labels needs num_classes >= 2, got {self.num_classes}")
            self.gain = keras.layers.Embedding(self.num_classes, channels, embeddings_initializer="ones", name="gain")
            self.bias = keras.layers.Embedding(self.num_classes, channels, embeddings_initializer="zeros", name="bias")
            self.gain.build(c_shape)
            self.bias.build(c_shape)
        else:
            dense = spectral_norm.Dense if self.spectral else keras.layers.Dense
            self.gain = dense(channels, use_bias=False, name="gain")
            self.bias = dense(channels, use_bias=False, name="bias")
            self.gain.build(c_shape)
            self.bias.build(c_shape)
        self.built = True

    def call(self, inputs, training=False):
        x, condition = inputs
        if condition.dtype.is_integer != self.by_label:  # (B,) ints are labels; (B, d) floats a vector
            raise ValueError(f"conditional BatchNorm: labels must be integers of shape (B,), a condition "
                             f"vector floats of shape (B, d); got {condition.dtype.name} {tuple(condition.shape)}")
        y = self.norm(x, training=training)
        if self.by_label:
            gain, bias = self.gain(condition), self.bias(condition)  # (B, C) each
        else:
            kw = dict(training=training) if self.spectral else {}
            gain, bias = 1.0 + self.gain(condition, **kw), self.bias(condition, **kw)
        shape = [-1] + [1] * (len(x.shape) - 2) + [x.shape[-1]]  # (B, 1, 1, C) for images
        return y * tf.cast(tf.reshape(gain, shape), y.dtype) + tf.cast(tf.reshape(bias, shape), y.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "spectral": self.spectral,
                "synchronized": self.synchronized, "fast": self.fast}


def projection_logits(features, labels, num_classes: int, spectral: bool):
    """The projection discriminator's output (Miyato & Koyama 2018, eq. 3):

        D(x, y) = psi(phi(x)) + embed(y) . phi(x)

    features: phi(x) (B, F), the discriminator's pooled features; labels: (B,) ints.  psi is a
    linear map to one logit; embed(y) a learned F-vector per class, spectrally normalised
    with the rest of D when `spectral` (as the authors' SNEmbedID).  Returns logits (B, 1), float32.
    """
    dense = spectral_norm.Dense if spectral else keras.layers.Dense
    embedding = spectral_norm.Embedding if spectral else keras.layers.Embedding
    psi = dense(1, dtype="float32", name="logits")(features)  # (B, 1)
    embedded = embedding(num_classes, features.shape[-1], embeddings_initializer="glorot_uniform",
                         dtype="float32", name="class_projection")(labels)  # (B, F)
    inner = keras.layers.Dot(axes=1, dtype="float32", name="projection")([embedded, features])  # (B, 1)
    return keras.layers.Add(dtype="float32", name="projected_logits")([psi, inner])
