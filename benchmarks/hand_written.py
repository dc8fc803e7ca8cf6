"""Hand-written reference training loops for the speed workloads W1 and W2.

These are the baselines `train_throughput.py` compares the project's `fit` path with,
written the way the public examples write them -- models included: the tutorial's
`make_generator_model` / `make_discriminator_model` with `layers.Dropout`, so these use
nothing of tfgan_app (the project's W1 discriminator has the same function with a cheaper
dropout mask, tfgan_app.nets.layers.Dropout):

- W1: the TensorFlow DCGAN tutorial's `@tf.function train_step` (tensorflow.org/tutorials/
  generative/dcgan): one forward pass of G and D under two tapes, both gradients from it,
  both applied (a *simultaneous* update), BinaryCrossentropy(from_logits=True), Adam(1e-4).
- W2: the keras.io WGAN-GP example's `train_step` (keras.io/examples/generative/wgan_gp):
  `d_steps` critic steps, each with fresh noise and the penalty inside the tape, then one
  generator step with fresh noise; Adam(1e-4, 0.5, 0.9).  Two deliberate differences from the
  example as published: alpha is drawn per example (the example once drew one per batch,
  keras-io issue 415) and the penalty's norm has an epsilon inside the sqrt, as ours does; both
  cost nothing measurable.

Both are plain `@tf.function`s called from a Python loop: no callbacks, no metrics, no
distribution strategy -- the least framework overhead a TF user gets.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def make_generator_model(noise_dim: int = 100):
    """The tutorial's generator; the last layer float32 (as the mixed-precision guide says)."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input((noise_dim,)),
        layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False),
        layers.Activation("tanh", dtype="float32"),
    ])


def make_discriminator_model(dropout: float = 0.3):
    """The tutorial's discriminator (dropout=0: W2's critic); logits float32."""
    layers = keras.layers
    stack = [keras.Input((28, 28, 1))]
    for filters in (64, 128):
        stack += [layers.Conv2D(filters, (5, 5), strides=(2, 2), padding="same"), layers.LeakyReLU()]
        if dropout:
            stack.append(layers.Dropout(dropout))
    return keras.Sequential(stack + [layers.Flatten(), layers.Dense(1, dtype="float32")])


def dcgan_tutorial_step(generator, discriminator, batch_size: int, noise_dim: int = 100):
    """The TF DCGAN tutorial's train_step, verbatim but for the arguments."""
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer = keras.optimizers.Adam(1e-4)
    discriminator_optimizer = keras.optimizers.Adam(1e-4)

    def discriminator_loss(real_output, fake_output):
        real_loss = cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
        return real_loss + fake_loss

    def generator_loss(fake_output):
        return cross_entropy(tf.ones_like(fake_output), fake_output)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch_size, noise_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = generator_loss(fake_output)
            disc_loss = discriminator_loss(real_output, fake_output)
        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(gradients_of_discriminator, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return train_step


def wgan_gp_example_step(generator, discriminator, latent_dim: int = 100, d_steps: int = 5,
                         gp_weight: float = 10.0):
    """The keras.io WGAN-GP example's train_step (one real batch feeds all d_steps critic steps)."""
    d_optimizer = keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)
    g_optimizer = keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)

    def discriminator_loss(real_img, fake_img):
        return tf.reduce_mean(fake_img) - tf.reduce_mean(real_img)

    def generator_loss(fake_img):
        return -tf.reduce_mean(fake_img)

    def gradient_penalty(batch_size, real_images, fake_images):
        alpha = tf.random.uniform([batch_size, 1, 1, 1], 0.0, 1.0)
        diff = fake_images - real_images
        interpolated = real_images + alpha * diff
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(interpolated)
            pred = discriminator(interpolated, training=True)
        grads = tf.cast(gp_tape.gradient(pred, [interpolated])[0], tf.float32)
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-10)
        return tf.reduce_mean((norm - 1.0) ** 2)

    @tf.function
    def train_step(real_images):
        batch_size = tf.shape(real_images)[0]
        for _ in range(d_steps):
            random_latent_vectors = tf.random.normal(shape=(batch_size, latent_dim))
            with tf.GradientTape() as tape:
                fake_images = generator(random_latent_vectors, training=True)
                fake_logits = discriminator(fake_images, training=True)
                real_logits = discriminator(real_images, training=True)
                d_cost = discriminator_loss(real_img=real_logits, fake_img=fake_logits)
                gp = gradient_penalty(batch_size, real_images, fake_images)
                d_loss = d_cost + gp * gp_weight
            d_gradient = tape.gradient(d_loss, discriminator.trainable_variables)
            d_optimizer.apply_gradients(zip(d_gradient, discriminator.trainable_variables))
        random_latent_vectors = tf.random.normal(shape=(batch_size, latent_dim))
        with tf.GradientTape() as tape:
            generated_images = generator(random_latent_vectors, training=True)
            gen_img_logits = discriminator(generated_images, training=True)
            g_loss = generator_loss(gen_img_logits)
        gen_gradient = tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(gen_gradient, generator.trainable_variables))
        return d_loss, g_loss

    return train_step


def tutorial_dataset(images, batch_size: int) -> tf.data.Dataset:
    """The tutorial's pipeline: from_tensor_slices -> shuffle -> batch (repeated, full batches only)."""
    return (tf.data.Dataset.from_tensor_slices(images).shuffle(len(images))
            .batch(batch_size, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))
