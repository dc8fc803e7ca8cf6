"""The games: keras.Model subclasses of games.base.AdversarialGame, each with its paper's train_step.

    build(config, data_shape, num_classes) -> the compiled game of config.game

    base.py        AdversarialGame: networks, optimizers, noise, loss scaling, averages, trackers
    losses.py      loss families as pure functions of logits
    penalties.py   gp, lp, fd, dragan, R1, weight clipping, as pure functions
    optimizers.py  the optimizers a config asks for
    gan.py         "gan": Goodfellow et al.'s Algorithm 1 (+ cGAN, AC-GAN, PacGAN, R1, EMA)

Training, evaluation and export all build games through `build`; a new game registers its
`from_config` in GAMES (docs/adding_a_game.md).
"""

from __future__ import annotations

from tfgan_app.config import Config, ConfigError
from tfgan_app.games import gan
from tfgan_app.games.base import AdversarialGame, GameConfigError

# config.game -> from_config(config, data_shape, num_classes) returning the compiled game.
GAMES = {
    "gan": gan.from_config,
}

__all__ = ["GAMES", "AdversarialGame", "GameConfigError", "build"]


def build(config: Config, data_shape: tuple | None = None, num_classes: int = 0) -> AdversarialGame:
    """The game `config.game` with its networks and optimizers (call inside strategy.scope())."""
    if config.game not in GAMES:
        raise ConfigError("game", f"{config.game!r} is not one of: {', '.join(GAMES)}")
    return GAMES[config.game](config, data_shape, num_classes)
