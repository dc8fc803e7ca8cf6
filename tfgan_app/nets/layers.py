"""Keras layers with the same function as Keras's own, and faster on this CPU.

    Conv2D, Conv2DTranspose   keras.layers' classes; gradients from tfgan_app.nets.conv_ops
    BatchNormalization        keras.layers.BatchNormalization; one fused op when training
    Dropout                   keras.layers.Dropout; cheaper masks, different on every replica
    GlobalDropout             dropout whose masks are drawn for the global batch (or per example
                              from given seeds): R replicas apply one device's masks

They are subclasses (or, for Dropout, a drop-in) with the same arguments, variables
and saved config, so checkpoints and exports see the same model.  Each falls back to
Keras's own code path for any case its fast path does not cover.  What each saves is
measured in benchmarks/train_throughput.py (docs/speed.md).
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from tfgan_app.nets import conv_ops
from tfgan_app.config import Config


def implementation(config: Config) -> str:
    """"tfgan" or "keras": config.layer_impl, with "auto" resolved for this machine.

    "auto" is "tfgan" unless the nets train on GPUs or a TPU: the fast paths were chosen by
    measuring oneDNN's CPU kernels; cuDNN and XLA:TPU have their own.
    """
    if config.layer_impl != "auto":
        return config.layer_impl
    tpu = config.strategy == "tpu" or (config.strategy == "auto" and (config.tpu or os.environ.get("TPU_NAME")))
    return "keras" if tpu or tf.config.list_physical_devices("GPU") else "tfgan"


def _fast_conv_ok(layer) -> bool:
    """The cases conv_ops covers: 2-D, channels_last, square stride, no dilation, no groups."""
    return (layer.data_format == "channels_last" and layer.strides[0] == layer.strides[1]
            and tuple(layer.dilation_rate) == (1, 1) and getattr(layer, "groups", 1) == 1
            and keras.backend.backend() == "tensorflow")


class Conv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D whose gradients come from conv_ops.conv2d."""

    def convolution_op(self, inputs, kernel):
        if not _fast_conv_ok(self) or inputs.shape[1] is None or inputs.shape[2] is None:
            return super().convolution_op(inputs, kernel)
        return conv_ops.conv2d(inputs, tf.cast(kernel, inputs.dtype), self.strides[0], self.padding)


class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """keras.layers.Conv2DTranspose ('same' padding) computed by conv_ops.conv2d_transpose."""

    def _fast_ok(self, inputs) -> bool:
        return (_fast_conv_ok(self) and self.padding == "same" and self.output_padding is None
                and inputs.shape[1] is not None and inputs.shape[2] is not None)

    def transpose_op(self, inputs, kernel):
        """The transposed convolution of inputs with `kernel` (conv_ops where it covers the case, else Keras's op)."""
        if not self._fast_ok(inputs):
            return keras.ops.conv_transpose(inputs, kernel, self.strides, self.padding, self.output_padding,
                                            self.data_format, self.dilation_rate)
        return conv_ops.conv2d_transpose(inputs, tf.cast(kernel, inputs.dtype), self.strides[0], "SAME")

    def call(self, inputs):
        if not self._fast_ok(inputs):
            return super().call(inputs)
        x = self.transpose_op(inputs, self.kernel)
        if self.use_bias:
            x = x + tf.cast(self.bias, x.dtype)
        return self.activation(x) if self.activation is not None else x


