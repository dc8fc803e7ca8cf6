"""2-D convolutions with the same function as tf.nn's, and faster gradients on this CPU.

    conv2d(x, w, stride, padding)              = tf.nn.conv2d
    conv2d_transpose(x, w, stride, padding)    = tf.nn.conv2d_transpose (output H*stride)

Both are `tf.custom_gradient`s that pick, per tensor shape, dtype and the kernels TF runs
(oneDNN's or its own Eigen ones), the fastest of mathematically equal ways to compute each
of the three products of a convolution layer (measured with oneDNN 3 inside TF 2.21 on 2
AVX512-BF16 cores, and with Eigen on 2 AVX2 cores: benchmarks/conv_ops.py):

- **The weight gradient in bfloat16** (`filter_gradient`).  oneDNN has no fast
  bfloat16 weight-gradient kernel on CPUs without AMX: its `jit_bf16` backward-weights
  kernel runs at float32 speed (the DCGAN generator's 256->128 layer: 44 ms, forward
  25 ms).  The weight gradient is itself a convolution -- of the layer's input with its
  output gradient, summed over the batch -- so it is computed as a *forward*
  convolution (`brg_conv_fwd`, twice float32's speed in bfloat16) with the batch as
  the channel being summed:  dW[i, j, c, o] = sum_{b,h,w} x_pad[b, s h + i, s w + j, c]
  dy[b, h, w, o].  Only for layers with >= MIN_CHANNELS channels on both sides, in
  bfloat16/float16; under oneDNN float32 keeps TF's kernel (its own is faster there).
- **On TF's own Eigen kernels** (its default on AVX2-only CPUs, `onednn_enabled()` False;
  measured on an AVX2 AMD EPYC): Conv2DBackpropInput is slow for wide layers and
  Conv2DBackpropFilter slower than a forward convolution, so for layers with >= MIN_CHANNELS
  on both sides the weight gradient is the forward convolution above, a stride-1 transposed
  convolution (or input gradient) the forward convolution of the flipped kernel, and a
  strided one sub-pixel (below).
- **Thin transposed convolutions under oneDNN** (`transpose_conv`).  With 1-4 channels on
  the wide side (a generator's RGB/grey output layer, a discriminator's input layer),
  oneDNN's backward-data kernel runs at ~20 GFLOP/s.  The same product is a stride-1
  convolution with s*s*C output channels (one per output phase) followed by depth_to_space
  ("sub-pixel convolution", Shi et al. 2016), a kernel oneDNN runs well; the kernel is the
  transposed kernel's taps regrouped by phase (a fixed gather, zeros where a phase has fewer
  taps).

Everything else calls the tf.nn kernel.  Second derivatives (the WGAN-GP penalty) go
through ordinary differentiable ops.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

# Weight gradients as forward convolutions only for layers this wide on both sides: below,
# TF's kernel is faster (measured, bfloat16, 128 x 16x16 images, 4x4 stride 2: 32 -> 64
# channels 2.6 against 3.6 ms; 64 -> 128 channels 14.4 against 10.7 ms).
MIN_CHANNELS = 64
# Sub-pixel transposed convolutions only into this few channels: beyond, oneDNN's own kernel
# wins (measured, 128 x 16x16x64 -> 32x32xC, 4x4 stride 2, float32: C = 1 8.2 against 5.0 ms,
# C = 4 5.1 against 2.9, C = 8 5.0 against 5.2, C = 16 7.7 against 10.6).
MAX_THIN_CHANNELS = 4
_HALF = (tf.bfloat16, tf.float16)


def _pads(size: int, stride: int, k: int, padding: str) -> tuple[int, int, int]:
    """(output size, pad before, pad after) of a convolution over `size` (TF's rules)."""
    if padding == "VALID":
        return (size - k) // stride + 1, 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2, total - total // 2


def filter_gradient(x, dy, kernel_hw: tuple[int, int], stride: int, padding: str, method: str = "auto"):
    """dL/dW (kh, kw, C_in, C_out) of y = conv2d(x, W, stride, padding), given dy = dL/dy.

    Args:
      x: (B, H, W, C_in), static spatial shape.  dy: (B, H_out, W_out, C_out).
      kernel_hw: (kh, kw).
      method: "tf" (Conv2DBackpropFilter), "forward" (a forward convolution over the
        batch), or "auto": forward for layers with >= MIN_CHANNELS on both sides, in 16-bit
        floats, and in float32 too on TF's Eigen kernels (W1's layers, batch 256: float32
        1.01-1.23x TF's, bfloat16 25-29x).  Thinner layers keep TF's kernel: the few
        milliseconds the forward form saves there (W1's one-channel layers, Eigen: 8 against 5
        ms) cost more ops to trace than they save in the small nets most runs' tests build.
    """
    (kh, kw), c_in, c_out = kernel_hw, x.shape[-1], dy.shape[-1]
    if method == "auto":
        wide = min(c_in, c_out) >= MIN_CHANNELS
        method = "forward" if wide and (x.dtype in _HALF or not onednn_enabled()) else "tf"
    if method == "tf":
        return tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=[kh, kw, c_in, c_out], out_backprop=dy,
                                               strides=[1, stride, stride, 1], padding=padding)
    (h, w), (ho, wo) = x.shape[1:3], dy.shape[1:3]
    _, top, _ = _pads(h, stride, kh, padding)
    _, left, _ = _pads(w, stride, kw, padding)
    rows, cols = (ho - 1) * stride + kh - top, (wo - 1) * stride + kw - left  # input rows/cols the windows touch
    # The batch becomes the summed channel: input (C_in, H, W, B), filter (H_out, W_out, B, C_out).
    # Padding is the conv's own (explicit), not a separate op: measured 30% faster.  (Its
    # gradients would run on TF's slow non-oneDNN kernels, but a weight gradient is not
    # differentiated again: the penalty differentiates the critic's input gradient only.)
    x = tf.transpose(x[:, :rows, :cols, :], [3, 1, 2, 0])  # (C_in, <=rows, <=cols, B)
    pads = [[0, 0], [top, max(rows - h, 0)], [left, max(cols - w, 0)], [0, 0]]
    out = tf.nn.conv2d(x, tf.transpose(dy, [1, 2, 0, 3]), 1, pads, dilations=stride)  # (C_in, kh, kw, C_out)
    return tf.transpose(out, [1, 2, 0, 3])  # (kh, kw, C_in, C_out)


