"""Hand-written reference steps for the translation workloads W3 and W4, models included.

These are the baselines `game_throughput.py` compares the project's games with,
written as the public examples write them and using nothing of tfgan_app:

- W3: the TensorFlow pix2pix tutorial (tensorflow.org/tutorials/generative/pix2pix): its
  `Generator()` (U-Net: 8 downsamplings, BatchNorm, dropout 0.5 in the first three
  upsamplings, LeakyReLU with Keras's default slope 0.3), `Discriminator()` (70x70 PatchGAN
  on [input, target], 30x30 logits) and `@tf.function train_step`: one forward pass under two
  tapes, G's loss BCE + 100 L1, D's the sum of the two BCEs, Adam(2e-4, 0.5) each.
- W4: the keras.io CycleGAN example (keras.io/examples/generative/cyclegan): its ResNet
  generator (9 residual blocks, reflection padding, instance normalisation with gamma from
  N(0, 0.02) -- tensorflow_addons' layer, which does not run on Keras 3, written as
  GroupNormalization(groups=-1) with that initialiser), its PatchGAN discriminator and its
  `train_step`: one persistent tape, least-squares losses, cycle 10, identity 0.5, four
  gradient calls, four Adam(2e-4, 0.5), no history pool.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

OUTPUT_CHANNELS = 3
LAMBDA = 100


# --- W3: the TF pix2pix tutorial ---------------------------------------------------------


def downsample(filters, size, apply_batchnorm=True):
    initializer = tf.random_normal_initializer(0.0, 0.02)
    result = keras.Sequential()
    result.add(keras.layers.Conv2D(filters, size, strides=2, padding="same", kernel_initializer=initializer,
                                   use_bias=False))
    if apply_batchnorm:
        result.add(keras.layers.BatchNormalization())
    result.add(keras.layers.LeakyReLU())
    return result


def upsample(filters, size, apply_dropout=False):
    initializer = tf.random_normal_initializer(0.0, 0.02)
    result = keras.Sequential()
    result.add(keras.layers.Conv2DTranspose(filters, size, strides=2, padding="same",
                                            kernel_initializer=initializer, use_bias=False))
    result.add(keras.layers.BatchNormalization())
    if apply_dropout:
        result.add(keras.layers.Dropout(0.5))
    result.add(keras.layers.ReLU())
    return result


def pix2pix_generator(size: int = 256):
    inputs = keras.layers.Input(shape=[size, size, 3])
    down_stack = [downsample(64, 4, apply_batchnorm=False), downsample(128, 4), downsample(256, 4),
                  downsample(512, 4), downsample(512, 4), downsample(512, 4), downsample(512, 4), downsample(512, 4)]
    up_stack = [upsample(512, 4, apply_dropout=True), upsample(512, 4, apply_dropout=True),
                upsample(512, 4, apply_dropout=True), upsample(512, 4), upsample(256, 4), upsample(128, 4),
                upsample(64, 4)]
    initializer = tf.random_normal_initializer(0.0, 0.02)
    last = keras.layers.Conv2DTranspose(OUTPUT_CHANNELS, 4, strides=2, padding="same",
                                        kernel_initializer=initializer, activation="tanh")
    levels = int(round(math.log2(size)))  # the tutorial's 8 at 256 px; fewer for a smaller smoke test
    down_stack, up_stack = down_stack[:levels], up_stack[len(up_stack) - (levels - 1):]
    x = inputs
    skips = []
    for down in down_stack:
        x = down(x)
        skips.append(x)
    skips = reversed(skips[:-1])
    for up, skip in zip(up_stack, skips):
        x = up(x)
        x = keras.layers.Concatenate()([x, skip])
    x = last(x)
    return keras.Model(inputs=inputs, outputs=x)


def pix2pix_discriminator(size: int = 256):
    initializer = tf.random_normal_initializer(0.0, 0.02)
    inp = keras.layers.Input(shape=[size, size, 3], name="input_image")
    tar = keras.layers.Input(shape=[size, size, 3], name="target_image")
    x = keras.layers.concatenate([inp, tar])
    down1 = downsample(64, 4, False)(x)
    down2 = downsample(128, 4)(down1)
    down3 = downsample(256, 4)(down2)
    zero_pad1 = keras.layers.ZeroPadding2D()(down3)
    conv = keras.layers.Conv2D(512, 4, strides=1, kernel_initializer=initializer, use_bias=False)(zero_pad1)
    batchnorm1 = keras.layers.BatchNormalization()(conv)
    leaky_relu = keras.layers.LeakyReLU()(batchnorm1)
    zero_pad2 = keras.layers.ZeroPadding2D()(leaky_relu)
    last = keras.layers.Conv2D(1, 4, strides=1, kernel_initializer=initializer)(zero_pad2)
    return keras.Model(inputs=[inp, tar], outputs=last)


def pix2pix_tutorial_step(generator, discriminator):
    """The tutorial's `train_step(input_image, target)` (its summaries left out)."""
    loss_object = keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
    discriminator_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)

    def generator_loss(disc_generated_output, gen_output, target):
        gan_loss = loss_object(tf.ones_like(disc_generated_output), disc_generated_output)
        l1_loss = tf.reduce_mean(tf.abs(target - gen_output))
        return gan_loss + (LAMBDA * l1_loss), gan_loss, l1_loss

    def discriminator_loss(disc_real_output, disc_generated_output):
        real_loss = loss_object(tf.ones_like(disc_real_output), disc_real_output)
        generated_loss = loss_object(tf.zeros_like(disc_generated_output), disc_generated_output)
        return real_loss + generated_loss

    @tf.function
    def train_step(input_image, target):
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            gen_output = generator(input_image, training=True)
            disc_real_output = discriminator([input_image, target], training=True)
            disc_generated_output = discriminator([input_image, gen_output], training=True)
            gen_total_loss, _, _ = generator_loss(disc_generated_output, gen_output, target)
            disc_loss = discriminator_loss(disc_real_output, disc_generated_output)
        generator_gradients = gen_tape.gradient(gen_total_loss, generator.trainable_variables)
        discriminator_gradients = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(generator_gradients, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(discriminator_gradients, discriminator.trainable_variables))

    return train_step


