"""Image generators and discriminators: DCGAN, the TF tutorial's DCGAN (W1/W2), conditional heads.

Shapes are NHWC; generators end in tanh (images in [-1, 1]); discriminators
return logits.  Output layers are float32 under any mixed-precision policy.
"""

from __future__ import annotations

import math

import keras

from tfgan_app.nets import layers
from tfgan_app.config import Config, ConfigError
from tfgan_app.nets.layers import Dropout

LABEL_EMBEDDING = 50  # width of the label embedding fed to conditional generators


def _init():
    """DCGAN: weights from N(0, 0.02).  A new initializer for every layer: an unseeded Keras
    initializer fixes its seed when made (from Python's random, which --seed sets), so one
    shared instance would give every layer the same draws, fixed at import, whatever --seed.
    """
    return keras.initializers.RandomNormal(0.0, 0.02)


def _impl(config: Config):
    """The module whose Conv2D, Conv2DTranspose and BatchNormalization the nets use (--layer-impl)."""
    return layers if layers.implementation(config) == "tfgan" else keras.layers


def _batch_norm(config: Config, name: str | None = None):
    """BatchNormalization; with --sync-batchnorm its statistics span all replicas' examples."""
    return _impl(config).BatchNormalization(synchronized=config.sync_batchnorm, name=name)


def _norm(kind: str, name: str, config: Config):
    if kind == "batch":
        return _batch_norm(config, name)
    if kind == "layer":  # per example: what a WGAN-GP critic needs
        return keras.layers.LayerNormalization(axis=[1, 2, 3], name=name)
    return None


def _generator_inputs(config: Config, num_classes: int):
    z = keras.Input((config.latent_dim,), name="z")
    if config.conditioning == "none":
        return z, z  # a single input, not a list: callers pass a plain tensor
    labels = keras.Input((), dtype="int32", name="labels")
    emb = keras.layers.Embedding(num_classes, LABEL_EMBEDDING, name="label_embedding")(labels)  # (B, 50)
    return [z, labels], keras.layers.Concatenate(name="z_and_label")([z, emb])


def _discriminator_inputs(config: Config, shape: tuple, num_classes: int):
    """D's input: a sample (H, W, C), or `pack` of them stacked as channels (H, W, pack*C)."""
    h, w, c = shape
    x = keras.Input((h, w, c * config.pack), name="x")
    if config.conditioning != "cgan":
        return x, x
    labels = keras.Input((), dtype="int32", name="labels")
    plane = keras.layers.Embedding(num_classes, h * w, name="label_embedding")(labels)  # (B, H*W)
    plane = keras.layers.Reshape((h, w, 1))(plane)  # (B, H, W, 1): the label as an extra channel
    return [x, labels], keras.layers.Concatenate(name="x_and_label")([x, plane])


def _discriminator_head(config: Config, features, num_classes: int):
    logits = keras.layers.Dense(1, dtype="float32", name="logits")(features)
    if config.conditioning == "acgan":  # Odena et al.: auxiliary classifier on D's features
        return [logits, keras.layers.Dense(num_classes, dtype="float32", name="class_logits")(features)]
    return logits


