"""games/optimizers.py: the configured optimizers and their learning-rate schedules."""

import keras
import pytest

from tfgan_app import config as cfg
from tfgan_app.games import optimizers


def test_constant_then_linear_to_zero_by_hand():
    schedule = optimizers.ConstantThenLinear(2e-4, constant=2, decay=4)
    # steps 0-2: 2e-4; then 2e-4 * (1 - (s - 2) / 4): 1.5e-4 at 3, 1e-4 at 4, 0 from 6 on.
    assert [float(schedule(s)) for s in (0, 2, 3, 4, 6, 9)] == pytest.approx([2e-4, 2e-4, 1.5e-4, 1e-4, 0.0, 0.0])


def test_linear_decay_counts_this_optimizers_updates_per_step():
    config = cfg.preset("ring8", epochs=4, linear_decay_epochs=2, steps_per_epoch=10, lr_decay=1.0)
    opt = optimizers.from_config(config, 1e-3, steps_per_decay=100, updates_per_step=5)
    # 2 epochs x 10 steps x 5 updates constant (100 updates), then 100 more down to zero.
    for updates, lr in ((0, 1e-3), (100, 1e-3), (150, 5e-4), (200, 0.0)):
        opt.iterations.assign(updates)
        assert float(opt.learning_rate) == pytest.approx(lr), updates


def test_one_schedule_at_a_time():
    with pytest.raises(cfg.ConfigError, match="--linear-decay-epochs: choose one schedule"):
        cfg.preset("ring8", lr_decay=0.5, linear_decay_epochs=2)
    with pytest.raises(cfg.ConfigError, match="--linear-decay-epochs: expected 0..--epochs"):
        cfg.preset("ring8", epochs=3, linear_decay_epochs=4)


def test_mixed_float16_wraps_in_loss_scaling():
    opt = optimizers.from_config(cfg.preset("ring8", precision="mixed_float16"), 1e-3, 10)
    assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