def _subpixel_kernel(w, k: int, stride: int, pad: int):
    """The transposed-conv kernel w (k, k, C, C_in) as a stride-1 kernel (m, m, C_in, s*s*C).

    Output pixel u = s q + r of a transposed convolution sums x[q - t] w[s t + r + pad]
    over t; a stride-1 correlation over x padded by t_hi before gives, for each phase r,
    the taps K[a, r] = w[s (t_hi - a) + r + pad] (zero outside the kernel).
    """
    ts = [t for r in range(stride) for t in range(-k, k + 1) if 0 <= stride * t + r + pad < k]
    t_lo, t_hi = min(ts), max(ts)
    m = t_hi - t_lo + 1
    index = np.full((m, stride), k, np.int32)  # k: the zero tap
    for a in range(m):
        for r in range(stride):
            i = stride * (t_hi - a) + r + pad
            if 0 <= i < k:
                index[a, r] = i
    c = w.shape[2]
    w = tf.pad(w, [[0, 1], [0, 1], [0, 0], [0, 0]])  # (k+1, k+1, C, C_in): row/col k is zero
    # K[a, b, ci, (r, rc, co)] = w[index[a, r], index[b, rc], co, ci]
    rows = tf.gather(w, index.reshape(-1), axis=0)  # (m*s, k+1, C, C_in)
    both = tf.gather(rows, index.reshape(-1), axis=1)  # (m*s, m*s, C, C_in)
    both = tf.reshape(both, [m, stride, m, stride, c, w.shape[3]])  # (a, r, b, rc, co, ci)
    kernel = tf.transpose(both, [0, 2, 5, 1, 3, 4])  # (a, b, ci, r, rc, co)
    return tf.reshape(kernel, [m, m, w.shape[3], stride * stride * c]), t_hi, -t_lo


@functools.cache
def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN CPU kernels in this process: by itself on CPUs with
    AVX512-VNNI, AVX512-BF16, AVX-VNNI or AMX, with TF_ENABLE_ONEDNN_OPTS=1 on others (e.g. an
    AVX2-only CPU, where TF's own Eigen kernels run by default)."""
    try:
        from tensorflow.python.util import _pywrap_util_port  # TF's own check, as its start-up log uses
        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):  # not in this TF build: the kernels first measured
        return True


