"""StackGAN's networks (Zhang et al. 2017; the authors' TF code, hanzhanggit/StackGAN), at digit size.

Conditioning Augmentation (CA) lives inside each generator: from the text embedding phi_t, one
dense layer and LeakyReLU(0.2) give 2 x c_dim values, split into mu and log sigma, and
c = mu + sigma * eps with eps ~ N(0, I) an input (so a seed fixes it).  Each generator returns
(image, mu, log_sigma): the game adds the KL term of mu and log sigma to the generator's loss.

    stage1_generator  [z, eps, phi] -> (S/2 x S/2 image, mu, log_sigma)
                      dense to a base map (at most 7x7; 8w channels) + BN + ReLU; one up-block
                      (nearest 2x, conv 3x3, BN, ReLU; channels halved) per doubling; conv 3x3;
                      tanh.  (The code: 4x4 -> 64x64 with four up-blocks; 7x7 -> 14x14 with one here.)
    stage2_generator  [Stage-I image, eps, phi] -> (S x S image, mu, log_sigma), its own CA
                      encoder: conv 3x3 (w) ReLU, conv 4x4 stride 2 (2w) BN ReLU -> S/4;
                      c tiled and concatenated; conv 3x3 (2w) BN ReLU; residual blocks (conv 3x3,
                      BN, ReLU, conv 3x3, BN, add, ReLU); up-blocks to S; conv 3x3; tanh.
    discriminator     [image, phi] -> logit: conv 4x4 stride 2 (w, no BN) LReLU, then stride-2
                      convs with BN, doubling the channels, down to 4x4; the text: phi -> dense
                      to c_dim, LReLU, tiled to 4x4, concatenated; conv 1x1 (8w) BN LReLU;
                      conv 4x4 valid -> 1.  (The code's D takes the raw embedding, as Reed et al.)

w is config.width (the code's gf_dim / df_dim: 128 / 64 at 64-256 px; smaller here).
"""

from __future__ import annotations

import keras

from tfgan_app.config import Config
from tfgan_app.nets.blocks import impl
from tfgan_app.nets.precision import precision_policy


def _bn(config: Config, name: str):
    """The code's batch_norm (decay 0.9, epsilon 1e-5); over all replicas with --sync-batchnorm."""
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=config.sync_batchnorm, name=name)


def _ca(phi, c_dim: int, eps, name: str):
    """Conditioning Augmentation: (c, mu, log_sigma), the outputs float32."""
    x = keras.layers.Dense(2 * c_dim, dtype="float32", name=f"{name}_fc")(phi)
    x = keras.layers.LeakyReLU(0.2, dtype="float32")(x)
    mu = keras.layers.Lambda(lambda t: t[:, :c_dim], dtype="float32", name=f"{name}_mu")(x)
    log_sigma = keras.layers.Lambda(lambda t: t[:, c_dim:], dtype="float32", name=f"{name}_log_sigma")(x)
    c = keras.layers.Lambda(lambda t: t[0] + keras.ops.exp(t[1]) * t[2], dtype="float32",
                            name=f"{name}_c")([mu, log_sigma, eps])
    return c, mu, log_sigma


def _up(config: Config, layers, x, filters: int, name: str):
    x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    return keras.layers.ReLU()(_bn(config, f"{name}_bn")(x))


def _tile(c, side: int, name: str):
    """(B, d) -> (B, side, side, d)."""
    return keras.layers.Lambda(lambda t: keras.ops.tile(t[:, None, None, :], (1, side, side, 1)), name=name)(c)


def _image(layers, x, channels: int):
    x = layers.Conv2D(channels, 3, padding="same", dtype="float32", name="to_image")(x)
    return keras.layers.Activation("tanh", dtype="float32", name="image")(x)


