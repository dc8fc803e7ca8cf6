"""The games: keras.Model subclasses of games.base.AdversarialGame, each with its paper's train_step.

    build(config, data_shape, num_classes) -> the compiled game of config.game

    base.py        AdversarialGame: networks, optimizers, noise, loss scaling, averages, trackers
    losses.py      loss families as pure functions of logits
    penalties.py   gp, lp, fd, dragan, R1, weight clipping, as pure functions
    optimizers.py  the optimizers a config asks for
    gan.py         "gan": Goodfellow et al.'s Algorithm 1 (+ cGAN, AC-GAN, PacGAN, R1, EMA)
    pix2pix.py     "pix2pix": Isola et al.'s conditional GAN + L1 for paired image translation
    cyclegan.py    "cyclegan": Zhu et al.'s two GANs tied by cycle consistency, unpaired domains
    srgan.py       "srgan": Ledig et al.'s SRResNet and SRGAN, 4x super-resolution
    lapgan.py      "lapgan": Denton et al.'s Laplacian pyramid of GANs, sampled coarse to fine
    stackgan.py    "stackgan": Zhang et al.'s two-stage text-to-image GAN with Conditioning Augmentation
    chargan.py     "chargan": Gulrajani et al.'s character-level WGAN-GP language model
    midinet.py     "midinet": Yang et al.'s melodies bar by bar, on chords and the bar before

Training, evaluation and export all build games through `build`; a new game registers its
`from_config` in GAMES (docs/adding_a_game.md).
"""

from __future__ import annotations

from tfgan_app.config import Config, ConfigError
from tfgan_app.games import chargan, cyclegan, gan, lapgan, midinet, pix2pix, srgan, stackgan
from tfgan_app.games.base import AdversarialGame, GameConfigError

# config.game -> from_config(config, data_shape, num_classes) returning the compiled game.
GAMES = {
    "gan": gan.from_config,
    "pix2pix": pix2pix.from_config,
    "cyclegan": cyclegan.from_config,
    "srgan": srgan.from_config,
    "lapgan": lapgan.from_config,
    "stackgan": stackgan.from_config,
    "chargan": chargan.from_config,
    "midinet": midinet.from_config,
}

__all__ = ["GAMES", "AdversarialGame", "GameConfigError", "build"]


def build(config: Config, data_shape: tuple | None = None, num_classes: int = 0) -> AdversarialGame:
    """The game `config.game` with its networks and optimizers (call inside strategy.scope())."""
    if config.game not in GAMES:
        raise ConfigError("game", f"{config.game!r} is not one of: {', '.join(GAMES)}")
    return GAMES[config.game](config, data_shape, num_classes)
