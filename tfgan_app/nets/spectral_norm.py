"""Spectral normalization (Miyato et al. 2018) as a reparametrisation: layers that use W / sigma(W).

    power_iteration(w, u) -> (sigma, u_next)    one step of the power method, u and v held constant
    Dense, Conv2D, Conv2DTranspose, Embedding   keras.layers' classes whose call uses W / sigma(W)

sigma(W) is the largest singular value of the kernel reshaped to a matrix (m, n) whose n
columns are the layer's **output** units, as the paper and the authors' code
(pfnet-research/sngan_projection) do:

    Dense            (in, out)              -> (in, out)
    Conv2D           (kh, kw, in, out)      -> (kh*kw*in, out)
    Conv2DTranspose  (kh, kw, out, in)      -> (kh*kw*in, out): axes 2 and 3 swapped first,
                     so the output filters are the columns (PyTorch's spectral_norm picks
                     dim=1 of ConvTranspose for the same reason).  TF-GAN and Keras reshape
                     (-1, last axis) and so normalise over the *input* channels instead; the
                     two reshapes give different sigma (neither is the exact operator norm
                     of a convolution: the paper's bound is on the reshaped kernel).
    Embedding        (classes, dim)         -> (classes, dim) (a table's sigma is that of the
                     matrix: the projection discriminator's class embedding, as in SNP).

Why not keras.layers.SpectralNormalization: it *assigns* W / sigma into the kernel on every
training call (keras#20309, tensorflow/addons#2414), so the gradient ignores sigma's
dependence on W, the real and fake calls of one step see different kernels, the stored
kernel drifts, and training=False uses whatever was last written.  Here the trainable
kernel is W, never written; every call computes W / sigma(W) as a tensor, and the gradient
flows through sigma (with u, v held constant: sigma = v^T W u, d sigma / dW = v u^T).

The persistent vector u (n,) is a non-trainable float32 weight (in the checkpoint) created
with aggregation "only_first_replica", so under a tf.distribute strategy the first replica's
update is written to every replica (each computes the same one anyway: W and u are mirrored).

When u advances: **one power iteration per training-mode call** (training=True), as the
authors' Chainer code and TF-GAN do.  A GAN step therefore advances D's u once for the real
batch and once for the fake batch of each critic step, once more for a penalty's
interpolates (gp, lp, dragan; fd's two points are one call) and once in the generator step:
with n_critic = 5 and no penalty, 11 iterations per generator step, as in SNP's updater.
Each call still normalises by the sigma of the u it found (the iteration runs before the
division), so within one step the kernels differ by the power method's last correction,
which vanishes as u converges.  With SN in G too ("gd"), G's u advances on every
training-mode generator call: once per critic step (its fakes) and once per generator step.  An inference call (training=False)
computes exactly what a training call with the same u computes -- one iteration from the
stored u -- but does not store the result, so an export's output never depends on how often
it was called.

sigma is computed in float32 under any mixed-precision policy (the kernel is read without
autocasting; W / sigma is cast to the compute dtype for the op), as tensorflow/addons#2411
found necessary.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgan_app.nets import layers

# eps of the l2 normalisations x / max(||x||, eps) (TF-GAN's and SNP's 1e-12).
EPSILON = 1e-12


def kernel_matrix(kernel, transpose: bool = False) -> tf.Tensor:
    """The kernel as the (m, n) matrix sigma is taken of, n = output units (module docstring).

    transpose=True: a Conv2DTranspose kernel (kh, kw, out, in), whose output filters are axis 2.
    """
    if transpose:
        kernel = tf.transpose(kernel, [0, 1, 3, 2])  # (kh, kw, in, out)
    return tf.reshape(kernel, [-1, kernel.shape[-1]])  # (m, n)


def power_iteration(w, u, eps: float = EPSILON):
    """(sigma, u_next): one step of the power method on w (m, n) from u (n,).

        v = W u / ||W u||,   u_next = W^T v / ||W^T v||,   sigma = v^T W u_next

    u_next and v are constants for the gradient (stop_gradient), so d sigma / dW = v u_next^T,
    the gradient of the largest singular value when u, v are its singular vectors (Miyato et
    al. 2018, Appendix A; SNP's max_sv, TF-GAN's spectral_normalize).
    """
    v = tf.math.l2_normalize(tf.linalg.matvec(w, u), epsilon=eps * eps)  # (m,)
    u_next = tf.math.l2_normalize(tf.linalg.matvec(w, v, transpose_a=True), epsilon=eps * eps)  # (n,)
    v, u_next = tf.stop_gradient(v), tf.stop_gradient(u_next)
    sigma = tf.tensordot(v, tf.linalg.matvec(w, u_next), 1)  # v^T W u_next
    return sigma, u_next


class SpectralNorm:
    """Mixin for a keras layer with a `kernel`: `normalized_kernel(training)` is W / sigma(W).

    The kernel is created without autocasting (read in float32 under mixed precision); `u`
    is created in `build` after the kernel.  Subclasses call `normalized_kernel` in `call`.
    """

    _transposed_kernel = False  # Conv2DTranspose: output filters are the kernel's axis 2

    def add_weight(self, *args, name=None, autocast=True, **kwargs):
        if name in ("kernel", "embeddings"):  # sigma in float32: cast W / sigma, not W
            autocast = False
        return super().add_weight(*args, name=name, autocast=autocast, **kwargs)

    def build(self, input_shape=None):
        super().build(input_shape)
        self._build_u()

    def _build_u(self):
        w = self._sn_weight()
        n = w.shape[2] if self._transposed_kernel else w.shape[-1]
        self.sn_u = super().add_weight(name="sn_u", shape=(n,), initializer=keras.initializers.RandomNormal(),
                                       trainable=False, autocast=False, aggregation="only_first_replica")

    def _sn_weight(self):
        return self.kernel

    def normalized_kernel(self, training=False) -> tf.Tensor:
        """W / sigma(W) in float32; training=True also stores the advanced u."""
        w = tf.cast(self._sn_weight(), tf.float32)  # created without autocast: float32 already
        sigma, u_next = power_iteration(kernel_matrix(w, self._transposed_kernel), tf.convert_to_tensor(self.sn_u))
        if training:
            self.sn_u.assign(u_next)
        return w / tf.maximum(sigma, EPSILON)  # an all-zero kernel stays zero, not NaN

    def sigma(self) -> tf.Tensor:
        """The current estimate of sigma(W) (from the stored u, nothing stored)."""
        w = tf.cast(self._sn_weight(), tf.float32)
        return power_iteration(kernel_matrix(w, self._transposed_kernel), tf.convert_to_tensor(self.sn_u))[0]


def _bias_and_activation(layer, x):
    if layer.use_bias:
        x = x + tf.cast(layer.bias, x.dtype)
    return layer.activation(x) if layer.activation is not None else x


class Dense(SpectralNorm, keras.layers.Dense):
    """keras.layers.Dense computing inputs @ (W / sigma(W)) + b."""

    def call(self, inputs, training=False):
        kernel = tf.cast(self.normalized_kernel(training), inputs.dtype)
        return _bias_and_activation(self, tf.tensordot(inputs, kernel, 1) if len(inputs.shape) > 2
                                    else tf.matmul(inputs, kernel))


class _Convolution(SpectralNorm):
    """A spectrally normalised convolution; fast=True: tfgan_app.nets.layers' kernels, else Keras's."""

    def __init__(self, *args, fast: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fast = fast

    def get_config(self):
        return {**super().get_config(), "fast": self.fast}


class Conv2D(_Convolution, layers.Conv2D):
    """Conv2D with kernel W / sigma(W)."""

    def call(self, inputs, training=False):
        kernel = self.normalized_kernel(training)
        op = super().convolution_op if self.fast else super(layers.Conv2D, self).convolution_op
        return _bias_and_activation(self, op(inputs, tf.cast(kernel, inputs.dtype)))


class Conv2DTranspose(_Convolution, layers.Conv2DTranspose):
    """Conv2DTranspose with kernel W / sigma(W), sigma over the output filters (module docstring)."""

    _transposed_kernel = True

    def call(self, inputs, training=False):
        kernel = tf.cast(self.normalized_kernel(training), inputs.dtype)
        if self.fast:
            x = self.transpose_op(inputs, kernel)
        else:
            x = keras.ops.conv_transpose(inputs, kernel, self.strides, self.padding, self.output_padding,
                                         self.data_format, self.dilation_rate)
        return _bias_and_activation(self, x)


class Embedding(SpectralNorm, keras.layers.Embedding):
    """keras.layers.Embedding looking rows up in E / sigma(E) (the projection discriminator's)."""

    def _sn_weight(self):
        return self.embeddings

    def compute_output_spec(self, inputs, training=False):
        return super().compute_output_spec(inputs)

    def call(self, inputs, training=False):
        table = self.normalized_kernel(training)
        return tf.cast(tf.gather(table, tf.cast(inputs, tf.int32)), self.compute_dtype)
