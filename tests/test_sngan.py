"""The SN-GAN standard CNN and its SAGAN / BigGAN options: shapes, where SN and attention go, refusals."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import config as cfg
from tfgan_app import nets
from tfgan_app.nets import spectral_norm as sn
from tfgan_app.nets.attention import SelfAttention
from tfgan_app.nets.conditional import ConditionalBatchNorm

TINY = dict(dataset="npz:unused.npz", width=8, latent_dim=16)


def _build(preset, shape, **overrides):
    config = cfg.preset(preset, **{**TINY, **overrides})
    return (config, *nets.build(config, shape, 10))


def _kernel_layers(model):
    return [l for l in model._flatten_layers() if hasattr(l, "kernel") or isinstance(l, keras.layers.Embedding)]


@pytest.mark.parametrize("preset", ["sngan", "sagan", "biggan-lite"])
@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_shapes_and_where_sn_and_attention_go(preset, shape):
    overrides = {"attention": 16} if shape[0] == 32 and preset != "sngan" else {}
    config, g, d = _build(preset, shape, **overrides)
    b = 3
    z = tf.random.stateless_normal([b, 16], (0, 1))
    labels = tf.constant([0, 4, 9])
    conditional = preset == "biggan-lite"
    x = g([z, labels] if conditional else z, training=True)
    assert x.shape == (b, *shape) and x.dtype == tf.float32
    logits = d([x, labels] if conditional else x, training=True)
    assert logits.shape == (b, 1)
    # SN in every layer of D with weights (the projection embedding too); in G only for "gd".
    assert all(isinstance(l, sn.SpectralNorm) for l in _kernel_layers(d)), preset
    g_layers = [l for l in _kernel_layers(g) if l.name != "shared_embedding"]
    assert all(isinstance(l, sn.SpectralNorm) == (config.spectral_norm == "gd") for l in g_layers
               if not isinstance(l, (keras.layers.Embedding,))), preset
    # G: 8w -> 4w -> 2w -> w channels (Table 3), D: w .. 8w, LeakyReLU 0.1.
    convs_t = [l for l in g._flatten_layers() if isinstance(l, keras.layers.Conv2DTranspose)]
    assert [l.filters for l in convs_t] == [32, 16, 8]
    leaks = {l.negative_slope for l in d._flatten_layers() if isinstance(l, keras.layers.LeakyReLU)}
    assert leaks == {0.1}
    attention = [l for m in (g, d) for l in m._flatten_layers() if isinstance(l, SelfAttention)]
    assert len(attention) == (0 if preset == "sngan" else 2)
    cbn = [l for l in g._flatten_layers() if isinstance(l, ConditionalBatchNorm)]
    assert len(cbn) == (4 if conditional else 0)


def test_projection_discriminator_depends_on_the_label_and_biggan_g_on_its_class():
    _, g, d = _build("biggan-lite", (28, 28, 1))
    z = tf.tile(tf.random.stateless_normal([1, 16], (0, 2)), [2, 1])
    x = g([z, tf.constant([1, 7])], training=False)
    assert float(tf.reduce_max(tf.abs(x[0] - x[1]))) > 0  # same z, another class, another image
    d.get_layer("class_projection").embeddings.assign(
        tf.random.stateless_normal(d.get_layer("class_projection").embeddings.shape, (1, 1)))
    same = tf.concat([x[:1], x[:1]], 0)
    out = d([same, tf.constant([1, 7])], training=False).numpy()
    assert abs(out[0, 0] - out[1, 0]) > 1e-6  # the same image judged against two classes


@pytest.mark.parametrize("overrides, field", [
    (dict(attention=28), "--attention: 28 is not a feature-map side of both 28 px nets"),
    (dict(architecture="dcgan", d_norm="batch"), "--spectral-norm: is an option of --architecture sngan"),
    (dict(d_norm="batch"), "--d-norm: the sngan discriminator has no BatchNorm"),
    (dict(conditioning="cgan", class_embedding=0), "--conditioning: the sngan nets condition by projection"),
    (dict(conditioning="none"), "--class-embedding: the shared class embedding feeds conditional BatchNorm"),
    (dict(spectral_norm="g"), "--spectral-norm: 'g' is not one of: none, d, gd"),
    (dict(ortho_weight=-1.0), "--ortho-weight: expected a number >= 0"),
])
def test_bad_options_name_the_flag(overrides, field):
    with pytest.raises(cfg.ConfigError, match="^" + __import__("re").escape(field)):
        config = cfg.preset("biggan-lite", **{**TINY, **overrides})
        nets.build(config, (28, 28, 1), 10)


def test_weights_follow_the_seed_and_a_checkpoint_restores_every_u(tmp_path):
    keras.utils.set_random_seed(3)
    _, g1, d1 = _build("sagan", (28, 28, 1))
    keras.utils.set_random_seed(3)
    _, g2, d2 = _build("sagan", (28, 28, 1))
    for a, b in zip(g1.weights + d1.weights, g2.weights + d2.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    u = [w for w in d1.non_trainable_weights if w.name == "sn_u"]
    assert len(u) == len([l for l in _kernel_layers(d1)])  # one u per normalised layer of D
    x = tf.random.stateless_uniform([2, 28, 28, 1], (0, 3), -1, 1)
    d1(x, training=True)  # advances every u
    path = tf.train.Checkpoint(d=d1).write(str(tmp_path / "ckpt"))
    tf.train.Checkpoint(d=d2).read(path).assert_consumed()
    for a, b in zip(d1.non_trainable_weights, d2.non_trainable_weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(d1(x).numpy(), d2(x).numpy())


def test_orthogonal_regularization_reads_every_kernel_with_its_output_filters_last():
    from tfgan_app import games
    config = cfg.preset("biggan-lite", **TINY)
    gan = games.build(config, (28, 28, 1), 10)
    kernels = gan._ortho_kernels()
    transposed = [l for l in gan.generator._flatten_layers() if isinstance(l, keras.layers.Conv2DTranspose)]
    shapes = [tuple(k.shape) for k in kernels]
    for layer in transposed:  # Keras stores (kh, kw, out, in); the columns must be the out filters
        kh, kw, out, cin = layer.kernel.shape
        assert (kh, kw, cin, out) in shapes
    names = {w.path for w in gan.generator.trainable_weights if w.name == "embeddings"}
    assert names and len(kernels) == len([w for w in gan.generator.trainable_weights if w.name == "kernel"])


@pytest.mark.parametrize("preset", ["biggan-lite-cifar10"])
def test_one_fit_step_of_a_cifar10_preset_on_mock_data(preset):
    """A 32x32x3 preset's fit step (the MNIST presets run through training.train in
    test_image_training.py).  biggan-lite-cifar10 has every piece the other two have (SN in G
    and D, attention at 16 px) and more; their 32 px nets run forward in the shapes test above:
    a fit step of each would cost ~20 s more of the suite's budget."""
    from tfgan_app import games
    config = cfg.preset(preset, **dict(TINY, width=4, batch_size=4))
    gan = games.build(config, (32, 32, 3), 10)
    n = config.batch_size * config.n_critic
    x = tf.random.stateless_uniform([n, 32, 32, 3], (0, 4), -1, 1)
    data = (x, tf.range(n) % 10) if config.conditioning != "none" else x
    before = [w.numpy() for w in gan.generator.trainable_weights]
    history = gan.fit(tf.data.Dataset.from_tensors(data), epochs=1, verbose=0, shuffle=False).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert int(gan.g_optimizer.iterations) == 1 and int(gan.d_optimizer.iterations) == config.n_critic
    assert max(float(np.abs(w.numpy() - b).max()) for w, b in zip(gan.generator.trainable_weights, before)) > 0
