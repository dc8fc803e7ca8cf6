"""pix2pix's PatchGAN (nets/patchgan.py): the receptive fields and the patch map's size."""

import pytest
import tensorflow as tf

from tfgan_app import config as cfg
from tfgan_app.nets import patchgan

CONFIG = cfg.preset("pix2pix-edges2digits", width=4)


def test_receptive_fields_are_the_papers():
    # Isola et al.: 1x1 (PixelGAN), 16x16, 70x70, 286x286 (ImageGAN at 256 px) -- the
    # authors' n_layers_D = 1 gives 16 and 3 gives 70.
    assert [patchgan.receptive_field(n) for n in (1, 2, 3, 4)] == [16, 34, 70, 142]


@pytest.mark.parametrize("side,layers,patches", [(256, 3, 30), (28, 1, 12), (32, 1, 14)])
def test_patch_map_size(side, layers, patches):
    d = patchgan.build_patchgan(CONFIG, (side, side, 1), (side, side, 3), layers)
    out = d([tf.zeros((1, side, side, 1)), tf.zeros((1, side, side, 3))])
    assert out.shape == (1, patches, patches, 1) and out.dtype == tf.float32