def tutorial_random_jitter(input_image, real_image, size: int = 256):
    """The tutorial's random_jitter: resize to 286 (nearest), one random crop for both, flip."""
    big = int(round(size * 286 / 256))
    input_image = tf.image.resize(input_image, [big, big], method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
    real_image = tf.image.resize(real_image, [big, big], method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
    stacked = tf.stack([input_image, real_image], axis=0)
    cropped = tf.image.random_crop(stacked, size=[2, size, size, 3])
    input_image, real_image = cropped[0], cropped[1]
    if tf.random.uniform(()) > 0.5:
        input_image = tf.image.flip_left_right(input_image)
        real_image = tf.image.flip_left_right(real_image)
    return input_image, real_image


# --- W4: the keras.io CycleGAN example ------------------------------------------------------

KERNEL_INIT = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)
GAMMA_INIT = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


class ReflectionPadding2D(keras.layers.Layer):
    def __init__(self, padding=(1, 1), **kwargs):
        self.padding = tuple(padding)
        super().__init__(**kwargs)

    def call(self, input_tensor, mask=None):
        padding_width, padding_height = self.padding
        padding_tensor = [[0, 0], [padding_height, padding_height], [padding_width, padding_width], [0, 0]]
        return tf.pad(input_tensor, padding_tensor, mode="REFLECT")


def _instance_norm():
    return keras.layers.GroupNormalization(groups=-1, gamma_initializer=GAMMA_INIT)


def residual_block(x, activation, kernel_size=(3, 3), strides=(1, 1), padding="valid", use_bias=False):
    dim = x.shape[-1]
    input_tensor = x
    x = ReflectionPadding2D()(input_tensor)
    x = keras.layers.Conv2D(dim, kernel_size, strides=strides, kernel_initializer=KERNEL_INIT, padding=padding,
                            use_bias=use_bias)(x)
    x = _instance_norm()(x)
    x = activation(x)
    x = ReflectionPadding2D()(x)
    x = keras.layers.Conv2D(dim, kernel_size, strides=strides, kernel_initializer=KERNEL_INIT, padding=padding,
                            use_bias=use_bias)(x)
    x = _instance_norm()(x)
    return keras.layers.add([input_tensor, x])


def downsample_block(x, filters, activation, kernel_size=(3, 3), strides=(2, 2), padding="same", use_bias=False):
    x = keras.layers.Conv2D(filters, kernel_size, strides=strides, kernel_initializer=KERNEL_INIT, padding=padding,
                            use_bias=use_bias)(x)
    x = _instance_norm()(x)
    return activation(x) if activation else x


def upsample_block(x, filters, activation, kernel_size=(3, 3), strides=(2, 2), padding="same", use_bias=False):
    x = keras.layers.Conv2DTranspose(filters, kernel_size, strides=strides, padding=padding,
                                     kernel_initializer=KERNEL_INIT, use_bias=use_bias)(x)
    x = _instance_norm()(x)
    return activation(x) if activation else x


def cyclegan_generator(size: int = 256, filters=64, num_downsampling_blocks=2, num_residual_blocks=9,
                       num_upsample_blocks=2, name=None):
    img_input = keras.layers.Input(shape=(size, size, 3), name=name + "_img_input")
    x = ReflectionPadding2D(padding=(3, 3))(img_input)
    x = keras.layers.Conv2D(filters, (7, 7), kernel_initializer=KERNEL_INIT, use_bias=False)(x)
    x = _instance_norm()(x)
    x = keras.layers.Activation("relu")(x)
    for _ in range(num_downsampling_blocks):
        filters *= 2
        x = downsample_block(x, filters=filters, activation=keras.layers.Activation("relu"))
    for _ in range(num_residual_blocks):
        x = residual_block(x, activation=keras.layers.Activation("relu"))
    for _ in range(num_upsample_blocks):
        filters //= 2
        x = upsample_block(x, filters, activation=keras.layers.Activation("relu"))
    x = ReflectionPadding2D(padding=(3, 3))(x)
    x = keras.layers.Conv2D(3, (7, 7), padding="valid")(x)
    x = keras.layers.Activation("tanh")(x)
    return keras.models.Model(img_input, x, name=name)


def cyclegan_discriminator(size: int = 256, filters=64, num_downsampling=3, name=None):
    img_input = keras.layers.Input(shape=(size, size, 3), name=name + "_img_input")
    x = keras.layers.Conv2D(filters, (4, 4), strides=(2, 2), padding="same", kernel_initializer=KERNEL_INIT)(img_input)
    x = keras.layers.LeakyReLU(0.2)(x)
    num_filters = filters
    for num_downsample_block in range(3):
        num_filters *= 2
        if num_downsample_block < 2:
            x = downsample_block(x, filters=num_filters, activation=keras.layers.LeakyReLU(0.2),
                                 kernel_size=(4, 4), strides=(2, 2))
        else:
            x = downsample_block(x, filters=num_filters, activation=keras.layers.LeakyReLU(0.2),
                                 kernel_size=(4, 4), strides=(1, 1))
    x = keras.layers.Conv2D(1, (4, 4), strides=(1, 1), padding="same", kernel_initializer=KERNEL_INIT)(x)
    return keras.models.Model(inputs=img_input, outputs=x, name=name)


def cyclegan_example_step(gen_g, gen_f, disc_x, disc_y, lambda_cycle=10.0, lambda_identity=0.5):
    """The example's `CycleGan.train_step` as a `tf.function` over (real_x, real_y)."""
    opts = [keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(4)]
    adv_loss_fn = keras.losses.MeanSquaredError()
    cycle_loss_fn = keras.losses.MeanAbsoluteError()
    identity_loss_fn = keras.losses.MeanAbsoluteError()

    def generator_loss_fn(fake):
        return adv_loss_fn(tf.ones_like(fake), fake)

    def discriminator_loss_fn(real, fake):
        return (adv_loss_fn(tf.ones_like(real), real) + adv_loss_fn(tf.zeros_like(fake), fake)) * 0.5

    @tf.function
    def train_step(real_x, real_y):
        with tf.GradientTape(persistent=True) as tape:
            fake_y = gen_g(real_x, training=True)
            fake_x = gen_f(real_y, training=True)
            cycled_x = gen_f(fake_y, training=True)
            cycled_y = gen_g(fake_x, training=True)
            same_x = gen_f(real_x, training=True)
            same_y = gen_g(real_y, training=True)
            disc_real_x = disc_x(real_x, training=True)
            disc_fake_x = disc_x(fake_x, training=True)
            disc_real_y = disc_y(real_y, training=True)
            disc_fake_y = disc_y(fake_y, training=True)
            gen_g_loss = generator_loss_fn(disc_fake_y)
            gen_f_loss = generator_loss_fn(disc_fake_x)
            cycle_loss_g = cycle_loss_fn(real_y, cycled_y) * lambda_cycle
            cycle_loss_f = cycle_loss_fn(real_x, cycled_x) * lambda_cycle
            id_loss_g = identity_loss_fn(real_y, same_y) * lambda_cycle * lambda_identity
            id_loss_f = identity_loss_fn(real_x, same_x) * lambda_cycle * lambda_identity
            total_loss_g = gen_g_loss + cycle_loss_g + id_loss_g
            total_loss_f = gen_f_loss + cycle_loss_f + id_loss_f
            disc_x_loss = discriminator_loss_fn(disc_real_x, disc_fake_x)
            disc_y_loss = discriminator_loss_fn(disc_real_y, disc_fake_y)
        grads_g = tape.gradient(total_loss_g, gen_g.trainable_variables)
        grads_f = tape.gradient(total_loss_f, gen_f.trainable_variables)
        disc_x_grads = tape.gradient(disc_x_loss, disc_x.trainable_variables)
        disc_y_grads = tape.gradient(disc_y_loss, disc_y.trainable_variables)
        opts[0].apply_gradients(zip(grads_g, gen_g.trainable_variables))
        opts[1].apply_gradients(zip(grads_f, gen_f.trainable_variables))
        opts[2].apply_gradients(zip(disc_x_grads, disc_x.trainable_variables))
        opts[3].apply_gradients(zip(disc_y_grads, disc_y.trainable_variables))

    return train_step