def stage1_generator(config: Config, side: int, channels: int, phi_dim: int, c_dim: int) -> keras.Model:
    """Stage I: [z (latent), eps (c_dim), phi (phi_dim)] -> (image (side, side, C), mu, log_sigma)."""
    base, ups = int(side), 0
    while base % 2 == 0 and base > 7:
        base, ups = base // 2, ups + 1
    if ups == 0:
        raise ValueError(f"Stage I makes {side}x{side} images: expected an even side above 7 (14 for 28-px digits)")
    layers, w = impl(config), config.width
    with precision_policy(config.precision):
        z = keras.Input((config.latent_dim,), name="z")
        eps = keras.Input((c_dim,), name="eps")
        phi = keras.Input((phi_dim,), name="phi")
        c, mu, log_sigma = _ca(phi, c_dim, eps, "ca1")
        x = keras.layers.Concatenate()([c, z])
        x = keras.layers.Dense(base * base * 8 * w, use_bias=False, name="fc")(x)
        x = keras.layers.ReLU()(_bn(config, "fc_bn")(keras.layers.Reshape((base, base, 8 * w))(x)))
        for i in range(ups):
            x = _up(config, layers, x, max(8 * w // 2 ** (i + 1), w), f"up{i}")
        return keras.Model([z, eps, phi], [_image(layers, x, channels), mu, log_sigma], name="stage1_generator")


def stage2_generator(config: Config, side: int, channels: int, phi_dim: int, c_dim: int,
                     res_blocks: int = 2) -> keras.Model:
    """Stage II: [Stage-I image (side/2), eps (c_dim), phi] -> (image (side, side, C), mu, log_sigma)."""
    if side % 4:
        raise ValueError(f"Stage II makes {side}x{side} images: expected a side divisible by 4")
    layers, w = impl(config), config.width
    with precision_policy(config.precision):
        low = keras.Input((side // 2, side // 2, channels), name="low")
        eps = keras.Input((c_dim,), name="eps")
        phi = keras.Input((phi_dim,), name="phi")
        c, mu, log_sigma = _ca(phi, c_dim, eps, "ca2")
        x = keras.layers.ReLU()(layers.Conv2D(w, 3, padding="same", name="enc0")(low))
        x = layers.Conv2D(2 * w, 4, strides=2, padding="same", use_bias=False, name="enc1")(x)  # side / 4
        x = keras.layers.ReLU()(_bn(config, "enc1_bn")(x))
        x = keras.layers.Concatenate()([x, _tile(c, side // 4, "c_tiled")])
        x = layers.Conv2D(2 * w, 3, padding="same", use_bias=False, name="joint")(x)
        x = keras.layers.ReLU()(_bn(config, "joint_bn")(x))
        for i in range(res_blocks):
            y = layers.Conv2D(2 * w, 3, padding="same", use_bias=False, name=f"res{i}_conv0")(x)
            y = keras.layers.ReLU()(_bn(config, f"res{i}_bn0")(y))
            y = layers.Conv2D(2 * w, 3, padding="same", use_bias=False, name=f"res{i}_conv1")(y)
            x = keras.layers.ReLU()(keras.layers.Add()([x, _bn(config, f"res{i}_bn1")(y)]))
        x = _up(config, layers, x, w, "up0")
        x = _up(config, layers, x, w, "up1")
        return keras.Model([low, eps, phi], [_image(layers, x, channels), mu, log_sigma], name="stage2_generator")


def discriminator(config: Config, side: int, channels: int, phi_dim: int, c_dim: int, name: str) -> keras.Model:
    """[image (side, side, C), phi (phi_dim)] -> logit (1,): image features at 4x4 joined with the text."""
    layers, w = impl(config), config.width
    with precision_policy(config.precision):
        image = keras.Input((side, side, channels), name="image")
        phi = keras.Input((phi_dim,), name="phi")
        x = keras.layers.LeakyReLU(0.2)(layers.Conv2D(w, 4, strides=2, padding="same", name="conv0")(image))
        size, filters, i = -(-side // 2), w, 1
        while size > 4:
            filters *= 2
            x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=False, name=f"conv{i}")(x)
            x = keras.layers.LeakyReLU(0.2)(_bn(config, f"bn{i}")(x))
            size, i = -(-size // 2), i + 1
        if size != 4:
            raise ValueError(f"a {side}x{side} image reaches {size}x{size}, not 4x4, by halving: use a side of "
                             f"4 x a power of 2 or one that rounds to it (14, 28, 64)")
        t = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(c_dim, name="text_fc")(phi))
        x = keras.layers.Concatenate()([x, _tile(t, 4, "text_tiled")])
        x = layers.Conv2D(8 * w, 1, use_bias=False, name="joint")(x)
        x = keras.layers.LeakyReLU(0.2)(_bn(config, "joint_bn")(x))
        x = layers.Conv2D(1, 4, padding="valid", dtype="float32", name="logit")(x)
        return keras.Model([image, phi], keras.layers.Flatten(dtype="float32")(x), name=name)
