"""The optimizers a config asks for (--optimizer, learning rates, decay, loss scaling)."""

from __future__ import annotations

import keras

from tfgan_app.config import Config


def from_config(config: Config, lr: float, steps_per_decay: int):
    """The configured optimizer; lr decays by config.lr_decay every steps_per_decay steps.

    Under mixed_float16 it is wrapped in a LossScaleOptimizer (Keras's compile would wrap
    at most one of a game's optimizers: every game wraps all of them here).
    """
    if config.lr_decay != 1.0:
        lr = keras.optimizers.schedules.ExponentialDecay(
            lr, decay_steps=steps_per_decay, decay_rate=config.lr_decay, staircase=True)
    if config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(lr, momentum=config.momentum, nesterov=config.nesterov)
    elif config.optimizer == "rmsprop":
        optimizer = keras.optimizers.RMSprop(lr)
    else:
        optimizer = keras.optimizers.Adam(lr, beta_1=config.beta_1, beta_2=config.beta_2)
    if config.precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
