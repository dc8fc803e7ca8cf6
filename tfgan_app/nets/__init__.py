"""The networks: generators and discriminators, and the layers they are made of.

    build(config, data_shape, num_classes) -> (generator, discriminator)   (the "gan" game's)

    mlp.py        the toy problems' MLPs
    dcgan.py      DCGAN and the TF tutorial's DCGAN (W1/W2), with conditional heads
    sngan.py      the SN-GAN standard CNN, with SAGAN's attention and BigGAN's conditioning
    spectral_norm.py  layers using W / sigma(W) (Miyato et al. 2018)
    attention.py  SAGAN's self-attention block
    conditional.py    conditional BatchNorm and the projection discriminator's head
    unet.py, patchgan.py  pix2pix's U-Net generator and PatchGAN discriminator
    resnet.py     CycleGAN's ResNet generator
    srresnet.py   SRGAN's SRResNet generator and discriminator
    lapgan.py     LAPGAN's per-level generators and discriminators
    pyramid.py    Gaussian and Laplacian pyramids as TF ops (LAPGAN, per-band SWD)
    stackgan.py   StackGAN's two stages and matching-aware discriminators, with Conditioning Augmentation
    text.py       the in-graph word tokenizer and the joint embedding's text and image encoders
    text_encoder.py   the frozen text encoder StackGAN conditions on: trained (joint embedding), cached, loaded
    blocks.py     layers the translation nets share (instance norm, reflection padding)
    layers.py     Keras layers with the same function and faster CPU kernels
    conv_ops.py   those layers' convolution kernels
    precision.py  the dtype policy networks are built under (--precision)

Discriminators return logits (no sigmoid); output layers are float32 under any
mixed-precision policy.
"""

from __future__ import annotations

import keras

from tfgan_app.config import Config
from tfgan_app.nets import dcgan, mlp, sngan
from tfgan_app.nets.precision import precision_policy


def build(config: Config, data_shape: tuple | None = None,
          num_classes: int = 0) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) of `config`, built under its precision policy.

    Image models need the data's (H, W, C).
    """
    with precision_policy(config.precision):
        if not config.is_image:
            return mlp.toy_generator(config), mlp.toy_discriminator(config)
        if config.architecture == "sngan":
            return sngan.build(config, data_shape, num_classes)
        return dcgan.build(config, data_shape, num_classes)
