"""SRGAN (Ledig et al. 2017): photo-realistic 4x super-resolution with a perceptual loss.

    l_SR = l_content + 1e-3 l_Gen,   l_Gen = sum -log D(G(I_LR))                        (eqs. 3, 6)

with G the SRResNet and D the strided-conv discriminator (nets/srresnet.py), updated in turn
(k = 1), D first, then G through the updated D from the same forward pass of G.  The content
loss is the MSE in a feature space (`--content`):

- `pixels`: the pixel-wise MSE (the paper's SRResNet-MSE / SRGAN-MSE);
- `discriminator`: the MSE of D's last conv block's activations of G(I_LR) and I_HR -- an
  offline stand-in for a pretrained network (D's features change as D trains);
- `vgg19`: the paper's VGG54, the MSE of VGG19's block5_conv4 activations (after ReLU) of the
  images mapped to [0, 255] with Caffe's preprocessing, scaled by 1/12.75 as the paper rescales
  the feature maps (so the MSE by 1/12.75^2); the weights come from `--content-weights PATH`
  (keras' `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`): nothing is downloaded.

`--gan-weight 0` trains the generator alone on the content loss: the SRResNet that SRGAN starts
from (`--init-from RUN` copies a finished SRResNet run's generator before the first step).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.config import Config
from tfgan_app.games import losses, optimizers
from tfgan_app.games.base import AdversarialGame, GameConfigError
from tfgan_app.nets import srresnet
from tfgan_app.nets.precision import precision_policy

CONTENTS = ("pixels", "discriminator", "vgg19")
VGG_LAYER = "block5_conv4"            # VGG54: the 4th conv before the 5th max-pool
VGG_RESCALE = 1.0 / 12.75             # the paper's feature-map rescaling
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)  # keras.applications.vgg19.preprocess_input's


def mse(a, b, reduce=tf.reduce_mean):
    """Mean squared difference per example, then `reduce` over the batch."""
    d = tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32))
    return reduce(tf.reduce_mean(tf.reshape(d, [tf.shape(d)[0], -1]), axis=1))


def vgg19_features(weights_path) -> keras.Model:
    """VGG19 up to block5_conv4 with the weights of a local file; images in [-1, 1] in.

    Raises:
      GameConfigError: the file is missing or does not hold VGG19's convolution weights.
    """
    path = Path(weights_path) if weights_path else None
    if path is None or not path.is_file():
        raise GameConfigError(
            f"--content-weights {weights_path or '(none)'}: --content vgg19 needs VGG19's ImageNet weights as a "
            f"local file (keras' vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5; fetch it where a network "
            f"exists with keras.applications.VGG19(include_top=False)); or use --content pixels|discriminator")
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    try:
        vgg.load_weights(str(path))
    except Exception as e:  # h5py / Keras raise many kinds for a wrong file
        raise GameConfigError(f"--content-weights {path}: not VGG19's weights ({str(e).splitlines()[0]})") from None
    vgg.trainable = False
    images = keras.Input((None, None, 3))
    x = (images + 1.0) * 127.5                                    # [0, 255] RGB
    x = x[..., ::-1] - tf.constant(CAFFE_BGR_MEAN, tf.float32)    # Caffe: BGR, mean subtracted
    features = keras.Model(vgg.input, vgg.get_layer(VGG_LAYER).output)(x)
    return keras.Model(images, features * VGG_RESCALE, name="vgg54")


class SRGAN(AdversarialGame):
    """The SRGAN game.  data: (LR images, HR images), float32 in [-1, 1]."""

    def __init__(self, generator, discriminator, *, content: str = "pixels", content_net=None,
                 gan_weight: float = 1e-3, seed: int = 0, **kwargs):
        super().__init__({"generator": generator, "discriminator": discriminator}, seed=seed,
                         trackers=("d_loss", "g_loss", "content", "g_gan", "d_real", "d_fake"), **kwargs)
        if content not in CONTENTS:
            raise GameConfigError(f"--content {content!r}: expected one of {', '.join(CONTENTS)}")
        self.content, self.gan_weight = content, float(gan_weight)
        self.scale = srresnet.UPSAMPLING * 2
        self.lr_size = int(discriminator.input.shape[1]) // self.scale  # the LR side it trains at (and exports)
        self.content_net = (srresnet.features(discriminator) if content == "discriminator" else content_net)

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile({"g_optimizer": (g_optimizer, "generator"),
                         "d_optimizer": (d_optimizer, "discriminator")}, **kwargs)

    def content_loss(self, sr, hr):
        if self.content_net is None:
            return mse(sr, hr, self.reduce)
        return mse(self.content_net(sr, training=False), self.content_net(hr, training=False), self.reduce)

    def train_step(self, data):
        lr, hr = data
        if not self.gan_weight:  # SRResNet: the generator alone
            with tf.GradientTape() as tape:
                sr = tf.cast(self.generator(lr, training=True), tf.float32)
                content = self.content_loss(sr, hr)
                scaled = self.scaled(self.g_optimizer, content)
            self.descend("g_optimizer", tape, scaled)
            self.track("g_loss", content)
            self.track("content", content)
            return self.results()
        with tf.GradientTape() as g_tape:  # G's forward pass, recorded for its step below
            sr = tf.cast(self.generator(lr, training=True), tf.float32)
        # 1. D: descend -log D(I_HR) - log(1 - D(G(I_LR))).
        with tf.GradientTape() as d_tape:
            real_logits = self.discriminator(hr, training=True)
            fake_logits = self.discriminator(tf.stop_gradient(sr), training=True)
            d_loss = losses.minimax_discriminator_loss(real_logits, fake_logits, self.reduce)
            scaled = self.scaled(self.d_optimizer, d_loss)
        d_ok = self.descend("d_optimizer", d_tape, scaled)
        # 2. G: descend l_content + 1e-3 (-log D(G(I_LR))) through the updated D.
        with g_tape:
            content = self.content_loss(sr, hr)
            g_gan = losses.non_saturating_generator_loss(self.discriminator(sr, training=True), self.reduce)
            g_loss = content + self.gan_weight * g_gan
            scaled = self.scaled(self.g_optimizer, g_loss)
        self.descend("g_optimizer", g_tape, scaled, ok=d_ok)
        for name, value in (("d_loss", d_loss), ("g_loss", g_loss), ("content", content), ("g_gan", g_gan)):
            self.track(name, value)
        self.track("d_real", tf.reduce_mean(tf.sigmoid(real_logits)), global_loss=False)
        self.track("d_fake", tf.reduce_mean(tf.sigmoid(fake_logits)), global_loss=False)
        return self.results()

    def initialize_from(self, other) -> None:
        """--init-from: start from another run's generator (an SRResNet run, or an SRGAN)."""
        if not isinstance(other, SRGAN):
            raise GameConfigError(f"--init-from: that run trained {type(other).__name__}, not an SRResNet / SRGAN "
                                  f"generator")
        mine, theirs = self.generator.get_weights(), other.generator.get_weights()
        if [w.shape for w in mine] != [w.shape for w in theirs]:
            raise GameConfigError("--init-from: that run's generator has another shape (--width, --res-blocks)")
        self.generator.set_weights(theirs)

    # -- what training, evaluation and export ask -----------------------------------------
    def upscale(self, x, batch: int = 64) -> np.ndarray:
        """G(x) in inference mode, float32."""
        return np.concatenate([tf.cast(self.generator(x[i:i + batch], training=False), tf.float32).numpy()
                               for i in range(0, len(x), batch)])

    def sample_grid(self, seed, examples=None):
        """Rows of 8: the LR input (nearest-neighbour enlarged), G's output, the HR crop."""
        if examples is None:
            raise GameConfigError("SRGAN's picture grid shows real images: pass examples()")
        lr, hr = (np.asarray(t) for t in examples())
        cols = min(8, len(lr))
        lr, hr = lr[:cols], hr[:cols]
        scale = hr.shape[1] // lr.shape[1]

        def draw():
            return np.concatenate([np.repeat(np.repeat(lr, scale, 1), scale, 2), self.upscale(lr), hr])

        return draw, 3

    def samples(self, n, seed, batch=500):
        raise GameConfigError("SRGAN upscales inputs and has no samples of its own; "
                              "benchmarks/quality_superres.py scores it on held-out photographs")

    def exported_networks(self) -> dict:
        return {"generator": self.generator}


def from_config(config: Config, data_shape: dict | None = None, num_classes: int = 0) -> SRGAN:
    """SRResNet and the SRGAN discriminator for data of shape {"low": (s, s, C), "high": (4s, 4s, C)}."""
    if not isinstance(data_shape, dict) or set(data_shape) != {"low", "high"}:
        raise GameConfigError(f"--game srgan super-resolves images: expected --dataset sr:SPEC or sr-photos, "
                              f"got data of shape {data_shape}")
    low, high = tuple(data_shape["low"]), tuple(data_shape["high"])
    content_net = vgg19_features(config.content_weights) if config.content == "vgg19" else None
    with precision_policy(config.precision):
        generator = srresnet.build_srresnet(config, low[-1], config.res_blocks, name="generator")
        discriminator = srresnet.build_sr_discriminator(config, high, name="discriminator")
    game = SRGAN(generator, discriminator, content=config.content, content_net=content_net,
                 gan_weight=config.gan_weight, seed=config.seed)
    decay = config.lr_decay_epochs * config.steps_per_epoch
    game.compile(optimizers.from_config(config, config.g_lr, decay), optimizers.from_config(config, config.d_lr, decay),
                 jit_compile=config.jit_compile, steps_per_execution=config.steps_per_execution)
    return game
