"""The optimizers a config asks for (--optimizer, learning rates, decay, loss scaling)."""

from __future__ import annotations

import keras

from tfgan_app.config import Config


class ConstantThenLinear(keras.optimizers.schedules.LearningRateSchedule):
    """lr for `constant` updates, then linearly to 0 over `decay` more (CycleGAN / pix2pix code's
    'linear' policy, applied per update rather than per epoch); 0 after."""

    def __init__(self, lr: float, constant: int, decay: int):
        self.lr, self.constant, self.decay = float(lr), int(constant), max(int(decay), 1)

    def __call__(self, step):
        past = keras.ops.maximum(keras.ops.cast(step, "float32") - self.constant, 0.0)
        return self.lr * keras.ops.maximum(1.0 - past / self.decay, 0.0)

    def get_config(self):
        return {"lr": self.lr, "constant": self.constant, "decay": self.decay}


def from_config(config: Config, lr: float, steps_per_decay: int, updates_per_step: int = 1):
    """The configured optimizer; lr decays by config.lr_decay every steps_per_decay steps, or
    (config.linear_decay_epochs) falls linearly to zero over the last epochs, counting
    `updates_per_step` updates of this optimizer per train step.

    Under mixed_float16 it is wrapped in a LossScaleOptimizer (Keras's compile would wrap
    at most one of a game's optimizers: every game wraps all of them here).
    """
    if config.lr_decay != 1.0:
        lr = keras.optimizers.schedules.ExponentialDecay(
            lr, decay_steps=steps_per_decay, decay_rate=config.lr_decay, staircase=True)
    elif config.linear_decay_epochs:
        per_epoch = config.steps_per_epoch * updates_per_step
        lr = ConstantThenLinear(lr, (config.epochs - config.linear_decay_epochs) * per_epoch,
                                config.linear_decay_epochs * per_epoch)
    if config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(lr, momentum=config.momentum, nesterov=config.nesterov)
    elif config.optimizer == "rmsprop":
        optimizer = keras.optimizers.RMSprop(lr)
    else:
        optimizer = keras.optimizers.Adam(lr, beta_1=config.beta_1, beta_2=config.beta_2)
    if config.precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
