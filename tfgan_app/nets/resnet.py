"""CycleGAN's ResNet generator (Zhu et al. 2017, Appendix 7.2; after Johnson et al. 2016).

    c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-3

c7s1-k: 7x7 convolution, stride 1, k filters, reflection padding 3, instance norm, ReLU;
dk: 3x3 convolution, stride 2, k filters, instance norm, ReLU; Rk: a residual block of two
3x3 convolutions of k filters (reflection padding 1 each, instance norm, ReLU after the
first); uk: 3x3 transposed convolution, stride 1/2, k filters, instance norm, ReLU.  The
last c7s1 ends in tanh, without norm.  n = 6 blocks at 128 px and 9 at 256 px (the paper);
`width` is the first layer's 64.  Instance norm without a learnt scale and offset, and
biases in every convolution, as the authors' code (`InstanceNorm2d(affine=False)`).
At 28 px the two stride-2 layers give 7x7 feature maps for the residual blocks.
"""

from __future__ import annotations

import keras

from tfgan_app.config import Config
from tfgan_app.nets.blocks import ReflectionPad, impl, init, instance_norm


def build_resnet_generator(config: Config, input_shape: tuple, out_channels: int, blocks: int,
                           name: str = "resnet") -> keras.Model:
    """images (B, S, S, Ci) in [-1, 1] -> images (B, S, S, out_channels) in [-1, 1]; S divisible by 4."""
    layers = impl(config)
    w = config.width
    if input_shape[0] % 4 or input_shape[1] % 4:
        raise ValueError(f"the ResNet generator halves the image twice: its side must be a multiple of 4, "
                         f"got {input_shape[:2]}")
    images = keras.Input(tuple(input_shape), name="images")
    x = ReflectionPad((3, 3, 3, 3))(images)
    x = layers.Conv2D(w, 7, kernel_initializer=init(), name="c7s1")(x)
    x = keras.layers.ReLU()(instance_norm("c7s1_norm", affine=False)(x))
    for i, f in enumerate((2 * w, 4 * w)):  # d128, d256
        x = layers.Conv2D(f, 3, strides=2, padding="same", kernel_initializer=init(), name=f"down{i}")(x)
        x = keras.layers.ReLU()(instance_norm(f"down{i}_norm", affine=False)(x))
    for i in range(blocks):  # R256
        y = ReflectionPad((1, 1, 1, 1))(x)
        y = layers.Conv2D(4 * w, 3, kernel_initializer=init(), name=f"res{i}_conv0")(y)
        y = keras.layers.ReLU()(instance_norm(f"res{i}_norm0", affine=False)(y))
        y = ReflectionPad((1, 1, 1, 1))(y)
        y = layers.Conv2D(4 * w, 3, kernel_initializer=init(), name=f"res{i}_conv1")(y)
        x = keras.layers.Add(name=f"res{i}")([x, instance_norm(f"res{i}_norm1", affine=False)(y)])
    for i, f in enumerate((2 * w, w)):  # u128, u64
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same", kernel_initializer=init(), name=f"up{i}")(x)
        x = keras.layers.ReLU()(instance_norm(f"up{i}_norm", affine=False)(x))
    x = ReflectionPad((3, 3, 3, 3))(x)
    x = layers.Conv2D(out_channels, 7, kernel_initializer=init(), dtype="float32", name="out")(x)
    return keras.Model(images, keras.layers.Activation("tanh", dtype="float32")(x), name=name)