def transpose_conv(x, w, stride: int, padding: str, out_hw: tuple[int, int], method: str = "auto"):
    """tf.nn.conv2d_transpose(x, w, (B, *out_hw, C), stride, padding); w is (k, k, C, C_in).

    method: "tf" (Conv2DBackpropInput), "subpixel" (stride-1 convolution + depth_to_space;
    'SAME' padding, square kernel, out_hw = stride * (H, W) only), "flipped" (stride 1,
    'SAME', an odd square kernel: the forward convolution with the kernel flipped and its
    channels swapped), or "auto", by the kernels TF runs (measured, float32, batch 256):
      oneDNN  subpixel where it applies and C <= MAX_THIN_CHANNELS (14x14x64 -> 28x28x1: 2.7x
              TF's), else tf (7x7x128 -> 14x14x64: 0.79x; stride 1, 7x7x256 -> 128: 0.95x);
      Eigen   with >= MIN_CHANNELS on both sides, flipped where it applies (7x7x256 -> 128:
              2.1x TF's), else subpixel where it applies (7x7x128 -> 14x14x64: 1.5x); else tf
              (14x14x64 -> 28x28x1 in float32: subpixel 0.43x).
    """
    k, c = w.shape[0], w.shape[2]
    h, wd = x.shape[1:3]
    p = _pads(out_hw[0], stride, k, padding)
    applies = (stride > 1 and padding == "SAME" and w.shape[1] == k
               and tuple(out_hw) == (h * stride, wd * stride) and p == _pads(out_hw[1], stride, k, padding))
    flips = stride == 1 and padding == "SAME" and w.shape[1] == k and k % 2 == 1 and tuple(out_hw) == (h, wd)
    if method == "auto":
        if onednn_enabled():
            method = "subpixel" if applies and c <= MAX_THIN_CHANNELS else "tf"
        else:
            wide = min(c, w.shape[3]) >= MIN_CHANNELS  # below, too little work to pay for more ops
            method = "flipped" if flips and wide else "subpixel" if applies and wide else "tf"
    if method == "subpixel" and not applies:
        raise ValueError(f"subpixel transposed convolution needs 'SAME' padding, a square kernel and "
                         f"stride x the input size, got {padding}, kernel {tuple(w.shape[:2])}, "
                         f"{tuple(x.shape[1:3])} -> {tuple(out_hw)}")
    if method == "flipped":
        if not flips:
            raise ValueError(f"a flipped-kernel transposed convolution needs stride 1, 'SAME' padding and an odd "
                             f"square kernel, got stride {stride}, {padding}, kernel {tuple(w.shape[:2])}")
        return tf.nn.conv2d(x, tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]), 1, "SAME")
    if method == "tf":
        shape = tf.stack([tf.shape(x)[0], out_hw[0], out_hw[1], c])
        return tf.nn.conv2d_transpose(x, w, shape, stride, padding)
    kernel, before, after = _subpixel_kernel(w, k, stride, p[1])
    # tf.pad, not the conv's explicit padding: the gradients of an explicitly padded conv
    # run on TF's slow non-oneDNN kernels, and this product is differentiated (G's output
    # layer; twice for a WGAN-GP critic's input layer).
    x = tf.pad(x, [[0, 0], [before, after], [before, after], [0, 0]])
    phases = tf.nn.conv2d(x, kernel, 1, "VALID")  # (B, H, W, s*s*C)
    return tf.nn.depth_to_space(phases, stride)  # (B, s H, s W, C)


def conv2d(x, w, stride: int, padding: str):
    """tf.nn.conv2d(x, w, stride, padding) with the gradients above; x NHWC, w (k, k, C_in, C_out)."""
    padding = padding.upper()

    @tf.custom_gradient
    def forward(x, w):
        def grad(dy):
            dx = transpose_conv(dy, w, stride, padding, x.shape[1:3])
            return dx, filter_gradient(x, dy, w.shape[:2], stride, padding)
        return tf.nn.conv2d(x, w, stride, padding), grad

    return forward(x, w)


def conv2d_transpose(x, w, stride: int, padding: str = "SAME"):
    """tf.nn.conv2d_transpose to (B, H*stride, W*stride, C_out), 'SAME' padding; w (k, k, C_out, C_in)."""
    padding = padding.upper()
    if padding != "SAME":
        raise ValueError(f"padding: conv2d_transpose here is 'SAME' only, got {padding!r}")
    out_hw = (x.shape[1] * stride, x.shape[2] * stride)

    @tf.custom_gradient
    def forward(x, w):
        def grad(dy):
            dx = tf.nn.conv2d(dy, w, stride, padding)
            return dx, filter_gradient(dy, x, w.shape[:2], stride, padding)
        return transpose_conv(x, w, stride, padding, out_hw), grad

    return forward(x, w)
