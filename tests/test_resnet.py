"""CycleGAN's ResNet generator (nets/resnet.py): the paper's layout and shapes."""

import pytest
import tensorflow as tf

from tfgan_app import config as cfg
from tfgan_app.nets import resnet

CONFIG = cfg.preset("cyclegan-digits2mnist", width=4)


@pytest.mark.parametrize("side,cin,cout,blocks", [(28, 1, 1, 6), (32, 3, 1, 2)])
def test_shapes_and_layout(side, cin, cout, blocks):
    g = resnet.build_resnet_generator(CONFIG, (side, side, cin), cout, blocks)
    y = g(tf.random.stateless_uniform((2, side, side, cin), [0, 1], -1, 1))
    assert y.shape == (2, side, side, cout) and float(tf.reduce_max(tf.abs(y))) <= 1.0
    # c7s1-w, d2w, d4w, R4w x blocks at side / 4, u2w, uw, c7s1-out
    assert g.get_layer("c7s1").filters == 4 and g.get_layer("down1").filters == 16
    assert g.get_layer(f"res{blocks - 1}").output.shape[1:] == (side // 4, side // 4, 16)
    assert [layer.name for layer in g.layers if layer.name.startswith("res") and layer.name[3:].isdigit()] == \
        [f"res{i}" for i in range(blocks)]


def test_a_side_that_does_not_halve_twice_is_refused():
    with pytest.raises(ValueError, match="multiple of 4"):
        resnet.build_resnet_generator(CONFIG, (30, 30, 1), 1, 1)