def dcgan_sizes(side: int, depth: int = 0) -> list[int]:
    """Feature-map sides of the DCGAN generator, from its first map to the image.

    depth = 0: the DCGAN guidelines' start, 7x7 for 28 px and 4x4 for 32 and 64 px, doubled
    up to the image.  depth = N: N upsamplings from the side the image reaches by N 'same'
    stride-2 convolutions (ceil halving; 28 px at depth 4: 2, 4, 7, 14, 28, the PacGAN /
    DCGAN-tensorflow Stacked MNIST generator), so the discriminator mirrors it exactly.
    """
    if not depth:
        s0 = 7 if side == 28 else 4
        return [s0 * 2 ** i for i in range(int(math.log2(side // s0)) + 1)]
    sizes = [side]
    for _ in range(depth):
        sizes.insert(0, -(-sizes[0] // 2))  # ceil(s / 2): what a stride-2 'same' conv gives
    return sizes


def dcgan(config: Config, shape: tuple, num_classes: int) -> tuple[keras.Model, keras.Model]:
    """DCGAN (Radford et al. 2016) guidelines, for 28x28, 32x32 or 64x64 images.

    G: Dense -> (s0, s0, 8w) -> [ConvT(4, stride 2) -> BN -> ReLU]... -> ConvT -> tanh, where
    the sides come from `dcgan_sizes` (s0 = 7 for 28 px, else 4, unless `depth` is set) and the
    first map has w * 2^(depth - 1) channels, halved by each layer; the last layer has no BN.
    A side that is odd (7 of 2, 4, 7) comes from output_padding 1 instead of 0.  D mirrors it
    with strided Conv2D -> LeakyReLU(0.2), no normalisation on the input layer, `d_norm` elsewhere.
    """
    h, w, c = shape
    if h != w or h not in (28, 32, 64):
        raise ConfigError("image_size", f"dcgan builds 28, 32 or 64 pixel square images, got {h}x{w}; "
                          f"set --image-size 28, 32 or 64")
    sizes = dcgan_sizes(h, config.depth)
    if sizes[0] < 2:
        deepest = max(n for n in range(1, config.depth) if dcgan_sizes(h, n)[0] >= 2)
        raise ConfigError("depth", f"{config.depth} stride-2 layers shrink {h} px below 2x2; use at most {deepest}")
    ups = len(sizes) - 1
    width = config.width
    L = _impl(config)
    inputs, x = _generator_inputs(config, num_classes)
    ch = width * 2 ** (ups - 1)
    x = keras.layers.Dense(sizes[0] * sizes[0] * ch, use_bias=False, kernel_initializer=_init())(x)
    x = _batch_norm(config)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Reshape((sizes[0], sizes[0], ch))(x)  # (B, s0, s0, ch)
    for i, side in enumerate(sizes[1:]):
        last = i == ups - 1
        ch = c if last else ch // 2
        pad = None if side == 2 * sizes[i] else 1  # 4 -> 7: (4 - 1) * 2 + 4 - 2 * 2 + 1
        x = L.Conv2DTranspose(ch, 4, 2, "same", output_padding=pad, use_bias=last,
                              kernel_initializer=_init())(x)  # (B, side, side, ch)
        if not last:
            x = _batch_norm(config)(x)
            x = keras.layers.ReLU()(x)
    out = keras.layers.Activation("tanh", dtype="float32", name="samples")(x)
    generator = keras.Model(inputs, out, name="generator")

    d_inputs, x = _discriminator_inputs(config, shape, num_classes)
    ch = width
    for i in range(ups):
        x = L.Conv2D(ch, 4, 2, "same", kernel_initializer=_init())(x)
        if i > 0 and (norm := _norm(config.d_norm, f"norm_{i}", config)) is not None:
            x = norm(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        if config.d_dropout:
            x = Dropout(config.d_dropout)(x)
        ch *= 2
    x = keras.layers.Flatten()(x)
    discriminator = keras.Model(d_inputs, _discriminator_head(config, x, num_classes), name="discriminator")
    return generator, discriminator


def dcgan_tutorial(config: Config, shape: tuple, num_classes: int) -> tuple[keras.Model, keras.Model]:
    """The TensorFlow DCGAN tutorial's model: workload W1 (and W2's critic with d_dropout=0).

    G: Dense(7*7*256, no bias) -> BN -> LeakyReLU -> Reshape(7,7,256) -> ConvT(128,5,1) -> BN ->
    LeakyReLU -> ConvT(64,5,2) -> BN -> LeakyReLU -> ConvT(C,5,2,tanh).
    D: Conv(64,5,2) -> LeakyReLU -> Dropout -> Conv(128,5,2) -> LeakyReLU -> Dropout -> Flatten -> Dense(1).
    `width` scales the filters (64 = the tutorial's).
    """
    h, w, c = shape
    if (h, w) != (28, 28):
        raise ConfigError("image_size", f"dcgan-tutorial is the 28x28 MNIST model, got {h}x{w}")
    k = config.width / 64
    f = lambda n: max(1, int(n * k))
    L = _impl(config)
    inputs, x = _generator_inputs(config, num_classes)
    x = keras.layers.Dense(7 * 7 * f(256), use_bias=False)(x)
    x = _batch_norm(config)(x)
    x = keras.layers.LeakyReLU()(x)
    x = keras.layers.Reshape((7, 7, f(256)))(x)  # (B, 7, 7, 256)
    x = L.Conv2DTranspose(f(128), 5, 1, "same", use_bias=False)(x)
    x = _batch_norm(config)(x)
    x = keras.layers.LeakyReLU()(x)  # (B, 7, 7, 128)
    x = L.Conv2DTranspose(f(64), 5, 2, "same", use_bias=False)(x)
    x = _batch_norm(config)(x)
    x = keras.layers.LeakyReLU()(x)  # (B, 14, 14, 64)
    x = L.Conv2DTranspose(c, 5, 2, "same", use_bias=False)(x)  # (B, 28, 28, C)
    out = keras.layers.Activation("tanh", dtype="float32", name="samples")(x)
    generator = keras.Model(inputs, out, name="generator")

    d_inputs, x = _discriminator_inputs(config, shape, num_classes)
    for i, n in enumerate((f(64), f(128))):
        x = L.Conv2D(n, 5, 2, "same")(x)
        if (norm := _norm(config.d_norm, f"norm_{i}", config)) is not None:
            x = norm(x)
        x = keras.layers.LeakyReLU()(x)
        if config.d_dropout:
            x = Dropout(config.d_dropout)(x)
    x = keras.layers.Flatten()(x)  # (B, 7*7*128)
    discriminator = keras.Model(d_inputs, _discriminator_head(config, x, num_classes), name="discriminator")
    return generator, discriminator


def build(config: Config, shape: tuple, num_classes: int = 0) -> tuple[keras.Model, keras.Model]:
    num_classes = num_classes or config.num_classes
    if config.conditioning != "none" and num_classes < 2:
        raise ConfigError("conditioning", f"{config.conditioning} needs labelled data with >= 2 classes "
                          f"(the dataset has {num_classes}); set --num-classes or use --conditioning none")
    if config.architecture == "dcgan-tutorial":
        return dcgan_tutorial(config, tuple(shape), num_classes)
    return dcgan(config, tuple(shape), num_classes)