class BatchNormalization(keras.layers.BatchNormalization):
    """keras.layers.BatchNormalization; in training, one FusedBatchNormV3 op (and its gradient op).

    Keras computes the moments and the normalisation as ~15 separate ops, in float32 with
    casts around them under mixed precision; FusedBatchNormV3 does the same arithmetic
    (float32 statistics, biased variance to normalise) in one op, forward and backward.
    The moving averages are updated as Keras does, with the biased batch variance.
    Falls back to Keras for synchronized statistics, renorm, masks, and an axis other than last.
    """

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        if (not training or not self.trainable or mask is not None or self.synchronized or self.renorm
                or rank not in (2, 4) or self.axis not in (-1, rank - 1)):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        x = inputs if rank == 4 else tf.reshape(inputs, [-1, 1, 1, channels])  # (B, 1, 1, C)
        gamma = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels])
        beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels])
        y, mean, unbiased, *_ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=gamma, offset=beta, mean=tf.constant([], tf.float32),
            variance=tf.constant([], tf.float32), epsilon=self.epsilon, is_training=True)
        n = tf.cast(tf.size(x) // channels, tf.float32)
        variance = unbiased * ((n - 1.0) / n)  # the op reports the Bessel-corrected variance
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + tf.stop_gradient(mean) * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m + tf.stop_gradient(variance) * (1.0 - m))
        y = tf.cast(y, self.compute_dtype)
        return y if rank == 4 else tf.reshape(y, tf.shape(inputs))


class Dropout(keras.layers.Layer):
    """keras.layers.Dropout(rate), with cheaper masks that differ between replicas.

    The same function: each unit is kept with probability 1 - rate (to within 2^-17) and
    scaled by 1 / (1 - rate).  The mask takes 16 random bits per unit (half the random
    numbers Keras draws, and no float conversion) and is applied as one multiply (Keras:
    a multiply and a select, again in the backward pass): 2.5x faster on W1's two
    dropout layers here.  Keras's Dropout draws the same mask on every replica (its seed
    state is mirrored); this one folds the replica id into the seed.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"rate: expected a number in [0, 1), got {rate}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="dropout_seed")

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        seed = self.seed_generator.next()
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            seed = tf.random.experimental.stateless_fold_in(seed, ctx.replica_id_in_sync_group)
        n = tf.size(inputs)
        words = tf.random.stateless_uniform([(n + 1) // 2], seed, minval=None, maxval=None, dtype=tf.uint32)
        bits = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:n]  # (n,) uniform on 0..65535
        keep = tf.reshape(bits >= tf.constant(round(self.rate * 65536), tf.uint16), tf.shape(inputs))
        return inputs * (tf.cast(keep, inputs.dtype) * (1.0 / (1.0 - self.rate)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class GlobalDropout(keras.layers.Layer):
    """Dropout(rate) whose masks do not depend on the device count, or come from given seeds.

    Training: the mask of the global batch (R replicas x B rows) is drawn from the layer's
    seed, and each replica keeps its rows (as games.base.AdversarialGame.draw does with the
    noise), so two replicas apply exactly the masks one device applies.  With `seeds`
    (B, 2) int: example i's mask is drawn from fold_in(seeds[i], salt) -- the same image and
    seed give the same output whoever else is in the batch (pix2pix's `translate_sampled`).
    Otherwise (inference): the identity.
    """

    def __init__(self, rate: float, salt: int = 0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"rate: expected a number in [0, 1), got {rate}")
        self.rate, self.salt, self.seed = float(rate), int(salt), seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="dropout_seed")

    def _keep(self, mask):
        return tf.cast(mask >= self.rate, self.compute_dtype) * (1.0 / (1.0 - self.rate))

    def call(self, inputs, training=False, seeds=None):
        if self.rate == 0:
            return inputs
        if seeds is not None:
            def one(seed):
                seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), self.salt)
                return tf.random.stateless_uniform(tf.shape(inputs)[1:], seed)
            masks = tf.map_fn(one, seeds, fn_output_signature=tf.float32)  # (B, H, W, C)
            return inputs * self._keep(masks)
        if not training:
            return inputs
        seed = self.seed_generator.next()
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        shape = tf.shape(inputs)
        masks = tf.random.stateless_uniform(tf.concat([[shape[0] * replicas], shape[1:]], 0), seed)
        if replicas > 1:
            start = ctx.replica_id_in_sync_group * shape[0]
            masks = masks[start:start + shape[0]]
        return inputs * self._keep(masks)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "salt": self.salt, "seed": self.seed}
